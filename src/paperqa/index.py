"""Index: chunks + embeddings in ChromaDB (through llama-index), plus a BM25 keyword index.

Two Chroma collections:
  <prefix>_chunks  one record per chunk (llama-index ChromaVectorStore), metadata knows the paper
  <prefix>_papers  one record per paper: the full Paper as JSON, its hashes, and the mean of its
                   chunk embeddings (a paper-level vector for free)

A paper record is written after its chunks, so a paper record means "completely indexed";
an interrupted ingest is finished by the next run without duplicates (chunk ids are
deterministic and old chunks of a paper are deleted before its new ones are added).

The index modules (this one, `chroma.py`, `embedding.py`, `keyword.py`) and the model modules
(`llm.py`, `llamaindex.py`) are the only ones that touch chromadb / llama-index internals; the
Chroma client is opened by `chroma.py`, the embedding model made by `embedding.py`.

May touch: its Chroma collections, the keyword index (`keyword.py`) and the unfinished-ingest
marker of its data folder. Callers outside `api.py` and `retrieve.py` go through those two.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np

from .chroma import UNFINISHED, make_chroma_client, release_store
from .citations import split_sentences
from .embedding import batches_in_flight, make_embed_model
from .errors import ConfigError, PaperQAError, StoreError, first_line
from .ingest import dedupe, merge_papers
from .keyword import KeywordIndex, KeywordPolicy
from .settings import Settings
from .types import ChunkHit, Paper

log = logging.getLogger(__name__)

ProgressFn = Callable[[int], None]


P = ParamSpec("P")
R = TypeVar("R")


def _store_call(fn: Callable[Concatenate[PaperIndex, P], R]) -> Callable[Concatenate[PaperIndex, P], R]:
    """Chroma failures (a damaged folder, a server that went away) become one clear message."""

    @functools.wraps(fn)
    def wrapper(self: PaperIndex, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(self, *args, **kwargs)
        except PaperQAError:
            raise
        except Exception as e:
            reason = first_line(e)
            if self.settings.chroma_url:
                raise StoreError(
                    f"the Chroma server at {self.settings.chroma_url} failed: {reason}",
                    hint="check that `chroma run` is up (its log says more), then retry",
                ) from e
            raise StoreError(
                f"the index in {self.settings.chroma_dir} cannot be read: {reason}",
                hint="`paperqa reset --yes` deletes it; then `paperqa ingest` your files again",
            ) from e

    return wrapper


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


def _sentence_pieces(text: str) -> list[str]:
    """`split_sentences`, each sentence with the space that follows it, for the chunker."""
    return [f"{sentence} " for sentence in split_sentences(text)]


class PaperIndex:
    """The persistent store of papers, chunks, embeddings and the keyword index."""

    def __init__(self, settings: Settings, embed_model: Any | None = None) -> None:
        self.settings = settings
        self._embed_model = embed_model
        self._closed = False
        self._writing = False
        self._client: Any = None
        self._client = make_chroma_client(settings)
        prefix = settings.index.collection
        try:
            self._chunks = self._client.get_or_create_collection(
                f"{prefix}_chunks", metadata={"hnsw:space": "cosine"}
            )
            self._papers = self._client.get_or_create_collection(
                f"{prefix}_papers", metadata={"hnsw:space": "cosine"}
            )
        except Exception as e:
            self.close()
            where = settings.chroma_url or settings.chroma_dir
            raise StoreError(
                f"cannot open the collections at {where}: {e}",
                hint="`paperqa reset` rebuilds the index from your files",
            ) from e
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.vector_store = ChromaVectorStore(chroma_collection=self._chunks)
        self._paper_cache: dict[str, Paper] | None = None
        self._query_vectors: dict[str, np.ndarray] = {}
        self.keyword = KeywordIndex(
            settings.keyword_dir,
            KeywordPolicy(
                rebuild_below=settings.index.keyword_rebuild_below,
                max_segments=settings.index.keyword_max_segments,
                merge_fraction=settings.index.keyword_merge_fraction,
            ),
        )
        self._lock = threading.RLock()
        self._splitter: Any = None
        self.stats = IndexStats()
        self._keywords_synced = False
        self._seen_count: int | None = None
        self._checked_at = 0.0

    def close(self) -> None:
        """Let another process open this data folder (embedded store); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._client is not None and not self.settings.chroma_url:
            try:
                self._client.close()  # stops Chroma's system for this folder (refcounted)
            except Exception as e:  # pragma: no cover - older chromadb without close()
                log.debug("closing the Chroma client: %s", e)
        if not self.settings.chroma_url:
            release_store(self.settings.home)

    def refresh(self) -> None:
        """With a Chroma server other clients may add papers: notice it (every few seconds at
        most) and reload the paper list and keyword index. The embedded store has one process."""
        if not self.settings.chroma_url or time.monotonic() - self._checked_at < 5:
            return
        self._checked_at = time.monotonic()
        count = self.count()
        if self._seen_count is not None and count != self._seen_count:
            with self._lock:
                self._paper_cache = None
                self._keywords_synced = False
        self._seen_count = count

    # ---- embedding -----------------------------------------------------------------
    @property
    def embed_model(self) -> Any:
        if self._embed_model is None:
            self._embed_model = make_embed_model(self.settings.embedding)
        return self._embed_model

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        model = self.embed_model  # loading the model is not embedding time
        t0 = time.perf_counter()
        try:
            vecs = model.get_text_embedding_batch(list(texts))
        except PaperQAError:
            raise  # already says what to fix (an embedding server that is down, say)
        except Exception as e:
            raise ConfigError(
                f"the embedding model failed: {first_line(e)}",
                hint="check the PAPERQA_EMBEDDING__* settings (and the embedding server, if one is set); "
                "nothing was lost, rerun the ingest",
            ) from e
        self.stats.embed_seconds += time.perf_counter() - t0
        self.stats.embedded_texts += len(texts)
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

    @property
    def splitter(self) -> Any:
        """Sentence-aware chunker counting tokens with the embedding model's own tokenizer, cutting
        between the sentences `citations.split_sentences` finds."""
        if self._splitter is None:
            from llama_index.core.node_parser import SentenceSplitter

            tokenize: Callable[[str], list[Any]] | None = None
            model = getattr(self.embed_model, "_model", None)
            tok = getattr(model, "tokenizer", None)
            if tok is not None:
                tokenize = tok.tokenize
            self._splitter = SentenceSplitter(
                chunk_size=self.settings.index.chunk_size,
                chunk_overlap=self.settings.index.chunk_overlap,
                tokenizer=tokenize,
                # The package's one sentence splitter: chunks end where evidence sentences end
                # (the splitter joins the pieces as they are: each keeps the space after it).
                chunking_tokenizer_fn=_sentence_pieces,
            )
        return self._splitter

    # ---- papers --------------------------------------------------------------------
    @_store_call
    def count(self) -> int:
        return int(self._papers.count())

    @_store_call
    def papers(self) -> dict[str, Paper]:
        """Every indexed paper by id (cached; refreshed after ingest)."""
        with self._lock:
            if self._paper_cache is None:
                cache: dict[str, Paper] = {}
                total = self.count()
                batch = 5000
                for offset in range(0, total, batch):
                    got = self._papers.get(include=["metadatas"], limit=batch, offset=offset)
                    for pid, meta in zip(got["ids"], got["metadatas"], strict=False):
                        cache[pid] = Paper.model_validate_json(str(meta["json"]))
                self._paper_cache = cache
            return self._paper_cache

    @_store_call
    def _stored(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        got = self._papers.get(ids=ids, include=["metadatas"])
        return {pid: dict(meta) for pid, meta in zip(got["ids"], got["metadatas"], strict=False)}

    def upsert(self, papers: Iterable[Paper], progress: ProgressFn | None = None) -> UpsertCounts:
        """Add new papers, update changed ones, skip unchanged ones. Batched.

        The keyword index is updated once at the end with what changed (and with papers an
        interrupted earlier run stored but did not get to index for keywords)."""
        counts = UpsertCounts()
        items = dedupe(papers)
        # Papers per write: enough texts to fill every batch an embedding server runs at once.
        batch_size = max(8, self.settings.embedding.batch_size * batches_in_flight(self.settings.embedding))
        for_keywords: dict[str, Paper] = {}
        all_written: dict[str, Paper] = {}
        held = self.keyword.hashes()
        try:
            # Questions keep being answered meanwhile: the paper list is replaced, never
            # changed in place, and no lock is held while embedding.
            for start in range(0, len(items), batch_size):
                batch = items[start : start + batch_size]
                written, current = self._upsert_batch(batch, counts)
                all_written.update({p.id: p for p in written})
                with self._lock:
                    if self._paper_cache is not None and written:
                        self._paper_cache = {**self._paper_cache, **{p.id: p for p in written}}
                for_keywords.update({p.id: p for p in current if held.get(p.id) != p.text_hash})
                if progress:
                    progress(len(batch))
        except StoreError:
            raise  # a failed store write: the marker stays, the next start checks the store
        except BaseException:
            self._finish_writing()
            raise
        with self._lock:  # papers written while another thread was loading the list
            cache = self._paper_cache
            if cache is not None and any(pid not in cache for pid in all_written):
                self._paper_cache = {**cache, **all_written}
        if for_keywords:
            # self.papers is loaded only if the keyword index is rebuilt. Nothing waits for the
            # keyword writer while holding self._lock, so this cannot deadlock.
            self.keyword.update(list(for_keywords.values()), self.papers)
        self._seen_count = self.count()  # our own papers are not "another client's"
        self._finish_writing()
        return counts

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
            old = Paper.model_validate_json(str(old_meta["json"]))
            paper = merge_papers(old, incoming, other_wins=True)  # the incoming text is authoritative
            if paper.text_hash != old_meta.get("text_hash"):
                to_embed.append(paper)
                counts.updated += 1
            elif paper.meta_hash != old_meta.get("meta_hash"):
                meta_only.append((paper, old_meta))
                counts.updated += 1
            else:
                paper = old  # unchanged: exactly what is stored
                counts.unchanged += 1
            current.append(paper)
        if to_embed:
            self._embed_and_write(to_embed)
        for paper, old_meta in meta_only:
            n = int(old_meta.get("n_chunks", 0))
            with self._store_write():
                if n:
                    self._chunks.update(
                        ids=[f"{paper.id}:{i}" for i in range(n)],
                        metadatas=[self._chunk_meta(paper, i) for i in range(n)],
                    )
                self._papers.update(ids=[paper.id], metadatas=[self._paper_meta(paper, n)])
        return to_embed + [p for p, _ in meta_only], current

    @staticmethod
    def _chunk_meta(paper: Paper, i: int) -> dict[str, Any]:
        return {
            "paper_id": paper.id,
            "title": paper.title,
            "date": paper.date or "",
            "year": int(paper.date[:4]) if paper.date else 0,
            "chunk": i,
        }

    @staticmethod
    def _paper_meta(paper: Paper, n_chunks: int) -> dict[str, Any]:
        return {
            "title": paper.title,
            "text_hash": paper.text_hash,
            "meta_hash": paper.meta_hash,
            "n_chunks": n_chunks,
            "date": paper.date or "",
            "json": paper.model_dump_json(),
        }

    def chunk_nodes(self, papers: list[Paper]) -> tuple[list[Any], list[int]]:
        """Sentence-aware chunks of each paper (each knows its title), and which paper owns each."""
        from llama_index.core.schema import BaseNode, Document, MetadataMode, TextNode

        nodes: list[BaseNode] = []
        owners: list[int] = []
        for k, paper in enumerate(papers):
            doc = Document(
                text=paper.abstract or paper.title,
                id_=paper.id,
                metadata={"title": paper.title},
                excluded_llm_metadata_keys=["title"],
            )
            pieces = self.splitter.get_nodes_from_documents([doc])
            for i, piece in enumerate(pieces):
                node = TextNode(
                    id_=f"{paper.id}:{i}",
                    text=piece.get_content(MetadataMode.NONE),
                    metadata=self._chunk_meta(paper, i),
                    excluded_embed_metadata_keys=["paper_id", "date", "year", "chunk"],
                    excluded_llm_metadata_keys=["paper_id", "title", "date", "year", "chunk"],
                )
                node.relationships = piece.relationships  # keeps ref_doc_id = paper id
                nodes.append(node)
                owners.append(k)
        return nodes, owners

    @staticmethod
    def embed_text_of(node: Any) -> str:
        """What is embedded for a chunk: its title, then its text."""
        from llama_index.core.schema import MetadataMode

        return str(node.get_content(MetadataMode.EMBED))

    def _embed_and_write(self, papers: list[Paper]) -> None:
        nodes, owners = self.chunk_nodes(papers)
        vectors = self.embed_texts([self.embed_text_of(n) for n in nodes])
        for chunk_node, vec in zip(nodes, vectors, strict=True):
            chunk_node.embedding = vec.tolist()
        with self._store_write():
            # Remove what an earlier (possibly interrupted) run left for these papers.
            self._chunks.delete(where={"paper_id": {"$in": [p.id for p in papers]}})
            self.vector_store.add(nodes)
            paper_vecs = []
            n_chunks = []
            for k in range(len(papers)):
                mine = vectors[[i for i, o in enumerate(owners) if o == k]]
                mean = mine.mean(axis=0)
                paper_vecs.append((mean / max(float(np.linalg.norm(mean)), 1e-12)).tolist())
                n_chunks.append(len(mine))
            self._papers.upsert(
                ids=[p.id for p in papers],
                embeddings=paper_vecs,
                documents=[p.abstract for p in papers],
                metadatas=[self._paper_meta(p, n) for p, n in zip(papers, n_chunks, strict=True)],
            )
        self.stats.papers_written += len(papers)

    def delete_all(self) -> None:
        prefix = self.settings.index.collection
        with self._lock:
            for name in (f"{prefix}_chunks", f"{prefix}_papers"):
                try:
                    self._client.delete_collection(name)
                except Exception as e:
                    log.debug("delete %s: %s", name, e)
            self._paper_cache = None
        self.keyword.clear()  # not under self._lock: the keyword writer may be waiting for it

    # ---- search --------------------------------------------------------------------
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
            args: dict[str, Any] = {"query_embeddings": [query_vec.tolist()], "include": include}
            if prefilter and allowed is not None:
                if collection is self._papers:
                    args["ids"] = sorted(allowed)
                    n = min(n, len(allowed))
                else:
                    args["where"] = {"paper_id": {"$in": sorted(allowed)}}
            res = collection.query(n_results=n, **args)
            rows = []
            metas = res.get("metadatas") or [[{}] * len(res["ids"][0])]
            docs = res.get("documents") or [[""] * len(res["ids"][0])]
            for rid, meta, doc, dist in zip(
                res["ids"][0], metas[0], docs[0], res["distances"][0], strict=False
            ):
                meta = dict(meta or {})
                if allowed is None or owner(rid, meta) in allowed:
                    rows.append((rid, meta, doc or "", 1.0 - float(dist)))
            return rows[:k]

        if allowed is None:
            return run(k, prefilter=False)
        if len(allowed) <= self.PREFILTER_MAX:
            return run(k, prefilter=True)
        # Broad filter: over-fetch by the inverse of its selectivity (in papers), then filter;
        # too few survivors (a filter that correlates with the topic) falls back to the id list.
        papers_total = max(len(self.papers()), 1)
        rows = run(int(2 * k * papers_total / len(allowed)) + k, prefilter=False)
        return rows if len(rows) >= k else run(k, prefilter=True)

    @_store_call
    def dense_search(self, query_vec: np.ndarray, k: int, allowed: set[str] | None = None) -> list[ChunkHit]:
        """Nearest chunks by cosine similarity (higher is better), of allowed papers only."""
        rows = self._filtered_query(
            self._chunks,
            query_vec,
            k,
            allowed,
            lambda _id, meta: str(meta.get("paper_id")),
            ["documents", "metadatas", "distances"],
        )
        return [
            ChunkHit(paper_id=str(meta["paper_id"]), chunk_id=cid, text=doc, score=score)
            for cid, meta, doc, score in rows
        ]

    @_store_call
    def dense_papers(
        self, query_vec: np.ndarray, k: int, allowed: set[str] | None = None
    ) -> dict[str, float]:
        """Nearest papers by their paper-level vector: {paper_id: cosine}."""
        rows = self._filtered_query(
            self._papers, query_vec, k, allowed, lambda pid, _meta: pid, ["distances"]
        )
        return {pid: score for pid, _m, _d, score in rows}

    @_store_call
    def chunks_of(self, paper_ids: list[str]) -> dict[str, list[tuple[str, np.ndarray]]]:
        """(text, embedding) of every chunk of the given papers, in chunk order."""
        if not paper_ids:
            return {}
        got = self._chunks.get(
            where={"paper_id": {"$in": paper_ids}}, include=["documents", "metadatas", "embeddings"]
        )
        rows = sorted(
            zip(got["metadatas"], got["documents"], got["embeddings"], strict=False),
            key=lambda row: int((row[0] or {}).get("chunk", 0)),
        )
        out: dict[str, list[tuple[str, np.ndarray]]] = {pid: [] for pid in paper_ids}
        for meta, doc, emb in rows:
            out.setdefault(str(meta["paper_id"]), []).append((doc or "", np.asarray(emb, dtype=np.float32)))
        return out

    @_store_call
    def paper_vectors(self, paper_ids: list[str]) -> dict[str, np.ndarray]:
        """Paper-level vectors (normalised mean of the paper's chunk embeddings)."""
        if not paper_ids:  # Chroma refuses an empty id list
            return {}
        got = self._papers.get(ids=paper_ids, include=["embeddings"])
        return {
            pid: np.asarray(emb, dtype=np.float32)
            for pid, emb in zip(got["ids"], got["embeddings"], strict=False)
        }

    def sync_keywords(self) -> str:
        """Bring the keyword index in line with the stored papers (cheap when it already is)."""
        papers = self.papers()  # a snapshot; never wait for the keyword writer under self._lock
        done = self.keyword.sync(papers)
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
        if not self._keywords_synced:  # once per process: catches killed runs, upgrades, shared servers
            self.sync_keywords()
        return self.keyword.search(query, k, allowed)
