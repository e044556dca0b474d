"""What Chroma holds of a paper and of its chunks, and how a chunk's text is read back.

A chunk record is its vector alone, under the id "<key>|<paper id>:<number>": no metadata and no
text. The key is the time its paper's chunks were written (`chunk_key`), so ids sort in write order.
Its span (start, end) of the paper's `chunking.passage_source`, with a crc32 check, is kept with
its paper, after the same key. A paper record is its vector, the paper as JSON (other clients of
a shared server fill their catalog from it) and its "state": hashes, chunk count and the chunks'
spans, one value (the catalog keeps a copy of the spans). Records written before are read too:
chunk records that carried their paper id and span (`chunk_span`), paper records with separate
keys (`paper_state`).

May touch: nothing but the records and papers it is given.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Container, Sequence
from typing import Any

from ..types import Paper
from .chunking import Chunk, passage_source, text_check

log = logging.getLogger(__name__)

# Papers' passage sources kept (the texts chunk spans are cut from): a few searches' hits, a few MB.
SOURCES_KEPT = 2048


# Chroma indexes every metadata value (SQLite, one index row per key and record): a value no other
# record shares lands at a random place in its index, and at a million papers each such row cost
# about one page rewritten twice (the log, then the file). So a chunk record has none (its paper is
# in its id, its span with its paper), and a paper's parts that are only read whole are one value
# (see benchmarks/results/chroma_writes.md).
Span = tuple[int, int, int]  # start, end (in the paper's passage source) and crc32 check


def chunk_paper(chunk_id: str, meta: dict[str, Any] | None) -> str:
    """The paper a chunk record belongs to: from its id ("<key>|<paper id>:<number>", from before
    without the key), or the paper id a record from before kept in its metadata."""
    if meta and "paper_id" in meta:
        return str(meta["paper_id"])
    return _unstamped(chunk_id).rsplit(":", 1)[0]


def chunk_number(chunk_id: str) -> int:
    """A chunk's number within its paper, from its id."""
    tail = chunk_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


# Chroma keeps a unique index of record ids (SQLite): ids that begin with their paper id, a hash,
# land at random places in it, each rewriting a page; ids that begin with their write time land at
# its end. 10.6 against 6.8 KB written per chunk record at 200k (benchmarks/results/chroma_writes.md,
# none against none_ordered).
def chunk_key() -> str:
    """The key of the chunks one write stores: the time, in as many hex digits as a stamp."""
    return f"{time.time_ns():0{STAMP_DIGITS}x}"


def key_of(value: str) -> str:
    """The key a chunk id or a spans value begins with ("" for one from before keys)."""
    return value[:STAMP_DIGITS] if _has_stamp(value) else ""


def chunk_ids(paper_id: str, spans: str, n: int | None = None) -> list[str]:
    """The ids of a paper's chunks, from its spans value (`spans_value`: their key and, unless
    `n` gives it, their count)."""
    key = key_of(spans)
    n = len(read_spans(spans)) if n is None else n
    return [chunk_id(paper_id, i, key) for i in range(n)]


def chunk_id(paper_id: str, number: int, key: str) -> str:
    """A chunk's id: "<key>|<paper id>:<number>" ("<paper id>:<number>" for chunks from before keys)."""
    return f"{key}|{paper_id}:{number}" if key else f"{paper_id}:{number}"


def chunk_span(meta: dict[str, Any] | None) -> tuple[int, int, int, int] | None:
    """A chunk record from before: its (number, start, end, check), from its "span" or the separate
    keys records had before that; None for a record that keeps none (the span is its paper's, or,
    from before spans, its text is its document)."""
    meta = meta or {}
    if isinstance(meta.get("span"), str):
        number, start, end, check = (int(x) for x in meta["span"].split(":"))
        return number, start, end, check
    if "start" in meta:
        return int(meta.get("chunk") or 0), int(meta["start"]), int(meta["end"]), int(meta.get("check") or 0)
    return None


