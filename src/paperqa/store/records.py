"""What Chroma holds of a paper and of its chunks, and how a chunk's text is read back.

A chunk record is its vector, its paper, and its number and span (start, end) of the paper's
`chunking.passage_source` with a crc32 check, as one "span" value; no text (the catalog has the
paper, and Chroma would keep a text three times over: document, metadata index, full-text index).
A paper record is its vector, the paper as JSON (other clients of a shared server fill their
catalog from it) and its "state" (hashes and chunk count). Records written before either was one
value are read too (`chunk_span`, `paper_state`).

May touch: nothing but the records and papers it is given.
"""

from __future__ import annotations

import logging
import threading
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
# about one page rewritten twice (the log, then the file). A record's parts that are only ever read
# whole are one value: a chunk's span and a paper's state (see benchmarks/results/chroma_writes.md).
def chunk_record(paper: Paper, chunk: Chunk) -> dict[str, Any]:
    """A chunk record's metadata: its paper, and its number and span of `passage_source` with its
    checksum as one value ("number:start:end:check")."""
    return {
        "paper_id": paper.id,
        "span": f"{chunk.number}:{chunk.start}:{chunk.end}:{text_check(chunk.text)}",
    }


def chunk_span(meta: dict[str, Any]) -> tuple[int, int, int, int] | None:
    """A chunk record's (number, start, end, check), from its "span" or the separate keys records
    had before it; None for a record from before spans (its text is its document)."""
    if isinstance(meta.get("span"), str):
        number, start, end, check = (int(x) for x in meta["span"].split(":"))
        return number, start, end, check
    if "start" in meta:
        return int(meta.get("chunk") or 0), int(meta["start"]), int(meta["end"]), int(meta.get("check") or 0)
    return None


def paper_record(paper: Paper, n_chunks: int) -> dict[str, Any]:
    """A paper record's metadata: the paper itself as JSON, and its state as one value: its hashes
    (what a re-ingest compares) and its chunk count ("text_hash:meta_hash:n_chunks")."""
    return {"json": paper.model_dump_json(), "state": f"{paper.text_hash}:{paper.meta_hash}:{n_chunks}"}


# The keys a paper record had before its state was one value (Chroma merges a rewrite's keys into
# a record: these would stay, stale, unless cleared).
PAPER_KEYS_BEFORE = ("title", "text_hash", "meta_hash", "n_chunks", "date")


def paper_update(paper: Paper, n_chunks: int, old: Container[str]) -> dict[str, Any]:
    """The metadata that writes a paper record over `old` (its stored keys; none for a new paper):
    `paper_record`, and the keys a record from before its state was one value had, cleared."""
    return {**paper_record(paper, n_chunks), **{key: None for key in PAPER_KEYS_BEFORE if key in old}}


def paper_state(meta: dict[str, Any]) -> tuple[str | None, str | None, int]:
    """A paper record's (text_hash, meta_hash, n_chunks) from its "state" or the separate keys
    records had before it (0 chunks: not known)."""
    if isinstance(meta.get("state"), str):
        text_hash, meta_hash, n = meta["state"].split(":")
        return text_hash, meta_hash, int(n or 0)
    return meta.get("text_hash"), meta.get("meta_hash"), int(meta.get("n_chunks") or 0)


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


def span_texts(
    records: Sequence[tuple[dict[str, Any], str | None]],
    papers: dict[str, Paper],
    source: Callable[[Paper], str],
    from_chroma: Callable[[set[str]], list[Paper]],
) -> list[str | None]:
    """Each chunk record's text: its span of its paper's passage source (`papers` by id; None for a
    paper not there); a record from before spans has its text as its document. A span whose
    checksum fails is read again against the paper as Chroma now holds it (`from_chroma`: another
    client, or a concurrent ingest, changed its text since the catalog copied it); if it still
    fails (the index predates a change of sentence splitter) it gives the whole passage source,
    still the paper's own words, and a warning to re-ingest."""

    cuts = [chunk_span(meta) for meta, _doc in records]  # None: a record from before spans

    def span(meta: dict[str, Any], cut: tuple[int, int, int, int]) -> str | None:
        paper = papers.get(str(meta["paper_id"]))
        if paper is None:
            return None
        text = source(paper)[cut[1] : cut[2]]
        return text if text_check(text) == cut[3] else None

    texts = [span(meta, cut) if cut else doc or "" for (meta, doc), cut in zip(records, cuts, strict=True)]
    stale = {str(m["paper_id"]) for (m, _d), t in zip(records, texts, strict=True) if t is None}
    stale &= set(papers)
    if stale:  # the catalog's copy may be older than the chunks: take Chroma's
        papers.update({p.id: p for p in from_chroma(stale)})
    out: list[str | None] = []
    for (meta, _doc), text, cut in zip(records, texts, cuts, strict=True):
        pid = str(meta.get("paper_id"))
        if text is None and cut and pid in stale:
            text = span(meta, cut)
            if text is None:
                log.warning(
                    "chunk %s of %s does not match its paper's text (index from another "
                    "version); re-ingest the papers to re-cut it",
                    cut[0],
                    pid,
                )
                text = source(papers[pid])
        out.append(text)
    return out
