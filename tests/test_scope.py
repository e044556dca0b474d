"""Questions about chosen papers (`Filters.paper_ids`, `ask --paper`, the `/ask` paper ids, the
UI's scope) and the refusal one can override (`force`, `ask --force`, the force button). Fast: a
fixed-score index, or a real Chroma store in a temp folder with a fake embedding model and a
scripted LLM."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from paperqa.answer.retrieve import Filters, Retriever
from paperqa.api import PaperQA
from paperqa.cli import cli, main
from paperqa.errors import PaperQAError
from paperqa.settings import RetrievalSettings, Settings
from paperqa.types import ChunkHit, Paper, asked
from paperqa_ui.app import PaperQAUI, parse_paper_ids
from paperqa_ui.prefs import DEFAULT_PREFS
from paperqa_ui.render import paper_choices, scope_label

from .conftest import ScriptedLLM
from .fakes import FakeEmbedModel, paper
from .test_api import _papers  # Quokka Decoding, Zebra Attention, Mole Retrieval
from .test_fusion import FakeIndex

UNCOVERED = "How do penguins sleep through the polar winter?"


# ---- Filters.paper_ids ------------------------------------------------------------------------


def test_a_paper_id_filter_is_active_and_lets_through_only_those_papers() -> None:
    a, b = Paper(id="a", title="A", abstract="x"), Paper(id="b", title="B", abstract="y")
    scoped = Filters(paper_ids=["a"])
    assert scoped.active() and not Filters().active()
    assert scoped.allows(a) and not scoped.allows(b)
    a.date = "2024-05-01"
    assert not Filters(paper_ids=["a"], date_from="2025-01-01").allows(a)  # every filter applies


class ScopedIndex(FakeIndex):
    """FakeIndex whose searches honour the allowed papers, as the real store's do."""

    def dense_search(
        self, vec: np.ndarray, k: int, allowed: set[str] | None = None, texts: bool = True
    ) -> list[ChunkHit]:
        return [h for h in super().dense_search(vec, k) if allowed is None or h.paper_id in allowed]

    def dense_papers(self, vec: np.ndarray, k: int, allowed: set[str] | None = None) -> dict[str, float]:
        return {p: s for p, s in super().dense_papers(vec, k).items() if allowed is None or p in allowed}

    def keyword_search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        return [(p, s) for p, s in super().keyword_search(query, k) if allowed is None or p in allowed]

    def content_terms(self, texts: list[str]) -> list[list[str]]:
        return [t.lower().split() for t in texts]


def _corpus() -> ScopedIndex:
    papers = [
        Paper(id="dom", title="Domino: Overlapping Communication", abstract="Domino overlaps communication."),
        Paper(id="mega", title="MegaScale: Training at Scale", abstract="MegaScale trains on 10,000 GPUs."),
        Paper(id="mini", title="MiniCPM: Small Models", abstract="MiniCPM uses a WSD scheduler."),
        Paper(id="zero", title="ZeRO: Memory Optimizations", abstract="ZeRO shards optimizer states."),
    ]
    return ScopedIndex(
        papers,
        keyword=[("dom", 9.0), ("mega", 8.0), ("zero", 4.0), ("mini", 1.0)],
        dense={"dom": 0.7, "mega": 0.65, "zero": 0.5, "mini": 0.3},
    )


def test_a_scoped_search_returns_only_the_chosen_papers() -> None:
    r = Retriever(_corpus(), RetrievalSettings()).search(  # type: ignore[arg-type]
        "how is communication overlapped with computation", k=4, filters=Filters(paper_ids=["mini", "zero"])
    )
    assert {s.paper.id for s in r.sources} == {"mini", "zero"}
    assert r.best_match == "zero" and r.best_dense == 0.5  # the best match is a chosen paper too


def test_a_scoped_comparison_picks_its_sides_only_among_the_chosen_papers() -> None:
    retriever = Retriever(_corpus(), RetrievalSettings())
    question = "Compare Domino and MegaScale in how they scale training"
    free = retriever.search(question, k=4)  # type: ignore[arg-type]
    assert {"dom", "mega"} <= set(free.focus)
    scoped = retriever.search(question, k=4, filters=Filters(paper_ids=["mini", "zero"]))  # type: ignore[arg-type]
    assert scoped.sub_queries  # each side was searched, within the scope
    assert {s.paper.id for s in scoped.sources} <= {"mini", "zero"}
    assert set(scoped.focus) <= {"mini", "zero"}


# ---- the answer: scoped refusals, forced answers (real store, fake embeddings) -------------------


