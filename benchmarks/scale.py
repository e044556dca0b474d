"""Scale benchmark: ingest throughput vs raw embedding throughput, retrieval latency, memory, disk.

    .venv/bin/python benchmarks/scale.py --sizes 1000 10000 100000 --out benchmarks/results

For each size it generates perturbed copies of the bundled corpus (arXiv-style JSONL: new method
names, shuffled sentences, changed numbers), ingests them into a fresh data folder in a subprocess
(peak RSS measured there), measures the raw embedding throughput of the same texts in the same run,
times warm hybrid retrieval on the development questions, measures the serve process's peak RSS
and the index size on disk. Writes results.json, results.md and scale.png.

    .venv/bin/python benchmarks/scale.py --store-only 100000 1000000 [--chroma-url http://127.0.0.1:8000]

`--store-only N` measures what does not depend on the embedding model: the same synthetic papers
are chunked as ingest chunks them (bulk-loaded into a new store, `bulk_load`) but get cheap *hashed* vectors (`HashedEmbedding`: a bag of
words hashed into 384 dimensions, so similar texts still get similar vectors; labelled
`vectors: hashed` in the results), are written to the store (embedded, or a `chroma run` server)
and the keyword index, and warm hybrid retrieval is timed with the real query embedding model on
the development questions and on the summary slice (summaries search twice: relevance feedback).
Rows go to store_only.json / store_only.md beside the other results. A finished load is kept
in --work: a rerun only measures (SCALE_LOAD_ONLY=1 loads without measuring, for a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

_SYLLABLES = ["ze", "ra", "ko", "vi", "lu", "min", "tor", "qua", "sel", "dor", "phi", "nex", "gal", "ori"]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize() + rng.choice(
        ["", "Net", "-LM", "PO", "Former", "Opt"]
    )


def generate(n: int, out: Path, seed: int = 7) -> Path:
    """n synthetic papers as JSONL, each a perturbed copy of a real abstract."""
    from paperqa.api import bundled_corpus
    from paperqa.ingest.parse import expand_paths, parse_files
    from paperqa.text import split_sentences

    base = parse_files(expand_paths([bundled_corpus()])).papers
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n):
            src = base[i % len(base)]
            name = _name(rng)
            sents = split_sentences(src.abstract)
            head, rest = sents[:1], sents[1:]
            rng.shuffle(rest)
            text = " ".join(head + rest)
            text = re.sub(
                r"\b\d+(\.\d+)?", lambda m: str(round(float(m.group(0)) * rng.uniform(0.5, 1.5), 1)), text
            )
            title = f"{name}: {src.title.split(':', 1)[-1].strip()} ({i})"
            fh.write(
                json.dumps(
                    {
                        "id": f"9{i:07d}",
                        "title": title,
                        "abstract": f"We present {name}. {text}",
                        "update_date": f"20{rng.randint(15, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                    }
                )
                + "\n"
            )
    return out


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def single_pass_seconds(model: Any, papers: list[Any]) -> float:
    """Seconds the embedding model takes to embed one title + abstract text per paper (the model
    truncates what exceeds its window) with its text call (it tokenizes, then embeds): the
    single-pass rate ingest is held against."""
    from paperqa.store.chunking import embed_text

    texts = [embed_text(p.title, p.abstract or p.title) for p in papers]
    model.get_text_embedding_batch(texts[:8])  # warm
    t0 = time.perf_counter()
    model.get_text_embedding_batch(texts)
    return time.perf_counter() - t0


def raw_embedding_rate(jsonl: Path, sample: int, scratch: Path) -> float:
    """Single-pass papers/s (`single_pass_seconds`) on the first `sample` papers of the JSONL."""
    from paperqa.ingest.parse import parse_files
    from paperqa.settings import Settings
    from paperqa.store.index import PaperIndex

    head = scratch / "sample.jsonl"
    head.write_text("".join(line for _, line in zip(range(sample), jsonl.open(), strict=False)))
    papers = parse_files([head]).papers
    index = PaperIndex(Settings(home=scratch / "raw_home"))
    try:
        return len(papers) / single_pass_seconds(index.embed_model, papers)
    finally:
        index.close()


def bundled(repeats: int) -> dict[str, Any]:
    """The bundled corpus, in this process with the embedding model loaded once: `repeats` rounds
    of (single-pass embedding of every paper, then a whole ingest into a new data folder: parse,
    chunk, embed, write, keyword index), alternated so a busy machine slows both alike. Medians."""
    from paperqa.api import PaperQA, bundled_corpus
    from paperqa.ingest.parse import expand_paths, parse_files
    from paperqa.settings import Settings

    papers = parse_files(expand_paths([bundled_corpus()])).papers
    raw: list[float] = []
    ingest: list[float] = []
    texts = 0
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="paperqa-bundled-") as home:
            app = PaperQA(Settings(home=Path(home)))
            raw.append(single_pass_seconds(app.index.embed_model, papers))
            t0 = time.perf_counter()
            report = app.ingest()
            ingest.append(time.perf_counter() - t0)
            texts = app.index.stats.embedded_texts
            app.close()
    n = report.papers
    raw_s, ingest_s = statistics.median(raw), statistics.median(ingest)
    return {
        "papers": n,
        "corpus": "bundled",
        "embedded_texts": texts,
        "texts_per_paper": round(texts / n, 2),
        "raw_single_pass_papers_per_s": round(n / raw_s, 2),
        "ingest_papers_per_s": round(n / ingest_s, 2),
        "ratio": round(raw_s / ingest_s, 3),
        "rounds": repeats,
        "raw_s": [round(x, 2) for x in raw],
        "ingest_s": [round(x, 2) for x in ingest],
    }


def _ingest_worker(jsonl: Path, home: Path, log: Path) -> None:
    """One ingest segment (run in its own process): appends its progress to `log` every ~10 s.

    A killed segment is resumed by the next one (ingest finishes interrupted work without
    duplicates); what a killed segment did after its last progress line (at most ~10 s) is
    counted by nobody, neither its papers nor its time.
    """
    from paperqa.api import PaperQA
    from paperqa.settings import Settings

    segment = f"{os.getpid()}-{time.time():.0f}"
    t0 = time.perf_counter()
    app = PaperQA(Settings(home=home))
    last = 0.0

    def line(done: bool = False) -> str:
        st = app.index.stats
        return json.dumps(
            {
                "segment": segment,
                "seconds": time.perf_counter() - t0,
                "embed_seconds": st.embed_seconds,
                "embedded_texts": st.embedded_texts,
                "papers_written": st.papers_written,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "done": done,
            }
        )

    def progress(done: int, total: int) -> None:
        nonlocal last
        if time.perf_counter() - last > 10:
            last = time.perf_counter()
            with log.open("a") as fh:
                fh.write(line() + "\n")

    app.ingest([jsonl], progress=progress)
    with log.open("a") as fh:
        fh.write(line(done=True) + "\n")


def ingest_resumable(jsonl: Path, home: Path, log: Path) -> dict[str, float]:
    """Run (or resume) the ingest of `jsonl` in subprocesses; totals over all segments."""

    def segments() -> dict[str, dict[str, float]]:
        last: dict[str, dict[str, float]] = {}
        if log.is_file():
            for raw in log.read_text().splitlines():
                if raw.strip():
                    row = json.loads(raw)
                    last[row["segment"]] = row
        return last

    if not any(r.get("done") for r in segments().values()):
        subprocess.run([sys.executable, __file__, "_ingest", str(jsonl), str(home), str(log)], check=True)
    rows = list(segments().values())
    return {
        "segments": len(rows),
        "seconds": sum(r["seconds"] for r in rows),
        "embed_seconds": sum(r["embed_seconds"] for r in rows),
        "papers_written": sum(r["papers_written"] for r in rows),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rows),
    }


def _p50_p95(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def retrieval_latency(
    home: Path, chroma_url: str | None = None, summaries: bool = False, collection: str | None = None
) -> Any:
    """Warm hybrid retrieval (ms, p50 and p95) as the answer pipeline runs it, on the development
    questions; with `summaries`, also the diverse search of the summary slice, timed apart."""
    from paperqa.api import PaperQA
    from paperqa.evaluate import load_questions
    from paperqa.settings import Settings

    settings = Settings(home=home, chroma_url=chroma_url)
    if collection:
        settings.index.collection = collection
    app = PaperQA(settings)
    app.warm_up_retrieval()
    times = []
    for q in load_questions(ROOT / "eval" / "dev.jsonl"):
        t0 = time.perf_counter()
        app.retriever.search(q.standalone, k=5, diverse=q.type == "summary")
        times.append((time.perf_counter() - t0) * 1000)
    summary_times = []
    if summaries:
        for q in load_questions(ROOT / "eval" / "summaries.jsonl"):
            t0 = time.perf_counter()
            app.retriever.search(q.standalone, k=8, diverse=True)
            summary_times.append((time.perf_counter() - t0) * 1000)
    app.close()  # the serve process opens the same folder next
    if summaries:
        return _p50_p95(times), _p50_p95(summary_times)
    return _p50_p95(times)


class HashedEmbedding:
    """Cheap stand-in vectors for --store-only: each text's words hashed into DIM signed buckets
    (feature hashing), normalised. Similar texts get similar vectors, as with a real model, at a
    tiny fraction of its cost. With the real model given, its tokenizer and window stay (the
    chunker reads them from `_model`), so chunks are cut exactly as ingest cuts them."""

    DIM = 384  # all-MiniLM-L6-v2's width: the store holds vectors of the real size

    def __init__(self, real_model: Any = None) -> None:
        self._model = getattr(real_model, "_model", None)
        self._buckets: dict[str, tuple[int, float]] = {}

    def _one(self, text: str) -> list[float]:
        import zlib

        import numpy as np

        vec = np.zeros(self.DIM, dtype=np.float32)
        for word in re.findall(r"\w\w+", text.lower()):
            hit = self._buckets.get(word)
            if hit is None:
                h = zlib.crc32(word.encode())
                hit = self._buckets[word] = (h % self.DIM, 1.0 if (h >> 16) & 1 else -1.0)
            vec[hit[0]] += hit[1]
        return (vec / max(float(np.linalg.norm(vec)), 1e-12)).tolist()

    def get_text_embedding_batch(self, texts: list[str], **_: Any) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def get_query_embedding(self, text: str) -> list[float]:
        return self._one(text)


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def _written_bytes(pid: int | None = None) -> int:
    """Bytes a process has caused to be written to disk so far (`write_bytes` of /proc/<pid>/io;
    0 for none)."""
    if pid is None:
        pid = os.getpid()
    try:
        text = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return 0
    return int(re.search(r"write_bytes:\s+(\d+)", text).group(1))  # type: ignore[union-attr]


CORPUS_PAGE = 1000  # papers the Corpus tab lists per search (its CORPUS_ROWS)
CORPUS_QUERIES = [
    "training",
    "language model",
    "memory",
    "gradient",
    "benchmark",
    "attention",
    "sparse",
    "reinforcement",
    "zerakovi",
    "dorphi",
    "quantiz",
    "low-rank adaptation",
]


def corpus_search_latency(home: Path, chroma_url: str | None, collection: str) -> tuple[float, float]:
    """The Corpus tab's search as the UI runs it (the first CORPUS_PAGE papers that contain the
    text, most upvoted first, and the total when the page is full), ms p50 and p95 over common
    words, rare words and made-up method-name syllables, each asked twice (the second warm)."""
    from paperqa.api import PaperQA
    from paperqa.settings import Settings

    settings = Settings(home=home, chroma_url=chroma_url)
    settings.index.collection = collection
    app = PaperQA(settings)
    app.search_papers("warm", limit=10)  # opens the catalog (builds its text index if missing)
    times = []
    for query in CORPUS_QUERIES * 2:
        t0 = time.perf_counter()
        rows = app.search_papers(query, limit=CORPUS_PAGE)
        if len(rows) >= CORPUS_PAGE:
            app.count_papers_mentioning(query, estimate=True)  # as the Corpus tab counts
        times.append((time.perf_counter() - t0) * 1000)
    app.close()
    return _p50_p95(times)


def _chroma_server_pid(chroma_url: str | None) -> int | None:
    """The pid of the `chroma run` process listening on the URL's port (for its RSS), if local."""
    if not chroma_url:
        return None
    port = chroma_url.rstrip("/").rsplit(":", 1)[-1]
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    m = re.search(r"pid=(\d+)", out)
    return int(m.group(1)) if m else None


