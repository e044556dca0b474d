"""What Chroma holds of a paper and of its chunks, and how a chunk's text is read back.

A chunk record is its vector alone, under the id "<paper id>:<number>": no metadata and no text.
Its span (start, end) of the paper's `chunking.passage_source`, with a crc32 check, is kept with
its paper. A paper record is its vector, the paper as JSON (other clients of a shared server fill
their catalog from it) and its "state": hashes, chunk count and the chunks' spans, one value (the
catalog keeps a copy of the spans). Records written before are read too: chunk records that
carried their paper id and span (`chunk_span`), paper records with separate keys (`paper_state`).

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
    """The paper a chunk record belongs to: from its id ("<paper id>:<number>"), or the paper id
    a record from before kept in its metadata."""
    if meta and "paper_id" in meta:
        return str(meta["paper_id"])
    return chunk_id.rsplit(":", 1)[0]


def chunk_number(chunk_id: str) -> int:
    """A chunk's number within its paper, from its id."""
    tail = chunk_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


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


def spans_value(chunks: Sequence[Chunk]) -> str:
    """A paper's chunks' spans as one string ("start.end.check,…", in chunk order)."""
    return ",".join(f"{c.start}.{c.end}.{text_check(c.text)}" for c in chunks)


def read_spans(value: str) -> list[Span]:
    """The spans `spans_value` wrote (none for "")."""
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


def _unstamped(value: str) -> str:
    """A value without its write time (a value from before has none)."""
    stamped = value[STAMP_DIGITS : STAMP_DIGITS + 1] == "|" and all(c in _HEX for c in value[:STAMP_DIGITS])
    return value[STAMP_DIGITS + 1 :] if stamped else value


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
    spans: dict[str, list[Span]],
    source: Callable[[Paper], str],
    from_chroma: Callable[[set[str]], dict[str, tuple[Paper, list[Span]]]],
) -> list[str | None]:
    """Each chunk record's text: its span (its paper's, in `spans` by paper id; or, from before,
    its own) of its paper's passage source (`papers` by id; None for a paper not there); a record
    from before spans has its text as its document. A span that is missing or whose checksum fails
    is read again against the paper as Chroma now holds it (`from_chroma`: another client, or a
    concurrent ingest, changed its text since the catalog copied it); if it still fails (the index
    predates a change of sentence splitter) it gives the whole passage source, still the paper's
    own words, and a warning to re-ingest. A chunk past its paper's chunks even then is a leftover
    (of a write interrupted before its paper record, or overtaken by another client's): None."""

    def cut(cid: str, meta: dict[str, Any] | None) -> tuple[int, int, int, int] | None:
        own = chunk_span(meta)
        if own is not None or meta:  # a record from before: its own span, or its text is its document
            return own
        number, kept = chunk_number(cid), spans.get(chunk_paper(cid, meta), [])
        return (number, *kept[number]) if number < len(kept) else (number, -1, -1, -1)

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
        for pid, (paper, kept) in from_chroma(stale).items():
            papers[pid], spans[pid] = paper, kept
    out: list[str | None] = []
    for (cid, meta, _doc), text in zip(records, texts, strict=True):
        pid = chunk_paper(cid, meta)
        if text is None and pid in stale:
            text = span(cid, meta)
            if text is None and not meta and chunk_number(cid) >= len(spans.get(pid, [])):
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
