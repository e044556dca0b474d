"""Gradio chat UI: a thin adapter over `paperqa.api.PaperQA` (the same API as the CLI).

`PaperQAUI` lays out the settings sidebar, the chat tab (with the saved chats) and the corpus tab,
and handles their events; what the components show is made by the pure converters in `render` and
`prefs`, the components are grouped in `views`, and `serve.launch` serves the page. No retrieval,
answer or parsing logic lives here: only layout and event wiring.
It calls `PaperQA` and pure helpers (export, references, types, settings, backends), nothing else.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from paperqa.answer.retrieve import Filters
from paperqa.api import SEARCH_LIMIT, Event, PaperQA
from paperqa.backends import (
    CUSTOM_SERVER,
    GGUF_FILE,
    SERVER_DEFAULT,
    LLMChoice,
    backend_names,
    gguf_files,
    resolve,
)
from paperqa.errors import PaperQAError
from paperqa.history import new_conversation_id
from paperqa.ingest.parse import UPLOAD_SUFFIXES
from paperqa.types import Answer, PriorTurn, asked

from .downloads import write_chat_export, write_exports
from .prefs import DEFAULT_PREFS, STYLES, ask_options, llm_settings_from, prefs_from, values_of
from .render import (
    assistant_message,
    chat_choices,
    conversation_messages,
    corpus_rows,
    example_questions,
    paper_choices,
    paper_count,
    render_answer,
    render_draft,
    render_error,
    render_ingest_report,
    render_paper,
    render_sources,
    render_unexpected,
    scope_label,
    user_message,
)
from .views import ChatView, CorpusView, SavedChatsView, SettingsView

INTRO = (
    "## PaperQA\nAsk about the papers in the corpus. Click a `[n]` to read the paper it cites; "
    "claims the sources do not support are removed."
)
UPLOAD_HELP = (
    "#### Add papers\nDaily-papers pages (.txt), arXiv JSONL/JSON, BibTeX with abstracts, "
    "CSV (title, abstract), arXiv Atom XML, or a Zotero library (CSL JSON .json, RIS .ris)."
)
UPLOAD_TYPES = list(UPLOAD_SUFFIXES)
PRIVATE: dict[str, Any] = {"api_visibility": "private"}  # UI events, not endpoints for programs
# Tick boxes the corpus tab shows for a search besides the papers already ticked: the screenful a
# corpus search returns (`api.SEARCH_LIMIT`); a longer list is narrowed by searching, not scrolled.
SELECT_LIMIT = SEARCH_LIMIT
# Rows the corpus table lists at most: a browser table of 100k rows would hang the page.
CORPUS_ROWS = 1000
# Papers the example questions are drawn from: the most upvoted (a corpus of any size).
EXAMPLE_POOL = 200
FORCE_LABEL = "Answer from the closest papers anyway"
BACKENDS_NOTE = (
    "The backends are those the operator of this server offers; its API keys go only to them. "
    "A custom server URL, when offered, gets only the key you type."
)


def _hidden() -> Any:
    return gr.update(visible=False)


def _same() -> Any:
    return gr.update()


def parse_paper_ids(text: str | Sequence[str] | None) -> list[str]:
    """The `/ask` endpoint's paper ids: a list, or one text separated by commas or spaces."""
    if not text:
        return []
    items = [text] if isinstance(text, str) else list(text)
    return [pid for item in items for pid in re.split(r"[\s,]+", item.strip()) if pid]


def new_chat_id() -> str:
    """The id a new chat is saved under once its first answer is in."""
    return new_conversation_id()


def _chat_failed(e: PaperQAError, chat_id: str) -> tuple[Any, ...]:
    """The chat's outputs, and the id it is saved under, when a saved chat cannot be opened or deleted."""
    return [assistant_message(render_error(e))], [], _same(), "", _hidden(), _hidden(), _hidden(), chat_id


def user_of(request: gr.Request | None) -> str | None:
    """Who is asking: the login name when the UI has a login, None (the local user) without."""
    return getattr(request, "username", None) or None