def _server_disk(pid: int | None) -> int:
    """Bytes under the `--path` folder of the local `chroma run` process (0 for none)."""
    if pid is None:
        return 0
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return _du(Path(args[args.index("--path") + 1])) if "--path" in args else 0


def _batches(jsonl: Path, size: int, skip: int, scratch: Path) -> Any:
    """The JSONL's papers `size` at a time, parsed as ingest parses them (`parse_files`), after
    the first `skip` lines: a load of a million papers never holds them all."""
    from paperqa.ingest.parse import parse_files

    part = scratch / "batch.jsonl"
    with jsonl.open(encoding="utf-8") as fh:
        for _ in range(skip):
            next(fh)
        while lines := [line for _, line in zip(range(size), fh, strict=False)]:
            part.write_text("".join(lines), encoding="utf-8")
            yield parse_files([part]).papers
    part.unlink(missing_ok=True)


def bulk_load(index: Any, jsonl: Path, batch: int, start_at: int = 0, after_batch: Any = None) -> None:
    """Write the papers into a new store exactly as ingest writes them (`PaperIndex._embed_and_write`:
    the same chunks, metadata, paper vectors and catalog rows) but without ingest's look-ups of
    earlier copies (a new store has none), a batch at a time; then build the keyword index.
    `start_at`: resume an interrupted load (the batches before it are stored)."""
    done = start_at
    with jsonl.open() as fh:
        total = sum(1 for _ in fh)
    index.finish_writes()  # what a killed load left (as ingest's upsert does first)
    with index._catalog_bulk(total - start_at):  # as ingest's write of as many
        for papers in _batches(jsonl, batch, start_at, index.settings.home):
            index._embed_and_write(papers, new_store=done > start_at or not start_at)
            done += len(papers)
            rss = _rss_mb(os.getpid())  # its growth over a long load shows what holds memory
            print(
                f"  loaded {done}, {time.strftime('%H:%M:%S')}, RSS {rss:.0f} MB", file=sys.stderr, flush=True
            )
            if after_batch:
                after_batch()
    index._finish_writing()  # the store is complete: no interrupted-ingest check at the next open
    index.sync_keywords()


