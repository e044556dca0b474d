"""Pure converters from PaperQA's typed objects to the markup the chat UI shows.

Answer -> chat Markdown with citation links; sources -> the sources panel; a paper -> its
details; papers -> corpus table rows; an ingest report, a verifier note or an error -> a line;
saved chats -> the chat list's choices, and a saved chat -> its messages again.
No Gradio and no index here: each function takes `paperqa.types` objects and returns text, so it
is unit-tested without a browser (tests/test_ui_render.py).

Text from papers, the model or the user goes through `escape_markup` or `html.escape`: it is
shown literally, never rendered as HTML; only the markup built here (citation links, paper
details) is.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterable
from typing import Any

from paperqa.errors import PaperQAError
from paperqa.export import escape_markup, n_questions, saved_at
from paperqa.history import ChatSummary, Conversation
from paperqa.references import listed_sources, reference, references_heading
from paperqa.text import replace_markers
from paperqa.types import Answer, IngestReport, Paper, Source, http_link

SOURCES_PLACEHOLDER = "_The papers behind each answer appear here, with their scores._"
# "Domino: …", "FreePRM: …": a title that names its method, good for an example question.
_NAMED_METHOD = re.compile(r"^[A-Z][\w\-^+.]*[A-Z0-9][\w\-]*: ")


def paper_line(p: Paper) -> str:
    """The one-line facts under a title: date · authors · organization · upvotes."""
    bits = [p.shown_date or "undated"]
    if p.authors:
        bits.append(f"{p.authors} authors")
    if p.organization:
        bits.append(p.organization)
    if p.upvotes is not None:
        bits.append(f"▲ {p.upvotes}")
    return " · ".join(bits)


def highlight(abstract: str, evidence: list[str]) -> str:
    """The abstract as text, with the sentences shown to the model marked."""
    out = escape_markup(abstract)
    for ev in evidence:
        out = out.replace(escape_markup(ev), f"<mark>{escape_markup(ev)}</mark>")
    return out


def paper_links(p: Paper) -> str:
    """The paper's links; checked again here (a Paper built without validation, an old store):
    only http(s) becomes a link, opened without access to this page."""
    links = [u for u in map(http_link, p.links) if u]
    return " ".join(
        f'<a href="{html.escape(u)}" target="_blank" rel="noopener noreferrer">{html.escape(u)}</a>'
        for u in links
    )


def render_draft(text: str) -> str:
    """The answer as it is generated, shown literally, with a cursor."""
    return escape_markup(text) + " ▍"


def link_citations(text: str, sources: list[Source], anchor: str) -> str:
    """`text` shown literally, each `[n]` a link to source n's details (`#pqa-<anchor>-<n>`) with
    the paper as its tooltip; a marker citing no shown source is dropped."""
    by_n = {s.n: s for s in sources}

    def cite(n: int) -> str:
        s = by_n.get(n)
        if s is None:  # cannot happen after verification; never show an unresolved marker
            return ""
        tip = html.escape(reference(s.paper), quote=True)
        return f'<a class="pqa-cite" href="#pqa-{anchor}-{s.n}" title="{tip}">[{s.n}]</a>'

    return replace_markers(escape_markup(text), cite)


def render_reference(s: Source, anchor: str) -> str:
    """A cited paper's details, folded: title and facts, then the highlighted abstract."""
    p = s.paper
    return (
        f'<details class="pqa-paper" id="pqa-{anchor}-{s.n}"><summary>[{s.n}] <b>{html.escape(p.title)}</b>'
        f" — {html.escape(paper_line(p))}</summary>{highlight(p.abstract, s.evidence)}"
        f"<br>{paper_links(p)}<br><small>source: {html.escape(', '.join(p.locations or p.pages))}</small>"
        "</details>\n"
    )


def render_notes(notes: list[str]) -> str:
    """What the verifier changed, as one small line ("" when nothing)."""
    if not notes:
        return ""
    return '\n<div class="pqa-notes">Verifier: ' + escape_markup("; ".join(notes)) + "</div>"


def render_answer(answer: Answer, anchor: str | None = None) -> str:
    """Answer text with clickable citations, then references and each cited paper's details.

    The answer's own Markdown (bold, lists, tables, [n]) is rendered; any HTML in it (quoted
    from an abstract or written by the model) is shown as text. `anchor` keeps the links of
    one answer apart from another's (random by default)."""
    anchor = anchor or uuid.uuid4().hex[:8]
    body = link_citations(answer.answer, answer.sources, anchor)
    shown = listed_sources(answer)
    if shown:
        body += f"\n\n**{references_heading(answer)}**\n\n"
        body += "".join(render_reference(s, anchor) for s in shown)
    return body + render_notes(answer.notes)


def render_sources(sources: list[Source]) -> str:
    """The sources panel: each retrieved paper with its scores and its abstract, folded."""
    if not sources:
        return SOURCES_PLACEHOLDER
    return "\n".join(
        f'<div class="pqa-src"><b>[{s.n}] {html.escape(s.paper.title)}</b><br>'
        f"<small>{html.escape(paper_line(s.paper))} · score {s.score:.3f} · similarity {s.dense:.2f}"
        f"</small><details><summary>abstract</summary>{highlight(s.paper.abstract, s.evidence)}"
        f"<br>{paper_links(s.paper)}</details></div>"
        for s in sources
    )