def spans_value(chunks: Sequence[Chunk], key: str = "") -> str:
    """A paper's chunks' spans as one string ("<key>|start.end.check,…", in chunk order)."""
    spans = ",".join(f"{c.start}.{c.end}.{text_check(c.text)}" for c in chunks)
    return f"{key}|{spans}" if key else spans


def read_spans(value: str) -> list[Span]:
    """The spans `spans_value` wrote (none for "")."""
    value = _unstamped(value)
    out: list[Span] = []
    for part in value.split(",") if value else ():
        start, end, check = (int(x) for x in part.split("."))
        out.append((start, end, check))
    return out


# A paper record's two values begin with the time they were written ("<16 hex digits>|"): Chroma's
# string index then grows at its end, where values in paper order (a JSON or a hash first) land at
# random places in it, each rewriting a page; 38.2 against 18.9 KB written per paper record at 100k
# (benchmarks/results/chroma_writes.md, the paper layouts).
STAMP_DIGITS = 16
_HEX = frozenset("0123456789abcdef")


def _stamped(value: str) -> str:
    return f"{time.time_ns():0{STAMP_DIGITS}x}|{value}"


def _has_stamp(value: str) -> bool:
    return value[STAMP_DIGITS : STAMP_DIGITS + 1] == "|" and all(c in _HEX for c in value[:STAMP_DIGITS])


def _unstamped(value: str) -> str:
    """A value without its write time (a value from before has none)."""
    return value[STAMP_DIGITS + 1 :] if _has_stamp(value) else value


def paper_record(paper: Paper, spans: str, n: int | None = None) -> dict[str, Any]:
    """A paper record's metadata: the paper itself as JSON, and its state as one value: its hashes
    (what a re-ingest compares), its chunk count (`n`, else that of the spans: a record from before
    keeps its count but has no spans) and its chunks' spans ("text_hash:meta_hash:n_chunks:spans");
    each begins with the time it is written (`_stamped`)."""
    n = len(read_spans(spans)) if n is None else n
    state = f"{paper.text_hash}:{paper.meta_hash}:{n}:{spans}"
    return {"json": _stamped(paper.model_dump_json()), "state": _stamped(state)}


def paper_of(meta: dict[str, Any]) -> Paper:
    """The paper a paper record holds."""
    return Paper.model_validate_json(_unstamped(str(meta["json"])))


# The keys a paper record had before its state was one value (Chroma merges a rewrite's keys into
# a record: these would stay, stale, unless cleared).
PAPER_KEYS_BEFORE = ("title", "text_hash", "meta_hash", "n_chunks", "date")


def paper_update(paper: Paper, spans: str, old: Container[str], n: int | None = None) -> dict[str, Any]:
    """The metadata that writes a paper record over `old` (its stored keys; none for a new paper):
    `paper_record`, and the keys a record from before its state was one value had, cleared."""
    return {**paper_record(paper, spans, n), **{key: None for key in PAPER_KEYS_BEFORE if key in old}}


def paper_state(meta: dict[str, Any]) -> tuple[str | None, str | None, int]:
    """A paper record's (text_hash, meta_hash, n_chunks) from its "state" or the separate keys
    records had before it (0 chunks: not known)."""
    if isinstance(meta.get("state"), str):
        text_hash, meta_hash, n = _unstamped(meta["state"]).split(":", 3)[:3]
        return text_hash, meta_hash, int(n or 0)
    return meta.get("text_hash"), meta.get("meta_hash"), int(meta.get("n_chunks") or 0)


def paper_spans(meta: dict[str, Any]) -> str:
    """A paper record's chunk spans (`spans_value`), "" for a record from before they were kept
    with it (its chunks keep their own)."""
    state = meta.get("state")
    parts = _unstamped(state).split(":", 3) if isinstance(state, str) else []
    return parts[3] if len(parts) == 4 else ""


