"""What the chat shows for an answer: text from papers and the model is shown as text, never as
markup, while the answer's own Markdown and the UI's citation links still render (no browser)."""

from __future__ import annotations

from paperqa.export import escape_markup, to_markdown
from paperqa.types import Answer, Citation, Paper, Source
from paperqa_ui.render import render_answer, render_draft, render_sources

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
    assert "![" not in md and "!&#91;diagram](http://127.0.0.1:9/d.png)" in md


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
