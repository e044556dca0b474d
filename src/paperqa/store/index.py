"""Index: chunks + embeddings in ChromaDB, plus a BM25 keyword index.

Two Chroma collections:
  <prefix>_chunks  one record per chunk (`chunking.py` cuts them, `records.py` says what a
                   record holds): its vector, under an id of its write's key, its paper and
                   number; no text (a hit's text is read from the catalog: Chroma keeps each
                   text three times, most of its disk and write time)
  <prefix>_papers  one record per paper: the full Paper as JSON, its hashes, its chunks' key and
                   spans, and the mean of its chunk embeddings (a paper-level vector for free)

A paper record is written after its chunks, so a paper record means "completely indexed"; a
paper's new chunks have new ids and its old ones are deleted once the catalog holds the new
spans. The writer's journal (`journal.py`) lets the next run finish an interrupted write
without leftovers.

Searching the collections (nearest chunks and papers, hits' texts) is `search.py`, this class's base.

The store modules (this one, `search.py`, `chroma.py`, `embedding.py`, `keyword.py`) and the model modules
(`answer/llm.py`, `llamaindex.py`) are the only ones that touch chromadb / llama-index internals;
the Chroma client is opened by `chroma.py`, the embedding model made by `embedding.py`.

May touch: its Chroma collections, the keyword index (`keyword.py`), the unfinished-ingest marker
and the writer's journal (`journal.py`) of its data folder, and stderr for the progress of the
catalog's text-index build. Callers outside `api.py` and `answer/retrieve.py` go through those two.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, PaperQAError, StoreError, first_line
from ..ingest.merge import dedupe, identifier_keys, merge_papers
from ..settings import Settings
from ..types import Paper
from . import journal
from .catalog import CATALOG_FILE, FTS_DEFER_MIN, PaperCatalog
from .chroma import UNFINISHED, make_chroma_client, open_collection, release_store, store_call
from .chunking import (
    Chunk,
    chunk_papers,
    estimated_counter,
    model_window,
    tokenizer_counter,
)
from .embedding import TokenPath, batches_in_flight, make_embed_model, token_path
from .keyword import KeywordIndex, KeywordPolicy
from .records import (
    PassageSources,
    chunk_id,
    chunk_ids,
    chunk_key,
    key_of,
    paper_of,
    paper_spans,
    paper_state,
    paper_update,
    spans_value,
)
from .search import NearestSearch

log = logging.getLogger(__name__)

ProgressFn = Callable[[int], None]


@dataclass
class IndexStats:
    """What this index object has embedded and written (the scale benchmark reads it)."""

    embed_seconds: float = 0.0
    embedded_texts: int = 0
    papers_written: int = 0


@dataclass
class UpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


# Query vectors remembered (a question and its follow-ups, comparison sub-queries): a few KB.
QUERY_VECTORS_KEPT = 256


# The embedding window assumed when the model does not say (a server's): MiniLM-sized, the
# smallest common one, so a whole-paper chunk is never cut short by the model.
DEFAULT_WINDOW = 256
# Paper records per Chroma read when the catalog is filled from the store.
CHROMA_READ_BATCH = 5000
# Records per Chroma write: under the most one call takes (chromadb's max_batch_size, 5461 here).
CHROMA_WRITE_BATCH = 4096


def text_index_bar() -> Callable[[int, int], None]:
    """A progress bar on stderr for building the catalog's text-search index, shown only when
    the build takes more than one batch (an existing catalog of many papers, once)."""
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and done < total:
            from tqdm import tqdm

            bar = tqdm(
                total=total,
                unit="paper",
                desc="Indexing the catalog for text search",
                file=sys.stderr,
                disable=None,
            )
        if bar is not None:
            bar.update(done - bar.n)
            if done >= total:
                bar.close()

    return progress


class PaperIndex(NearestSearch):
    """The persistent store of papers, chunks, embeddings and the keyword index."""

    def __init__(self, settings: Settings, embed_model: Any | None = None) -> None:
        self.settings = settings
        self._embed_model = embed_model
        self._token_path: TokenPath | bool | None = False  # False: not looked for yet
        self._closed = False
        self._writing = False
        self._client: Any = None
        interrupted = (settings.home / UNFINISHED).exists()  # the client's check clears it
        self._client = make_chroma_client(settings)
        prefix = settings.index.collection
        try:
            self._chunks, self._papers = (
                open_collection(self._client, f"{prefix}_{k}", settings.index) for k in ("chunks", "papers")
            )
        except Exception as e:
            self.close()
            where = settings.chroma_url or settings.chroma_dir
            raise StoreError(
                f"cannot open the collections at {where}: {e}",
                hint="`paperqa reset` rebuilds the index from your files",
            ) from e
        self.catalog = PaperCatalog(
            settings.home / CATALOG_FILE,
            f"{settings.chroma_url or settings.chroma_dir}#{prefix}",
            identifier_keys,
            progress=text_index_bar(),
        )
        self._catalog_checked = False
        self._catalog_full_check = interrupted
        self._query_vectors: dict[str, np.ndarray] = {}
        self._sources = PassageSources()
        self._shared = bool(settings.chroma_url)
        self.keyword = KeywordIndex(
            settings.keyword_dir,
            KeywordPolicy(
                rebuild_below=settings.index.keyword_rebuild_below,
                max_segments=settings.index.keyword_max_segments,
                merge_fraction=settings.index.keyword_merge_fraction,
                segment_papers=settings.index.keyword_segment_papers,
            ),
        )
        self._lock = threading.RLock()
        self.stats = IndexStats()
        self._keywords_synced = False
        self._seen_count: int | None = None
        self._checked_at = 0.0

    def close(self) -> None:
        """Let another process open this data folder (embedded store); idempotent."""
        if self._closed:
            return
        self._closed = True
        self.catalog.close()
        if self._client is not None and not self.settings.chroma_url:
            try:
                self._client.close()  # stops Chroma's system for this folder (refcounted)
            except Exception as e:  # pragma: no cover - older chromadb without close()
                log.debug("closing the Chroma client: %s", e)
        if not self.settings.chroma_url:
            release_store(self.settings.home)

    def refresh(self) -> None:
        """Bring catalog and keyword index up to date with papers other clients of a Chroma server added (5 s apart at most)."""
        if not self.settings.chroma_url or time.monotonic() - self._checked_at < 5:
            return
        self._checked_at = time.monotonic()
        count = self.count()
        if self._seen_count is not None and count != self._seen_count:
            with self._lock:
                self._catalog_checked = False
                self._keywords_synced = False
        self._seen_count = count

    # ---- embedding -----------------------------------------------------------------
    @property
    def embed_model(self) -> Any:
        if self._embed_model is None:
            self._embed_model = make_embed_model(self.settings.embedding)
        return self._embed_model

    @property
    def token_path(self) -> TokenPath | None:
        """The local model's own token path (`embedding.TokenPath`), if its ids add up."""
        if self._token_path is False:
            self._token_path = token_path(self.embed_model)
        return self._token_path if isinstance(self._token_path, TokenPath) else None

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        model = self.embed_model  # loading the model is not embedding time
        return self._embedded(lambda: model.get_text_embedding_batch(list(texts)), len(texts))

    def _embedded(self, call: Callable[[], Sequence[Sequence[float]]], n: int) -> np.ndarray:
        """The unit vectors `call` returns for n texts, its time counted as embedding time."""
        t0 = time.perf_counter()
        try:
            vecs = call()
        except PaperQAError:
            raise  # already says what to fix (an embedding server that is down, say)
        except Exception as e:
            raise ConfigError(
                f"the embedding model failed: {first_line(e)}",
                hint="check the PAPERQA_EMBEDDING__* settings (and the embedding server, if one is set); "
                "nothing was lost, rerun the ingest",
            ) from e
        self.stats.embed_seconds += time.perf_counter() - t0
        self.stats.embedded_texts += n
        arr = np.asarray(vecs, dtype=np.float32)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.maximum(norms, 1e-12)

    def embed_query(self, text: str) -> np.ndarray:
        """The unit query vector, remembered for the last QUERY_VECTORS_KEPT texts: retrieval and
        evidence ranking embed the same question (one MiniLM call instead of two per question)."""
        vec = self._query_vectors.get(text)
        if vec is None:
            raw = np.asarray(self.embed_model.get_query_embedding(text), dtype=np.float32)
            vec = raw / max(float(np.linalg.norm(raw)), 1e-12)
            if len(self._query_vectors) >= QUERY_VECTORS_KEPT:
                self._query_vectors.pop(next(iter(self._query_vectors)))
            self._query_vectors[text] = vec
        return vec.copy()

    def chunk(self, papers: Sequence[Paper]) -> list[Chunk]:
        """Each paper's chunks (`chunking.chunk_papers`), counting tokens with the local model's
        own tokenizer, its ids kept with each chunk when they add up (`token_path`); estimated
        from words for a server's model."""
        model = self.embed_model
        cfg = self.settings.index
        window = cfg.whole_paper_tokens
        if window is None:
            window = model_window(model, DEFAULT_WINDOW)
        cut = functools.partial(
            chunk_papers, papers, window=window, chunk_size=cfg.chunk_size, chunk_overlap=cfg.chunk_overlap
        )
        path = self.token_path
        if path is not None:
            return cut(token_ids=path.ids)
        tok = getattr(getattr(model, "_model", None), "tokenizer", None)
        return cut(tokenizer_counter(tok) if tok is not None else estimated_counter)

    # ---- papers --------------------------------------------------------------------
    @store_call
    def count(self) -> int:
        return int(self._papers.count())

    @store_call
    def papers(self) -> PaperCatalog:
        """Every indexed paper by id, read on demand from the catalog (checked against Chroma's
        paper records once per process, and again when a server's count changes)."""
        self.refresh()
        with self._lock:
            if not self._catalog_checked:
                self._sync_catalog()
                self._catalog_checked = True
        return self.catalog

    def _chroma_pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        for offset in range(0, self.count(), CHROMA_READ_BATCH):
            yield self._papers.get(include=include, limit=CHROMA_READ_BATCH, offset=offset)

    def _sync_catalog(self) -> None:
        """Copy into the catalog what Chroma holds and it does not (an index from before the
        catalog, a killed ingest, papers another client added), and drop what Chroma lost.
        Cheap when the counts agree; after an interrupted ingest every text hash is compared."""
        full = self._catalog_full_check
        if not full and len(self.catalog) == self.count():
            return
        held = self.catalog.hashes()
        seen: set[str] = set()
        with self._catalog_bulk(self.count() - len(held)):
            self._copy_records(held, seen, full)
        gone = [pid for pid in held if pid not in seen]
        if gone:
            self.catalog.remove(gone)
        self._catalog_full_check = False

    def _copy_records(self, held: dict[str, str], seen: set[str], full: bool) -> None:
        """Copy Chroma's paper records the catalog lacks (`full`: or holds with another text) into
        it, noting in `seen` every id Chroma holds."""
        for page in self._chroma_pages(["metadatas"] if full else []):
            seen.update(page["ids"])
            if full:
                self._put_records(
                    [
                        meta
                        for pid, meta in zip(page["ids"], page["metadatas"], strict=False)
                        if held.get(pid) != paper_state(meta)[0]
                    ]
                )
                continue
            missing = [pid for pid in page["ids"] if pid not in held]
            if missing:
                self._put_records(self._papers.get(ids=missing, include=["metadatas"])["metadatas"])

    @store_call
    def _stored(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        got = self._papers.get(ids=ids, include=["metadatas"])
        return {pid: dict(meta) for pid, meta in zip(got["ids"], got["metadatas"], strict=False)}

    def upsert(self, papers: Iterable[Paper], progress: ProgressFn | None = None) -> UpsertCounts:
        """Add new papers, update changed ones, skip unchanged ones. Batched.

        The keyword index is updated once at the end with what changed (and with papers an
        interrupted earlier run stored but did not get to index for keywords)."""
        counts = UpsertCounts()
        items = dedupe(papers)
        # Papers per write: the ingest batch, or enough texts to fill every batch an embedding
        # server runs at once, whichever is more.
        batch_size = max(
            1,
            self.settings.index.ingest_batch,
            self.settings.embedding.batch_size * batches_in_flight(self.settings.embedding),
        )
        for_keywords: dict[str, Paper] = {}
        held = self.keyword.hashes()
        self.finish_writes()
        try:
            # Questions keep being answered meanwhile: no lock is held while embedding, and
            # a batch's papers reach the catalog once Chroma holds them (its text search at the end
            # of a large ingest).
            with self._catalog_bulk(len(items)):
                for start in range(0, len(items), batch_size):
                    batch = items[start : start + batch_size]
                    _written, current = self._upsert_batch(batch, counts)
                    for_keywords.update({p.id: p for p in current if held.get(p.id) != p.text_hash})
                    if progress:
                        progress(len(batch))
        except StoreError:
            raise  # a failed store write: the marker stays, the next start checks the store
        except BaseException:
            self._finish_writing()
            raise
        if for_keywords:
            # self.papers is loaded only if the keyword index is rebuilt. Nothing waits for the
            # keyword writer while holding self._lock, so this cannot deadlock.
            # A rebuild reads every paper: the ones in hand when they are all of them.
            every = (lambda: for_keywords) if len(for_keywords) >= len(self.catalog) else self._all_papers
            self.keyword.update(list(for_keywords.values()), every)
        self._seen_count = self.count()  # our own papers are not "another client's"
        self._finish_writing()
        return counts

    def _catalog_bulk(self, papers: int) -> contextlib.AbstractContextManager[None]:
        """Around a write of this many papers: the catalog's text-search index catches up at the
        end (`PaperCatalog.bulk_write`) when they are FTS_DEFER_MIN or more."""
        if papers < FTS_DEFER_MIN:
            return contextlib.nullcontext()
        return self.catalog.bulk_write(text_index_bar())

    def _all_papers(self) -> Mapping[str, Paper]:
        """Every paper, for a keyword rebuild: the catalog, which reads them as they are asked
        for (a rebuild at 100k papers never holds them all)."""
        return self.papers()

    def _start_writing(self) -> None:
        """Mark the embedded store as being written (see check_after_interrupted_ingest)."""
        if not self._writing and not self.settings.chroma_url:
            marker = self.settings.home / UNFINISHED
            marker.write_text(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
        self._writing = True

    @contextlib.contextmanager
    def _store_write(self) -> Iterator[None]:
        """Writes to Chroma: marked as under way, and a failure is one clear message."""
        self._start_writing()
        try:
            yield
        except PaperQAError:
            raise
        except Exception as e:
            raise StoreError(f"writing to the index failed: {e}", hint="rerun ingest to finish") from e

    def _finish_writing(self) -> None:
        if self._writing and not self.settings.chroma_url:
            (self.settings.home / UNFINISHED).unlink(missing_ok=True)
        self._writing = False

    def _upsert_batch(self, batch: list[Paper], counts: UpsertCounts) -> tuple[list[Paper], list[Paper]]:
        """Store one batch. Returns the papers written and every paper of the batch as now
        stored (merged with what was there)."""
        stored = self._stored([p.id for p in batch])
        to_embed: list[Paper] = []
        meta_only: list[tuple[Paper, dict[str, Any]]] = []
        current: list[Paper] = []
        for incoming in batch:
            old_meta = stored.get(incoming.id)
            if old_meta is None:
                to_embed.append(incoming)
                current.append(incoming)
                counts.added += 1
                continue
            old = paper_of(old_meta)
            paper = merge_papers(old, incoming, other_wins=True)  # the incoming text is authoritative
            text_hash, meta_hash, _ = paper_state(old_meta)
            if paper.text_hash != text_hash:
                to_embed.append(paper)
                counts.updated += 1
            elif paper.meta_hash != meta_hash:
                meta_only.append((paper, old_meta))
                counts.updated += 1
            else:
                paper = old  # unchanged: exactly what is stored
                counts.unchanged += 1
            current.append(paper)
        if to_embed:
            self._embed_and_write(to_embed, stored=stored)
        if meta_only:  # chunk records hold no paper metadata: they stay
            entry = journal.begin(
                self.settings.home, journal.Entry(chunk_key(), [p.id for p, _ in meta_only])
            )
        for paper, old_meta in meta_only:
            spans = paper_spans(old_meta)
            with self._store_write():
                update = paper_update(paper, spans, old_meta, paper_state(old_meta)[2])
                self._papers.update(ids=[paper.id], metadatas=[update])
            self.catalog.put([paper], {paper.id: spans})
        if meta_only:
            self.catalog.after_commit(functools.partial(journal.end, entry))
        return to_embed + [p for p, _ in meta_only], current

    def embed_chunks(self, chunks: Sequence[Chunk]) -> np.ndarray:
        """Unit vectors of the chunks' embedded texts, in chunk order. They are embedded longest
        first by tokens, so each model batch holds texts of about one length (the least padding
        to compute); from their token ids when the chunker kept them (`token_path`)."""
        order = sorted(range(len(chunks)), key=lambda i: (-chunks[i].tokens, -len(chunks[i].embed_text)))
        path = self.token_path
        ids = [chunks[i].token_ids for i in order]
        if path is not None and all(x is not None for x in ids):
            batch = self.settings.embedding.batch_size
            vectors = self._embedded(lambda: path.encode([x for x in ids if x is not None], batch), len(ids))
        else:
            vectors = self.embed_texts([chunks[i].embed_text for i in order])
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def _embed_and_write(
        self, papers: list[Paper], new_store: bool = False, stored: Mapping[str, dict[str, Any]] | None = None
    ) -> None:
        """Chunk, embed and store the papers (chunks, then paper records, then catalog rows).
        `new_store`: nothing of theirs is stored yet, so no earlier chunks are looked for; `stored`:
        their records as stored (one from before its state was one value loses its stale keys)."""
        chunks = self.chunk(papers)
        vectors = self.embed_chunks(chunks)
        owned: list[list[int]] = [[] for _ in papers]  # each paper's chunks (by position), in order
        for i, c in enumerate(chunks):
            owned[c.owner].append(i)
        paper_vecs = []
        spans: dict[str, str] = {}
        key = chunk_key()  # this write's chunk ids sort after every earlier write's
        for paper, mine in zip(papers, owned, strict=True):
            mean = vectors[mine].mean(axis=0)
            paper_vecs.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
            spans[paper.id] = spans_value([chunks[i] for i in mine], key)
        with self._store_write():
            old = {} if new_store else self._stored_chunks(stored or {}, list(spans), key)
            counts = {p.id: len(m) for p, m in zip(papers, owned, strict=True)}
            entry = journal.begin(self.settings.home, journal.Entry(key, list(spans), counts, old))
            for start in range(0, len(chunks), CHROMA_WRITE_BATCH):
                part = chunks[start : start + CHROMA_WRITE_BATCH]
                self._chunks.upsert(  # no metadata (`records`)
                    ids=[chunk_id(papers[c.owner].id, c.number, key) for c in part],
                    embeddings=vectors[start : start + len(part)],
                )
            self._papers.upsert(  # the paper's JSON is in its metadata: no document either
                ids=[p.id for p in papers],
                embeddings=np.asarray(paper_vecs),
                metadatas=[paper_update(p, spans[p.id], (stored or {}).get(p.id, ())) for p in papers],
            )
            self.catalog.put(papers, spans)
            # the old chunks go once the catalog has committed the new spans
            gone = [cid for ids in old.values() for cid in ids]
            self.catalog.after_commit(functools.partial(self._confirm, entry, gone))
        self.stats.papers_written += len(papers)

    def _stored_chunks(
        self, stored: Mapping[str, dict[str, Any]], paper_ids: list[str], key: str
    ) -> dict[str, list[str]]:
        """The ids of the chunks these papers have stored, by paper (their records name them),
        but for those under `key`, the write's own; those of a paper whose record is from before,
        or missing (an interrupted run from before keys may have left some), are deleted here, by
        the paper id such chunks carry."""
        before = [pid for pid in paper_ids if not paper_spans(stored.get(pid, {}))]
        if before:
            self._chunks.delete(where={"paper_id": {"$in": before}})
        held = set(paper_ids) - set(before)  # stored in the current form
        ids = {pid: chunk_ids(pid, paper_spans(stored[pid]), paper_state(stored[pid])[2]) for pid in held}
        return {pid: [cid for cid in mine if key_of(cid) != key] for pid, mine in ids.items()}

    def _delete_chunks(self, ids: list[str]) -> None:
        for start in range(0, len(ids), CHROMA_WRITE_BATCH):
            self._chunks.delete(ids=ids[start : start + CHROMA_WRITE_BATCH])

    def _confirm(self, entry: Path, gone: list[str]) -> None:
        """A write's catalog rows are committed: its papers' old chunks go, and its journal entry."""
        self._delete_chunks(gone)
        journal.end(entry)

    @store_call
    def finish_writes(self) -> None:
        """Finish what killed writes left (`journal.py`): the new chunks no paper record took go,
        a paper that took its new ones loses its old ones, and the catalog copies the records."""
        for path, entry in journal.left(self.settings.home):
            if not entry.papers:  # (Chroma refuses an empty id list)
                journal.end(path)
                continue
            got = self._papers.get(ids=entry.papers, include=["metadatas"])
            records = {
                pid: meta for pid, meta in zip(got["ids"], got["metadatas"] or [], strict=False) if meta
            }
            self._put_records(list(records.values()))
            taken = {pid for pid, meta in records.items() if key_of(paper_spans(meta)) == entry.key}
            self._delete_chunks(
                [cid for pid in taken for cid in entry.old.get(pid, [])]
                + [
                    chunk_id(pid, i, entry.key)
                    for pid, n in entry.counts.items()
                    if pid not in taken
                    for i in range(n)
                ]
            )
            journal.end(path)

    def delete_all(self) -> None:
        prefix = self.settings.index.collection
        with self._lock:
            for name in (f"{prefix}_chunks", f"{prefix}_papers"):
                try:
                    self._client.delete_collection(name)
                except Exception as e:
                    log.debug("delete %s: %s", name, e)
            self.catalog.clear()
        self.keyword.clear()  # not under self._lock: the keyword writer may be waiting for it

    def sync_keywords(self) -> str:
        """Bring the keyword index in line with the stored papers: no hash is read when their fingerprints agree."""
        catalog = self.papers()  # never wait for the keyword writer under self._lock
        same = catalog.fingerprint() == self.keyword.fingerprint()
        done = "unchanged" if same else self.keyword.sync(catalog, catalog.hashes(), self._all_papers)
        self._keywords_synced = True
        return done

    def terms(self, texts: Sequence[str]) -> list[list[str]]:
        """Texts analysed as the keyword index analyses them (see KeywordIndex.terms)."""
        return self.keyword.terms(texts)

    def content_terms(self, texts: Sequence[str]) -> list[list[str]]:
        """Analysed terms without function words (see KeywordIndex.content_terms)."""
        return self.keyword.content_terms(texts)

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """BM25 IDF of analysed terms over the indexed papers."""
        if not self._keywords_synced:
            self.sync_keywords()
        return self.keyword.idf(terms)

    def keyword_search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """BM25 over title + abstract: [(paper id, score)], best first."""
        self.ensure_keywords()
        return self.keyword.search(query, k, allowed)

    def ensure_keywords(self) -> None:
        """Sync the keyword index with the stored papers, once per process (catches killed runs,
        upgrades, shared servers): a search calls it in its own thread before BM25 runs in another."""
        if not self._keywords_synced:
            self.sync_keywords()
