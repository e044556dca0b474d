"""What the chat shows, made by the UI's pure converters from real `paperqa.types` objects (no
browser, no model): text from papers and the model is shown as text, never as markup, while the
answer's own Markdown and the UI's citation links still render; the sources panel, a paper's
details, the corpus table, ingest reports, errors and the sidebar's choices; and the chat's
event handler driven by a scripted API."""

from __future__ import annotations

import copy
import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperqa.answer.engine import Event
from paperqa.answer.retrieve import Filters, Retrieval
from paperqa.errors import PaperQAError
from paperqa.export import escape_markup, to_markdown
from paperqa.references import reference
from paperqa.settings import BackendSettings, Settings, UISettings
from paperqa.types import Answer, Citation, IngestError, IngestReport, Paper, PriorTurn, Source
from paperqa_ui.app import PaperQAUI
from paperqa_ui.prefs import DEFAULT_PREFS, ask_options, llm_settings_from, prefs_from, values_of
from paperqa_ui.render import (
    SOURCES_PLACEHOLDER,
    assistant_message,
    corpus_rows,
    example_questions,
    link_citations,
    paper_count,
    paper_line,
    render_answer,
    render_draft,
    render_error,
    render_ingest_report,
    render_notes,
    render_paper,
    render_reference,
    render_sources,
    render_unexpected,
    user_message,
)

IMG = '<img src="http://127.0.0.1:9/x.png">'
ABSTRACT = (
    f"Quokka Decoding generates text 2.7x faster {IMG} than greedy decoding. "
    "It keeps <b>the same output</b> as greedy decoding & costs little memory. "
    "See ![diagram](http://127.0.0.1:9/d.png) for the design."
)


def quokka_answer(text: str) -> Answer:
    paper = Paper(id="p1", title="Quokka Decoding <i>fast</i>", abstract=ABSTRACT, pages=["test.jsonl"])
    source = Source(n=1, paper=paper, score=1.0, evidence=[ABSTRACT.split(". ")[0] + "."])
    return Answer(
        question=f"How fast is Quokka Decoding? {IMG}",
        answer=text,
        citations=[Citation(n=1, paper_id="p1", title=paper.title)],
        sources=[source],
        notes=[f"dropped an unsupported claim: '{IMG}'"],
    )


def test_html_quoted_from_an_abstract_is_shown_as_text() -> None:
    md = render_answer(quokka_answer(f"Quokka Decoding generates text 2.7x faster {IMG} [1]."))
    assert "<img" not in md and "<i>" not in md and "<b>the" not in md
    assert '&lt;img src="http://127.0.0.1:9/x.png"&gt;' in md
    assert "&lt;b&gt;the same output&lt;/b&gt;" in md and "greedy decoding &amp; costs" in md


def test_markdown_images_from_a_paper_are_not_images() -> None:
    md = render_answer(quokka_answer("See ![diagram](http://127.0.0.1:9/d.png) for the design [1]."))
    assert "![" not in md and "!&#91;diagram]&#40;http://127.0.0.1:9/d.png)" in md


def test_the_answers_own_markdown_and_citation_links_still_render() -> None:
    text = (
        "Quokka is fast [1].\n\n**Evidence:**\n- **Quokka Decoding**: 2.7x faster [1]\n\n"
        "| Aspect | [1] Quokka |\n|---|---|\n| **Approach** | a \\| b [1] |"
    )
    md = render_answer(quokka_answer(text))
    assert "**Evidence:**\n- **Quokka Decoding**: 2.7x faster" in md
    assert "| Aspect |" in md and "|---|---|" in md and "a \\| b" in md
    assert md.count('<a class="pqa-cite"') == 4 and "[1]</a>" in md
    assert '<details class="pqa-paper"' in md  # the UI's own markup is kept


def test_the_streamed_draft_and_the_sources_panel_show_html_as_text() -> None:
    assert render_draft(f"FreePRM {IMG}") == 'FreePRM &lt;img src="http://127.0.0.1:9/x.png"&gt; ▍'
    panel = render_sources(quokka_answer("x").sources)
    assert "<img" not in panel and "<i>" not in panel and "&lt;img" in panel