def store_only(
    n: int,
    work: Path,
    chroma_url: str | None,
    batch: int,
    word_chunks: bool = False,
    with_serve: bool = False,
    partial: bool = False,
    hnsw: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Load n synthetic papers with hashed vectors into the store and keyword index; time it.
    `partial`: measure an unfinished load as it stands (its keyword index built first), without
    loading more; the row is labelled with the papers it holds."""
    from paperqa.settings import Settings
    from paperqa.store.index import PaperIndex

    jsonl = work / f"synthetic_{n}.jsonl"
    if not jsonl.is_file():
        generate(n, jsonl)
    home = work / f"store_only_{n}{'_server' if chroma_url else ''}"
    loaded = home / "loaded.json"  # written when the load finished: a rerun only measures
    settings = Settings(home=home, chroma_url=chroma_url)
    settings.index.collection = f"storeonly{n}"
    settings.embedding.batch_size = batch
    if hnsw:  # Chroma's HNSW write settings for the load (sync threshold, batch size)
        settings.index.hnsw_sync_threshold, settings.index.hnsw_batch_size = hnsw
    loading = home / "loading.json"  # an unfinished load: resumed where its papers end
    if partial and not loaded.is_file():
        if not loading.is_file():
            sys.exit(f"error: no unfinished load of {n} papers in {home}\nhint: start it without --partial")
        index = PaperIndex(settings, embed_model=HashedEmbedding())
        held = index.count()
        t0 = time.perf_counter()
        index.sync_keywords()
        print(f"  keyword index of {held} papers built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        chunks = index._chunks.count()
        index.close()
        seconds = json.loads(loading.read_text())["seconds"]
        load = {"seconds": seconds, "peak_rss_mb": float("nan"), "chunks": chunks, "word_chunks": word_chunks}
        label = f"{held} (a partial load of {n})"
    elif not loaded.is_file():
        real = None
        if not word_chunks:  # the real model's tokenizer and window cut the chunks
            tokenizer_index = PaperIndex(Settings(home=work / "tokenizer_home"))
            real = tokenizer_index.embed_model
            tokenizer_index.close()
        spent, start_at, written_before = 0.0, 0, 0
        if loading.is_file():
            index = PaperIndex(settings, embed_model=HashedEmbedding(real))
            spent = json.loads(loading.read_text())["seconds"]
            written_before = json.loads(loading.read_text()).get("written", 0)
            start_at = index.count() // batch * batch
            print(f"  resuming at {start_at} papers ({spent:.0f} s so far)", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            index = PaperIndex(settings, embed_model=HashedEmbedding(real))
            if chroma_url:
                index.delete_all()  # a server keeps collections between runs
                index.close()
                index = PaperIndex(settings, embed_model=HashedEmbedding(real))
        t0 = time.perf_counter()
        server_pid = _chroma_server_pid(chroma_url)

        def bytes_so_far() -> int:  # by the loader and the Chroma server
            return _written_bytes() + (_written_bytes(server_pid) if server_pid else 0)

        w0 = bytes_so_far()

        def written() -> int:  # bytes the loader and the Chroma server wrote in this run
            return bytes_so_far() - w0

        def note_progress() -> None:  # the time so far, for a resumed load to add to
            record = {"seconds": spent + time.perf_counter() - t0, "written": written_before + written()}
            loading.write_text(json.dumps(record))

        bulk_load(index, jsonl, batch, start_at, note_progress)
        seconds = spent + time.perf_counter() - t0
        chunks = index._chunks.count()
        index.close()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        record = {
            "seconds": seconds,
            "peak_rss_mb": rss,
            "chunks": chunks,
            "word_chunks": word_chunks,
            "written": written_before + written(),
            "hnsw": [settings.index.hnsw_sync_threshold, settings.index.hnsw_batch_size],
        }
        loaded.write_text(json.dumps(record))
        loading.unlink(missing_ok=True)
        del index, real
        import gc

        gc.collect()
    if not partial or loaded.is_file():
        load, held, label = json.loads(loaded.read_text()), n, str(n)
    if os.environ.get("SCALE_LOAD_ONLY"):
        return {"papers": n, "loaded": load}
    (p50, p95), (s50, s95) = retrieval_latency(home, chroma_url, True, settings.index.collection)
    c50, c95 = corpus_search_latency(home, chroma_url, settings.index.collection)
    server = _chroma_server_pid(chroma_url)
    disk = _du(home) + _server_disk(server)
    serve = serve_startup(home, settings.index.collection, chroma_url) if with_serve else {}
    return {
        "papers": label,
        "vectors": "hashed",
        "chunking": "tokens estimated from words" if load.get("word_chunks") else "as ingest (tokenizer)",
        "chunks_per_paper": round(load["chunks"] / held, 2) if load.get("chunks") else None,
        "store": "chroma server" if chroma_url else "embedded",
        "insert_papers_per_s": round(held / load["seconds"], 1),
        "insert_s": round(load["seconds"], 1),
        "retrieval_ms_p50": round(p50, 2),
        "retrieval_ms_p95": round(p95, 2),
        "summary_retrieval_ms_p50": round(s50, 2),
        "summary_retrieval_ms_p95": round(s95, 2),
        "loader_peak_rss_mb": round(load["peak_rss_mb"], 1)
        if load["peak_rss_mb"] == load["peak_rss_mb"]
        else None,
        "chroma_server_rss_mb": round(_rss_mb(server), 1) if server else None,
        "disk_mb": round(disk / 2**20, 1),
        "hnsw_sync_threshold_batch": "/".join(map(str, load.get("hnsw", []))) or None,
        "written_mb": round(load["written"] / 2**20, 1) if load.get("written") else None,
        "written_over_disk": round(load["written"] / disk, 2) if load.get("written") else None,
        "corpus_search_ms_p50": round(c50, 2),
        "corpus_search_ms_p95": round(c95, 2),
        **serve,
    }


def second_client(n: int, work: Path, chroma_url: str) -> dict[str, Any]:
    """A second machine joining a shared Chroma server that holds the --store-only load of n
    papers: a new data folder fills its catalog from the server's paper records, builds its
    keyword index, and answers a first question (the embedded model). Seconds for each, its
    peak RSS and its disk. Resumable: a rerun goes on where the catalog stopped (each phase's
    time is kept in `second_client.json`)."""
    from paperqa.api import PaperQA
    from paperqa.settings import Settings

    home = work / f"second_client_{n}"
    home.mkdir(parents=True, exist_ok=True)
    log = home / "second_client.json"
    done: dict[str, float] = json.loads(log.read_text()) if log.is_file() else {}
    settings = Settings(home=home, chroma_url=chroma_url)
    settings.index.collection = f"storeonly{n}"
    app = PaperQA(settings)
    catalog, put = app.index.catalog, app.index.catalog.put

    def put_with_progress(papers: Any, spans: Any = None) -> None:
        put(papers, spans)
        print(f"  catalog {len(catalog)} of {n}", file=sys.stderr, flush=True)

    catalog.put = put_with_progress  # type: ignore[method-assign]
    phases = [
        ("catalog_fill_s", app.index.papers),
        ("keyword_build_s", app.index.sync_keywords),
        ("first_answer_s", lambda: app.ask("What speedup does the method report?")),
    ]
    for name, run in phases:
        t0 = time.perf_counter()
        run()
        done[name] = done.get(name, 0.0) + time.perf_counter() - t0
        log.write_text(json.dumps(done))
        print(f"  {name}: {done[name]:.1f}", file=sys.stderr, flush=True)
    app.close()
    return {
        "papers": n,
        "store": "chroma server",
        **{k: round(v, 1) for k, v in done.items()},
        "total_s": round(sum(done.values()), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "disk_mb": round(_du(home) / 2**20, 1),
    }


def _ingest_rss_worker(jsonl: Path, home: Path, out: Path) -> None:
    """`PaperQA.ingest` of the JSONL (parse, dedupe, chunk with the real tokenizer, Chroma, catalog,
    keyword index) with the real embedding model loaded but hashed vectors: its peak RSS."""
    from paperqa.api import PaperQA
    from paperqa.settings import Settings

    app = PaperQA(Settings(home=home))
    app.index._embed_model = HashedEmbedding(app.index.embed_model)  # loads the real model first
    t0 = time.perf_counter()
    report = app.ingest([jsonl])
    app.close()
    rusage = resource.getrusage(resource.RUSAGE_SELF)
    out.write_text(
        json.dumps(
            {
                "papers": report.papers,
                "seconds": time.perf_counter() - t0,
                "peak_rss_mb": rusage.ru_maxrss / 1024,
            }
        )
    )


def ingest_rss(n: int, work: Path) -> dict[str, Any]:
    """Peak RSS of ingesting n synthetic papers (`_ingest_rss_worker`, in a new process)."""
    jsonl = work / f"synthetic_{n}.jsonl"
    if not jsonl.is_file():
        generate(n, jsonl)
    home, out = work / f"ingest_rss_{n}", work / f"ingest_rss_{n}.json"
    shutil.rmtree(home, ignore_errors=True)
    subprocess.run([sys.executable, __file__, "_ingest_rss", str(jsonl), str(home), str(out)], check=True)
    got = json.loads(out.read_text())
    shutil.rmtree(home, ignore_errors=True)
    return {
        "papers": n,
        "vectors": "hashed (real model loaded)",
        "ingest_peak_rss_mb": round(got["peak_rss_mb"], 1),
        "ingest_s": round(got["seconds"], 1),
    }


def _keyword_build_worker(jsonl: Path, segment_papers: int, out: Path) -> None:
    """Build the keyword index of the JSONL's papers (parsed and held as ingest holds them) with
    segments of at most `segment_papers`: the RSS it adds, its time, and query latency."""
    from paperqa.ingest.parse import parse_files
    from paperqa.store.keyword import KeywordIndex, KeywordPolicy

    papers = parse_files([jsonl]).papers
    by_id = {p.id: p for p in papers}
    before = _rss_mb(os.getpid())
    folder = Path(tempfile.mkdtemp(prefix="paperqa-kw-"))
    try:
        index = KeywordIndex(folder / "kw", KeywordPolicy(segment_papers=segment_papers))
        t0 = time.perf_counter()
        index.update(papers, lambda: by_id)
        seconds = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        queries = [p.title for p in papers[:: max(1, len(papers) // 100)]]
        index.search(queries[0], 10)
        times = []
        for q in queries:
            t = time.perf_counter()
            index.search(q, 50)
            times.append((time.perf_counter() - t) * 1000)
        p50, p95 = _p50_p95(times)
        segments = len(json.loads((folder / "kw" / "manifest.json").read_text())["segments"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out.write_text(
        json.dumps(
            {
                "rss_before_mb": before,
                "peak_rss_mb": peak,
                "seconds": seconds,
                "segments": segments,
                "p50": p50,
                "p95": p95,
            }
        )
    )


def keyword_build(n: int, work: Path) -> list[dict[str, Any]]:
    """`_keyword_build_worker` on n synthetic papers, once as one segment and once with the
    default segment size, each in a new process."""
    from paperqa.store.keyword import KeywordPolicy

    jsonl = work / f"synthetic_{n}.jsonl"
    if not jsonl.is_file():
        generate(n, jsonl)
    rows = []
    for size in (n, KeywordPolicy().segment_papers):
        out = work / f"keyword_build_{n}_{size}.json"
        subprocess.run(
            [sys.executable, __file__, "_keyword_build", str(jsonl), str(size), str(out)], check=True
        )
        got = json.loads(out.read_text())
        rows.append(
            {
                "papers": n,
                "segment_papers": size,
                "segments": got["segments"],
                "build_rss_rise_mb": round(got["peak_rss_mb"] - got["rss_before_mb"], 1),
                "build_s": round(got["seconds"], 1),
                "search_ms_p50": round(got["p50"], 2),
                "search_ms_p95": round(got["p95"], 2),
            }
        )
    return rows


def serve_startup(
    home: Path, collection: str | None = None, chroma_url: str | None = None
) -> dict[str, float]:
    """`paperqa serve` on a data folder, as a user starts it: seconds from launch until the page
    is served and takes questions (`serve_ready_s`: by default once the models and the index are
    loaded, `ui.open_when_warm`) and until the first answer arrives through its API
    (`first_answer_s`, and after the page: `first_answer_after_page_s`), its RSS at those two
    moments, and its peak RSS after a second (summary) question."""
    import socket
    import urllib.request

    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PAPERQA_HOME": str(home)}
    if collection:
        env["PAPERQA_INDEX__COLLECTION"] = collection
    if chroma_url:
        env["PAPERQA_CHROMA_URL"] = chroma_url
    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "paperqa"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"paperqa serve exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=5) as page:
                    if page.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        ready = time.perf_counter() - t0
        rss_ready = _rss_mb(proc.pid)
        client = Client(url, verbose=False)
        client.predict("What speedup does the method report?", api_name="/ask")
        first = time.perf_counter() - t0
        rss_first = _rss_mb(proc.pid)
        client.predict("Summarize work on process reward models.", api_name="/ask")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
        return {
            "serve_ready_s": round(ready, 2),
            "serve_rss_at_ready_mb": round(rss_ready, 1),
            "first_answer_s": round(first, 2),
            "first_answer_after_page_s": round(first - ready, 2),
            "serve_rss_after_first_answer_mb": round(rss_first, 1),
            "serve_peak_rss_mb": round(peak, 1),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _table(results: list[dict[str, object]]) -> str:
    keys: list[str] = []
    for r in results:
        keys += [k for k in r if k not in keys]
    md = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    md += ["| " + " | ".join("" if r.get(k) is None else str(r[k]) for k in keys) + " |" for r in results]
    return "\n".join(md)


def _write_rows(stem: Path, intro: str, rows: list[dict[str, Any]]) -> None:
    """The rows as `<stem>.json` and as `<stem>.md` (the intro, then the table)."""
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    stem.with_suffix(".md").write_text(f"{intro}\n\n{_table(rows)}\n")


def write_kept_rows(stem: Path, intro: str, new: list[dict[str, Any]], key: Any) -> None:
    """`_write_rows` of these rows and the rows `<stem>.json` kept whose `key(row)` none of them
    has, sorted by it (a rerun of one layout or size replaces its row alone)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(stem.with_suffix(".json").read_text()) if stem.with_suffix(".json").is_file() else []
    done = {key(r) for r in new}
    _write_rows(stem, intro, sorted([r for r in kept if key(r) not in done] + new, key=key))


def _plot(results: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    xs = [r["papers"] for r in results]
    a.plot(xs, [r["ingest_papers_per_s"] for r in results], "o-", label="ingest")
    a.plot(xs, [r["raw_embed_papers_per_s"] for r in results], "s--", label="raw embedding (same run)")
    a.set_xscale("log"), a.set_ylim(bottom=0), a.set_title("papers / s"), a.legend()
    b.plot(xs, [r["retrieval_ms_p50"] for r in results], "o-", label="p50")
    b.plot(xs, [r["retrieval_ms_p95"] for r in results], "s--", label="p95")
    b.axhline(100, color="grey", lw=0.8, ls=":")
    b.set_xscale("log"), b.set_ylim(bottom=0), b.set_title("hybrid retrieval, ms"), b.legend()
    fig.tight_layout()
    fig.savefig(out / "scale.png", dpi=110)


def main() -> None:
    from paperqa.settings import apply_offline_defaults

    apply_offline_defaults()
    if len(sys.argv) == 5 and sys.argv[1] == "_ingest":
        _ingest_worker(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
        return
    if len(sys.argv) == 5 and sys.argv[1] == "_ingest_rss":
        _ingest_rss_worker(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
        return
    if len(sys.argv) == 5 and sys.argv[1] == "_keyword_build":
        _keyword_build_worker(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument(
        "--work",
        type=Path,
        default=ROOT / "benchmarks" / ".work",
        help="Data folders and progress logs; an interrupted run resumes from here.",
    )
    ap.add_argument("--phase", choices=["all", "ingest", "measure"], default="all")
    ap.add_argument("--embed-sample", type=int, default=400)
    ap.add_argument("--skip-serve", action="store_true")
    ap.add_argument(
        "--serve",
        action="store_true",
        help="With --store-only: also time `paperqa serve` on the loaded store.",
    )
    ap.add_argument("--fresh", action="store_true", help="Delete earlier work for these sizes first.")
    ap.add_argument(
        "--store-only",
        type=int,
        nargs="+",
        metavar="N",
        help="Instead: load N papers with hashed vectors (no embedding model) and time the store.",
    )
    ap.add_argument(
        "--bundled",
        type=int,
        metavar="ROUNDS",
        help="Instead: ingest vs single-pass embedding of the bundled corpus, this many alternated rounds.",
    )
    ap.add_argument(
        "--ingest-rss",
        type=int,
        nargs="+",
        metavar="N",
        help="Instead: peak RSS of ingesting N papers (real pipeline and model, hashed vectors).",
    )
    ap.add_argument(
        "--keyword-build",
        type=int,
        metavar="N",
        help="Instead: the keyword index's build memory and search time for N papers, one segment vs the default.",
    )
    ap.add_argument("--chroma-url", default=None, help="With --store-only: a `chroma run` server.")
    ap.add_argument(
        "--partial",
        action="store_true",
        help="With --store-only: measure an unfinished load as it stands (it can be resumed later).",
    )
    ap.add_argument("--batch", type=int, default=2000, help="With --store-only: papers written per batch.")
    ap.add_argument(
        "--hnsw",
        type=int,
        nargs=2,
        metavar=("SYNC", "BATCH"),
        default=None,
        help="With --store-only: Chroma's HNSW sync threshold and batch size for the load (index.hnsw_*).",
    )
    ap.add_argument(
        "--second-client",
        type=int,
        metavar="N",
        help="Instead: a new data folder joins the --chroma-url server's --store-only load of N papers.",
    )
    ap.add_argument(
        "--word-chunks",
        action="store_true",
        help="With --store-only: cut chunks by estimated tokens (words x 1.3) instead of tokenizing.",
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.bundled:
        row = bundled(args.bundled)
        print(json.dumps(row), flush=True)
        _write_rows(
            args.out / "bundled",
            "# Bundled-corpus ingest against the model's single-pass rate\n\nMeasured with `python "
            f"benchmarks/scale.py --bundled {args.bundled}` on {os.cpu_count()} cores. `raw_single_pass` embeds "
            "one title + abstract text per paper (truncated to the model's window) with the model's text call "
            "(sentence-transformers' `encode`: tokenize, then the model, batches of `embedding.batch_size`); "
            "`ingest` is a whole ingest into a new data folder (parse, chunk, embed the chunks' token ids in "
            "batches of the same size, write, keyword index), the model already loaded; ratio = raw seconds / "
            "ingest seconds; medians of alternated rounds.",
            [row],
        )
        return
    if args.keyword_build:
        rows_kw = keyword_build(args.keyword_build, args.work)
        print(json.dumps(rows_kw), flush=True)
        _write_rows(
            args.out / "keyword_build",
            "# Keyword index build\n\nMeasured with `python benchmarks/scale.py --keyword-build N` on "
            f"{os.cpu_count()} cores: a rebuild of the keyword index of N synthetic papers, parsed and held "
            "in memory as ingest holds them, in a new process; `build_rss_rise_mb` = peak RSS minus the "
            "RSS before the build; searches are 100 paper titles, 50 hits each.",
            rows_kw,
        )
        return
    if args.ingest_rss:
        rows_rss = [ingest_rss(n, args.work) for n in args.ingest_rss]
        print(json.dumps(rows_rss), flush=True)
        _write_rows(
            args.out / "ingest_rss",
            "# Ingest memory\n\nMeasured with `python benchmarks/scale.py --ingest-rss N` on "
            f"{os.cpu_count()} cores: `PaperQA.ingest` of N synthetic papers in a new process (parse, "
            "dedupe, chunking with the real tokenizer, Chroma, catalog, keyword index) with the embedding "
            "model loaded but hashed vectors, so the time is not ingest speed; the model's inference "
            "buffers (a batch of 64 texts) are not in these peaks.",
            rows_rss,
        )
        return
    if args.second_client:
        if not args.chroma_url:
            sys.exit("error: --second-client needs --chroma-url (the server holding the load)")
        row2 = second_client(args.second_client, args.work, args.chroma_url)
        print(json.dumps(row2), flush=True)
        _write_rows(
            args.out / "second_client",
            "# A second client joins a shared Chroma server\n\nMeasured with `python benchmarks/scale.py "
            f"--second-client N --chroma-url URL` on {os.cpu_count()} cores, after `--store-only N --chroma-url "
            "URL` loaded the server (hashed vectors): a new data folder fills its catalog from the server's "
            "paper records, builds its keyword index and answers one question with the embedded model.",
            [row2],
        )
        return
    if args.store_only:
        rows_file = args.out / "store_only.json"
        rows: list[dict[str, Any]] = json.loads(rows_file.read_text()) if rows_file.is_file() else []
        for n in args.store_only:
            row = store_only(
                n,
                args.work,
                args.chroma_url,
                args.batch,
                args.word_chunks,
                args.serve,
                args.partial,
                tuple(args.hnsw) if args.hnsw else None,
            )
            print(json.dumps(row), flush=True)
            if "loaded" in row:
                continue

            def key(r: dict[str, Any]) -> tuple[str, str, str]:
                return str(r["papers"]), r["store"], str(r.get("hnsw_sync_threshold_batch") or "1000/100")

            rows = [r for r in rows if key(r) != key(row)] + [row]
            rows.sort(key=lambda r: (r["store"], int(str(r["papers"]).split()[0])))
            _write_rows(
                args.out / "store_only",
                "# Store-only scale benchmark\n\nMeasured with `python benchmarks/scale.py --store-only N "
                f"[--chroma-url URL] [--hnsw SYNC BATCH] [--serve]` on {os.cpu_count()} cores. Vectors are "
                "hashed bags of words (`HashedEmbedding`), not the embedding model's: these rows measure the "
                "store, the keyword index and retrieval with the real query model, not ingest speed or answer "
                "quality. Summary searches run twice (relevance feedback) and are timed apart. `written_mb`: "
                "bytes the loader and the Chroma server wrote to disk during the load (/proc/<pid>/io); "
                "`corpus_search_ms`: the Corpus tab's search (a page of 1,000 papers and, when full, the "
                "estimated total) over common and rare words.",
                rows,
            )
        return
    results_file = args.out / "results.json"
    results: list[dict[str, Any]] = json.loads(results_file.read_text()) if results_file.is_file() else []
    for n in args.sizes:
        home, log = args.work / f"home_{n}", args.work / f"ingest_{n}.jsonl"
        jsonl, raw_file = args.work / f"synthetic_{n}.jsonl", args.work / f"raw_{n}.json"
        if args.fresh:
            for path in (home, log, jsonl, raw_file):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        if not jsonl.is_file():
            generate(n, jsonl)
        if not raw_file.is_file():
            scratch = Path(tempfile.mkdtemp(prefix="paperqa-raw-"))
            try:
                rate = raw_embedding_rate(jsonl, min(args.embed_sample, n), scratch)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            raw_file.write_text(json.dumps({"papers_per_s": rate, "sample": min(args.embed_sample, n)}))
        finished = log.is_file() and '"done": true' in log.read_text()
        if args.phase == "measure" and not finished:
            sys.exit(f"the ingest of {n} papers has not finished: run with --phase ingest first")
        ing = ingest_resumable(jsonl, home, log)
        print(json.dumps({"papers": n, **ing}), flush=True)
        if args.phase == "ingest":
            continue
        p50, p95 = retrieval_latency(home)
        ingest_rate = ing["papers_written"] / ing["seconds"]
        embed_rate = ing["papers_written"] / ing["embed_seconds"]
        sample_rate = json.loads(raw_file.read_text())["papers_per_s"]
        row = {
            "papers": n,
            "ingest_papers_per_s": round(ingest_rate, 2),
            "raw_embed_papers_per_s": round(embed_rate, 2),
            "ratio": round(ingest_rate / embed_rate, 3),
            "raw_embed_sample_papers_per_s": round(sample_rate, 2),
            "ratio_vs_sample": round(ingest_rate / sample_rate, 3),
            "ingest_segments": ing["segments"],
            "ingest_peak_rss_mb": round(ing["peak_rss_mb"], 1),
            **({} if args.skip_serve else serve_startup(home)),
            "retrieval_ms_p50": round(p50, 2),
            "retrieval_ms_p95": round(p95, 2),
            "index_mb": round(_du(home) / 2**20, 1),
        }
        results = [r for r in results if r["papers"] != n] + [row]
        results.sort(key=lambda r: r["papers"])
        print(json.dumps(row), flush=True)
    if args.phase == "ingest":
        return
    _write_rows(
        args.out / "results",
        "# Scale benchmark\n\nMeasured with `python benchmarks/scale.py --sizes N` on "
        f"{os.cpu_count()} cores (rows may come from separate runs; see README).\n\n"
        "`raw_embed_papers_per_s` is the embedding time of the ingested texts inside the same run "
        "(ratio = ingest / raw); `raw_embed_sample_papers_per_s` embeds a sample of the same texts "
        "alone before the ingest.",
        results,
    )
    _plot(results, args.out)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
