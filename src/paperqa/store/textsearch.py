"""What the catalog's corpus search by text reads and how it asks SQLite: the FTS5 table of
trigrams over each paper's title, abstract and author names, the exact "contains, in any case"
test each candidate gets, and the FTS5 query that finds the candidates.

May touch: nothing (SQL text and pure functions; `catalog` runs them).
"""

from __future__ import annotations

from ..types import Paper

# Trigrams of a search text that its FTS5 query intersects (see trigram_query).
QUERY_TRIGRAMS = 5

# The text-search index reads its text from the papers table (external content): it stores the
# trigrams' paper lists only (detail=none), about the size of the text itself.
FTS_TABLE = """
CREATE VIRTUAL TABLE IF NOT EXISTS papers_fts USING fts5(
    haystack, authors, content='papers', content_rowid='seq', tokenize='trigram', detail='none'
);
"""
FTS_DROP = "DROP TABLE IF EXISTS papers_fts;"
# Triggers an earlier version kept the index in step with: each write now updates it with one
# statement per ROWS_PER_CALL papers, in rowid order (triggers, a row at a time in the id index's
# order, took 2.5x as long).
OLD_TRIGGERS = """
DROP TRIGGER IF EXISTS papers_fts_insert;
DROP TRIGGER IF EXISTS papers_fts_delete;
DROP TRIGGER IF EXISTS papers_fts_update;
"""


def haystack(paper: Paper) -> str:
    """What a corpus search looks in besides the authors: title and abstract, in lower case."""
    return f"{paper.title.lower()}\n{paper.abstract.lower()}"


def authors_text(paper: Paper) -> str:
    """The author names a corpus search looks in, in lower case."""
    return "; ".join(paper.author_names).lower()


def contains(table: str = "") -> str:
    """The exact test a search makes of each candidate: the text (bound twice) is in the
    haystack or the authors of the row (`table`: its alias and a dot, in a join)."""
    return f"(instr({table}haystack, ?) > 0 OR instr({table}authors, ?) > 0)"


CONTAINS = contains()
CONTAINS_P = contains("p.")


def two_digits(x: float) -> int:
    """x rounded to two significant digits (an estimate says no more than it knows)."""
    if x < 100:
        return round(x)
    scale = 10 ** (len(str(int(x))) - 2)
    return int(round(x / scale) * scale)


def trigram_query(needle: str) -> str:
    """An FTS5 query that every text containing `needle` matches: its trigrams side by side
    (every third, and the last), at most QUERY_TRIGRAMS of them spread over it. Each trigram
    more narrows the candidates less and costs one more list to intersect ("low-rank
    adaptation" with all 17 took 150 ms at 1M papers); the exact test follows anyway."""
    starts = [*range(0, len(needle) - 2, 3), len(needle) - 3]
    if len(starts) > QUERY_TRIGRAMS:
        step = (len(starts) - 1) / (QUERY_TRIGRAMS - 1)
        starts = [starts[round(i * step)] for i in range(QUERY_TRIGRAMS)]
    grams = dict.fromkeys(needle[i : i + 3] for i in starts)
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)
