"""Keyword (BM25) index kept in segments, so adding papers never rebuilds it from scratch at scale.

Part of the index stage (only `index.py` uses it). The engine is bm25s, the library under
llama-index's BM25Retriever, with the same tokenizer, English stemmer and stopwords; it is used
directly because BM25Retriever keeps (and persists) every node's full text, which at 100k papers
costs hundreds of MB in every process that answers questions. Here a segment holds only ids.

Layout under the keyword folder:
  manifest.json   the live segments, oldest first (replaced atomically)
  seg-NNNNNN/     one bm25s index (memory-mapped when loaded) + docs.json (ids, text hashes)

A paper's newest segment is the one that counts; older copies are masked out at query time.
Up to `rebuild_below` papers every change rebuilds one exact segment (it takes under a few
seconds). Above it a change writes a new segment with just the changed papers, and the index
is rebuilt when the new ones hold more than `merge_fraction` of the papers or there are
`max_segments`. A rebuild writes segments of at most `segment_papers` (in stored order), so that
building one never holds the terms of every paper at once; queries over several segments are
scored on one scale. Readers notice a new manifest and reload.

May touch: its keyword folder only (segments, manifest, write lock).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..text import (
    TOKEN_PATTERN,
    content_terms,
    hyphen_compounds,
    stemmer,
    terms,
    tokenize,
    with_closed_compounds,
)
from ..types import Paper
from . import locking
from .fingerprint import Fingerprint

log = logging.getLogger(__name__)

# Papers read and tokenized at a time while a segment is built: bm25s's own tokenize keeps every
# paper's terms as Python lists at once; here they are kept as int32 arrays, a block at a time.
KEYWORD_BLOCK = 5000
MANIFEST = "manifest.json"
# The manifest's format: an index of another (an older layout, or the closed-compound analysis
# that was tried and reverted, format 3) is rebuilt when opened.
FORMAT = 2
# sys.stderr is the process's: one redirect at a time (searches run in threads, and two that
# overlap could leave it pointing at a buffer).
_QUIET = threading.Lock()
WRITE_LOCK = ".lock"  # one writer at a time, across processes (see locking.waiting)


def keyword_text(paper: Paper) -> str:
    # Title twice: a named method should outweigh a passing mention.
    return f"{paper.title}\n{paper.title}\n{paper.abstract}"


@dataclass
class Segment:
    name: str
    bm25: Any
    ids: list[str]
    hashes: list[str]
    live: np.ndarray  # 1.0 where this segment holds the newest copy of the paper


def _idf(df: int, n: int) -> float:
    """bm25s's default ("lucene") IDF."""
    return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))


def _mask(seg: Segment, allowed: set[str] | None) -> np.ndarray:
    """1.0 for the segment's rows that count: the newest copy of a paper the filter allows."""
    if allowed is None:
        return seg.live
    return seg.live * np.fromiter((pid in allowed for pid in seg.ids), np.float32, len(seg.ids))


def _word_scores(seg: Segment, word: str) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the segment holding `word` and its BM25 score in each (its column of the
    sparse score matrix). Read directly: bm25s's own scoring (numba-less here) gathered every
    column's rows into one list first, close to a third of a keyword search at 1M papers; within
    one column a row appears once."""
    tid = seg.bm25.vocab_dict.get(word)
    if tid is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    scores = seg.bm25.scores
    start, end = int(scores["indptr"][tid]), int(scores["indptr"][tid + 1])
    return np.asarray(scores["indices"][start:end]), np.asarray(scores["data"][start:end])


def _doc_freq(seg: Segment, word: str) -> int:
    """Documents of the segment containing `word` (its column in the sparse score matrix)."""
    tid = seg.bm25.vocab_dict.get(word)
    if tid is None:
        return 0
    indptr = seg.bm25.scores["indptr"]
    return int(indptr[tid + 1] - indptr[tid])


class _TermIds(Sequence[list[int]]):
    """Each document's term ids as a compact int32 array, handed to bm25s as a list (what it
    iterates) one document at a time."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.arrays)

    def __getitem__(self, i: int) -> list[int]:  # type: ignore[override]
        return list(self.arrays[i].tolist())

    def __iter__(self) -> Iterator[list[int]]:
        return (list(a.tolist()) for a in self.arrays)


