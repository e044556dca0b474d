"""The store's nearest-neighbour reads: chunks and papers nearest a query vector, hits' texts, a
paper's chunks and vectors. A part of `index.PaperIndex` (its base class), kept apart from the
writes.

May touch: the Chroma collections and the catalog `index.PaperIndex` opened (reads only, but a
catalog copy of a paper another client changed is refreshed from Chroma).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..types import ChunkHit, Paper
from .catalog import PaperCatalog
from .chroma import query_rows, store_call
from .records import (
    ChunkRecord,
    PassageSources,
    chunk_ids,
    chunk_number,
    chunk_paper,
    paper_of,
    paper_spans,
    paper_state,
    span_texts,
)


class NearestSearch:
    """Reads of the Chroma collections and the catalog a `PaperIndex` holds."""

    _chunks: Any
    _papers: Any
    _lock: threading.RLock
    _catalog_checked: bool
    _sources: PassageSources
    catalog: PaperCatalog
    _shared: bool  # a Chroma server: other clients may rewrite papers the catalog copied

    def papers(self) -> PaperCatalog:
        raise NotImplementedError

    # Filters (dates, pages) arrive as the set of allowed paper ids. A selective filter becomes
    # a Chroma `$in` pre-filter; a broad one (an `$in` list of tens of thousands of ids is slow)
    # becomes a larger nearest-neighbour query filtered afterwards.
    PREFILTER_MAX = 2000

    def _filtered_query(
        self,
        collection: Any,
        query_vec: np.ndarray,
        k: int,
        allowed: set[str] | None,
        owner: Callable[[str, dict[str, Any]], str],
        include: list[str],
    ) -> list[tuple[str, dict[str, Any], str, float]]:
        """[(id, metadata, document, cosine)] of the k nearest records whose paper is allowed."""
        # No count() here: it costs ~20 ms per call at 100k records, and Chroma returns fewer
        # results (or none) when asked for more than it holds.
        if k <= 0 or (allowed is not None and not allowed):
            return []

        def run(n: int, prefilter: bool) -> list[tuple[str, dict[str, Any], str, float]]:
            ids: list[str] | None = None
            if prefilter and allowed is not None and collection is self._papers:
                ids, n = sorted(allowed), min(n, len(allowed))
            elif prefilter and allowed is not None:  # the allowed papers' chunks, by id
                ids = self._chunk_ids(sorted(allowed))
                if not ids:
                    return []
                n = min(n, len(ids))
            rows = query_rows(collection, query_vec, n, include, ids)
            return [row for row in rows if allowed is None or owner(row[0], row[1]) in allowed][:k]

        if allowed is None:
            return run(k, prefilter=False)
        if len(allowed) <= self.PREFILTER_MAX:
            return run(k, prefilter=True)
        # Broad filter: over-fetch by the inverse of its selectivity (in papers), then filter;
        # too few survivors (a filter that correlates with the topic) falls back to the id list.
        papers_total = max(len(self.papers()), 1)
        rows = run(int(2 * k * papers_total / len(allowed)) + k, prefilter=False)
        return rows if len(rows) >= k else run(k, prefilter=True)

    @store_call
    def dense_search(
        self, query_vec: np.ndarray, k: int, allowed: set[str] | None = None, texts: bool = True
    ) -> list[ChunkHit]:
        """Nearest chunks by cosine similarity (higher is better), of allowed papers only. With
        `texts` False a hit's text is not read yet (`with_texts` reads it): at 1M papers reading
        the texts of every candidate (their papers' sentences split) was a third of a search."""
        rows = self._filtered_query(
            self._chunks,
            query_vec,
            k,
            allowed,
            chunk_paper,
            ["documents", "metadatas", "distances"],
        )
        known = self._known({chunk_paper(cid, meta) for cid, meta, _doc, _score in rows})
        hits = [
            ChunkHit(paper_id=pid, chunk_id=cid, text=doc or "", score=score, record=dict(meta or {}))
            for cid, meta, doc, score in rows
            if (pid := chunk_paper(cid, meta)) in known
        ]
        return self.with_texts(hits) if texts else hits

    def _known(self, paper_ids: set[str]) -> set[str]:
        """Those of the papers the catalog holds, after a sync when it lacks some (another
        client's new papers); a paper still missing is being written (its hits are left out)."""
        known = {pid for pid in paper_ids if pid in self.catalog}
        if len(known) < len(paper_ids):
            catalog = self._synced_catalog()
            known = {pid for pid in paper_ids if pid in catalog}
        return known

    def _synced_catalog(self) -> PaperCatalog:
        """The catalog after a sync with the store: it lacked a paper a search found."""
        with self._lock:
            self._catalog_checked = False
        return self.papers()

    @store_call
    def with_texts(self, hits: Sequence[ChunkHit]) -> list[ChunkHit]:
        """The hits with their texts read (`_chunk_texts`), in order; a hit whose paper the catalog
        lacks (another client's, being written) is left out."""
        pending = [h for h in hits if h.record is not None]
        if not pending:
            return list(hits)
        read = iter(self._chunk_texts([(h.chunk_id, h.record, h.text) for h in pending]))
        out: list[ChunkHit] = []
        for hit in hits:
            text = next(read) if hit.record is not None else hit.text
            if text is not None:
                out.append(hit.model_copy(update={"text": text, "record": None}))
        return out

    def _chunk_texts(self, records: Sequence[ChunkRecord]) -> list[str | None]:
        """Each chunk record's text (`records.span_texts`), its paper and its spans read from the
        catalog (None for a paper the catalog lacks even after a sync: another client's, being
        written)."""
        wanted = [chunk_paper(cid, meta) for cid, meta, _doc in records]
        papers = self.catalog.get_many(wanted)
        if len(papers) < len(set(wanted)):
            papers = self._synced_catalog().get_many(wanted)
        spans = self.catalog.spans(list(papers))

        def from_chroma(ids: set[str]) -> dict[str, tuple[Paper, str]]:
            got = self._papers.get(ids=sorted(ids), include=["metadatas"])
            return {p.id: (p, value) for p, value in self._put_records([m for m in got["metadatas"] if m])}

        return span_texts(records, papers, spans, self._sources.get, from_chroma)

    def _put_records(self, records: Sequence[dict[str, Any]]) -> list[tuple[Paper, str]]:
        """Copy these paper records (their papers and chunk spans) into the catalog; each paper
        with its spans (`records.spans_value`)."""
        fresh = [(paper_of(meta), paper_spans(meta)) for meta in records]
        self.catalog.put([p for p, _ in fresh], {p.id: value for p, value in fresh})
        return fresh

    @store_call
    def dense_papers(
        self, query_vec: np.ndarray, k: int, allowed: set[str] | None = None
    ) -> dict[str, float]:
        """Nearest papers by their paper-level vector: {paper_id: cosine}."""
        rows = self._filtered_query(
            self._papers, query_vec, k, allowed, lambda pid, _meta: pid, ["distances"]
        )
        return {pid: score for pid, _m, _d, score in rows}

    @store_call
    def chunks_of(self, paper_ids: list[str]) -> dict[str, list[tuple[str, np.ndarray]]]:
        """(text, embedding) of every chunk of the given papers, in chunk order."""
        if not paper_ids:
            return {}
        paper_ids = list(dict.fromkeys(paper_ids))  # Chroma refuses an id asked twice
        include = ["documents", "metadatas", "embeddings"]
        ids = list(dict.fromkeys(self._chunk_ids(paper_ids)))
        if not ids:
            return {pid: [] for pid in paper_ids}
        got = self._chunks.get(ids=ids, include=include)
        rows = sorted(
            zip(got["ids"], got["metadatas"], got["documents"], got["embeddings"], strict=False),
            key=lambda row: chunk_number(row[0]),
        )
        texts = self._chunk_texts([(cid, dict(meta or {}), doc) for cid, meta, doc, _emb in rows])
        out: dict[str, list[tuple[str, np.ndarray]]] = {pid: [] for pid in paper_ids}
        for (cid, meta, _doc, emb), text in zip(rows, texts, strict=True):
            if text is not None:
                out.setdefault(chunk_paper(cid, meta), []).append((text, np.asarray(emb, dtype=np.float32)))
        return out

    def _chunk_ids(self, paper_ids: list[str]) -> list[str]:
        """The ids of these papers' chunks (`records.chunk_ids`), from their spans: a lookup by
        id, where a metadata filter on the paper id took 200 ms at 1M papers. The spans are the
        catalog's, or on a server their paper records' (another client may have rewritten a paper
        since the catalog copied it); a paper whose record keeps no count (from before) has its
        chunks found by the paper id they carry."""
        ids: list[str] = []
        held = {} if self._shared else self.catalog.spans(paper_ids)
        for pid, value in held.items():
            ids += chunk_ids(pid, value)
        rest = [pid for pid in paper_ids if pid not in held]
        unknown: list[str] = []
        if rest:
            got = self._papers.get(ids=rest, include=["metadatas"])
            for pid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                n = paper_state(meta or {})[2]
                ids += chunk_ids(pid, paper_spans(meta or {}), n)
                if not n:  # a record from before counts, or one a metadata update zeroed
                    unknown.append(pid)
        if unknown:
            ids += self._chunks.get(where={"paper_id": {"$in": unknown}}, include=[])["ids"]
        return ids

    @store_call
    def paper_vectors(self, paper_ids: list[str]) -> dict[str, np.ndarray]:
        """Paper-level vectors (normalised mean of the paper's chunk embeddings)."""
        if not paper_ids:  # Chroma refuses an empty id list
            return {}
        got = self._papers.get(ids=paper_ids, include=["embeddings"])
        return {
            pid: np.asarray(emb, dtype=np.float32)
            for pid, emb in zip(got["ids"], got["embeddings"], strict=False)
        }
