"""Opening the Chroma client: an embedded store (one process per data folder) or a server.

The embedded store is claimed for this process first (`claim_store`), and checked in a
throw-away process when an ingest died while writing to it (`check_after_interrupted_ingest`):
Chroma writes its vector index in place, and torn files crash whichever process loads them.
`remove_store` deletes a data folder's index without opening it (it may be the damaged one).
`query_rows` reads a nearest-neighbour query's answer as rows.

May touch: chromadb's client classes, the data folder's chroma/ and keyword/ folders, its
store lock and its unfinished-ingest marker. The store itself is `index.py`.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..errors import ConfigError, PaperQAError, StoreError, first_line
from ..settings import IndexSettings, Settings
from . import locking
from .files import private_file

log = logging.getLogger(__name__)

# The throw-away check of a store an ingest left unfinished loads every collection once; 550
# papers take seconds, a very large store minutes.
PROBE_TIMEOUT_S = 600

STORE_LOCK = "store.lock"  # held by the one process that has the embedded store open


def _store_busy(home: Path) -> Callable[[str], StoreError]:
    def busy(holder: str) -> StoreError:
        return StoreError(
            f"the index in {home} is open in another process (pid {holder})",
            hint="Chroma's embedded store cannot be shared between processes: use that "
            "process (the chat UI ingests files from its Corpus tab), stop it, or serve the "
            f"index with `chroma run --path {home / 'chroma'} --port 8000` and give every "
            "command --chroma-url http://127.0.0.1:8000",
        )

    return busy


def claim_store(home: Path) -> bool:
    """Open a data folder's embedded store in this process only. Returns whether this is the
    first user in this process.

    Chroma's embedded store is thread-safe but not process-safe: a second process on the
    same folder reads stale vectors, and merely opening it can rewrite index files another
    process is writing (a torn index crashes the next start). So one process at a time holds
    the folder (threads in it share the store); others are told how to share it properly.
    """
    return locking.claim(home / STORE_LOCK, _store_busy(home))


def release_store(home: Path) -> None:
    locking.unclaim(home / STORE_LOCK)


UNFINISHED = "ingest.unfinished"  # present while an ingest writes to the embedded store
CHROMA_DB = "chroma.sqlite3"  # the embedded store's SQLite file

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
            [sys.executable, "-c", _PROBE, str(chroma_dir)],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise StoreError(
            f"the index in {chroma_dir} could not be checked after an interrupted ingest "
            f"({marker.read_text().strip()}) within {PROBE_TIMEOUT_S // 60} minutes",
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
        private_file(path / CHROMA_DB)  # Chroma's own SQLite file, 0600 like the others
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as e:
        release_store(settings.home)
        raise StoreError(
            f"cannot open the index at {path}: {e}",
            hint="another process may hold it, or it is damaged; `paperqa reset` rebuilds it",
        ) from e


def remove_store(settings: Settings) -> None:
    """Delete the data folder's index (Chroma store and keyword index) without opening it.
    Refused while a process, this one included, has the store open."""
    if not claim_store(settings.home):
        release_store(settings.home)
        raise StoreError(
            f"the index in {settings.home} is open in this process",
            hint="close it first (PaperQA.close), or use PaperQA.reset on the open one",
        )
    try:
        for folder in (settings.chroma_dir, settings.keyword_dir):
            shutil.rmtree(folder, ignore_errors=True)
        (settings.home / UNFINISHED).unlink(missing_ok=True)
    finally:
        release_store(settings.home)


P = ParamSpec("P")
R = TypeVar("R")


def store_call(fn: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], R]:
    """A method of an object with `settings` whose Chroma failures (a damaged folder, a server
    that went away) become one clear message."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: P.args, **kwargs: P.kwargs) -> R:
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


# Chroma's own HNSW settings, which a collection made before they were set holds implicitly.
CHROMA_HNSW_DEFAULTS = {"sync_threshold": 1000, "batch_size": 100, "ef_search": 100}


def open_collection(client: Any, name: str, settings: IndexSettings) -> Any:
    """A cosine collection, made or opened, with the HNSW settings asked for
    (`IndexSettings.hnsw_sync_threshold`, `hnsw_batch_size`, `hnsw_ef_search`; all may change after
    creation)."""
    hnsw = {
        "sync_threshold": settings.hnsw_sync_threshold,
        "batch_size": settings.hnsw_batch_size,
        "ef_search": settings.hnsw_ef_search,
    }
    collection = client.get_or_create_collection(name, configuration={"hnsw": {"space": "cosine", **hnsw}})
    held = {**CHROMA_HNSW_DEFAULTS, **((collection.configuration_json or {}).get("hnsw") or {})}
    if any(held.get(key) != value for key, value in hnsw.items()):
        try:
            collection.modify(configuration={"hnsw": hnsw})
        except Exception as e:  # a speed setting: the store works without it (a busy SQLite file)
            log.warning("could not change %s's HNSW settings (%s); keeping %s", name, first_line(e), held)
    return collection


def query_rows(
    collection: Any,
    query_vec: Any,
    n: int,
    include: list[str],
    ids: list[str] | None = None,
) -> list[tuple[str, dict[str, Any], str, float]]:
    """[(id, metadata, document, cosine)] of the n nearest records (among `ids`), nearest first."""
    args: dict[str, Any] = {"query_embeddings": [query_vec.tolist()], "include": include}
    if ids is not None:
        args["ids"] = ids
    res = collection.query(n_results=n, **args)
    metas = res.get("metadatas") or [[{}] * len(res["ids"][0])]
    docs = res.get("documents") or [[""] * len(res["ids"][0])]
    return [
        (rid, dict(meta or {}), doc or "", 1.0 - float(dist))
        for rid, meta, doc, dist in zip(res["ids"][0], metas[0], docs[0], res["distances"][0], strict=False)
    ]
