"""PaperQA as llama-index pieces: `as_retriever` gives one node per paper in PaperQA's order, and
`as_query_engine` answers with the verified, cited text and numbered source nodes (streamed or not,
sync or async). A real Chroma store of four papers with a fake embedding model and a scripted LLM;
the README's snippet runs on the real index (slow)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import AsyncStreamingResponse, Response, StreamingResponse
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from paperqa.answer.retrieve import Filters
from paperqa.api import PaperQA
from paperqa.errors import PaperQAError
from paperqa.llamaindex import VERIFIED_RULE
from paperqa.settings import Settings
from paperqa.types import Paper

from .conftest import ROOT, ScriptedLLM
from .fakes import FakeEmbedModel, paper

QUESTION = "How much faster than greedy decoding is Quokka decoding?"
# The model's draft: a supported claim with a marker to a source that does not exist.
DRAFT = "Quokka decoding generates text 2.7x faster than greedy decoding [1][7]."
SNIPPET_MARKER = "<!-- llamaindex-snippet -->"


def _library() -> list[Paper]:
    quokka = paper("Quokka Decoding", "Quokka decoding generates text 2.7x faster than greedy decoding.")
    zebra = paper("Zebra Attention", "A striped attention pattern that halves the memory of decoding.")
    mole = paper("Mole Retrieval", "Retrieval that digs through long documents.")
    heron = paper(
        "Heron Speculation", "Speculative decoding with a small draft model, 2x faster than greedy."
    )
    quokka.date, zebra.date = "2024-05-01", "2023-02-01"
    quokka.pages, quokka.links = ["2024-05-01.txt"], ["https://github.com/quokka/decoding"]
    return [quokka, zebra, mole, heron]


@pytest.fixture()
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PaperQA]:
    """Four papers in a fresh data folder; the model replies DRAFT to every question."""
    monkeypatch.setattr("paperqa.store.index.make_embed_model", lambda _settings: FakeEmbedModel())
    with PaperQA(Settings(home=tmp_path / "home"), llm=ScriptedLLM(*[DRAFT] * 4)) as app:
        app.index.upsert(_library())
        yield app


def _without_citation(hit: NodeWithScore) -> dict[str, object]:
    return {k: v for k, v in hit.metadata.items() if k not in ("n", "cited")}


# ---- the retriever -----------------------------------------------------------------------------
def test_the_retriever_gives_one_node_per_paper_in_paperqas_ranking_order(library: PaperQA) -> None:
    retriever = library.as_retriever()
    hits = retriever.retrieve(QUESTION)
    assert isinstance(retriever, BaseRetriever)
    ranked = library.retrieve(QUESTION).sources
    assert [h.node_id for h in hits] == [s.paper.id for s in ranked]
    assert len({h.node_id for h in hits}) == len(hits) == 4
    assert hits[0].metadata["title"] == "Quokka Decoding"
    assert [h.score for h in hits] == sorted((h.score or 0.0 for h in hits), reverse=True)


def test_a_node_holds_the_papers_text_id_date_links_and_its_fused_dense_and_keyword_scores(
    library: PaperQA,
) -> None:
    hit = library.as_retriever().retrieve(QUESTION)[0]
    src = library.retrieve(QUESTION).sources[0]
    assert hit.text == "Quokka Decoding\n\nQuokka decoding generates text 2.7x faster than greedy decoding."
    assert hit.metadata == {
        "paper_id": src.paper.id,
        "title": "Quokka Decoding",
        "date": "2024-05-01",
        "pages": ["2024-05-01.txt"],
        "links": ["https://github.com/quokka/decoding"],
        "score": src.score,
        "dense_score": src.dense,
        "keyword_score": src.keyword,
    }
    assert hit.score == src.score and hit.node_id == src.paper.id


def test_an_llm_reading_a_node_sees_its_title_and_date_but_not_the_scores(library: PaperQA) -> None:
    hit = library.as_retriever().retrieve(QUESTION)[0]
    for mode in (MetadataMode.LLM, MetadataMode.EMBED):
        shown = hit.node.get_content(metadata_mode=mode)
        assert "title: Quokka Decoding" in shown and "date: 2024-05-01" in shown
        assert "score" not in shown and "paper_id" not in shown


def test_top_k_and_filters_narrow_what_the_retriever_gives(library: PaperQA) -> None:
    assert len(library.as_retriever(top_k=2).retrieve(QUESTION)) == 2
    dated = library.as_retriever(filters=Filters(date_from="2024-01-01")).retrieve(QUESTION)
    assert [h.metadata["title"] for h in dated] == ["Quokka Decoding"]


def test_aretrieve_gives_the_same_nodes_as_retrieve(library: PaperQA) -> None:
    retriever = library.as_retriever()
    assert asyncio.run(retriever.aretrieve(QUESTION)) == retriever.retrieve(QUESTION)


def test_an_empty_query_a_bad_top_k_and_an_empty_index_are_refused_with_a_hint(
    library: PaperQA,
) -> None:
    with pytest.raises(PaperQAError, match="empty") as empty:
        library.as_retriever().retrieve("   ")
    with pytest.raises(PaperQAError, match="top_k") as bad_k:
        library.as_query_engine(top_k=0)
    library.reset()
    with pytest.raises(PaperQAError, match="index is empty") as no_index:
        library.as_retriever().retrieve(QUESTION)
    assert empty.value.hint and bad_k.value.hint and no_index.value.hint


# ---- the query engine --------------------------------------------------------------------------
def test_the_query_engines_response_is_the_verified_cited_answer(library: PaperQA) -> None:
    engine = library.as_query_engine()
    response = engine.query(QUESTION)
    answer = library.ask(QUESTION)
    assert isinstance(engine, BaseQueryEngine) and isinstance(response, Response)
    assert response.response == answer.answer and str(response) == answer.answer
    assert "[1]" in answer.answer and "[7]" not in answer.answer  # the verifier removed the marker
    meta = response.metadata or {}
    assert set(meta) == {"citations", "refused", "style", "notes", "timings"}
    assert meta["citations"] == [c.model_dump() for c in answer.citations] and meta["refused"] is False
    assert meta["notes"] == answer.notes and any("[7]" in note for note in answer.notes)


def test_source_nodes_are_the_retrievers_nodes_numbered_as_the_answer_cites_them(library: PaperQA) -> None:
    response = library.as_query_engine().query(QUESTION)
    retrieved = library.as_retriever().retrieve(QUESTION)
    assert [_without_citation(h) for h in response.source_nodes] == [h.metadata for h in retrieved]
    assert [h.metadata["n"] for h in response.source_nodes] == [1, 2, 3, 4]
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", response.response or "")}
    assert {h.metadata["n"] for h in response.source_nodes if h.metadata["cited"]} == cited == {1}
    assert library.as_query_engine().retrieve(QueryBundle(QUESTION)) == retrieved


def test_a_question_the_corpus_does_not_cover_is_a_response_marked_refused(library: PaperQA) -> None:
    response = library.as_query_engine().query("Which enzymes fold proteins in yeast mitochondria?")
    assert response.metadata and response.metadata["refused"] is True
    assert (response.response or "").startswith("The corpus does not cover this question")
    assert response.metadata["citations"] == []
    assert not any(h.metadata["cited"] for h in response.source_nodes)


def test_streaming_yields_the_draft_as_written_and_ends_on_the_verified_answer(library: PaperQA) -> None:
    response = library.as_query_engine(streaming=True).query(QUESTION)
    assert isinstance(response, StreamingResponse)
    # The sources are known before the first word: the retrieved papers, numbered, none cited yet.
    assert [h.metadata["n"] for h in response.source_nodes] == [1, 2, 3, 4]
    assert not any(h.metadata["cited"] for h in response.source_nodes)
    pieces = list(response.response_gen)
    answer = library.ask(QUESTION)
    # the verified extractive lead first (it needs no model), then the model's words as written
    assert len(pieces) > 2 and pieces[0].startswith(
        "In “Quokka Decoding”, Quokka decoding generates text 2.7x"
    )
    assert "Quokka decoding generates text 2.7x faster" in "".join(pieces[1:])
    assert "[7]" not in "".join(pieces)  # a marker to no source is never streamed either
    assert str(response) == response.response_txt == answer.answer
    final = response.get_response()
    assert final.response == answer.answer and final.metadata and final.metadata["refused"] is False
    assert [h.metadata["cited"] for h in response.source_nodes] == [True, False, False, False]


def test_a_streamed_draft_is_printed_then_the_verified_answer_that_replaces_it(library: PaperQA) -> None:
    response = library.as_query_engine(streaming=True).query(QUESTION)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        response.print_response_stream()
    draft, verified = out.getvalue().split(VERIFIED_RULE)
    assert draft.startswith("In “Quokka Decoding”, Quokka decoding generates text")
    assert verified.strip() == str(response)
    again = io.StringIO()
    with contextlib.redirect_stdout(again):
        response.print_response_stream()  # the stream was read: the verified answer alone
    assert again.getvalue().strip() == str(response)


def test_aquery_answers_as_query_does_streamed_or_not(library: PaperQA) -> None:
    async def both() -> tuple[str, list[str], str]:
        plain = await library.as_query_engine().aquery(QUESTION)
        streamed = await library.as_query_engine(streaming=True).aquery(QUESTION)
        assert isinstance(plain, Response) and isinstance(streamed, AsyncStreamingResponse)
        pieces = [p async for p in streamed.async_response_gen()]
        return plain.response or "", pieces, (await streamed.get_response()).response or ""

    plain, pieces, final = asyncio.run(both())
    assert plain == final == library.ask(QUESTION).answer
    assert "".join(pieces).startswith("In “Quokka Decoding”, Quokka decoding generates text")


def test_an_empty_question_to_the_query_engine_is_refused_with_a_hint(library: PaperQA) -> None:
    for streaming in (False, True):
        with pytest.raises(PaperQAError, match="empty") as e:
            library.as_query_engine(streaming=streaming).query("  ")
        assert e.value.hint


# ---- the README's snippet, on the real index ---------------------------------------------------
def readme_snippet() -> str:
    """The fenced Python block right after the README's llamaindex-snippet marker."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(re.escape(SNIPPET_MARKER) + r"\s*```python\n(.*?)```", readme, re.S)
    assert found, f"README.md has no ```python block after {SNIPPET_MARKER}"
    return found.group(1)


def test_the_readme_llamaindex_snippet_is_five_lines() -> None:
    assert len(readme_snippet().strip().splitlines()) == 5


def test_the_readme_llamaindex_snippet_runs_and_prints_the_cited_answer_and_its_sources(
    app: PaperQA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERQA_HOME", str(app.settings.home))
    out = io.StringIO()
    scope: dict[str, object] = {}
    with contextlib.redirect_stdout(out):
        exec(compile(readme_snippet(), "README.md", "exec"), scope)
    made = scope["app"]
    assert isinstance(made, PaperQA)
    made.close()
    printed = out.getvalue()
    response = scope["response"]
    assert isinstance(response, Response) and response.response and response.response in printed
    assert "FreePRM" in printed and re.search(r"\[\d+\]", response.response)
    for hit in response.source_nodes:
        assert f"[{hit.metadata['n']}] {hit.metadata['title']}" in printed
