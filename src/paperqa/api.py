"""The one API behind the CLI and the UI: ingest, papers, search, ask (streamed or not), check, reset,
and the saved chats (save an answer, list, open, delete, export).

Only this module (besides the answer stage's `Retriever`) holds the store: callers ask PaperQA.
May touch: the store (`index.PaperIndex`), the data folder's ingest lock and uploads folder, and
the saved chats' file (`history.ChatStore`).

from paperqa.api import PaperQA
app = PaperQA()                 # reads Settings from the environment
app.ensure_corpus()             # ingest the bundled corpus if the index is empty
print(app.ask("What F1 does FreePRM reach on ProcessBench?").answer)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .answer.engine import AnswerEngine, Event
from .answer.llm import (
    CHARS_PER_TOKEN,
    PROMPT_RESERVE_TOKENS,
    ChatModel,
    check_llm,
    count_tokens,
    make_llm,
    question_token_limit,
)
from .answer.retrieve import Filters, Retrieval, Retriever, rewrite_followup
from .answer.styles import classify
from .errors import PaperQAError, first_line
from .export import conversation_markdown
from .history import CHATS_FILE, LOCAL_USER, ChatStore, ChatSummary, Conversation
from .ingest.merge import adopt_known_ids, identifier_keys
from .ingest.parse import UPLOAD_SUFFIXES, expand_paths, parse_files, safe_file_name
from .settings import LLMSettings, Settings, apply_offline_defaults
from .store import locking
from .store.chroma import remove_store
from .store.files import private_dir, store_upload
from .store.index import PaperIndex
from .types import Answer, IngestError, IngestReport, Paper, ParseResult, PriorTurn, Style
from .validate import check_top_k, clean_question

if TYPE_CHECKING:  # llama-index's classes are imported only when asked for (llamaindex.py)
    from typing_extensions import Unpack

    from .llamaindex import AskOptions, PaperQAQueryEngine, PaperQARetriever

log = logging.getLogger(__name__)

# Papers a corpus search returns unless asked for more or all: a screenful to pick from.
SEARCH_LIMIT = 50
WRITER_LOCK = "ingest.lock"  # held while an ingest writes to the data folder


def writer_lock(home: Path) -> contextlib.AbstractContextManager[None]:
    """One ingest at a time per data folder (threads of the chat UI, clients of one server)."""

    def busy(holder: str) -> PaperQAError:
        return PaperQAError(
            f"another ingest is writing to {home} (pid {holder})", hint="wait for it to finish, then retry"
        )

    return locking.held(home / WRITER_LOCK, busy)


def reset_index(settings: Settings) -> None:
    """Delete a data folder's index without opening it (`paperqa reset`: a damaged store cannot
    be opened). Refused while a process has it open."""
    remove_store(settings)


def bundled_corpus() -> Path:
    """The daily-papers pages shipped with the package (wheel) or the repository."""
    here = Path(__file__).resolve().parent
    for cand in (here / "corpus", here.parents[1] / "data" / "corpus"):
        if cand.is_dir():
            return cand
    raise PaperQAError("the bundled corpus is missing", hint="reinstall the package")


class SavedChats:
    """The saved chats of a data folder: save an answer, list, open, delete, export. `PaperQA` has
    these methods; `paperqa chats` uses this class alone, which opens no index (so it works while
    `paperqa serve` holds the store). `user` is who is logged in to the UI (None: no login,
    everyone on this machine is one local user)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @functools.cached_property
    def chats(self) -> ChatStore:
        """The saved conversations, in `<home>/chats.sqlite3` (beside the index, in server mode too)."""
        return ChatStore(self.settings.home / CHATS_FILE)

    def save_answer(
        self,
        conversation_id: str,
        answer: Answer,
        user: str | None = None,
        *,
        style: Style | Literal["auto"] | None = None,
        filters: Filters | None = None,
        top_k: int | None = None,
        llm_settings: LLMSettings | None = None,
    ) -> None:
        """Save a finished answer as the next turn of a conversation (a new id starts one), with
        the options it was asked with (those of `ask_stream`), in one transaction."""
        llm = llm_settings or self.settings.llm
        used = {
            "style": style or "auto",
            "top_k": top_k or self.settings.retrieval.top_k,
            "filters": vars(filters) if filters is not None else {},
            "llm": {"provider": llm.resolved_provider(), "model": llm.model, "base_url": llm.base_url},
        }
        self.chats.add(conversation_id, user or LOCAL_USER, answer, used)

    def conversations(self, user: str | None = None) -> list[ChatSummary]:
        """This user's saved chats, the most recently answered first."""
        return self.chats.summaries(user or LOCAL_USER)

    def conversation(self, conversation_id: str, user: str | None = None) -> Conversation:
        """One of this user's saved chats with every answer (a PaperQAError when it has none)."""
        return self.chats.get(conversation_id, user or LOCAL_USER)

    def delete_conversation(self, conversation_id: str, user: str | None = None) -> None:
        """Delete one of this user's saved chats."""
        self.chats.delete(conversation_id, user or LOCAL_USER)

    def export_conversation(self, conversation_id: str, user: str | None = None) -> str:
        """One of this user's saved chats as Markdown: every question, answer and its references."""
        return conversation_markdown(self.conversation(conversation_id, user))