def test_markdown_export_writes_html_as_text() -> None:
    md = to_markdown(quokka_answer(f"Quokka Decoding generates text 2.7x faster {IMG} [1]."))
    assert "<img" not in md and "<i>" not in md and "![" not in md
    assert md.startswith("## How fast is Quokka Decoding? &lt;img")
    assert "[1] **Quokka Decoding &lt;i&gt;fast&lt;/i&gt;**" in md
    assert "- dropped an unsupported claim: '&lt;img" in md


def test_escape_markup_leaves_plain_text_and_markdown_alone() -> None:
    text = "**53.0%** on ProcessBench [1] | 1.3x vs. Megatron-LM — “quoted”"
    assert escape_markup(text) == text


# ---- citation links and references -------------------------------------------------------------


def two_papers() -> list[Source]:
    domino = Paper(
        id="pd",
        title="Domino: Eliminating Communication",
        abstract="Domino hides communication. It is 1.3x faster than Megatron-LM on DGX-H100.",
        date="2024-09-23",
        authors=6,
        organization="Microsoft",
        upvotes=12,
        links=["https://github.com/x/domino"],
        pages=["2024-09-23.txt"],
        locations=["2024-09-23.txt:40"],
    )
    minicpm = Paper(
        id="pm", title="MiniCPM", abstract="MiniCPM introduces the WSD scheduler.", date_text="Apr 9"
    )
    return [
        Source(
            n=1,
            paper=domino,
            score=0.91234,
            dense=0.456,
            evidence=["It is 1.3x faster than Megatron-LM on DGX-H100."],
        ),
        Source(n=2, paper=minicpm, score=0.5, dense=0.3),
    ]


def answer_citing(text: str, cited: list[int], refused: bool = False) -> Answer:
    sources = two_papers()
    by_n = {s.n: s.paper for s in sources}
    citations = [Citation(n=n, paper_id=by_n[n].id, title=by_n[n].title) for n in cited]
    return Answer(question="q", answer=text, citations=citations, sources=sources, refused=refused)


def test_each_marker_links_to_its_papers_details_in_the_same_answer() -> None:
    md = render_answer(answer_citing("Domino is 1.3x faster [1].", [1]), anchor="a1")
    tip = html.escape(reference(two_papers()[0].paper), quote=True)  # the one reference line
    link = f'<a class="pqa-cite" href="#pqa-a1-1" title="{tip}">[1]</a>'
    assert md.startswith(f"Domino is 1.3x faster {link}.")
    assert '<details class="pqa-paper" id="pqa-a1-1">' in md


def test_a_marker_citing_several_sources_becomes_one_link_each() -> None:
    md = link_citations("Both [1, 2] and a range [1-2].", two_papers(), "x")
    assert md.count('href="#pqa-x-1"') == 2 and md.count('href="#pqa-x-2"') == 2
    assert "[1, 2]" not in md and "[1-2]" not in md


def test_a_marker_citing_no_shown_source_is_dropped() -> None:
    assert link_citations("Unknown [7] but known [2].", two_papers(), "x").startswith(
        "Unknown  but known <a "
    )


def test_references_list_only_the_cited_papers_with_the_evidence_marked() -> None:
    md = render_answer(answer_citing("MiniCPM uses WSD [2].", [2]), anchor="r")
    assert "**References**" in md and "[2] <b>MiniCPM</b> — Apr 9" in md
    assert 'id="pqa-r-1"' not in md and "Domino" not in md
    ref = render_reference(two_papers()[0], "r")
    assert "<mark>It is 1.3x faster than Megatron-LM on DGX-H100.</mark>" in ref
    assert "source: 2024-09-23.txt:40" in ref and 'href="https://github.com/x/domino"' in ref


def test_a_refused_answer_lists_every_source_as_the_closest_papers() -> None:
    md = render_answer(answer_citing("The papers do not say.", [], refused=True), anchor="z")
    assert "**Closest papers**" in md and "**References**" not in md
    assert 'id="pqa-z-1"' in md and 'id="pqa-z-2"' in md