def render_paper(paper: Paper | None) -> str:
    """A paper picked in the corpus table: title, facts, pages, abstract and links."""
    if paper is None:
        return ""
    return (
        f'<div class="pqa-src"><b>{html.escape(paper.title)}</b><br><small>'
        f"{html.escape(paper_line(paper))} · pages: {html.escape(', '.join(paper.pages))}</small>"
        f"<p>{html.escape(paper.abstract)}</p>{paper_links(paper)}</div>"
    )


def corpus_rows(papers: Iterable[Paper]) -> tuple[list[list[Any]], list[str]]:
    """Table rows (title, date, pages, upvotes) of the papers a corpus search found
    (`PaperQA.search_papers`), in their order, and the paper ids in the same order."""
    found = list(papers)
    rows = [[p.title, p.shown_date, ", ".join(p.pages), p.upvotes] for p in found]
    return rows, [p.id for p in found]


def paper_count(shown: int, total: int, exact: bool = True) -> str:
    """The corpus table's caption: how many papers it lists, of how many the search matches
    ("about" when that number is an estimate)."""
    about = "" if exact else "about "
    return (
        f"{total:,} papers"
        if shown >= total
        else f"{shown:,} of {about}{total:,} papers (the most upvoted; search to narrow)"
    )


def paper_choices(selected: Iterable[Paper], found: Iterable[Paper], limit: int) -> list[tuple[str, str]]:
    """The corpus tab's tick boxes, (label, paper id): the papers already ticked first (they stay
    ticked whatever is searched next), then at most `limit` of the papers the search found."""
    ticked = list(selected)
    seen = {p.id for p in ticked}
    rest = [p for p in found if p.id not in seen][:limit]
    return [(f"{p.title} ({p.shown_date or 'undated'})", p.id) for p in ticked + rest]


def scope_label(papers: list[Paper]) -> str:
    """What the chat shows above the question while it is about chosen papers ("" for none)."""
    if not papers:
        return ""
    n = len(papers)
    titles = " · ".join(escape_markup(p.title) for p in papers)
    return f"**Scope: {n} paper{'' if n == 1 else 's'}** — answers come only from: {titles}"


def example_questions(papers: Iterable[Paper], n: int = 4) -> list[str]:
    """Questions drawn from the corpus itself: papers whose titles name a method."""
    named = sorted(
        (p for p in papers if _NAMED_METHOD.match(p.title)), key=lambda p: (-(p.upvotes or 0), p.title)
    )
    method = [p.title.split(":")[0] for p in named]
    qs = [f"What does {m} propose, and what results does it report?" for m in method[:2]]
    if len(method) >= 4:
        qs.append(f"Compare {method[2]} and {method[3]}.")
    qs.append("Summarize what these papers report about reducing communication in distributed training.")
    return qs[:n]


def render_ingest_report(report: IngestReport) -> str:
    """What an upload did: the counts in bold, then one line per skipped record."""
    lines = [
        f"**{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.skipped} skipped** — {report.papers} papers in the corpus."
    ]
    lines += [
        f"- skipped {escape_markup(e.file)}{':' + str(e.line) if e.line else ''}: {escape_markup(e.reason)}"
        for e in report.errors
    ]
    return "\n".join(lines)


def render_error(e: PaperQAError, suffix: str = "") -> str:
    """A problem the user can fix, with its hint, shown as text."""
    return f"⚠️ {escape_markup(str(e))}{suffix}"


def render_unexpected(e: Exception) -> str:
    """A bug, never a traceback: its type and message, and where to look."""
    return escape_markup(f"⚠️ Something went wrong ({type(e).__name__}: {e}). The server log has details.")


def user_message(question: str) -> dict[str, str]:
    """The user's question as a chat message, shown as typed."""
    return {"role": "user", "content": escape_markup(question)}


def assistant_message(markup: str) -> dict[str, str]:
    """Markup built here (a draft, an answer, an error) as the assistant's chat message."""
    return {"role": "assistant", "content": markup}


def chat_choices(chats: Iterable[ChatSummary]) -> list[tuple[str, str]]:
    """The saved-chats list: each chat as (its title · when · how long, its id), in the given order
    (newest first from `PaperQA.conversations`). A label is plain text (Gradio shows it as such)."""
    return [(f"{c.title} · {saved_at(c.updated)} · {n_questions(c.turns)}", c.id) for c in chats]


def conversation_messages(chat: Conversation) -> list[dict[str, str]]:
    """A saved chat as the chat shows it: each question, then its answer with clickable citations
    (`render_answer`, so each answer keeps its own link anchors)."""
    messages = []
    for turn in chat.items:
        messages += [user_message(turn.question), assistant_message(render_answer(turn.answer))]
    return messages