def _term_ids(texts: Iterable[str]) -> tuple[_TermIds, dict[str, int]]:
    """Every text's term ids over one vocabulary, tokenized KEYWORD_BLOCK texts at a time."""
    vocab: dict[str, int] = {}
    docs = _TermIds()
    block: list[str] = []

    def flush() -> None:
        tok = tokenize(block, return_ids=True)
        remap = np.zeros(max(tok.vocab.values(), default=-1) + 1, dtype=np.int32)
        for word, local in tok.vocab.items():
            remap[local] = vocab.setdefault(word, len(vocab))
        docs.arrays.extend(remap[np.asarray(ids, dtype=np.int64)] for ids in tok.ids)
        block.clear()

    for text in texts:
        block.append(text)
        if len(block) >= KEYWORD_BLOCK:
            flush()
    if block:
        flush()
    return docs, vocab


@dataclass
class KeywordPolicy:
    rebuild_below: int = 20000
    max_segments: int = 8
    merge_fraction: float = 0.25
    segment_papers: int = 25000


class KeywordIndex:
    def __init__(self, folder: Path, policy: KeywordPolicy | None = None) -> None:
        self.folder = folder
        self.policy = policy or KeywordPolicy()
        self._segments: list[Segment] = []
        self._where: dict[str, tuple[int, int]] = {}  # paper id -> (segment, row) of its newest copy
        self._base = 0  # the first segments, written by the last rebuild (the rest were appended)
        self._loaded_stamp: tuple[int, int] | None = None
        self._fingerprint: Fingerprint | None = None  # the manifest's (None: from before it had one)
        self._lock = threading.RLock()  # the loaded segments
        self._write_lock = threading.Lock()  # one writer per process (a file lock across processes)

    # ---- reading -------------------------------------------------------------------
    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.folder / MANIFEST).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def _read_manifest(self) -> tuple[list[str], int, Fingerprint | None]:
        """The live segments, how many of the first were written by the last rebuild (one in
        manifests from before rebuilds wrote several), and the papers' fingerprint (None in
        manifests from before it was kept)."""
        path = self.folder / MANIFEST
        if not path.is_file():
            return [], 0, Fingerprint()
        data = json.loads(path.read_text())
        if data.get("version") != FORMAT:
            raise ValueError("old keyword index format")
        names = [str(s) for s in data["segments"]]
        return names, int(data.get("base", min(1, len(names)))), Fingerprint.loads(data.get("fingerprint"))

    def _load(self) -> None:
        """(Re)load the segments the manifest lists, if it changed since the last load."""
        import bm25s

        stamp = self._stamp()
        if stamp == self._loaded_stamp and (stamp is not None or not self._segments):
            return
        segments: list[Segment] = []
        base, fingerprint = 0, None
        for attempt in range(3):  # a writer may replace the manifest while we read it
            try:
                stamp = self._stamp()
                segments = []
                names, base, fingerprint = self._read_manifest()
                for name in names:
                    path = self.folder / name
                    docs = json.loads((path / "docs.json").read_text())
                    with _QUIET, contextlib.redirect_stderr(io.StringIO()):
                        bm25 = bm25s.BM25.load(str(path), mmap=True)
                    ids = [str(i) for i in docs["ids"]]
                    live = np.ones(len(ids), dtype=np.float32)
                    segments.append(Segment(name, bm25, ids, [str(h) for h in docs["hashes"]], live))
                break
            except (FileNotFoundError, json.JSONDecodeError, KeyError) as e:
                if attempt == 2:
                    log.warning("keyword index unreadable (%s); it will be rebuilt", e)
                    segments, stamp, fingerprint = [], None, Fingerprint()
            except ValueError as e:
                log.info("keyword index: %s; it will be rebuilt", e)
                segments, stamp, fingerprint = [], None, Fingerprint()
                break
        where: dict[str, tuple[int, int]] = {}
        for s, seg in enumerate(segments):
            for row, pid in enumerate(seg.ids):
                old = where.get(pid)
                if old is not None:
                    segments[old[0]].live[old[1]] = 0.0
                where[pid] = (s, row)
        self._segments, self._where, self._loaded_stamp = segments, where, stamp
        self._base = min(base, len(segments))
        self._fingerprint = fingerprint

    def hashes(self) -> dict[str, str]:
        """Paper id -> text hash of what the index holds."""
        with self._lock:
            self._load()
            return {pid: self._segments[s].hashes[r] for pid, (s, r) in self._where.items()}

    def fingerprint(self) -> Fingerprint:
        """The held papers' (id, text hash) pairs as one value (`fingerprint.Fingerprint`): kept
        in the manifest by every write, computed from the hashes for an index from before."""
        with self._lock:
            self._load()
            if self._fingerprint is None:
                self._fingerprint = Fingerprint.of(self.hashes().items())
            return self._fingerprint

    def __len__(self) -> int:
        with self._lock:
            self._load()
            return len(self._where)

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Best papers for the query by BM25: [(paper id, score)], best first, scores > 0."""
        import bm25s

        with self._lock:
            self._load()
            segments = list(self._segments)
        if not segments or k <= 0:
            return []
        if len(segments) > 1:
            words = bm25s.tokenize(
                query,
                stemmer=self._stem(),
                token_pattern=TOKEN_PATTERN,
                return_ids=False,
                show_progress=False,
            )[0]
            return self._search_segments(segments, words, k, allowed)
        tokens = bm25s.tokenize(query, stemmer=self._stem(), token_pattern=TOKEN_PATTERN, show_progress=False)
        hits: list[tuple[str, float]] = []
        for seg in segments:
            mask = _mask(seg, allowed)
            n = int(np.count_nonzero(mask))
            if n == 0:
                continue
            with _QUIET, contextlib.redirect_stderr(io.StringIO()):
                idx, scores = seg.bm25.retrieve(
                    tokens,
                    k=min(k, len(seg.ids)),
                    show_progress=False,
                    weight_mask=None if n == len(seg.ids) else mask,
                    n_threads=0,
                )
            for i, sc in zip(idx[0], scores[0], strict=False):
                if sc > 0 and mask[int(i)] > 0:
                    hits.append((seg.ids[int(i)], float(sc)))
        hits.sort(key=lambda h: -h[1])
        return hits[:k]

    def terms(self, texts: Sequence[str]) -> list[list[str]]:
        """The index's own analysis of each text (see the module-level `terms`)."""
        return terms(texts)

    def content_terms(self, texts: Sequence[str]) -> list[list[str]]:
        """Analysed terms without function words (see the module-level `content_terms`); a
        hyphenated compound ("pre-training") also gives its closed spelling's term ("pretrain")
        when some paper writes it closed, so either spelling matches the other."""
        closed = hyphen_compounds(texts)
        if closed:
            words = sorted(closed)
            with self._lock:
                self._load()
                segments = list(self._segments)
            known = {
                w
                for w, ts in zip(words, terms(words), strict=True)
                if len(ts) == 1 and any(_doc_freq(seg, ts[0]) for seg in segments)
            }
            texts = [with_closed_compounds(t, known) for t in texts]
        return content_terms(texts)

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """BM25 IDF of each analysed term over every live paper (unknown terms: the IDF of a
        term no paper has, the rarest there is)."""
        with self._lock:
            self._load()
            segments = list(self._segments)
        total = sum(int(seg.live.sum()) for seg in segments)
        return {t: _idf(sum(_doc_freq(seg, t) for seg in segments), total) for t in dict.fromkeys(terms)}

    def _search_segments(
        self, segments: list[Segment], words: list[str], k: int, allowed: set[str] | None
    ) -> list[tuple[str, float]]:
        """BM25 over several segments on one scale: each query word's score in a segment (whose
        index holds that segment's IDF) is rescaled to the IDF over all segments together, so a
        small new segment ranks like the papers it joins."""
        live_total = sum(int(seg.live.sum()) for seg in segments)
        df_total: dict[str, int] = {}
        for w in dict.fromkeys(words):
            df_total[w] = sum(_doc_freq(seg, w) for seg in segments)
        hits: list[tuple[str, float]] = []
        for seg in segments:
            mask = _mask(seg, allowed)
            if not mask.any():
                continue
            n_docs = len(seg.ids)
            scores = np.zeros(n_docs, dtype=np.float32)
            for w in words:  # repeated words count again, as in bm25s
                df = _doc_freq(seg, w)
                if df == 0:
                    continue
                weight = _idf(df_total[w], live_total) / _idf(df, n_docs)
                rows, values = _word_scores(seg, w)
                # numpy's typed `add.at` (float32 into float32) is 3x a fancy-index `+=` here: at
                # 1M papers a query's common words touch 3.4M rows, and BM25 p50 went 24 -> 12 ms
                np.add.at(scores, rows, weight * values)
            scores *= mask
            top = np.argpartition(-scores, min(k, n_docs) - 1)[:k] if n_docs > k else np.arange(n_docs)
            hits += [(seg.ids[int(i)], float(scores[i])) for i in top if scores[i] > 0]
        hits.sort(key=lambda h: -h[1])
        return hits[:k]

    def _stem(self) -> Any:
        return stemmer()

    # ---- writing -------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._write_lock, locking.waiting(self.folder / WRITE_LOCK):
            with self._lock:
                self._loaded_stamp = None  # re-read what another process may have written
                self._load()
            yield

    def update(
        self,
        changed: Sequence[Paper],
        all_papers: Callable[[], Mapping[str, Paper]],
        removed: Sequence[str] = (),
    ) -> str:
        """Index new or changed papers (and drop removed ones). Returns what was done."""
        with self._writing():
            changed = [p for p in changed if self._hash_of(p.id) != p.text_hash]
            gone = [pid for pid in removed if pid in self._where]
            if not changed and not gone:
                return "unchanged"
            if self._needs_rebuild(len(changed), bool(gone)):
                self._rebuild(all_papers())
                return "rebuilt"
            self._append(changed)
            return "appended"

    def _needs_rebuild(self, changed: int, gone: bool) -> bool:
        """Whether `changed` new or changed papers (and removed ones, when `gone`) are written by a
        rebuild rather than appended as a segment (see KeywordPolicy)."""
        total = len(self._where) + changed
        added_since_base = sum(len(s.ids) for s in self._segments[self._base :]) + changed
        return (
            gone
            or not self._segments
            or total <= self.policy.rebuild_below
            or len(self._segments) >= self.policy.max_segments
            or added_since_base > self.policy.merge_fraction * total
        )

    def sync(
        self,
        papers: Mapping[str, Paper],
        hashes: Mapping[str, str] | None = None,
        all_papers: Callable[[], Mapping[str, Paper]] | None = None,
    ) -> str:
        """Make the index hold exactly these papers (after a killed ingest, an upgrade, or
        when another machine wrote to a shared Chroma server). Cheap when nothing differs:
        with `hashes` (id -> text hash of every paper) only changed papers are read from
        `papers`, and `all_papers` gives them all at once if the index must be rebuilt."""
        held = self.hashes()
        wanted = hashes if hashes is not None else {pid: p.text_hash for pid, p in papers.items()}
        changed_ids = [pid for pid, h in wanted.items() if held.get(pid) != h]
        removed = [pid for pid in held if pid not in wanted]
        del held
        if not changed_ids and not removed:
            return "unchanged"
        every = all_papers or (lambda: papers)
        with self._lock:
            rebuild = self._needs_rebuild(len(changed_ids), bool(removed))
        if rebuild:  # a new client's first sync: streamed from the catalog, never a list of every paper
            with self._writing():
                self._rebuild(every())
            return "rebuilt"
        return self.update([papers[pid] for pid in changed_ids], every, removed)

    def clear(self) -> None:
        with self._write_lock, self._lock:
            shutil.rmtree(self.folder, ignore_errors=True)
            self._segments, self._where, self._loaded_stamp = [], {}, None

    def _hash_of(self, pid: str) -> str | None:
        loc = self._where.get(pid)
        return self._segments[loc[0]].hashes[loc[1]] if loc else None

    def _rebuild(self, papers: Mapping[str, Paper]) -> None:
        """Every paper anew, in the mapping's order, as the fewest segments of at most `segment_papers`
        (but no more than half of `max_segments`, leaving the rest for appends): building one
        segment holds its papers' terms and bm25s's score arrays, so that bounds the memory."""
        n = len(papers)
        count = min(max(1, -(-n // self.policy.segment_papers)), max(1, self.policy.max_segments // 2))
        per = -(-n // count)
        stream = iter(papers.values())  # the catalog streams them in stored order, never all at once
        names: list[str] = []
        total = Fingerprint()
        for _ in range(count):
            name, held = self._segment(itertools.islice(stream, per))
            if name:
                names, total = [*names, name], total.plus(held)
        self._publish(names, base=len(names), fingerprint=total)

    def _append(self, papers: Sequence[Paper]) -> None:
        """The papers as a new segment beside the others (their older copies are masked out)."""
        newest = {p.id: p.text_hash for p in papers}  # a paper twice: its last copy is live
        replaced = [(pid, old) for pid in newest if (old := self._hash_of(pid)) is not None]
        fingerprint = self.fingerprint().changed(newest.items(), replaced)
        name, _ = self._segment(papers)
        names = [s.name for s in self._segments] + ([name] if name else [])
        self._publish(names, base=self._base, fingerprint=fingerprint)

    def _segment(self, papers: Iterable[Paper]) -> tuple[str | None, Fingerprint]:
        """A new segment folder of the papers (read once, as they come; None for no papers), and
        their fingerprint."""
        import bm25s

        ids: list[str] = []
        hashes: list[str] = []

        def texts() -> Iterator[str]:
            for paper in papers:
                ids.append(paper.id)
                hashes.append(paper.text_hash)
                yield keyword_text(paper)

        docs, vocab = _term_ids(texts())
        if not ids:
            return None, Fingerprint()
        existing = [p.name for p in self.folder.glob("seg-*")]
        number = max((int(n[4:]) for n in existing if n[4:].isdigit()), default=0) + 1
        name = f"seg-{number:06d}"
        tmp = self.folder / f".tmp-{name}"
        shutil.rmtree(tmp, ignore_errors=True)
        bm25 = bm25s.BM25()
        bm25.index(SimpleNamespace(ids=docs, vocab=vocab), show_progress=False)
        del docs
        bm25.save(str(tmp))
        (tmp / "docs.json").write_text(json.dumps({"ids": ids, "hashes": hashes}))
        tmp.rename(self.folder / name)
        return name, Fingerprint.of(dict(zip(ids, hashes, strict=True)).items())

    def _publish(self, names: list[str], base: int, fingerprint: Fingerprint) -> None:
        """Make these segments the index (the manifest replaced atomically; `base`: how many of
        the first come from the last rebuild; `fingerprint`: of the papers they hold), reload
        them, and delete what is no longer listed."""
        manifest = self.folder / MANIFEST
        tmp_manifest = self.folder / f".{MANIFEST}.tmp"
        record = {"version": FORMAT, "segments": names, "base": base, "fingerprint": fingerprint.dumps()}
        tmp_manifest.write_text(json.dumps(record))
        os.replace(tmp_manifest, manifest)
        with self._lock:
            self._loaded_stamp = None
            self._load()
        for old in self.folder.iterdir():  # segments no manifest lists any more; old formats
            if old.name not in names and old.name not in (MANIFEST, WRITE_LOCK):
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