def test_an_answer_without_citations_or_notes_is_just_its_text() -> None:
    assert render_answer(answer_citing("Plain *text*.", [])) == "Plain *text*."


def test_each_answer_gets_its_own_link_anchors() -> None:
    a = answer_citing("Domino [1].", [1])
    assert render_answer(a) != render_answer(a)


def test_verifier_notes_are_one_small_escaped_line() -> None:
    assert render_notes([]) == ""
    assert render_notes(["dropped <b>x</b>", "kept y"]) == (
        '\n<div class="pqa-notes">Verifier: dropped &lt;b&gt;x&lt;/b&gt;; kept y</div>'
    )


# ---- sources panel, paper details, corpus ------------------------------------------------------


def test_the_sources_panel_shows_scores_and_says_what_it_is_for_when_empty() -> None:
    assert render_sources([]) == SOURCES_PLACEHOLDER
    panel = render_sources(two_papers())
    assert panel.count('<div class="pqa-src">') == 2
    assert "<b>[1] Domino: Eliminating Communication</b>" in panel
    assert "score 0.912 · similarity 0.46" in panel and "<mark>It is 1.3x faster" in panel


def test_a_papers_facts_line_names_what_is_known() -> None:
    domino, minicpm = (s.paper for s in two_papers())
    assert paper_line(domino) == "2024-09-23 · 6 authors · Microsoft · ▲ 12"
    assert paper_line(minicpm) == "Apr 9"
    assert paper_line(Paper(id="p", title="t", abstract="a")) == "undated"


def test_a_picked_paper_shows_its_abstract_pages_and_links_as_text() -> None:
    assert render_paper(None) == ""
    paper = Paper(
        id="p", title="A <i>b</i>", abstract=ABSTRACT, pages=["x.jsonl", "y.txt"], links=["https://e.org"]
    )
    view = render_paper(paper)
    assert "<b>A &lt;i&gt;b&lt;/i&gt;</b>" in view and "pages: x.jsonl, y.txt" in view
    assert "<img" not in view and '<a href="https://e.org" target="_blank" rel="noopener noreferrer">' in view


def test_corpus_rows_show_each_found_paper_with_its_date_pages_and_upvotes_in_order() -> None:
    papers = [
        Paper(
            id="b", title="Beta", abstract="a ROUTING trick", upvotes=5, date_text="Jan 2", pages=["p1", "p2"]
        ),
        Paper(id="a", title="Alpha routing", abstract="x", upvotes=1, date="2025-01-01", pages=["p1"]),
    ]
    rows, ids = corpus_rows(papers)
    assert ids == ["b", "a"]
    assert rows == [["Beta", "Jan 2", "p1, p2", 5], ["Alpha routing", "2025-01-01", "p1", 1]]
    assert paper_count(len(rows), 2) == "2 papers"
    assert paper_count(1000, 100_000) == "1,000 of 100,000 papers (the most upvoted; search to narrow)"
    assert (
        paper_count(1000, 19_000, exact=False)
        == "1,000 of about 19,000 papers (the most upvoted; search to narrow)"
    )


def test_example_questions_come_from_titles_that_name_a_method() -> None:
    titles = ["DeepSeek-V3: A", "Domino: not a method name", "FreePRM: B", "MiniCPM: C", "SnakModel: D"]
    papers = [Paper(id=str(i), title=t, abstract="x", upvotes=10 - i) for i, t in enumerate(titles)]
    assert example_questions(papers) == [
        "What does DeepSeek-V3 propose, and what results does it report?",
        "What does FreePRM propose, and what results does it report?",
        "Compare MiniCPM and SnakModel.",
        "Summarize what these papers report about reducing communication in distributed training.",
    ]
    assert len(example_questions([])) == 1


# ---- ingest reports and errors -----------------------------------------------------------------