class PaperQAUI:
    """The chat app over one `PaperQA`: `build()` lays it out; the other methods handle events."""

    def __init__(self, app: PaperQA) -> None:
        self.app = app

    # ---- layout -------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        # Gradio's copies of the exports are deleted after an hour (each is made again on demand).
        with gr.Blocks(title="PaperQA", fill_height=True, delete_cache=(3600, 3600)) as demo:
            prefs = gr.BrowserState(dict(DEFAULT_PREFS), storage_key="paperqa-prefs")
            settings = self._settings_sidebar()
            gr.Markdown(INTRO)
            with gr.Tabs() as tabs:
                chat = self._chat_tab()
                corpus = self._corpus_tab()
            self._wire_settings(demo, prefs, settings)
            self._wire_chat(chat, settings)
            self._wire_saved(demo, chat)
            self._wire_corpus(demo, corpus)
            self._wire_scope(tabs, chat, corpus)
            self._api_endpoint()
        return demo

    def _settings_sidebar(self) -> SettingsView:
        with gr.Sidebar(label="Settings", open=False, elem_id="settings"):
            gr.Markdown("### Settings\nSaved in this browser.")
            ui = self.app.settings.ui
            backend = gr.Radio(
                backend_names(self.app.settings), value=SERVER_DEFAULT, label="LLM backend", elem_id="backend"
            )
            # The server checks the file again (`paperqa.backends.model_file`): a typed name outside
            # the models folder gets the same error as a missing one.
            gguf = gr.Dropdown(
                gguf_files(self.app.settings),
                value="",
                allow_custom_value=True,
                label=f"GGUF file (backend: {GGUF_FILE})",
                elem_id="gguf",
                visible=ui.models_dir is not None,
            )
            custom = ui.allow_custom_server
            base_url = gr.Textbox(
                label=f"Server URL ({CUSTOM_SERVER}, OpenAI-compatible)",
                elem_id="base-url",
                placeholder="http://127.0.0.1:11434/v1",
                visible=custom,
            )
            model = gr.Textbox(label="Model name", elem_id="model", visible=custom)
            api_key = gr.Textbox(
                label="Your API key for that server (kept in this browser)",
                type="password",
                elem_id="api-key",
                visible=custom,
            )
            gr.Markdown(f"<small>{BACKENDS_NOTE}</small>")
            test = gr.Button("Test connection", size="sm", elem_id="test-connection")
            test_result = gr.Markdown(elem_id="test-result")
            top_k = gr.Slider(1, 12, step=1, value=5, label="Papers per answer", elem_id="top-k")
            with gr.Row():
                date_from = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="date-from")
                date_to = gr.Textbox(label="To", elem_id="date-to")
            style = gr.Dropdown(list(STYLES), value="auto", label="Answer style", elem_id="style")
        inputs = [backend, gguf, base_url, model, api_key, top_k, date_from, date_to, style]
        return SettingsView(inputs=inputs, test=test, test_result=test_result)

    def _chat_tab(self) -> ChatView:
        with gr.Tab("Chat", id="chat-tab"), gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat", height=560, buttons=["copy", "copy_all"], elem_id="chat", sanitize_html=True
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question about the papers…",
                        show_label=False,
                        scale=6,
                        autofocus=True,
                        elem_id="question",
                    )
                    ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                with gr.Row():
                    scope_md = gr.Markdown(visible=False, elem_id="scope")
                    clear_scope = gr.Button("×", size="sm", visible=False, scale=0, elem_id="clear-scope")
                force = gr.Button(FORCE_LABEL, size="sm", visible=False, elem_id="force-answer")
                with gr.Row():
                    new_chat = gr.Button("New chat", size="sm", elem_id="new-chat")
                    export_md = gr.DownloadButton(
                        "Export Markdown", size="sm", visible=False, elem_id="export-md"
                    )
                    export_bib = gr.DownloadButton(
                        "Export BibTeX", size="sm", visible=False, elem_id="export-bib"
                    )
                saved = self._saved_chats()
                gr.Examples(
                    examples=example_questions(self.app.most_upvoted(EXAMPLE_POOL)),
                    inputs=question,
                    label="Try",
                )
            with gr.Column(scale=2, elem_id="sources-col"):
                gr.Markdown("### Sources")
                sources = gr.HTML(render_sources([]), elem_id="sources")
            # States live inside the tab: one made directly under gr.Tabs is taken by Gradio's
            # front end for a tab of its own (the tab bar then read "Chat, Corpus, Corpus").
            history, scope = gr.State([]), gr.State([])
        return ChatView(
            chatbot,
            question,
            ask,
            new_chat,
            export_md,
            export_bib,
            sources,
            history,
            saved,
            scope,
            scope_md,
            clear_scope,
            force,
        )

    def _saved_chats(self) -> SavedChatsView:
        with gr.Accordion("Saved chats", open=False, elem_id="saved-chats-panel"):
            listing = gr.Radio([], label="Pick one to reopen it", elem_id="saved-chats")
            with gr.Row():
                delete = gr.Button("Delete chat", size="sm", visible=False, elem_id="delete-chat")
                export = gr.DownloadButton("Export chat", size="sm", visible=False, elem_id="export-chat")
        return SavedChatsView(gr.State(new_chat_id), listing, delete, export)

    def _corpus_tab(self) -> CorpusView:
        with gr.Tab("Corpus", id="corpus-tab", elem_id="corpus-tab"):
            with gr.Row():
                search = gr.Textbox(
                    placeholder="Search titles and abstracts…",
                    show_label=False,
                    scale=5,
                    elem_id="corpus-search",
                )
                count = gr.Markdown(elem_id="corpus-count")
            table = gr.Dataframe(
                headers=["Title", "Date", "Pages", "Upvotes"],
                interactive=False,
                wrap=True,
                max_height=420,
                elem_id="corpus-table",
            )
            paper = gr.HTML(elem_id="paper-view")
            select = gr.CheckboxGroup(
                label="Tick papers to ask about (search to find more)", elem_id="corpus-select"
            )
            ask_about = gr.Button("Ask about these", elem_id="ask-about")
            gr.Markdown(UPLOAD_HELP)
            upload = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label="Files", elem_id="upload")
            ingest = gr.Button("Add to corpus", elem_id="ingest")
            ingest_result = gr.Markdown(elem_id="ingest-result")
            ids = gr.State([])  # inside the tab (see `_chat_tab`)
        return CorpusView(search, count, table, ids, paper, select, ask_about, upload, ingest, ingest_result)

    # ---- wiring -------------------------------------------------------------------
    def _wire_settings(self, demo: gr.Blocks, prefs: gr.BrowserState, view: SettingsView) -> None:
        for comp in view.inputs:
            comp.change(prefs_from, view.inputs, prefs, **PRIVATE)
        offered = functools.partial(
            values_of, backends=backend_names(self.app.settings), gguf_files=gguf_files(self.app.settings)
        )
        demo.load(offered, prefs, view.inputs, **PRIVATE)
        # Actions read the settings as shown, not the saved copy: a click right after typing
        # could otherwise overtake the save of what was typed.
        view.test.click(self.test_connection, view.inputs, view.test_result, **PRIVATE)

    def _wire_chat(self, view: ChatView, settings: SettingsView) -> None:
        inputs = [view.question, view.chatbot, view.history, view.saved.current, view.scope, *settings.inputs]
        for on_ask in (view.question.submit, view.ask.click):
            self._then_show_saved(on_ask(self.respond, inputs, view.outputs(), **PRIVATE), view.saved)
        forced = [view.chatbot, view.history, view.saved.current, view.scope, *settings.inputs]
        self._then_show_saved(
            view.force.click(self.force_answer, forced, view.outputs(), **PRIVATE), view.saved
        )
        view.new_chat.click(self.new_chat, None, view.outputs(), **PRIVATE)

    def _wire_saved(self, demo: gr.Blocks, view: ChatView) -> None:
        saved = view.saved
        opened = [*view.outputs(), saved.current]
        demo.load(self.show_saved, saved.current, saved.outputs(), **PRIVATE)  # this user's chats
        view.new_chat.click(self.start_chat, None, [saved.current, *saved.outputs()], **PRIVATE)
        self._then_show_saved(saved.listing.input(self.open_chat, saved.listing, opened, **PRIVATE), saved)
        self._then_show_saved(saved.delete.click(self.delete_chat, saved.current, opened, **PRIVATE), saved)

    def _then_show_saved(self, event: Any, saved: SavedChatsView) -> None:
        """After `event`, the saved-chats list as it now is (a new answer, a chat opened or deleted)."""
        event.then(self.show_saved, saved.current, saved.outputs(), **PRIVATE)

    def _wire_scope(self, tabs: gr.Tabs, chat: ChatView, corpus: CorpusView) -> None:
        corpus.search.change(self.selectable, [corpus.search, corpus.select], corpus.select, **PRIVATE)
        corpus.ask_about.click(self.set_scope, corpus.select, [*chat.scope_outputs(), tabs], **PRIVATE)
        chat.clear_scope.click(self.clear_scope, None, [*chat.scope_outputs(), corpus.select], **PRIVATE)
        # Papers just added can be ticked too.
        corpus.ingest_result.change(self.selectable, [corpus.search, corpus.select], corpus.select, **PRIVATE)

    def _wire_corpus(self, demo: gr.Blocks, view: CorpusView) -> None:
        view.search.change(self.show_corpus, view.search, view.listing(), **PRIVATE)
        demo.load(self.show_corpus, view.search, view.listing(), **PRIVATE)
        demo.load(self.selectable, [view.search, view.select], view.select, **PRIVATE)
        view.table.select(self.open_paper, view.ids, view.paper, **PRIVATE)
        view.ingest.click(
            self.add_files, [view.upload, view.search], [view.ingest_result, *view.listing()], **PRIVATE
        )

    def _api_endpoint(self) -> None:
        api_in = gr.Textbox(visible=False)
        # Optional after the question (defaults: the whole corpus, the relevance gate on), so a
        # client that sends only the question keeps working.
        api_papers = gr.Textbox(value="", visible=False)
        api_force = gr.Checkbox(value=False, visible=False)
        api_backend = gr.Textbox(value="", visible=False)
        api_out = gr.JSON(visible=False)
        gr.Button(visible=False).click(
            self.ask, [api_in, api_papers, api_force, api_backend], api_out, api_name="ask"
        )
        api_text = gr.Textbox(visible=False)
        gr.Button(visible=False).click(self.ask_json, api_in, api_text, api_name="ask_json")

    # ---- settings -----------------------------------------------------------------
    def test_connection(self, *values: Any) -> str:
        try:
            return "✅ " + self.app.check_llm(llm_settings_from(prefs_from(*values), self.app.settings))
        except PaperQAError as e:
            return render_error(e)

    # ---- chat ---------------------------------------------------------------------
    def respond(
        self,
        message: str,
        chat: list[dict[str, Any]],
        hist: list[PriorTurn],
        chat_id: str,
        scope: list[str],
        request: gr.Request | None,
        *values: Any,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat: the question, the sources, the draft, the answer; the
        answer is saved as the next turn of chat `chat_id` (of the user logged in) once it is in.
        `scope`: the paper ids the question is about ([]: the whole corpus)."""
        yield from self._answer(message, chat, hist, chat_id, scope, request, values, force=False)

    def force_answer(
        self,
        chat: list[dict[str, Any]],
        hist: list[PriorTurn],
        chat_id: str,
        scope: list[str],
        request: gr.Request | None,
        *values: Any,
    ) -> Iterator[tuple[Any, ...]]:
        """The button under a refusal: the last question again, answered from the closest papers."""
        if not hist:
            yield chat, hist, _same(), "", _same(), _same(), _hidden()
            return
        yield from self._answer(asked(hist[-1]), chat, hist[:-1], chat_id, scope, request, values, force=True)

    def _answer(
        self,
        message: str,
        chat: list[dict[str, Any]],
        hist: list[PriorTurn],
        chat_id: str,
        scope: list[str],
        request: gr.Request | None,
        values: Sequence[Any],
        force: bool,
    ) -> Iterator[tuple[Any, ...]]:
        message = (message or "").strip()
        if not message:
            yield chat, hist, _same(), "", _same(), _same(), _same()
            return
        chat = [*chat, user_message(message), assistant_message("…")]
        yield chat, hist, _same(), "", _hidden(), _hidden(), _hidden()
        try:
            options = ask_options(prefs_from(*values), self.app.settings)
            options["filters"] = replace(options["filters"], paper_ids=list(scope or []))
            for ev in self.app.ask_stream(message, history=hist, force=force, **options):
                step = self._show_event(ev, message, chat, hist)
                if ev.kind == "final" and ev.answer is not None:
                    self._save(chat, chat_id, request, ev.answer, options)
                yield step
        except PaperQAError as e:
            chat[-1] = assistant_message(render_error(e))
            yield chat, hist, _same(), "", _hidden(), _hidden(), _hidden()
        except Exception as e:  # never a traceback in the browser
            print(f"paperqa ui: {type(e).__name__}: {e}", file=sys.stderr)
            chat[-1] = assistant_message(render_unexpected(e))
            yield chat, hist, _same(), "", _hidden(), _hidden(), _hidden()

    def _show_event(
        self, ev: Event, message: str, chat: list[dict[str, Any]], hist: list[PriorTurn]
    ) -> tuple[Any, ...]:
        """The chat's outputs after one event of `ask_stream` (the last message is the answer's)."""
        if ev.kind == "sources" and ev.retrieval is not None:
            return chat, hist, render_sources(ev.retrieval.sources), "", _same(), _same(), _same()
        if ev.kind == "token":
            chat[-1] = assistant_message(render_draft(ev.text))
            return chat, hist, _same(), "", _same(), _same(), _same()
        if ev.kind == "final" and ev.answer is not None:
            chat[-1] = assistant_message(render_answer(ev.answer))
            md, bib = write_exports(ev.answer)
            return (
                chat,
                [*hist, PriorTurn(question=message, papers=ev.answer.lead_papers())],  # what "it" will be
                render_sources(ev.answer.sources),
                "",
                gr.update(value=str(md), visible=True),
                gr.update(value=str(bib), visible=not ev.answer.refused),
                gr.update(visible=ev.answer.refused and bool(ev.answer.sources)),
            )
        return chat, hist, _same(), "", _same(), _same(), _same()

    def _save(
        self,
        chat: list[dict[str, Any]],
        chat_id: str,
        request: gr.Request | None,
        answer: Answer,
        options: dict[str, Any],
    ) -> None:
        """Save a finished answer; when the store refuses, the answer stays, with why it was not saved."""
        try:
            self.app.save_answer(chat_id, answer, user_of(request), **options)
        except PaperQAError as e:
            chat[-1] = assistant_message(chat[-1]["content"] + "\n\n" + render_error(e, " — not saved."))

    def new_chat(self) -> tuple[Any, ...]:
        return [], [], render_sources([]), "", _hidden(), _hidden(), _hidden()

    # ---- scope: questions about chosen papers -----------------------------------------
    def selectable(self, query: str, selected: list[str] | None) -> Any:
        """The tick boxes for a corpus search: the ticked papers, then the papers found."""
        ticked = [p for pid in selected or [] if (p := self.app.paper(pid)) is not None]
        found = self.app.search_papers(query or "", limit=SELECT_LIMIT + len(ticked))
        choices = paper_choices(ticked, found, SELECT_LIMIT)
        return gr.update(choices=choices, value=[p.id for p in ticked])

    def set_scope(self, selected: list[str] | None) -> tuple[Any, ...]:
        """ "Ask about these": the chat's questions are about the ticked papers from now on."""
        papers = [p for pid in selected or [] if (p := self.app.paper(pid)) is not None]
        if not papers:
            gr.Warning("Tick one or more papers first.")
            return _same(), _same(), _same(), _same()
        label = scope_label(papers)
        shown = gr.update(value=label, visible=True)
        return [p.id for p in papers], shown, gr.update(visible=True), gr.Tabs(selected="chat-tab")

    def clear_scope(self) -> tuple[Any, ...]:
        """The × beside the scope: questions are about the whole corpus again."""
        return [], gr.update(value="", visible=False), _hidden(), gr.update(value=[])

    # ---- saved chats --------------------------------------------------------------
    def show_saved(self, chat_id: str, request: gr.Request | None) -> tuple[Any, ...]:
        """This user's saved chats, the one on screen picked, with its delete and export buttons."""
        try:
            chats = self.app.conversations(user_of(request))
        except PaperQAError as e:
            return gr.update(choices=[], value=None, info=render_error(e)), _hidden(), _hidden()
        if chat_id not in {c.id for c in chats}:
            return gr.update(choices=chat_choices(chats), value=None, info=None), _hidden(), _hidden()
        path = write_chat_export(self.app.conversation(chat_id, user_of(request)))
        return (
            gr.update(choices=chat_choices(chats), value=chat_id, info=None),
            gr.update(visible=True),
            gr.update(value=str(path), visible=True),
        )

    def start_chat(self) -> tuple[Any, ...]:
        """A new chat: a fresh id to save it under; no saved chat picked."""
        return new_chat_id(), gr.update(value=None), _hidden(), _hidden()

    def open_chat(self, chat_id: str | None, request: gr.Request | None) -> tuple[Any, ...]:
        """A saved chat back on screen, as it was answered (its citations clickable); further
        questions go on in it. The sources and exports are those of its last answer."""
        try:
            chat = self.app.conversation(chat_id or "", user_of(request))
        except PaperQAError as e:
            return _chat_failed(e, new_chat_id())
        last = chat.items[-1].answer
        md, bib = write_exports(last)
        return (
            conversation_messages(chat),
            [t.answer.as_prior() for t in chat.items],
            render_sources(last.sources),
            "",
            gr.update(value=str(md), visible=True),
            gr.update(value=str(bib), visible=not last.refused),
            gr.update(visible=last.refused and bool(last.sources)),
            chat.id,
        )

    def delete_chat(self, chat_id: str, request: gr.Request | None) -> tuple[Any, ...]:
        """Delete the saved chat on screen; a new chat takes its place."""
        try:
            self.app.delete_conversation(chat_id, user_of(request))
        except PaperQAError as e:
            return _chat_failed(e, chat_id)
        return (*self.new_chat(), new_chat_id())

    # ---- corpus -------------------------------------------------------------------
    def show_corpus(self, query: str) -> tuple[Any, list[str], str]:
        rows, ids = corpus_rows(self.app.search_papers(query or "", limit=CORPUS_ROWS))
        total, exact = (
            (len(rows), True)
            if len(rows) < CORPUS_ROWS
            else self.app.count_papers_mentioning(query or "", True)
        )
        return rows, ids, paper_count(len(rows), total, exact)

    def open_paper(self, ids: list[str], evt: gr.SelectData) -> str:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        return render_paper(self.app.paper(ids[row]) if 0 <= row < len(ids) else None)

    def add_files(
        self,
        files: list[Any] | None,
        query: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio idiom)
    ) -> tuple[Any, ...]:
        if not files:
            return ("Choose one or more files first.", *self.show_corpus(query))
        paths = [Path(getattr(f, "name", f)) for f in files]

        def step(done: int, total: int) -> None:
            progress(done / max(total, 1), desc=f"Indexing {done}/{total} papers")

        try:
            summary = render_ingest_report(self.app.ingest_uploads(paths, progress=step))
        except PaperQAError as e:
            summary = render_error(e, " — nothing was added.")
        return (summary, *self.show_corpus(query))

    # ---- API for programs -----------------------------------------------------------
    def ask(
        self, question: str, paper_ids: str = "", force: bool = False, backend: str = ""
    ) -> dict[str, Any]:
        """Answer a question from the paper corpus, with citations; returns the `paperqa ask --json` object.

        Args:
            question: the question about the papers.
            paper_ids: answer only from these papers (ids separated by commas; empty: all papers).
            force: answer from the closest papers even when the corpus is judged not to cover it.
            backend: the LLM backend, by a name the server offers (empty: the server's default).
        """
        try:
            filters = Filters(paper_ids=parse_paper_ids(paper_ids))
            llm = resolve(LLMChoice(backend=backend or SERVER_DEFAULT), self.app.settings)
            return self.app.ask(question, filters=filters, force=bool(force), llm_settings=llm).to_json_dict()
        except PaperQAError as e:
            return {"question": question, "error": str(e)}

    def ask_json(self, question: str) -> str:
        """Answer a question from the paper corpus, with citations; returns the `paperqa ask --json`
        object as JSON text (for MCP clients: Gradio's MCP server would send /ask's dict as Python repr)."""
        return json.dumps(self.ask(question), ensure_ascii=False)


def build(app: PaperQA) -> gr.Blocks:
    return PaperQAUI(app).build()
