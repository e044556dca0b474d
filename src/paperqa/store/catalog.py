"""The paper catalog: every indexed paper's metadata in one small SQLite table, read on demand.

Part of the index stage (only `index.py` uses it). Chroma's paper records stay the source of
truth; the catalog is a copy that answers "the paper with this id", "how many", "which ids pass
a date filter", "which papers mention these words" and "which paper has this DOI" without loading
every paper into memory: a server over 100k papers starts in seconds and stays small. It is
written after each batch Chroma stores, and brought in line with Chroma when their counts
differ (an index from before the catalog, a killed ingest, another client of a Chroma server).

Papers are parsed when asked for and the most recent CACHED_PAPERS are kept. Iterating over
the catalog reads every paper (listings, exports): the search paths never do.

A corpus search by text (the Corpus tab, `papers --search`) goes through an SQLite FTS5 index of
trigrams over title, abstract and author names (`textsearch.py`), kept in step by every write (a
large write: at its end, `bulk_write`). Each paper's chunk spans are kept beside it (`spans`).

May touch: its SQLite file in the data folder.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from pathlib import Path

from ..types import Paper
from .files import private_file
from .fingerprint import Fingerprint
from .textsearch import (
    CONTAINS,
    CONTAINS_P,
    FTS_DROP,
    OLD_TRIGGERS,
    authors_text,
    build_text_index,
    haystack,
    meta,
    trigram_query,
    two_digits,
)

log = logging.getLogger(__name__)

CATALOG_FILE = "papers.sqlite3"
# How a text search runs depends on how many papers hold all of the text's trigrams, counted
# up to FTS_DENSE_ROWS + 1 only (FTS5 stops there): at most FTS_DIRECT_ROWS (a rare word), the
# candidates are read, tested and sorted (milliseconds); up to FTS_DENSE_ROWS, the papers are
# walked in rank order through papers_rank, each looked up among the candidates, until the page
# is full; beyond (a common word, in 5% of a million papers or more), the walk tests each paper's
# text itself, a page of 1,000 hits being reached within about 20,000 papers.
FTS_DIRECT_ROWS = 5_000
FTS_DENSE_ROWS = 50_000
# Papers from which a write is a bulk write (`bulk_write`; the text index kept in step, a batch of
# 10k papers took 2.35 s, 0.44 s without); below, searches seeing every paper meanwhile matter more.
FTS_DEFER_MIN = 20_000
# A bulk write commits its puts together, every BULK_COMMIT papers or BULK_COMMIT_S seconds, and
# lets SQLite's log grow to BULK_LOG_PAGES pages (SQLITE_LOG_PAGES otherwise): a page of a random
# index (ids, keys, rank) is then written once for many papers. 200k papers put 2,000 at a time:
# 28.5 KB written a paper, 14.9 so (benchmarks/catalog_writes.py). Puts BULK_GAP_S apart (a slow
# embedding model between them) commit alone: the write lock is not held through the gaps.
BULK_COMMIT = 20_000
BULK_COMMIT_S = 30.0
BULK_GAP_S = 10.0
BULK_LOG_PAGES = 65_536
SQLITE_LOG_PAGES = 1000
# How long a write waits for another process's transaction (a bulk write's: about BULK_COMMIT_S).
BUSY_TIMEOUT_S = 2 * BULK_COMMIT_S
# Candidate counts remembered between writes (a few bytes each).
PROBES_KEPT = 256
# Papers tested to estimate how many papers a common text is in (see count_matching).
COUNT_SAMPLE = 2000
# Shorter texts have no trigram: they are looked for in every row (as before the index).
FTS_MIN_CHARS = 3
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
    json TEXT NOT NULL,
    authors TEXT NOT NULL DEFAULT '',
    spans TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS papers_date ON papers(date);
CREATE INDEX IF NOT EXISTS papers_rank ON papers(upvotes DESC, title);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS keys_id ON keys(id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _in_parts(values: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    """The values ROWS_PER_CALL at a time, each part with its "?,?,…" placeholders."""
    for start in range(0, len(values), ROWS_PER_CALL):
        part = list(values[start : start + ROWS_PER_CALL])
        yield part, ",".join("?" * len(part))


@dataclass
class _Bulk:
    """A bulk write's transaction: papers, start (None: none open), last put's end, what waits."""

    last_put: float
    papers: int = 0
    began: float | None = None
    after: list[Callable[[], None]] = field(default_factory=list)


def _run(actions: Sequence[Callable[[], None]]) -> None:
    for action in actions:
        try:
            action()
        except Exception as e:  # what it finishes is left to the writer's next start
            log.warning("a step after a catalog commit failed (the next write finishes it): %s", e)


class PaperCatalog(Mapping[str, Paper]):
    """Paper id -> Paper, in the order the papers were first stored, backed by SQLite."""

    def __init__(
        self,
        path: Path,
        store: str,
        keys_of: Callable[[Paper], list[str]],
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """`store` names the Chroma store this copies (a catalog of another store is emptied);
        `keys_of` gives a paper's identifier keys (DOI, arXiv id) for `ids_by_key`; `progress`
        hears (done, total) while the text-search index is built for an existing catalog."""
        self.path = path
        self._keys_of = keys_of
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            private_file(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
        )
        self._bulk: _Bulk | None = None  # in a bulk write
        # SQLite's lower() folds ASCII letters only; author names are folded as Python does
        self._db.create_function("unicode_lower", 1, str.lower, deterministic=True)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA + OLD_TRIGGERS)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(papers)")}
        if "authors" not in columns:  # a catalog from before author search
            self._db.execute("ALTER TABLE papers ADD COLUMN authors TEXT NOT NULL DEFAULT ''")
        if "spans" not in columns:  # from before chunk spans were kept with their paper
            self._db.execute("ALTER TABLE papers ADD COLUMN spans TEXT NOT NULL DEFAULT ''")
        self._cache: OrderedDict[str, Paper] = OrderedDict()
        self._count: int | None = None
        self._probes: dict[tuple[str, int], int] = {}
        row = self._db.execute("SELECT value FROM meta WHERE name = 'store'").fetchone()
        if row is None or row[0] != store:
            self.clear()
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('store', ?)", (store,))
        self._build_text_index(progress)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, name: str) -> str | None:
        return meta(self._db, name)

    def _build_text_index(self, progress: Callable[[int, int], None] | None) -> None:
        """Index every stored paper for text search, unless done (`textsearch.build_text_index`)."""
        if self._meta("fts") != "ready":
            with self._lock:
                build_text_index(self._db, progress)

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
            for part, marks in _in_parts(missing):
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

    def spans(self, paper_ids: Sequence[str]) -> dict[str, str]:
        """Paper id -> its chunks' spans as its Chroma record keeps them (`records.spans_value`),
        for the papers with these ids whose spans the catalog holds."""
        out: dict[str, str] = {}
        with self._lock:
            for part, marks in _in_parts(list(dict.fromkeys(paper_ids))):
                out.update(
                    self._db.execute(
                        f"SELECT id, spans FROM papers WHERE id IN ({marks}) AND spans != ''", part
                    )
                )
        return out

    def hashes(self) -> dict[str, str]:
        """Paper id -> text hash, for every paper (what the keyword index must hold)."""
        with self._lock:
            return dict(self._db.execute("SELECT id, text_hash FROM papers"))

    def fingerprint(self) -> Fingerprint:
        """The (id, text hash) pairs of every paper as one value (`fingerprint.Fingerprint`), kept
        up to date by every write; computed once for a catalog from before it was kept."""
        with self._lock:
            kept = Fingerprint.loads(self._meta("fingerprint"))
            if kept is None:
                kept = Fingerprint.of(self.hashes().items())
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (kept.dumps(),))
            return kept

    def _held_pairs(self, paper_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(id, text hash) of the papers with these ids that the catalog holds."""
        out: list[tuple[str, str]] = []
        for part, marks in _in_parts(paper_ids):
            out += self._db.execute(
                f"SELECT id, text_hash FROM papers WHERE id IN ({marks})", part
            ).fetchall()
        return out

    def _refold(self, added: Sequence[tuple[str, str]], removed: Sequence[tuple[str, str]]) -> None:
        """Update the kept fingerprint inside the caller's transaction (none kept: nothing to do)."""
        kept = Fingerprint.loads(self._meta("fingerprint"))
        if kept is not None:
            value = kept.changed(added, removed).dumps()
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (value,))

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
        """Papers whose title, abstract or author names contain `text` in any case
        (`Paper.mentions`; every paper for an empty text), most upvoted first, then by title; at
        most `limit`."""
        needle = text.strip().lower()
        with self._lock:
            if not needle:
                # every paper, read in rank order from papers_rank, never scanned (a million
                # papers' first page, the start-up's example questions, in milliseconds)
                sql, args = "SELECT json FROM papers ORDER BY upvotes DESC, title", list[object]()
            elif len(needle) < FTS_MIN_CHARS:
                sql = f"SELECT json FROM papers NOT INDEXED WHERE {CONTAINS} ORDER BY upvotes DESC, title"
                args = [needle, needle]
            else:
                query = trigram_query(needle)
                held = 0 if limit is None else self._candidates(query, FTS_DENSE_ROWS + 1)
                args = [query, needle, needle]
                if (
                    held <= FTS_DIRECT_ROWS
                ):  # rare, or every hit asked for: read, test and sort the candidates
                    sql = (
                        "SELECT p.json FROM papers_fts f CROSS JOIN papers p ON p.seq = f.rowid "
                        f"WHERE papers_fts MATCH ? AND {CONTAINS_P} ORDER BY p.upvotes DESC, p.title"
                    )
                elif held <= FTS_DENSE_ROWS:  # walk the rank order, looking each paper up among them
                    sql = (
                        "SELECT json FROM papers INDEXED BY papers_rank WHERE seq IN "
                        f"(SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?) AND {CONTAINS} "
                        "ORDER BY upvotes DESC, title"
                    )
                else:  # common: walk the rank order testing each paper's text
                    sql = f"SELECT json FROM papers INDEXED BY papers_rank WHERE {CONTAINS} ORDER BY upvotes DESC, title"
                    args = [needle, needle]
            if limit is not None:
                sql, args = sql + " LIMIT ?", [*args, limit]
            rows = self._db.execute(sql, args).fetchall()
        return [Paper.model_validate_json(raw) for (raw,) in rows]

    def _candidates(self, query: str, most: int) -> int:
        """How many papers hold every trigram of a search text, counted up to `most`; remembered
        until the next write (the Corpus tab searches, then counts, the same text)."""
        key = (query, most)
        if key not in self._probes:
            sql = "SELECT count(*) FROM (SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)"
            if len(self._probes) > PROBES_KEPT:
                self._probes.clear()
            self._probes[key] = int(self._db.execute(sql, key).fetchone()[0])
        return self._probes[key]

    def count_matching(self, text: str, estimate: bool = False) -> tuple[int, bool]:
        """How many papers `search(text)` would list without a limit, and whether that is exact.
        With `estimate`, a common text (more than FTS_DIRECT_ROWS candidates) is not tested paper
        by paper but estimated from a sample, rounded to two significant digits: the share of true
        matches among its first COUNT_SAMPLE candidates times the candidates (trigram candidates
        over-count: "attention" had 2,409 for 1,463 papers among 20k), or beyond FTS_DENSE_ROWS
        candidates, the share of the first COUNT_SAMPLE papers holding it times all papers."""
        needle = text.strip().lower()
        with self._lock:
            if not needle:
                return len(self), True
            if len(needle) < FTS_MIN_CHARS:
                row = self._db.execute(f"SELECT count(*) FROM papers WHERE {CONTAINS}", [needle, needle])
                return int(row.fetchone()[0]), True
            query = trigram_query(needle)
            join = "FROM papers_fts f CROSS JOIN papers p ON p.seq = f.rowid WHERE papers_fts MATCH ?"
            held = self._candidates(query, FTS_DENSE_ROWS + 1) if estimate else 0
            if held <= FTS_DIRECT_ROWS:
                row = self._db.execute(f"SELECT count(*) {join} AND {CONTAINS_P}", [query, needle, needle])
                return int(row.fetchone()[0]), True
            if held <= FTS_DENSE_ROWS:
                sample, args, total = (
                    f"SELECT {CONTAINS_P} AS hit {join} LIMIT ?",
                    [needle, needle, query],
                    held,
                )
            else:
                sample, args, total = (
                    f"SELECT {CONTAINS} AS hit FROM papers LIMIT ?",
                    [needle, needle],
                    len(self),
                )
            hits, tried = self._db.execute(
                f"SELECT sum(hit), count(*) FROM ({sample})", [*args, COUNT_SAMPLE]
            ).fetchone()
            return two_digits(total * int(hits or 0) / max(1, int(tried))), False

    def ids_by_key(self, keys: Iterable[str]) -> dict[str, str]:
        """Identifier key (DOI, arXiv id) -> the id of the indexed paper that has it."""
        wanted = list(dict.fromkeys(keys))
        out: dict[str, str] = {}
        with self._lock:
            for part, marks in _in_parts(wanted):
                out.update(self._db.execute(f"SELECT key, id FROM keys WHERE key IN ({marks})", part))
        return out

    # ---- writing -------------------------------------------------------------------
    def put(self, papers: Sequence[Paper], spans: Mapping[str, str] | None = None) -> None:
        """Add or replace these papers (a replaced paper keeps its place in the order), with their
        chunks' spans when given (a paper given none keeps those it has if its text is the same)."""
        if not papers:
            return
        spans = spans or {}
        rows = [
            (
                p.id,
                p.title,
                p.date or "",
                p.upvotes or 0,
                p.text_hash,
                haystack(p),
                p.model_dump_json(),
                authors_text(p),
                spans.get(p.id, ""),
            )
            for p in papers
        ]
        final = {p.id: p.text_hash for p in papers}  # the last copy of an id is the one kept
        with self._write(len(final)):
            self._refold(list(final.items()), self._held_pairs(list(final)))
            indexed = self._text_indexed(list(final))
            if indexed:  # replaced papers leave the text index with their old text
                self._text_index("'delete', ", indexed)
            self._db.executemany(
                "INSERT INTO papers (id, title, date, upvotes, text_hash, haystack, json, authors, spans) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET title = excluded.title, "
                "date = excluded.date, upvotes = excluded.upvotes, haystack = excluded.haystack, "
                "json = excluded.json, authors = excluded.authors, spans = CASE WHEN excluded.spans = '' "
                "AND excluded.text_hash = papers.text_hash THEN papers.spans ELSE excluded.spans END, "
                "text_hash = excluded.text_hash",
                rows,
            )
            ids = [(p.id,) for p in papers]
            self._db.executemany("DELETE FROM keys WHERE id = ?", ids)
            self._db.executemany(
                "INSERT OR REPLACE INTO keys VALUES (?, ?)",
                [(key, p.id) for p in papers for key in self._keys_of(p)],
            )
            if indexed:
                self._text_index("", indexed)
            for p in papers:
                self._cache.pop(p.id, None)
            self._count, self._probes = None, {}

    def _text_indexed(self, paper_ids: list[str]) -> list[str]:
        """Those of these papers whose text the text-search index holds or, once ready, is to hold
        (all); while it is built or left behind (`bulk_write`), those stored up to where
        it got (later ones are added in stored order when it catches up)."""
        if self._meta("fts") == "ready":
            return paper_ids
        done, out = int(self._meta("fts_done") or 0), list[str]()
        for part, marks in _in_parts(paper_ids):
            sql = f"SELECT id FROM papers WHERE id IN ({marks}) AND seq <= ?"
            out += [row[0] for row in self._db.execute(sql, [*part, done])]
        return out

    @contextlib.contextmanager
    def _write(self, papers: int) -> Iterator[None]:
        """One write of this many papers: its own transaction, or in a bulk write a savepoint of
        the bulk's transaction (begun by its first write; see BULK_COMMIT for when it commits)."""
        done: list[Callable[[], None]] = []
        with self._lock:
            bulk = self._bulk
            if bulk is None:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    yield
                return
            now = time.monotonic()
            if bulk.began is None:
                self._db.execute("BEGIN IMMEDIATE")
                bulk.began = now
            self._db.execute("SAVEPOINT write")
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # (SQLite may have rolled it all back itself)
                    self._db.execute("ROLLBACK TO write")
                    self._db.execute("RELEASE write")
                raise
            self._db.execute("RELEASE write")
            gap, bulk.last_put = now - bulk.last_put, time.monotonic()
            bulk.papers += papers
            if bulk.papers >= BULK_COMMIT or bulk.last_put - bulk.began >= BULK_COMMIT_S or gap >= BULK_GAP_S:
                done = self._commit_bulk(bulk)
        _run(done)

    def _commit_bulk(self, bulk: _Bulk) -> list[Callable[[], None]]:
        """Commit a bulk write's transaction; what waited for it (`after_commit`), to run."""
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        bulk.papers, bulk.began = 0, None
        done, bulk.after = bulk.after, []
        return done

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once every paper put so far is committed (in a bulk write: at its commit)."""
        with self._lock:
            if self._bulk is not None and self._bulk.began is not None:
                self._bulk.after.append(action)
                return
        _run([action])

    @contextlib.contextmanager
    def bulk_write(self, progress: Callable[[int, int], None] | None = None) -> Iterator[None]:
        """Writes inside commit together (BULK_COMMIT) and leave the text-search index behind: it
        catches up at the end in committed batches, in stored order (searches meanwhile miss them).
        A failed write or Ctrl-C inside keeps what came before it (a failure has the index catch up
        too); a killed process loses its open transaction (`journal.py` puts it back) and leaves
        the catch-up to the next open. A bulk write inside another is part of it."""
        with self._lock:
            outer = self._bulk is None
            mine = outer and self._meta("fts") == "ready"
            if mine:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    top = self._db.execute("SELECT coalesce(max(seq), 0) FROM papers").fetchone()[0]
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES ('fts_done', ?)", (str(top),))
                    self._db.execute("DELETE FROM meta WHERE name = 'fts'")
            if outer:
                self._db.execute(f"PRAGMA wal_autocheckpoint={BULK_LOG_PAGES}")
                self._bulk = _Bulk(last_put=time.monotonic())
        if not outer:
            yield
            return
        try:
            yield
        except BaseException as e:  # keep what was written; a failed write has it indexed too
            with contextlib.suppress(sqlite3.Error):  # its own error is the one to see
                self._end_bulk()
            if mine and isinstance(e, Exception):
                with contextlib.suppress(sqlite3.Error):
                    self._build_text_index(progress)
            raise
        self._end_bulk()
        if mine:
            self._build_text_index(progress)

    def _end_bulk(self) -> None:
        with self._lock:
            try:
                done = self._commit_bulk(self._bulk) if self._bulk is not None else []
            finally:
                self._bulk = None
                self._db.execute(f"PRAGMA wal_autocheckpoint={SQLITE_LOG_PAGES}")
                with contextlib.suppress(sqlite3.Error):  # the log back to its usual size
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _run(done)

    def _text_index(self, command: str, paper_ids: Sequence[str]) -> None:
        """Add these stored papers' text to the text-search index, or with command "'delete', "
        take it out (FTS5 must be told the text it indexed): one statement per ROWS_PER_CALL."""
        target = (
            "papers_fts(papers_fts, rowid, haystack, authors)"
            if command
            else "papers_fts(rowid, haystack, authors)"
        )
        for part, marks in _in_parts(paper_ids):
            self._db.execute(  # in rowid order: FTS5 takes ascending rowids 2.5x faster than the id index's order
                f"INSERT INTO {target} SELECT {command}seq, haystack, authors FROM papers WHERE id IN ({marks}) "
                "ORDER BY seq",
                part,
            )

    def remove(self, paper_ids: Sequence[str]) -> None:
        with self._write(len(paper_ids)):
            unique = list(dict.fromkeys(paper_ids))
            self._refold([], self._held_pairs(unique))
            indexed = self._text_indexed(unique)
            if indexed:
                self._text_index("'delete', ", indexed)
            self._db.executemany("DELETE FROM papers WHERE id = ?", [(pid,) for pid in paper_ids])
            self._db.executemany("DELETE FROM keys WHERE id = ?", [(pid,) for pid in paper_ids])
            for pid in paper_ids:
                self._cache.pop(pid, None)
            self._count, self._probes = None, {}

    def clear(self) -> None:
        """Forget every paper. The text-search index goes with them and starts again empty
        (dropping it is faster than deleting each paper from it)."""
        with self._lock:
            self._db.executescript(FTS_DROP)
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("DELETE FROM papers")
                self._db.execute("DELETE FROM keys")
                self._db.execute("DELETE FROM meta WHERE name IN ('fts', 'fts_done')")
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (Fingerprint().dumps(),)
                )
                self._cache.clear()
                self._count, self._probes = None, {}
            self._build_text_index(None)  # empty: made and marked ready at once


class _StoredValues(ValuesView[Paper]):
    """A catalog's papers, iterated in stored order a batch at a time."""

    _mapping: PaperCatalog

    def __iter__(self) -> Iterator[Paper]:
        return self._mapping.values_in_order()
