"""Export an answer with its references as Markdown or BibTeX, and a saved chat as Markdown (used by
the UI and the CLI).

`escape_markup` is the one rule for putting text from papers or the model into Markdown: the
chat UI applies it to what it shows, and the Markdown export to what it writes.

May touch: nothing but the Answer and Papers it is given.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from .history import Conversation
from .references import listed_sources, reference, references_heading
from .types import Answer, Paper


def escape_markup(text: str) -> str:
    """Text from a paper or the model, made to read as itself in Markdown: HTML (`<img …>`,
    `<b>`, `&amp;`), Markdown images (`![…](…)`), inline links (`[x](…)`) and link definitions
    (`[x]: …`) are shown literally, never rendered, so nothing a paper contains makes a browser
    fetch, follow or run anything. The Markdown an answer is built with (`**bold**`, `- ` lists,
    `|` tables, `[n]` markers) is left as it is."""
    text = html.escape(text, quote=False).replace("![", "!&#91;").replace("](", "]&#40;")
    return _LINK_DEFINITION.sub(r"\1&#91;\2]:", text)


_LINK_DEFINITION = re.compile(r"^([ \t]*)\[([^\]\n]*)\]:", re.M)


def _cited(answer: Answer) -> list[tuple[int, Paper]]:
    cited = {c.n for c in answer.citations}
    return [(s.n, s.paper) for s in answer.sources if s.n in cited]


def bibtex_key(paper: Paper) -> str:
    first = re.sub(r"[^a-z0-9]", "", paper.title.split(":")[0].split()[0].lower()) or "paper"
    year = paper.date[:4] if paper.date else ""
    return f"{first}{year}_{paper.id[1:7]}"


def _bib_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("{", "\\{")
        .replace("}", "\\}")
        .replace("%", "\\%")
        .replace("&", "\\&")
    )


def to_bibtex(answer: Answer) -> str:
    entries = []
    for _, p in _cited(answer):
        fields = [f"  title = {{{_bib_escape(p.title)}}}"]
        if p.date:
            fields.append(f"  year = {{{p.date[:4]}}}")
            fields.append(f"  date = {{{p.date}}}")
        if p.links:
            fields.append(f"  url = {{{p.links[0]}}}")
        note = [f"{p.authors} authors"] if p.authors else []
        note.append("source: " + ", ".join(p.locations or p.pages))
        fields.append(f"  note = {{{_bib_escape('; '.join(note))}}}")
        fields.append(f"  abstract = {{{_bib_escape(p.abstract)}}}")
        entries.append(f"@misc{{{bibtex_key(p)},\n" + ",\n".join(fields) + "\n}")
    return "\n\n".join(entries) + ("\n" if entries else "")


def to_markdown(answer: Answer) -> str:
    lines = [f"## {escape_markup(answer.question)}", "", escape_markup(answer.answer), ""]
    listed = listed_sources(answer)
    if listed:
        lines += [f"### {references_heading(answer)}", ""]
        for s in listed:
            lines.append(f"[{s.n}] " + escape_markup(reference(s.paper, title=f"**{s.paper.title}**")))
    if answer.notes:
        lines += ["", "### Verifier notes", "", *[f"- {escape_markup(n)}" for n in answer.notes]]
    return "\n".join(lines) + "\n"


def saved_at(timestamp: float) -> str:
    """When a saved chat was answered, as a reader sees it: local time to the minute."""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def n_questions(n: int) -> str:
    """How long a saved chat is: "1 question", "2 questions"."""
    return f"{n} question{'' if n == 1 else 's'}"


def conversation_markdown(chat: Conversation) -> str:
    """A saved chat as one Markdown document: its title and date, then each answer as
    `to_markdown` writes it (question, answer, references, notes), oldest first."""
    head = f"# {escape_markup(chat.title)}\n\n_Saved chat, {saved_at(chat.created)}, {n_questions(chat.turns)}._\n"
    return "\n".join([head, *(to_markdown(t.answer) for t in chat.items)])
