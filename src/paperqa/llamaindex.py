"""PaperQA as llama-index pieces: a retriever of papers and a query engine of verified answers.

`PaperQA.as_retriever()` and `PaperQA.as_query_engine()` build these; they plug PaperQA's hybrid
retrieval and its verified, cited answers into a llama-index pipeline (a router, an agent tool, a
sub-question engine). One node per paper: a `TextNode` with the paper's title and abstract, its id
the paper id, its score the fused retrieval score.

May touch: llama-index's retriever, query-engine, response and node classes, and the `PaperQA`
it is given (its `retrieve`, `ask` and `ask_stream`, as the `PaperQA` protocol here names them);
nothing else (the store and the models stay behind PaperQA). It does not import `api`.

    retriever = app.as_retriever(top_k=5)
    for hit in retriever.retrieve("tabular foundation models"):
        print(hit.score, hit.metadata["title"])
    response = app.as_query_engine().query("What F1 does FreePRM reach on ProcessBench?")
    print(response.response, [n.metadata["n"] for n in response.source_nodes])
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import (
    RESPONSE_TYPE,
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .answer.retrieve import Filters, Retrieval
from .errors import PaperQAError
from .settings import LLMSettings
from .types import Answer, PriorTurn, Source, Style
from .validate import check_top_k

if TYPE_CHECKING:
    from .answer.engine import Event


class PaperQA(Protocol):
    """What these adapters need of `api.PaperQA` (which builds them): retrieval and answers. Taken
    as an interface, so this module and `api` do not import each other."""

    def retrieve(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        style: Style | Literal["auto"] | None = None,
    ) -> Retrieval: ...

    def ask_stream(
        self,
        question: str,
        history: Sequence[str | PriorTurn] = (),
        style: Style | Literal["auto"] | None = None,
        filters: Filters | None = None,
        top_k: int | None = None,
        llm_settings: LLMSettings | None = None,
        force: bool = False,
    ) -> Iterator[Event]: ...

    def ask(self, question: str, **kw: object) -> Answer: ...


class AskOptions(TypedDict, total=False):
    """The keyword arguments of `PaperQA.ask_stream` a query engine passes on with each question."""

    top_k: int | None
    filters: Filters | None
    style: Style | Literal["auto"] | None
    llm_settings: LLMSettings | None


# Metadata a node carries for programs, kept out of the text an LLM or an embedding model reads
# (`node.get_content(MetadataMode.LLM)` shows the title and the date only).
HIDDEN_KEYS = ["paper_id", "score", "dense_score", "keyword_score", "pages", "links", "n", "cited"]
# What a divergent draft and the verified answer are separated by in `print_response_stream`.
VERIFIED_RULE = "\n" + "─" * 40 + "\n"


def paper_node(src: Source) -> NodeWithScore:
    """One retrieved paper as a llama-index node: title + abstract, id the paper id, the fused
    score (and its dense and keyword parts) in metadata."""
    p = src.paper
    meta: dict[str, Any] = {
        "paper_id": p.id,
        "title": p.title,
        "date": p.shown_date or None,
        "pages": list(p.pages),
        "links": list(p.links),
        "score": src.score,
        "dense_score": src.dense,
        "keyword_score": src.keyword,
    }
    node = TextNode(
        id_=p.id,
        text=f"{p.title}\n\n{p.abstract}",
        metadata=meta,
        excluded_llm_metadata_keys=HIDDEN_KEYS,
        excluded_embed_metadata_keys=HIDDEN_KEYS,
    )
    return NodeWithScore(node=node, score=src.score)


def numbered_node(src: Source, cited: bool) -> NodeWithScore:
    """A source of an answer as a node: `paper_node` plus its citation number `n` (the `[n]` in
    the answer's text) and whether the answer cites it (`cited`)."""
    hit = paper_node(src)
    hit.node.metadata.update(n=src.n, cited=cited)
    return hit


def source_nodes(answer: Answer) -> list[NodeWithScore]:
    """An answer's sources as numbered nodes, in its order."""
    cited = {c.n for c in answer.citations}
    return [numbered_node(src, src.n in cited) for src in answer.sources]


def response_metadata(answer: Answer) -> dict[str, Any]:
    """What a `Response` carries besides its text: the `paperqa ask --json` fields."""
    shown = answer.to_json_dict()
    return {key: shown[key] for key in ("citations", "refused", "style", "notes", "timings")}


class PaperQARetriever(BaseRetriever):
    """PaperQA's hybrid retrieval as a llama-index retriever: one node per paper, best first."""

    def __init__(self, app: PaperQA, top_k: int | None = None, filters: Filters | None = None) -> None:
        check_top_k(top_k)
        super().__init__()
        self.app = app
        self.top_k = top_k
        self.filters = filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self.app.retrieve(query_bundle.query_str, filters=self.filters, top_k=self.top_k)
        return [paper_node(src) for src in found.sources]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


class _Stream:
    """Turns `ask_stream`'s events into the pieces a streaming response yields: the draft as the
    model writes it, then the rest of the verified answer when it continues the draft."""

    def __init__(self) -> None:
        self.target: VerifiedStreamingResponse | VerifiedAsyncStreamingResponse | None = None
        self.shown = ""

    def piece(self, ev: Event) -> str:
        if ev.kind == "token" and ev.text.startswith(self.shown):
            new, self.shown = ev.text[len(self.shown) :], ev.text
            return new
        if ev.kind == "final" and ev.answer is not None:
            if self.target is not None:
                self.target.finish(ev.answer)
            text = ev.answer.answer
            return text[len(self.shown) :] if text.startswith(self.shown) else ""
        return ""


@dataclass
class VerifiedStreamingResponse(StreamingResponse):
    """A `StreamingResponse` whose `response_gen` yields PaperQA's draft as it is written, and
    whose text, once the stream ends, is the verified answer (`str(response)`, `response_txt`,
    `get_response()`). The verifier may drop or repair sentences of the draft: when the verified
    answer does not continue the draft, only `str(response)` has it. `source_nodes` and
    `metadata` are the final answer's after the stream ends."""

    answer: Answer | None = None

    def finish(self, answer: Answer) -> None:
        self.answer = answer
        self.response_txt = answer.answer
        self.source_nodes[:] = source_nodes(answer)
        self.metadata = response_metadata(answer)

    def _drain(self) -> None:
        """Run the stream to its end (what is left of it: a consumed generator yields nothing)."""
        for _ in self.response_gen:
            pass

    def __str__(self) -> str:
        self._drain()
        return self.response_txt or ""

    def get_response(self) -> Response:
        self._drain()
        return Response(self.response_txt, self.source_nodes, self.metadata)

    def print_response_stream(self) -> None:
        """Print the draft as it is written, then the verified answer when it differs."""
        streamed = ""
        if self.answer is None:
            for text in self.response_gen:
                print(text, end="", flush=True)
                streamed += text
        verified = str(self)
        if not streamed:  # no draft, or the stream was read before: the answer itself
            print(verified)
        elif streamed != verified:
            print(VERIFIED_RULE + verified)
        else:
            print()


@dataclass
class VerifiedAsyncStreamingResponse(AsyncStreamingResponse):
    """`VerifiedStreamingResponse` for `aquery`: `async_response_gen()` yields the draft, and the
    text is the verified answer once the stream ends."""

    answer: Answer | None = None

    def finish(self, answer: Answer) -> None:
        self.answer = answer
        self.source_nodes[:] = source_nodes(answer)
        self.metadata = response_metadata(answer)

    async def _yield_response(self) -> AsyncGenerator[str, None]:
        async for text in super()._yield_response():
            yield text
        if self.answer is not None:
            self.response_txt = self.answer.answer


class PaperQAQueryEngine(BaseQueryEngine):
    """PaperQA's verified, cited answers as a llama-index query engine.

    `query(q)` returns a `Response` (text: the answer with its `[n]` markers; `source_nodes`: its
    sources, each with `n` and `cited` in metadata; `metadata`: citations, refused, style, notes,
    timings), or a `VerifiedStreamingResponse` with `streaming=True`. `retrieve(q)` gives the
    nodes `PaperQARetriever` gives."""

    def __init__(self, app: PaperQA, streaming: bool = False, options: AskOptions | None = None) -> None:
        self.options: AskOptions = options or {}
        check_top_k(self.options.get("top_k"))
        super().__init__(callback_manager=None)
        self.app = app
        self.streaming = streaming

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        o = self.options
        found = self.app.retrieve(query_bundle.query_str, o.get("filters"), o.get("top_k"), o.get("style"))
        return [paper_node(src) for src in found.sources]

    def _events(self, query_bundle: QueryBundle) -> Iterator[Event]:
        return self.app.ask_stream(query_bundle.query_str, **self.options)

    def _answer(self, query_bundle: QueryBundle) -> Response:
        answer = self.app.ask(query_bundle.query_str, **self.options)
        return Response(answer.answer, source_nodes(answer), response_metadata(answer))

    def _query(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        if not self.streaming:
            return self._answer(query_bundle)
        events = self._events(query_bundle)
        first = _retrieved(events)  # an error (empty question, empty index) is raised here
        stream = _Stream()
        response = VerifiedStreamingResponse(response_gen=_pieces(events, stream), source_nodes=first)
        stream.target = response
        return response

    async def _aquery(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        if not self.streaming:
            return await asyncio.to_thread(self._answer, query_bundle)
        events = self._events(query_bundle)
        first = await asyncio.to_thread(_retrieved, events)
        stream = _Stream()
        response = VerifiedAsyncStreamingResponse(response_gen=_apieces(events, stream), source_nodes=first)
        stream.target = response
        return response


def _pieces(events: Iterator[Event], stream: _Stream) -> Generator[str, None, None]:
    for ev in events:
        piece = stream.piece(ev)
        if piece:
            yield piece


async def _apieces(events: Iterator[Event], stream: _Stream) -> AsyncGenerator[str, None]:
    """`_pieces` without blocking the event loop: each event is awaited in a worker thread."""
    while (ev := await asyncio.to_thread(next, events, None)) is not None:
        piece = stream.piece(ev)
        if piece:
            yield piece


def _retrieved(events: Iterator[Event]) -> list[NodeWithScore]:
    """Advance `ask_stream` to its sources event (retrieval done) and return them as numbered
    nodes (none cited yet: the final answer's replace them)."""
    for ev in events:
        if ev.kind == "sources" and ev.retrieval is not None:
            return [numbered_node(src, cited=False) for src in ev.retrieval.sources]
    raise PaperQAError("the answer stream ended before its sources", hint="ask again")  # pragma: no cover