@pytest.fixture()
def small_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder with three papers; embeddings from FakeEmbedModel, every LLM scripted (silent)."""
    monkeypatch.setattr("paperqa.store.index.make_embed_model", lambda _settings: FakeEmbedModel())
    monkeypatch.setattr("paperqa.api.make_llm", lambda _settings: ScriptedLLM())
    home = tmp_path / "home"
    with PaperQA(Settings(home=home)) as app:
        app.index.upsert(_papers())
    monkeypatch.setenv("PAPERQA_HOME", str(home))
    yield home


@pytest.fixture()
def small_app(small_home: Path) -> Iterator[PaperQA]:
    with PaperQA(Settings(home=small_home), llm=ScriptedLLM()) as app:
        yield app


def test_a_refusal_names_the_best_match_its_similarity_and_the_threshold(small_app: PaperQA) -> None:
    ans = small_app.ask(UNCOVERED)
    assert ans.refused and not ans.forced
    assert "The corpus does not cover this question" in ans.answer
    assert "The most similar passage, in “" in ans.answer and "has a similarity of 0." in ans.answer
    assert "below the threshold of 0.42 (min_relevance)" in ans.answer


def test_a_forced_answer_comes_from_the_closest_papers_and_says_so_first(small_app: PaperQA) -> None:
    ans = small_app.ask(UNCOVERED, force=True)
    assert ans.forced and not ans.refused and ans.citations
    first = ans.answer.splitlines()[0]
    assert first.startswith("**Forced answer:**") and "below the threshold of 0.42" in first
    assert ans.to_json_dict()["forced"] is True
    assert {c.paper_id for c in ans.citations} <= {s.paper.id for s in ans.sources}


def test_forcing_a_covered_question_is_an_ordinary_answer(small_app: PaperQA) -> None:
    ans = small_app.ask("How much faster than greedy decoding is Quokka decoding?", force=True)
    assert not ans.forced and not ans.refused and "Forced" not in ans.answer
    assert "2.7x" in ans.answer


def test_an_answer_about_chosen_papers_cites_only_them(small_app: PaperQA) -> None:
    zebra, mole = _papers()[1:]
    ans = small_app.ask(
        "Compare Zebra Attention and Mole Retrieval", filters=Filters(paper_ids=[zebra.id, mole.id])
    )
    assert not ans.refused and ans.style == "comparison"
    assert {s.paper.id for s in ans.sources} <= {zebra.id, mole.id}
    assert {c.paper_id for c in ans.citations} == {zebra.id, mole.id}


def test_chosen_papers_that_do_not_cover_the_question_say_so_naming_the_scope(small_app: PaperQA) -> None:
    zebra, mole = _papers()[1:]
    ans = small_app.ask(
        "How much faster than greedy decoding is Quokka decoding?",
        filters=Filters(paper_ids=[zebra.id, mole.id]),
    )
    assert ans.refused
    assert ans.answer.startswith("The 2 selected papers do not cover this question")
    assert "names “Quokka”, which only a paper outside the 2 selected papers introduces" in ans.answer
    assert "Quokka Decoding" not in {s.paper.title for s in ans.sources}
    forced = small_app.ask(ans.question, filters=Filters(paper_ids=[zebra.id]), force=True)
    assert forced.forced and forced.answer.startswith("**Forced answer:** the selected paper was judged")
    assert {c.paper_id for c in forced.citations} == {zebra.id}


def test_an_unknown_paper_id_is_an_error_naming_it_with_a_hint(small_app: PaperQA) -> None:
    with pytest.raises(PaperQAError, match="no paper with id p000000000000 in the index") as e:
        small_app.ask("What is Quokka decoding?", filters=Filters(paper_ids=["p000000000000"]))
    assert e.value.hint and "paperqa papers --search" in e.value.hint


# ---- the CLI ------------------------------------------------------------------------------


def test_ask_paper_answers_only_from_the_given_papers(small_home: Path) -> None:
    zebra, mole = _papers()[1:]
    args = ["ask", "Compare Zebra Attention and Mole Retrieval", "--json", "--paper", zebra.id]
    out = CliRunner().invoke(cli, [*args, "--paper", mole.id])
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    assert {s["paper_id"] for s in got["sources"]} <= {zebra.id, mole.id}
    assert {c["paper_id"] for c in got["citations"]} == {zebra.id, mole.id}


def test_ask_paper_with_an_unknown_id_prints_one_line_naming_it(
    small_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["paperqa", "ask", "What is Quokka decoding?", "--paper", "pnope"])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == 1 and "Traceback" not in err
    assert err.startswith("Error: no paper with id pnope in the index")
    assert "paperqa papers --search" in err


def test_ask_refusal_offers_force_and_force_marks_the_answer(small_home: Path) -> None:
    refused = CliRunner().invoke(cli, ["ask", UNCOVERED])
    assert refused.exit_code == 0, refused.output
    assert "below the threshold" in refused.stdout and "ask again with --force" in refused.stdout
    forced = CliRunner().invoke(cli, ["ask", UNCOVERED, "--force"])
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.startswith("**Forced answer:**") and "References" in forced.stdout
    as_json = json.loads(CliRunner().invoke(cli, ["ask", UNCOVERED, "--force", "--json"]).stdout)
    assert as_json["forced"] is True and as_json["answer"].startswith("**Forced answer:**")


# ---- the UI and /ask ------------------------------------------------------------------------


def test_the_ask_endpoint_takes_paper_ids_and_force_after_the_question(small_app: PaperQA) -> None:
    ui = PaperQAUI(small_app)
    zebra = _papers()[1]
    assert ui.ask(UNCOVERED)["refused"] is True  # the question alone still works
    assert ui.ask(UNCOVERED, "", True)["forced"] is True
    scoped = ui.ask("How much faster is decoding?", zebra.id, True)
    assert {s["paper_id"] for s in scoped["sources"]} == {zebra.id}
    assert "no paper with id pnope" in ui.ask("What is Quokka?", "pnope")["error"]
    assert parse_paper_ids(" a, b  c ") == ["a", "b", "c"] and parse_paper_ids(["a", "b"]) == ["a", "b"]


def _steps(steps: Iterator[tuple[object, ...]]) -> list[tuple[object, ...]]:
    import copy

    return [copy.deepcopy(step) for step in steps]


def test_the_force_button_appears_under_a_refusal_and_answers_the_same_question(small_app: PaperQA) -> None:
    ui = PaperQAUI(small_app)
    refused = _steps(ui.respond(UNCOVERED, [], [], "c1", [], None, *DEFAULT_PREFS.values()))
    chat, hist, *_rest, force = refused[-1]
    assert force["visible"] is True and [asked(h) for h in hist] == [UNCOVERED]  # type: ignore[union-attr]
    assert "below the threshold" in chat[-1]["content"]  # type: ignore[index]
    forced = _steps(ui.force_answer(chat, hist, "c1", [], None, *DEFAULT_PREFS.values()))
    chat2, hist2, *_rest2, force2 = forced[-1]
    assert force2["visible"] is False and [asked(h) for h in hist2] == [UNCOVERED]  # type: ignore[union-attr]
    assert chat2[-2]["content"] == UNCOVERED  # type: ignore[index]
    assert chat2[-1]["content"].startswith("**Forced answer:**")  # type: ignore[index]


def test_ticked_papers_become_the_chats_scope_until_cleared(small_app: PaperQA) -> None:
    ui = PaperQAUI(small_app)
    quokka, zebra, mole = _papers()
    update = ui.selectable("decoding", [mole.id])
    assert [pid for _label, pid in update["choices"]] == [mole.id, zebra.id, quokka.id]  # ticked first
    assert update["value"] == [mole.id]
    scope, label, clear, _tab = ui.set_scope([zebra.id, mole.id])
    assert scope == [zebra.id, mole.id] and label["visible"] and clear["visible"]
    assert label["value"].startswith("**Scope: 2 papers**")
    steps = _steps(
        ui.respond("How much faster is Quokka decoding?", [], [], "c1", scope, None, *DEFAULT_PREFS.values())
    )
    answer = steps[-1][0][-1]["content"]  # type: ignore[index]
    assert "The 2 selected papers do not cover this question" in answer
    assert ui.clear_scope()[0] == []


def test_tick_boxes_keep_ticked_papers_and_cap_the_rest() -> None:
    a, b, c = (paper(t, "x") for t in ("A", "B", "C"))
    assert paper_choices([c], [a, b, c], 1) == [("C (undated)", c.id), ("A (undated)", a.id)]
    assert scope_label([]) == "" and scope_label([a]).startswith("**Scope: 1 paper**")


# ---- the real corpus (slow: the session's index, the real embedding model and LLM) -------------

DOMINO, MEGASCALE = "p2c4f599ec32f", "p91af15ab89ae"


def test_the_cli_scope_and_force_on_the_real_corpus(home_copy: Path) -> None:
    from .conftest import run_cli

    outside = run_cli(
        "ask",
        "What speedup over Megatron-LM does Domino report?",
        "--paper",
        MEGASCALE,
        "--json",
        home=home_copy,
    )
    assert outside.returncode == 0, outside.stderr
    got = json.loads(outside.stdout)
    assert got["refused"] and got["answer"].startswith("The selected paper does not cover this question")
    assert "names “Domino”, which only a paper outside the selected paper introduces" in got["answer"]
    assert {s["paper_id"] for s in got["sources"]} == {MEGASCALE}
    forced = run_cli("ask", UNCOVERED, "--force", "--json", home=home_copy)
    assert forced.returncode == 0, forced.stderr
    answer = json.loads(forced.stdout)
    assert answer["forced"] is True and not answer["refused"]
    assert answer["answer"].startswith("**Forced answer:** the corpus was judged not to cover this question")
    assert "(min_relevance)" in answer["answer"].splitlines()[0] and answer["citations"]


# ---- a chosen scope is the subject (the real corpus, real embeddings, scripted model) -----------

GALORE, COAP, FRUGAL, FREEPRM, FEDZIP = (
    "pb251d0c62f98",
    "p643d77f34ce6",
    "p9b8c9f48717d",
    "p20b62df98f3f",
    "p79b743b2104d",
)


@pytest.mark.parametrize(
    ("paper_id", "question"),
    [
        (GALORE, "What does this paper report about memory?"),
        (FREEPRM, "What are the main results?"),
        (DOMINO, "What do the authors report about speed?"),
        (MEGASCALE, "What does this paper say about failures during training?"),
        (FEDZIP, "How much does this method save?"),
    ],
)
def test_a_question_about_the_chosen_paper_is_answered_from_it(
    corpus_home: Path, paper_id: str, question: str
) -> None:
    app = PaperQA(Settings(home=corpus_home), llm=ScriptedLLM(""))
    ans = app.ask(question, filters=Filters(paper_ids=[paper_id]))
    assert not ans.refused, ans.answer
    assert {c.paper_id for c in ans.citations} == {paper_id}


def test_two_chosen_papers_answer_what_these_papers_report(corpus_home: Path) -> None:
    app = PaperQA(Settings(home=corpus_home), llm=ScriptedLLM(""))
    ans = app.ask(
        "What do these papers report about memory savings?", filters=Filters(paper_ids=[COAP, FRUGAL])
    )
    assert not ans.refused, ans.answer
    assert {c.paper_id for c in ans.citations} <= {COAP, FRUGAL} and ans.citations


def test_a_name_the_chosen_paper_does_not_hold_is_refused_naming_it(corpus_home: Path) -> None:
    app = PaperQA(Settings(home=corpus_home), llm=ScriptedLLM(""))
    ans = app.ask("What does this paper report on ImageNet?", filters=Filters(paper_ids=[FEDZIP]))
    assert ans.refused
    assert "The question names “ImageNet”, which" in ans.answer  # not held by it, or held only elsewhere
    # a question with a subject of its own is still judged by how close the paper is to it
    far = app.ask(UNCOVERED, filters=Filters(paper_ids=[FEDZIP]))
    assert far.refused


def test_a_quoted_title_names_its_paper_and_only_a_whole_title_does() -> None:
    from paperqa.answer.coverage import titled_papers

    from .fakes import paper

    papers = [
        paper("Instruction Tuning with GPT-4", "We use GPT-4 to generate data."),
        paper(
            "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection", "GaLore saves memory."
        ),
        paper("Instruction Tuning with GPT-4 at Scale", "More data."),
    ]

    papers.append(paper("Let's Verify Step by Step", "Process supervision beats outcome supervision."))

    class Catalog:
        def papers(self) -> dict:  # type: ignore[type-arg]
            return {p.id: p for p in papers}

        def papers_holding(self, text: str, most: int) -> list:  # type: ignore[type-arg]
            return [p for p in papers if text.lower() in f"{p.title} {p.abstract}".lower()][:most]

    retriever = Catalog()
    ids = [p.id for p in papers]
    assert titled_papers("I'm interested in the paper 'Instruction Tuning with GPT-4'.", retriever) == [
        ids[0]
    ]  # type: ignore[arg-type]
    # the title after its name's colon, in any quotes
    assert titled_papers(
        "What does “Memory-Efficient LLM Training by Gradient Low-Rank Projection” save?", retriever
    ) == [ids[1]]  # type: ignore[arg-type]
    # part of a title, a quoted phrase, an apostrophe: no paper named
    assert titled_papers("What does 'Instruction Tuning' mean?", retriever) == []  # type: ignore[arg-type]
    assert titled_papers("The authors' 'instruction tuning with data' idea?", retriever) == []  # type: ignore[arg-type]
    # an apostrophe inside double quotes, a full stop inside the quotes
    assert titled_papers('What does "Let\'s Verify Step by Step" find?', retriever) == [ids[3]]  # type: ignore[arg-type]
    assert titled_papers("I read 'Instruction Tuning with GPT-4.' Who wrote it?", retriever) == [ids[0]]  # type: ignore[arg-type]
