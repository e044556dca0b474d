"""The paper catalog: every indexed paper's metadata in one small SQLite table, read on demand.

Part of the index stage (only `index.py` uses it). Chroma's paper records stay the source of
truth; the catalog is a copy that answers "the paper with this id", "how many", "which ids pass
a date filter", "which papers mention these words" and "which paper has this DOI" without loading
every paper into memory: a server over 100k papers starts in seconds and stays small. It is
written after each batch Chroma stores, and brought in line with Chroma when their counts
differ (an index from before the catalog, a killed ingest, another client of a Chroma server).

Papers are parsed when asked for and the most recent CACHED_PAPERS are kept. Iterating over
the catalog reads every paper (listings, exports): the search paths never do.

May touch: its SQLite file in the data folder.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, ValuesView
from pathlib import Path

from ..types import Paper
from .files import private_file

CATALOG_FILE = "papers.sqlite3"
# Papers kept parsed: a few answers' sources and a corpus page; a few MB.
CACHED_PAPERS = 2048
# Rows fetched per SQLite call (under SQLite's 32766 bound variables).
ROWS_PER_CALL = 900

_SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    title TEXT NOT NULL,
    date TEXT NOT NULL,
    upvotes INTEGER NOT NULL,
    text_hash TEXT NOT NULL,
    haystack TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS papers_date ON papers(date);
CREATE INDEX IF NOT EXISTS papers_rank ON papers(upvotes DESC, title);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS keys_id ON keys(id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def haystack(paper: Paper) -> str:
    """What a corpus search looks in: `Paper.mentions` reads title and abstract, in any case."""
    return f"{paper.title.lower()}\n{paper.abstract.lower()}"


class PaperCatalog(Mapping[str, Paper]):
    """Paper id -> Paper, in the order the papers were first stored, backed by SQLite."""

    def __init__(self, path: Path, store: str, keys_of: Callable[[Paper], list[str]]) -> None:
        """`store` names the Chroma store this copies (a catalog of another store is emptied);
        `keys_of` gives a paper's identifier keys (DOI, arXiv id) for `ids_by_key`."""
        self.path = path
        self._keys_of = keys_of
        self._lock = threading.RLock()
        self._db = sqlite3.connect(private_file(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._cache: OrderedDict[str, Paper] = OrderedDict()
        self._count: int | None = None
        row = self._db.execute("SELECT value FROM meta WHERE name = 'store'").fetchone()
        if row is None or row[0] != store:
            self.clear()
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('store', ?)", (store,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- reading -------------------------------------------------------------------
    def __len__(self) -> int:
        with self._lock:
            if self._count is None:
                self._count = int(self._db.execute("SELECT count(*) FROM papers").fetchone()[0])
            return self._count

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT id FROM papers ORDER BY seq")]
        return iter(ids)

    def __contains__(self, paper_id: object) -> bool:
        if not isinstance(paper_id, str):
            return False
        with self._lock:
            if paper_id in self._cache:
                return True
            return self._db.execute("SELECT 1 FROM papers WHERE id = ?", (paper_id,)).fetchone() is not None

    def __getitem__(self, paper_id: str) -> Paper:
        found = self.get_many([paper_id])
        if paper_id not in found:
            raise KeyError(paper_id)
        return found[paper_id]

    def get_many(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        """The papers with these ids that the catalog holds, in the order asked."""
        out: dict[str, Paper] = {}
        with self._lock:
            missing = [pid for pid in dict.fromkeys(paper_ids) if pid not in self._cache]
            for start in range(0, len(missing), ROWS_PER_CALL):
                part = missing[start : start + ROWS_PER_CALL]
                marks = ",".join("?" * len(part))
                for (raw,) in self._db.execute(f"SELECT json FROM papers WHERE id IN ({marks})", part):
                    self._remember(Paper.model_validate_json(raw))
            for pid in paper_ids:
                if pid in self._cache:
                    self._cache.move_to_end(pid)
                    out[pid] = self._cache[pid]
        return out

    def _remember(self, paper: Paper) -> None:
        self._cache[paper.id] = paper
        if len(self._cache) > CACHED_PAPERS:
            self._cache.popitem(last=False)

    def values(self) -> ValuesView[Paper]:
        """Every paper in stored order, read in batches (`values_in_order`), not one by one."""
        return _StoredValues(self)

    def values_in_order(self, batch: int = 2000) -> Iterator[Paper]:
        """Every paper in stored order, parsed a batch at a time (not kept)."""
        last = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT seq, json FROM papers WHERE seq > ? ORDER BY seq LIMIT ?", (last, batch)
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield from (Paper.model_validate_json(raw) for _, raw in rows)

    def hashes(self) -> dict[str, str]:
        """Paper id -> text hash, for every paper (what the keyword index must hold)."""
        with self._lock:
            return dict(self._db.execute("SELECT id, text_hash FROM papers"))

    def ids_between(self, date_from: str | None, date_to: str | None) -> set[str]:
        """Ids of the papers dated within the bounds (ISO dates, inclusive; undated ones fail)."""
        sql, args = "SELECT id FROM papers WHERE date != ''", list[str]()
        if date_from:
            sql, args = sql + " AND date >= ?", [*args, date_from]
        if date_to:
            sql, args = sql + " AND date <= ?", [*args, date_to]
        with self._lock:
            return {r[0] for r in self._db.execute(sql, args)}

    def search(self, text: str, limit: int | None) -> list[Paper]:
        """Papers whose title or abstract contains `text` in any case (`Paper.mentions`; every
        paper for an empty text), most upvoted first, then by title; at most `limit`."""
        needle = text.strip().lower()
        # Every paper: read in rank order from papers_rank, never scanned (a million papers' first
        # page, the start-up's example questions, in milliseconds instead of seconds).
        # A text is looked for in every row: one scan in stored order, then a sort (through
        # papers_rank the rows would be read in random order, twice as slow for a rare word).
        where = " NOT INDEXED WHERE instr(haystack, ?) > 0" if needle else ""
        sql = f"SELECT json FROM papers{where} ORDER BY upvotes DESC, title"
        args: list[object] = [needle] if needle else []
        if limit is not None:
            sql, args = sql + " LIMIT ?", [*args, limit]
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Paper.model_validate_json(raw) for (raw,) in rows]

    def count_matching(self, text: str) -> int:
        """How many papers `search(text)` would list without a limit."""
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM papers WHERE instr(haystack, ?) > 0", (text.strip().lower(),)
            ).fetchone()
        return int(row[0])

    def ids_by_key(self, keys: Iterable[str]) -> dict[str, str]:
        """Identifier key (DOI, arXiv id) -> the id of the indexed paper that has it."""
        wanted = list(dict.fromkeys(keys))
        out: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(wanted), ROWS_PER_CALL):
                part = wanted[start : start + ROWS_PER_CALL]
                marks = ",".join("?" * len(part))
                out.update(self._db.execute(f"SELECT key, id FROM keys WHERE key IN ({marks})", part))
        return out

    # ---- writing -------------------------------------------------------------------
    def put(self, papers: Sequence[Paper]) -> None:
        """Add or replace these papers (a replaced paper keeps its place in the order)."""
        if not papers:
            return
        rows = [
            (p.id, p.title, p.date or "", p.upvotes or 0, p.text_hash, haystack(p), p.model_dump_json())
            for p in papers
        ]
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO papers (id, title, date, upvotes, text_hash, haystack, json) VALUES "
                "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET title = excluded.title, "
                "date = excluded.date, upvotes = excluded.upvotes, text_hash = excluded.text_hash, "
                "haystack = excluded.haystack, json = excluded.json",
                rows,
            )
            ids = [(p.id,) for p in papers]
            self._db.executemany("DELETE FROM keys WHERE id = ?", ids)
            self._db.executemany(
                "INSERT OR REPLACE INTO keys VALUES (?, ?)",
                [(key, p.id) for p in papers for key in self._keys_of(p)],
            )
            for p in papers:
                self._cache.pop(p.id, None)
            self._count = None

    def remove(self, paper_ids: Sequence[str]) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM papers WHERE id = ?", [(pid,) for pid in paper_ids])
            self._db.executemany("DELETE FROM keys WHERE id = ?", [(pid,) for pid in paper_ids])
            for pid in paper_ids:
                self._cache.pop(pid, None)
            self._count = None

    def clear(self) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM papers")
            self._db.execute("DELETE FROM keys")
            self._cache.clear()
            self._count = None


class _StoredValues(ValuesView[Paper]):
    """A catalog's papers, iterated in stored order a batch at a time."""

    _mapping: PaperCatalog

    def __iter__(self) -> Iterator[Paper]:
        return self._mapping.values_in_order()
