"""What the catalog's corpus search by text reads and how it asks SQLite: the FTS5 table of
trigrams over each paper's title, abstract and author names, the exact "contains, in any case"
test each candidate gets, the FTS5 query that finds the candidates, and the index's build for a
catalog from before it (or one a large write left behind).

May touch: the catalog's SQLite connection it is given (`build_text_index`); the rest is SQL text
and pure functions `catalog` runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ..types import Paper

# Papers added to the text-search index per transaction when it is built for an existing
# catalog: each batch is committed with its progress, so a killed build resumes there.
FTS_BUILD_BATCH = 20_000
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


def meta(db: sqlite3.Connection, name: str) -> str | None:
    """A value of the catalog's meta table (None when unset)."""
    row = db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    return None if row is None else str(row[0])


def build_text_index(db: sqlite3.Connection, progress: Callable[[int, int], None] | None) -> None:
    """Index every stored paper of the catalog behind `db` for text search, unless done:
    FTS_BUILD_BATCH papers per transaction, each committed with how far it got; writes keep the
    index in step once the last batch has marked it ready. Author names are filled in from each paper's record on
    the way (a catalog from before author search)."""
    if meta(db, "fts") == "ready":
        return
    db.executescript(FTS_TABLE)
    done = int(meta(db, "fts_done") or 0)  # papers up to this seq are indexed
    total = int(db.execute("SELECT count(*) FROM papers").fetchone()[0])
    counted = int(db.execute("SELECT count(*) FROM papers WHERE seq <= ?", (done,)).fetchone()[0])
    while True:
        with db:
            # another process may be building it too (clients of one Chroma server): each
            # batch starts where the committed progress says, inside the write lock
            db.execute("BEGIN IMMEDIATE")
            if meta(db, "fts") == "ready":
                break
            done = int(meta(db, "fts_done") or 0)
            upto = db.execute(
                "SELECT max(seq), count(*) FROM (SELECT seq FROM papers WHERE seq > ? ORDER BY seq LIMIT ?)",
                (done, FTS_BUILD_BATCH),
            ).fetchone()
            if upto[0] is not None:
                db.execute(
                    "UPDATE papers SET authors = unicode_lower(coalesce((SELECT group_concat(value, '; ') "
                    "FROM json_each(papers.json, '$.author_names')), '')) WHERE seq > ? AND seq <= ? AND authors = '' "
                    "AND json_array_length(papers.json, '$.author_names') > 0",
                    (done, upto[0]),
                )
                db.execute(
                    "INSERT INTO papers_fts(rowid, haystack, authors) "
                    "SELECT seq, haystack, authors FROM papers WHERE seq > ? AND seq <= ?",
                    (done, upto[0]),
                )
                done, counted = int(upto[0]), counted + int(upto[1])
                db.execute("INSERT OR REPLACE INTO meta VALUES ('fts_done', ?)", (str(done),))
            if upto[0] is None or int(upto[1]) < FTS_BUILD_BATCH:  # the last batch: no paper after it
                db.execute("INSERT OR REPLACE INTO meta VALUES ('fts', 'ready')")
                break
        if progress is not None:
            progress(counted, total)
    if progress is not None:
        progress(total, total)
