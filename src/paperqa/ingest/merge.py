"""The merging and dedupe rules: one paper from its records across pages and files (DOI, then arXiv
id, then normalised title), and ids kept for a paper the store already knows by DOI or arXiv id.

May touch: nothing but the text it is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..text import normalize_title
from ..types import Paper


def merge_papers(kept: Paper, other: Paper, *, other_wins: bool = False) -> Paper:
    """One paper from two records of it (the same normalised title), as a new object: the one
    merge policy of ingest (duplicates across pages) and of the store (a paper ingested again).

    Lists (links, pages, locations) accumulate, `kept`'s first; a field one record lacks comes
    from the other. Where both have a value, duplicates found in one parse keep the fuller one:
    the title without LaTeX, the longer abstract, the dated record's date, the higher upvote
    count (the first-seen authors and organisation). A record ingested again (`other_wins`)
    replaces the stored values instead: it is the newer text.
    """
    first, second = (other, kept) if other_wins else (kept, other)
    merged = first.model_copy(deep=True)
    if not other_wins:
        if "$" in kept.title and "$" not in other.title:
            merged.title = other.title
        if len(other.abstract) > len(kept.abstract):
            merged.abstract = other.abstract
        if kept.date is None and other.date is not None:  # a date comes with its own wording
            merged.date, merged.date_text = other.date, other.date_text
        if kept.upvotes is not None and other.upvotes is not None:
            merged.upvotes = max(kept.upvotes, other.upvotes)
    for name in (
        "date",
        "date_text",
        "authors",
        "upvotes",
        "organization",
        "doi",
        "arxiv_id",
        "author_names",
    ):
        if getattr(merged, name) in (None, "", []):
            setattr(merged, name, getattr(second, name))
    for name in ("links", "pages", "locations"):
        values: list[str] = list(getattr(kept, name))
        values += [v for v in getattr(other, name) if v not in values]
        setattr(merged, name, values)
    return merged


def dedupe(papers: Iterable[Paper]) -> list[Paper]:
    """One paper per DOI, arXiv id or else normalised title (in that order), keeping first-seen
    order: a Zotero record and a daily-papers page of the same paper become one."""
    kept: dict[str, Paper] = {}
    alias: dict[str, str] = {}  # DOI, arXiv id or another title of a kept paper -> its key
    for p in papers:
        title_key = normalize_title(p.title)
        names = identifier_keys(p)
        key = next((alias[n] for n in names if n in alias), alias.get(title_key, title_key))
        # merge_papers makes a new paper and changes neither record: no copy needed (a copy of
        # every paper is hundreds of MB at 100k papers)
        kept[key] = merge_papers(kept[key], p) if key in kept else p
        for name in (*identifier_keys(kept[key]), title_key):
            alias.setdefault(name, key)
    return list(kept.values())


def identifier_keys(p: Paper) -> list[str]:
    """The keys that make two records one paper before their titles are compared."""
    return [f"{kind}:{v}" for kind, v in (("doi", p.doi), ("arxiv", p.arxiv_id)) if v]


def identifier_index(known: Iterable[Paper]) -> dict[str, str]:
    """Identifier key (`identifier_keys`) -> the id of the paper that has it."""
    return {name: k.id for k in known for name in identifier_keys(k)}


def adopt_known_ids(papers: list[Paper], by_name: Mapping[str, str]) -> list[Paper]:
    """An incoming paper whose DOI or arXiv id is already indexed under another title takes that
    paper's id, so it updates it instead of becoming a second copy (same title: same id anyway).
    `by_name`: identifier key -> indexed paper id (`identifier_index`, or the catalog's)."""
    if not by_name:
        return papers
    out: dict[str, Paper] = {}
    for p in papers:
        pid = next((by_name[n] for n in identifier_keys(p) if n in by_name), p.id)
        if pid in out:  # two incoming records of one indexed paper (one by DOI, one by arXiv id)
            out[pid] = merge_papers(out[pid], p)
        else:
            out[pid] = p if pid == p.id else p.model_copy(update={"id": pid})
    return list(out.values())
