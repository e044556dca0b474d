"""One reference line and one date for a paper, wherever it is shown: the CLI, the Markdown
export and the chat UI (no index, no model)."""

from __future__ import annotations

from paperqa.cli import format_references
from paperqa.export import to_markdown
from paperqa.references import listed_sources, paper_place, reference, references_heading
from paperqa.types import Answer, Citation, Paper, Source


def _paper(**fields: object) -> Paper:
    return Paper(id="p1", title="Quokka Decoding", abstract="Fast.", **fields)  # type: ignore[arg-type]


def _answer(refused: bool = False) -> Answer:
    cited = Source(n=1, paper=_paper(date="2024-05-25", links=["https://q.example/code"]), score=1.0)
    uncited = Source(n=2, paper=Paper(id="p2", title="Zebra", abstract="z", pages=["b.txt"]), score=0.5)
    citations = [] if refused else [Citation(n=1, paper_id="p1", title="Quokka Decoding")]
    return Answer(
        question="q", answer="a [1].", refused=refused, citations=citations, sources=[cited, uncited]
    )


def test_a_date_is_the_iso_one_else_the_pages_wording_else_empty() -> None:
    assert _paper(date="2024-05-25", date_text="May 25, 2024").shown_date == "2024-05-25"
    assert _paper(date_text="May 25").shown_date == "May 25"
    assert _paper().shown_date == "" and _paper().public_dict()["date"] is None


def test_a_paper_is_found_at_its_first_link_else_the_page_line_it_came_from() -> None:
    assert paper_place(_paper(links=["https://a", "https://b"], locations=["a.txt:3"])) == "https://a"
    assert paper_place(_paper(locations=["a.txt:3"], pages=["a.txt"])) == "page a.txt:3"
    assert paper_place(_paper(pages=["a.txt"])) == "page a.txt"


def test_a_reference_line_leaves_out_what_the_paper_lacks() -> None:
    assert (
        reference(_paper(date="2024-05-25", links=["https://a"]))
        == "Quokka Decoding — 2024-05-25 — https://a"
    )
    assert reference(_paper(locations=["a.txt:3"])) == "Quokka Decoding — page a.txt:3"
    assert reference(_paper(), title="**Quokka Decoding**") == "**Quokka Decoding**"


def test_an_answer_lists_its_cited_sources_and_a_refusal_the_closest_papers() -> None:
    assert [s.n for s in listed_sources(_answer())] == [1] and references_heading(_answer()) == "References"
    refused = _answer(refused=True)
    assert [s.n for s in listed_sources(refused)] == [1, 2] and references_heading(
        refused
    ) == "Closest papers"


def test_the_cli_and_the_markdown_export_write_the_same_reference_line() -> None:
    assert format_references(_answer()) == "[1] Quokka Decoding — 2024-05-25 — https://q.example/code"
    md = to_markdown(_answer(refused=True))
    assert "### Closest papers" in md
    assert "[1] **Quokka Decoding** — 2024-05-25 — https://q.example/code" in md
    assert "[2] **Zebra** — page b.txt" in md


def test_the_chat_shows_the_same_reference_line_over_a_citation_and_the_same_heading() -> None:
    from paperqa_ui.app import render_answer

    shown = render_answer(_answer())
    assert 'title="Quokka Decoding — 2024-05-25 — https://q.example/code">[1]</a>' in shown
    assert "**References**" in shown and "Zebra" not in shown