def test_an_ingest_report_counts_and_lists_each_skipped_record() -> None:
    report = IngestReport(
        papers=551,
        added=1,
        skipped=2,
        errors=[
            IngestError(file="new.jsonl", line=2, reason="no abstract"),
            IngestError(file="<x>.csv", reason="bad"),
        ],
    )
    assert render_ingest_report(report) == (
        "**1 added, 0 updated, 0 unchanged, 2 skipped** — 551 papers in the corpus.\n"
        "- skipped new.jsonl:2: no abstract\n- skipped &lt;x&gt;.csv: bad"
    )


def test_errors_are_shown_as_text_with_their_hint() -> None:
    e = PaperQAError("cannot reach <server>", hint="start it")
    assert render_error(e) == "⚠️ cannot reach &lt;server&gt; — start it"
    assert render_error(e, " — nothing was added.").endswith("start it — nothing was added.")
    assert render_unexpected(KeyError("<k>")) == (
        "⚠️ Something went wrong (KeyError: '&lt;k&gt;'). The server log has details."
    )


def test_the_users_question_is_shown_as_typed() -> None:
    assert user_message("Why <b>?") == {"role": "user", "content": "Why &lt;b&gt;?"}
    assert assistant_message("<a>") == {"role": "assistant", "content": "<a>"}


# ---- the sidebar's choices ---------------------------------------------------------------------


def test_saved_choices_fill_the_sidebar_with_defaults_for_the_missing_ones() -> None:
    assert values_of(None) == list(DEFAULT_PREFS.values())
    assert values_of({"top_k": 8, "style": "table"}) == [
        "server default", "", "", "", "", 8, "", "", "table",
    ]  # fmt: skip
    assert prefs_from(*values_of({"model": "m"}))["model"] == "m"


def test_a_saved_backend_this_server_does_not_offer_is_not_restored() -> None:
    saved = {"backend": "openai-compatible", "gguf_file": "old.gguf", "base_url": "http://h/v1"}
    values = prefs_from(*values_of(saved, backends=["server default", "embedded"], gguf_files=["a.gguf"]))
    assert values["backend"] == "server default" and values["gguf_file"] == ""
    kept = prefs_from(*values_of({"backend": "embedded"}, backends=["server default", "embedded"]))
    assert kept["backend"] == "embedded"


def test_the_sidebars_choices_become_the_options_of_a_question() -> None:
    choices = prefs_from("server default", "", "", "", "", 3, "2024-01-01", "", "table")
    options = ask_options(choices, Settings())
    assert options == {
        "style": "comparison",
        "filters": Filters(date_from="2024-01-01", date_to=None),
        "top_k": 3,
        "llm_settings": None,
    }
    cleared = ask_options(prefs_from(*[None] * len(DEFAULT_PREFS)), Settings())
    assert cleared["style"] is None and cleared["top_k"] == 5 and cleared["llm_settings"] is None


def test_a_backend_the_operator_lists_is_used_for_this_session_only() -> None:
    listed = BackendSettings(name="lab", provider="openai-compatible", base_url="http://h/v1", model="m")
    settings = Settings(ui=UISettings(backends=[listed]))
    chosen = llm_settings_from({"backend": "lab"}, settings)
    assert chosen is not None and chosen.provider == "openai-compatible"
    assert chosen.base_url == "http://h/v1" and chosen.model == "m" and chosen.gguf_path is None
    assert settings.llm.provider == "auto"
    assert llm_settings_from({"backend": "server default"}, settings) is None


