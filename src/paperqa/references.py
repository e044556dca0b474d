"""How a paper is named to a reader: its reference line (with `Paper.shown_date`) and which of
an answer's sources are listed, one format for the CLI, the Markdown export and the chat UI.

    [1] MiniCPM: Unveiling the Potential … — 2024-04-09 — https://github.com/OpenBMB/MiniCPM
    [2] Domino: Eliminating Communication … — page 000_adfa45a2c22c7900.txt:215

May touch: nothing (functions of a `Paper`; escaping for Markdown or HTML is the caller's).
"""

from __future__ import annotations

from .types import Answer, Paper, Source, http_link


def paper_place(paper: Paper) -> str:
    """Where a reader finds the paper: its first link, else the page (file:line) it came from."""
    link = next((u for u in map(http_link, paper.links) if u), None)
    if link:
        return link
    where = paper.locations or paper.pages
    return f"page {where[0]}" if where else ""


def reference(paper: Paper, title: str | None = None) -> str:
    """The line "title — date — link or page file:line", leaving out what the paper lacks. `title` replaces
    the paper's own (the export sets it in bold)."""
    bits = (paper.title if title is None else title, paper.shown_date, paper_place(paper))
    return " — ".join(bit for bit in bits if bit)


def listed_sources(answer: Answer) -> list[Source]:
    """The sources an answer lists under its text: those it cites, or for a refusal the closest
    papers."""
    cited = {c.n for c in answer.citations}
    return [s for s in answer.sources if answer.refused or s.n in cited]


def references_heading(answer: Answer) -> str:
    """What the list of `listed_sources` is called."""
    return "Closest papers" if answer.refused else "References"