class PassageSources:
    """`passage_source(paper)`, remembered for the last SOURCES_KEPT papers (a paper's chunks and
    the same hits recur from search to search; splitting sentences is most of a hit's cost)."""

    def __init__(self, kept: int = SOURCES_KEPT) -> None:
        self.kept = kept
        self._lock = threading.Lock()
        self._sources: OrderedDict[tuple[str, str, str], str] = OrderedDict()

    def get(self, paper: Paper) -> str:
        key = (paper.id, paper.abstract, paper.title)
        with self._lock:
            source = self._sources.get(key)
            if source is None:
                source = self._sources[key] = passage_source(paper)
                if len(self._sources) > self.kept:
                    self._sources.popitem(last=False)
            else:
                self._sources.move_to_end(key)
            return source


# A chunk record as read: (id, metadata, document); new records have no metadata and no document.
ChunkRecord = tuple[str, dict[str, Any] | None, str | None]


def span_texts(
    records: Sequence[ChunkRecord],
    papers: dict[str, Paper],
    spans: dict[str, str],
    source: Callable[[Paper], str],
    from_chroma: Callable[[set[str]], dict[str, tuple[Paper, str]]],
) -> list[str | None]:
    """Each chunk record's text: its span (its paper's, in `spans` by paper id as `spans_value`
    wrote them, if the chunk's key is theirs; or, from before, its own) of its paper's passage
    source (`papers` by id; None for a paper not there); a record
    from before spans has its text as its document. A span that is missing or whose checksum fails
    is read again against the paper as Chroma now holds it (`from_chroma`: another client, or a
    concurrent ingest, changed its text since the catalog copied it); if it still fails (the index
    predates a change of sentence splitter) it gives the whole passage source, still the paper's
    own words, and a warning to re-ingest. A chunk past its paper's chunks even then is a leftover
    (of a write interrupted before its paper record, or overtaken by another client's) or one
    whose key is not its paper's: None."""
    kept = {pid: (key_of(value), read_spans(value)) for pid, value in spans.items()}

    def mine(cid: str) -> list[Span]:
        key, own = kept.get(chunk_paper(cid, None), ("", []))
        return own if key_of(cid) == key else []

    def cut(cid: str, meta: dict[str, Any] | None) -> tuple[int, int, int, int] | None:
        own = chunk_span(meta)
        if own is not None or meta:  # a record from before: its own span, or its text is its document
            return own
        number, its = chunk_number(cid), mine(cid)
        return (number, *its[number]) if number < len(its) else (number, -1, -1, -1)

    def span(cid: str, meta: dict[str, Any] | None) -> str | None:
        paper, where = papers.get(chunk_paper(cid, meta)), cut(cid, meta)
        if paper is None or where is None:
            return None
        text = source(paper)[where[1] : where[2]]
        return text if where[1] >= 0 and text_check(text) == where[3] else None

    def read(cid: str, meta: dict[str, Any] | None, doc: str | None) -> str | None:
        return doc or "" if cut(cid, meta) is None else span(cid, meta)

    texts = [read(*record) for record in records]
    stale = {chunk_paper(cid, meta) for (cid, meta, _d), t in zip(records, texts, strict=True) if t is None}
    stale &= set(papers)
    if stale:  # the catalog's copy may be older than the chunks: take Chroma's
        for pid, (paper, value) in from_chroma(stale).items():
            papers[pid], kept[pid] = paper, (key_of(value), read_spans(value))
    out: list[str | None] = []
    for (cid, meta, _doc), text in zip(records, texts, strict=True):
        pid = chunk_paper(cid, meta)
        if text is None and pid in stale:
            text = span(cid, meta)
            if text is None and not meta and chunk_number(cid) >= len(mine(cid)):
                log.debug("chunk %s is past the chunks of %s: left over, skipped", cid, pid)
            elif text is None:
                log.warning(
                    "chunk %s of %s does not match its paper's text (index from another "
                    "version); re-ingest the papers to re-cut it",
                    chunk_number(cid),
                    pid,
                )
                text = source(papers[pid])
        out.append(text)
    return out