def test_a_url_typed_in_the_sidebar_is_refused_unless_the_operator_allows_it() -> None:
    typed = {"backend": "custom server", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    with pytest.raises(PaperQAError, match="not offered by this server"):
        llm_settings_from(typed, Settings())
    allowed = Settings(ui=UISettings(allow_custom_server=True))
    chosen = llm_settings_from({**typed, "api_key": "mine"}, allowed)
    assert chosen is not None and chosen.base_url == "http://127.0.0.1:9/v1"
    assert chosen.api_key is not None and chosen.api_key.get_secret_value() == "mine"


# ---- the chat's event handler, over a scripted API ---------------------------------------------


class ScriptedAPI:
    """What `PaperQAUI` calls on `PaperQA`, answering from a script of events."""

    def __init__(self, *events: Event, error: Exception | None = None) -> None:
        self.settings = Settings()
        self.events, self.error = events, error
        self.asked: list[tuple[str, dict[str, object]]] = []
        self.saved: list[tuple[str, Answer, str | None]] = []

    def papers(self) -> list[Paper]:
        return [s.paper for s in two_papers()]

    def ask_stream(self, question: str, **options: object) -> Iterator[Event]:
        self.asked.append((question, options))
        yield from self.events
        if self.error is not None:
            raise self.error

    def save_answer(self, chat_id: str, answer: Answer, user: str | None = None, **options: object) -> None:
        self.saved.append((chat_id, answer, user))


def respond(api: ScriptedAPI, question: str, hist: list[str] | None = None) -> list[tuple[Any, ...]]:
    ui = PaperQAUI(api)  # type: ignore[arg-type]
    # Each step as Gradio sends it: the handler goes on to change the chat list in place.
    return [
        copy.deepcopy(step)
        for step in ui.respond(question, [], hist or [], "c1", [], None, *DEFAULT_PREFS.values())
    ]


def test_a_question_streams_its_sources_then_a_draft_then_the_cited_answer() -> None:
    answer = answer_citing("Domino is 1.3x faster [1].", [1])
    retrieval = Retrieval(query="q", sources=answer.sources, best_dense=0.5, named=[])
    api = ScriptedAPI(
        Event("sources", retrieval=retrieval),
        Event("token", text="Domino <is"),
        Event("final", answer=answer),
    )
    steps = respond(api, "  How fast is Domino?  ", ["earlier"])
    assert api.asked[0][0] == "How fast is Domino?" and api.asked[0][1]["history"] == ["earlier"]
    assert steps[0][0][-1]["content"] == "…" and steps[0][4]["visible"] is False
    assert "Domino: Eliminating Communication" in steps[1][2]
    assert steps[2][0][-1]["content"] == "Domino &lt;is ▍"
    chat, hist, sources, box, md, bib, force = steps[3]
    assert "Domino" in sources
    assert chat[0] == {"role": "user", "content": "How fast is Domino?"}
    assert '<a class="pqa-cite"' in chat[1]["content"]
    # the turn a follow-up leans on: its question and the paper its lead cited
    assert hist == ["earlier", PriorTurn(question="How fast is Domino?", papers=[answer.sources[0].paper.id])]
    assert box == "" and md["visible"] is True and bib["visible"] is True and force["visible"] is False
    assert Path(bib["value"]).read_text().startswith("@misc{")


def test_an_empty_question_changes_nothing() -> None:
    api = ScriptedAPI()
    assert len(respond(api, "   ")) == 1 and api.asked == []


def test_a_failing_question_ends_in_a_readable_message_not_a_traceback() -> None:
    readable = respond(ScriptedAPI(error=PaperQAError("the index is empty", hint="run ingest")), "q")
    assert readable[-1][0][-1]["content"] == "⚠️ the index is empty — run ingest"
    crashed = respond(ScriptedAPI(error=RuntimeError("boom")), "q")
    assert "Something went wrong (RuntimeError: boom)" in crashed[-1][0][-1]["content"]
    assert crashed[-1][1] == [] and crashed[-1][4]["visible"] is False


def test_markdown_links_and_definitions_from_a_paper_or_a_server_are_shown_as_text() -> None:
    hostile = "See [x](javascript:alert(1)) and ![i](https://t/p.png)\n[1]: javascript:alert(1)"
    shown = escape_markup(hostile)
    assert "](" not in shown and "![" not in shown and "\n[1]:" not in shown
    assert escape_markup("Domino is 1.3x faster [1].") == "Domino is 1.3x faster [1]."
    err = render_error(PaperQAError("the server said ![x](https://tracker/p.png)"))
    assert "![" not in err and "](" not in err