class PaperQA(SavedChats):
    def __init__(self, settings: Settings | None = None, llm: ChatModel | None = None) -> None:
        apply_offline_defaults()  # before the store and the models are loaded
        self.settings = settings or Settings()
        private_dir(self.settings.home)
        self._llm = llm
        self._llm_lock = threading.Lock()  # one model load, however many threads ask at once
        self._open()

    def _open(self) -> None:
        self.index = PaperIndex(self.settings)
        self.retriever = Retriever(self.index, self.settings.retrieval)
        self.engine = AnswerEngine(
            self.retriever, self._get_llm, self.settings.answer, self.settings.retrieval
        )

    def close(self) -> None:
        """Release the data folder (another process may then open it)."""
        self.index.close()

    def __enter__(self) -> PaperQA:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get_llm(self) -> ChatModel:
        with self._llm_lock:
            if self._llm is None:
                self._llm = make_llm(self.settings.llm)
            return self._llm

    # ---- corpus -------------------------------------------------------------------
    def ingest(
        self, paths: Sequence[Path] = (), progress: Callable[[int, int], None] | None = None
    ) -> IngestReport:
        """Parse, deduplicate and index files (the bundled corpus when none are given)."""
        t0 = time.perf_counter()
        files = expand_paths(list(paths) or [bundled_corpus()])
        parsed = parse_files(files)  # everything is parsed before anything is stored
        with writer_lock(self.settings.home):
            return self._store(parsed, t0, progress)

    def ingest_uploads(
        self, files: Sequence[Path], progress: Callable[[int, int], None] | None = None
    ) -> IngestReport:
        """Ingest files uploaded through the UI or an API client.

        Only known text formats up to `ui.max_upload_mb` are accepted; each is copied under
        `<home>/uploads/<content hash>/` with a sanitised base name (never a path from the client);
        the same content uploaded again is not copied again.
        Rejected files are reported and counted as skipped; the others are ingested.
        """
        t0 = time.perf_counter()
        limit = self.settings.ui.max_upload_mb
        rejected: list[IngestError] = []
        accepted: list[Path] = []
        # The lock comes first: when another ingest is writing, nothing is copied at all.
        with writer_lock(self.settings.home):
            for src in map(Path, files):
                name = safe_file_name(src.name)
                if not src.is_file():
                    rejected.append(IngestError(file=name, reason="upload not found"))
                elif Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
                    kinds = ", ".join(UPLOAD_SUFFIXES)
                    rejected.append(IngestError(file=name, reason=f"file type not accepted (use {kinds})"))
                elif src.stat().st_size > limit * 2**20:
                    reason = f"larger than {limit} MB (PAPERQA_UI__MAX_UPLOAD_MB)"
                    rejected.append(IngestError(file=name, reason=reason))
                else:
                    target = store_upload(src, self.settings.uploads_dir, name)
                    if target not in accepted:  # the same file twice in one upload
                        accepted.append(target)
            parsed = parse_files(accepted) if accepted else ParseResult()
            parsed.errors = rejected + parsed.errors
            parsed.skipped += len(rejected)
            return self._store(parsed, t0, progress)

    def _store(
        self, parsed: ParseResult, t0: float, progress: Callable[[int, int], None] | None
    ) -> IngestReport:
        if any(p.doi or p.arxiv_id for p in parsed.papers):  # the same DOI under another title
            keys = [key for p in parsed.papers for key in identifier_keys(p)]
            parsed.papers = adopt_known_ids(parsed.papers, self.index.papers().ids_by_key(keys))
        total = len(parsed.papers)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        counts = self.index.upsert(parsed.papers, progress=step)  # updates the keyword index too
        return IngestReport(
            papers=self.index.count(),
            added=counts.added,
            updated=counts.updated,
            unchanged=counts.unchanged,
            skipped=parsed.skipped,
            errors=parsed.errors,
            seconds=round(time.perf_counter() - t0, 3),
        )

    def ensure_corpus(self, progress: Callable[[int, int], None] | None = None) -> IngestReport | None:
        """Ingest the bundled corpus when the index is empty (first run)."""
        if self.index.count() == 0:
            return self.ingest(progress=progress)
        return None

    def reset(self) -> None:
        """Delete every paper (the Chroma store, or the server's collections, and the keyword
        index); this object stays usable, on an empty index. See `reset_index` for a data folder
        that is not open (or cannot be: a damaged store)."""
        if self.settings.chroma_url:
            self.index.delete_all()
        self.close()
        try:
            if not self.settings.chroma_url:
                remove_store(self.settings)
        finally:
            self._open()

    def paper_count(self) -> int:
        """Papers in the index."""
        return self.index.count()

    def listed_paper_count(self) -> int:
        """Papers the catalog lists, read without a store call (a server starting up shows it; the
        first search checks the catalog against the store)."""
        return len(self.index.catalog)

    def has_papers(self) -> bool:
        """Whether the index holds a paper: the catalog says so without a store call when it
        lists one; only an empty catalog asks the store."""
        return self.listed_paper_count() > 0 or self.paper_count() > 0

    def most_upvoted(self, limit: int) -> list[Paper]:
        """The most upvoted papers as the catalog lists them, without checking it against the
        store first (start-up: the example questions)."""
        return self.index.catalog.search("", limit)

    def papers(self) -> list[Paper]:
        """Every paper in the index, in the order they were stored."""
        return list(self.index.papers().values_in_order())

    def paper(self, paper_id: str) -> Paper | None:
        """The paper with this id, or None when the index has none."""
        return self.index.papers().get(paper_id)

    def count_papers_mentioning(self, query: str, estimate: bool = False) -> tuple[int, bool]:
        """How many papers `search_papers(query, limit=None)` would list, and whether the count is
        exact: with `estimate`, a text in very many papers is counted from a sample (milliseconds
        at a million papers instead of reading every candidate)."""
        return self.index.papers().count_matching(query, estimate)

    def search_papers(self, query: str, limit: int | None = SEARCH_LIMIT) -> list[Paper]:
        """Papers whose title, abstract or authors contain `query` (any case; every paper for an empty
        one), most upvoted first, then by title; at most `limit` (None: all of them). The CLI's
        `papers --search` and the UI's corpus tab both list this."""
        return self.index.papers().search(query, limit)

    # ---- questions ----------------------------------------------------------------
    def ask_stream(
        self,
        question: str,
        history: Sequence[str | PriorTurn] = (),
        style: Style | Literal["auto"] | None = None,
        filters: Filters | None = None,
        top_k: int | None = None,
        llm_settings: LLMSettings | None = None,
        force: bool = False,
    ) -> Iterator[Event]:
        """Answer a question, streaming. `history`: the conversation's earlier turns, oldest first —
        their questions, or `answer.as_prior()` of each, so that a follow-up ("which GPUs did they
        use?") is answered from the paper the previous answer was about. `llm_settings` picks
        another LLM for this call only.
        `filters.paper_ids` limits the answer to those papers (each must be in the index); `force`
        answers from the closest papers even when the corpus is judged not to cover the question
        (the answer is then marked `forced`)."""
        question = clean_question(question)
        top_k = check_top_k(top_k)
        if filters and filters.paper_ids:
            self._check_paper_ids(filters.paper_ids)
        llm = make_llm(llm_settings) if llm_settings is not None else None
        self._check_question_fits(question, history, llm_settings or self.settings.llm, llm)
        if self.index.count() == 0:
            raise PaperQAError("the index is empty", hint="run `paperqa ingest` first")
        yield from self.engine.answer_stream(
            question, history=history, style=style, filters=filters, top_k=top_k, llm=llm, force=force
        )

    def _check_paper_ids(self, paper_ids: Sequence[str]) -> None:
        """A question about chosen papers names only papers in the index."""
        papers = self.index.papers()
        unknown = [pid for pid in paper_ids if pid not in papers]
        if unknown:
            some = ", ".join(unknown)
            raise PaperQAError(
                f"no paper with id {some} in the index"
                if len(unknown) == 1
                else f"no papers with ids {some} in the index",
                hint="find the ids with `paperqa papers --search WORDS` (the first column)",
            )

    def _check_question_fits(
        self, question: str, history: Sequence[str | PriorTurn], settings: LLMSettings, llm: ChatModel | None
    ) -> None:
        """Refuse, before retrieval and before any model call, a question the model cannot read
        along with the sources and its answer (llama.cpp would fail on it; a server would too)."""
        limit = question_token_limit(settings)
        # What goes into the prompt: a follow-up leaning on the previous question is joined to it
        # (the model reads "… tabular foundation model …? Up to how many samples can it handle?").
        text = rewrite_followup(question, history)
        # A token is at least one byte in the byte-level vocabularies of llama.cpp and OpenAI
        # models, so a shorter text fits without loading a tokenizer.
        if len(text.encode("utf-8")) <= limit:
            return
        tokens = count_tokens(llm or self._get_llm(), text)
        if tokens <= limit:
            return
        what = "the question" if text == question else "the question with the one it follows up on"
        window = settings.resolved_context_window()
        raise PaperQAError(
            f"{what} is too long for the model: {tokens:,} tokens ({len(text):,} characters), but at "
            f"most {max(limit, 0):,} fit (its context window of {window:,} tokens, less "
            f"{settings.max_tokens} for the answer and {PROMPT_RESERVE_TOKENS} for the prompt and its sources)",
            hint=f"shorten the question (to about {max(limit, 0) * CHARS_PER_TOKEN:,} characters), or "
            "raise PAPERQA_LLM__CONTEXT_WINDOW up to the model's own context length (or use a model "
            "with a longer one)",
        )

    def ask(self, question: str, **kw: object) -> Answer:
        final: Answer | None = None
        for ev in self.ask_stream(question, **kw):  # type: ignore[arg-type]
            if ev.kind == "final":
                final = ev.answer
        if final is None:  # pragma: no cover - answer_stream always ends with "final"
            raise PaperQAError("no answer was produced")
        return final

    def retrieve(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        style: Style | Literal["auto"] | None = None,
    ) -> Retrieval:
        """The papers `ask` would answer this question from, best first (no model is called)."""
        question = clean_question(question, "query")
        top_k = check_top_k(top_k)
        if self.index.count() == 0:
            raise PaperQAError("the index is empty", hint="run `paperqa ingest` (or PaperQA.ingest()) first")
        chosen: Style = classify(question) if style in (None, "auto") else style  # type: ignore[assignment]
        return self.engine.retrieve(question, chosen, filters=filters, top_k=top_k)

    # ---- LlamaIndex ---------------------------------------------------------------
    def as_retriever(self, top_k: int | None = None, filters: Filters | None = None) -> PaperQARetriever:
        """A llama-index `BaseRetriever`: `retrieve(query)` gives one `NodeWithScore` per paper,
        in PaperQA's ranking order (see `paperqa.llamaindex`)."""
        from .llamaindex import PaperQARetriever

        return PaperQARetriever(self, top_k=top_k, filters=filters)

    def as_query_engine(self, streaming: bool = False, **options: Unpack[AskOptions]) -> PaperQAQueryEngine:
        """A llama-index query engine: `query(q)` returns a `Response` whose text is the verified,
        cited answer and whose `source_nodes` are its sources (a `StreamingResponse` with
        `streaming=True`). `options` are `ask`'s: top_k, filters, style, llm_settings (see
        `paperqa.llamaindex`)."""
        from .llamaindex import PaperQAQueryEngine

        return PaperQAQueryEngine(self, streaming=streaming, options=options)

    def check_llm(self, llm_settings: LLMSettings | None = None) -> str:
        return check_llm(llm_settings or self.settings.llm)

    def warm_up_retrieval(self) -> None:
        """Load the embedding model and keyword index, and run one search."""
        self.index.embed_query("warm up")
        self.index.sync_keywords()
        self.retriever.search("warm up", k=1)

    def warm_up(self) -> None:
        """Everything `warm_up_retrieval` loads, plus the LLM."""
        self.warm_up_retrieval()
        self._get_llm()

    def warm_up_in_background(self) -> threading.Thread:
        """Run `warm_up` in a thread, the models loading while a server starts: questions are
        taken at once, and the first waits only for what it still needs. A failure is logged
        (the question that needs the model reports it with its hint)."""

        def run() -> None:
            try:
                self.warm_up()
            except Exception as e:
                log.warning("warming up failed: %s", first_line(e))

        thread = threading.Thread(target=run, name="paperqa-warm-up", daemon=True)
        thread.start()
        return thread
