"""What Chroma holds of a paper and of its chunks, and how a chunk's text is read back.

A chunk record is its vector, its paper, its number and its span `start`/`end` of the paper's
`chunking.passage_source` with a crc32 `check`; no text (the catalog has the paper, and Chroma
would keep a text three times over: document, metadata index, full-text index). A paper record is
its vector and the paper as JSON (other clients of a shared server fill their catalog from it).

May touch: nothing but the records and papers it is given.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from ..types import Paper
from .chunking import Chunk, passage_source, text_check

log = logging.getLogger(__name__)

# Papers' passage sources kept (the texts chunk spans are cut from): a few searches' hits, a few MB.
SOURCES_KEPT = 2048


def chunk_record(paper: Paper, chunk: Chunk) -> dict[str, Any]:
    """A chunk record's metadata: its paper, number and span of `passage_source` (with its checksum)."""
    return {
        "paper_id": paper.id,
        "chunk": chunk.number,
        "start": chunk.start,
        "end": chunk.end,
        "check": text_check(chunk.text),
    }


def paper_record(paper: Paper, n_chunks: int) -> dict[str, Any]:
    """A paper record's metadata: its hashes (what a re-ingest compares), its chunk count, its date
    (what a date filter reads) and the paper itself as JSON."""
    return {
        "title": paper.title,
        "text_hash": paper.text_hash,
        "meta_hash": paper.meta_hash,
        "n_chunks": n_chunks,
        "date": paper.date or "",
        "json": paper.model_dump_json(),
    }


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

    def span(meta: dict[str, Any]) -> str | None:
        paper = papers.get(str(meta["paper_id"]))
        if paper is None:
            return None
        text = source(paper)[int(meta["start"]) : int(meta["end"])]
        return text if text_check(text) == meta.get("check") else None

    texts = [span(meta) if "start" in meta else doc or "" for meta, doc in records]
    stale = {str(m["paper_id"]) for (m, _d), t in zip(records, texts, strict=True) if t is None}
    stale &= set(papers)
    if stale:  # the catalog's copy may be older than the chunks: take Chroma's
        papers.update({p.id: p for p in from_chroma(stale)})
    out: list[str | None] = []
    for (meta, _doc), text in zip(records, texts, strict=True):
        pid = str(meta.get("paper_id"))
        if text is None and pid in stale:
            text = span(meta)
            if text is None:
                log.warning(
                    "chunk %s of %s does not match its paper's text (index from another "
                    "version); re-ingest the papers to re-cut it",
                    meta.get("chunk"),
                    pid,
                )
                text = source(papers[pid])
        out.append(text)
    return out
