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
    from paperqa.citations import split_sentences
    from paperqa.ingest import expand_paths, parse_files

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


def raw_embedding_rate(jsonl: Path, sample: int, scratch: Path) -> float:
    """Papers/s when doing nothing but embedding exactly the chunk texts ingest embeds."""
    from paperqa.index import PaperIndex
    from paperqa.ingest import parse_files
    from paperqa.settings import Settings

    head = scratch / "sample.jsonl"
    head.write_text("".join(line for _, line in zip(range(sample), jsonl.open(), strict=False)))
    papers = parse_files([head]).papers
    index = PaperIndex(Settings(home=scratch / "raw_home"))
    texts = [index.embed_text_of(n) for n in index.chunk_nodes(papers)[0]]
    model = index.embed_model
    model.get_text_embedding_batch(texts[:8])
    t0 = time.perf_counter()
    model.get_text_embedding_batch(texts)
    return len(papers) / (time.perf_counter() - t0)


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
    """Cheap stand-in vectors for --store-only: each text's analysed words hashed into DIM signed
    buckets (feature hashing), normalised. Similar texts get similar vectors, as with a real model,
    at a tiny fraction of its cost; the real model's tokenizer is kept so chunks split as in ingest."""

    DIM = 384  # all-MiniLM-L6-v2's width: the store holds vectors of the real size

    def __init__(self, tokenizer_model: Any) -> None:
        self._model = getattr(tokenizer_model, "_model", None)  # the splitter reads its tokenizer

    def _one(self, text: str) -> list[float]:
        import zlib

        import numpy as np

        vec = np.zeros(self.DIM, dtype=np.float32)
        for word in re.findall(r"\w\w+", text.lower()):
            h = zlib.crc32(word.encode())
            vec[h % self.DIM] += 1.0 if (h >> 16) & 1 else -1.0
        return (vec / max(float(np.linalg.norm(vec)), 1e-12)).tolist()

    def get_text_embedding_batch(self, texts: list[str], **_: Any) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def get_query_embedding(self, text: str) -> list[float]:
        return self._one(text)


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


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


# --word-chunks: tokens per word of English abstract text under MiniLM's WordPiece (measured on
# the bundled corpus: about 1.3), to pack sentences into chunks of chunk_size tokens without tokenizing.
TOKENS_PER_WORD = 1.3


def _word_chunks(papers: list[Any], index_settings: Any) -> tuple[list[str], list[str], list[Any], list[int]]:
    """Chunks as ingest cuts them (whole sentences, `citations.split_sentences`, up to chunk_size
    tokens with chunk_overlap shared) but with tokens estimated from words: ids, texts, metadata
    (the fields search reads) and the owning paper of each chunk."""
    from paperqa.citations import split_sentences
    from paperqa.index import PaperIndex

    size, overlap = index_settings.chunk_size, index_settings.chunk_overlap
    ids: list[str] = []
    texts: list[str] = []
    metas: list[Any] = []
    owners: list[int] = []
    for k, paper in enumerate(papers):
        sents = split_sentences(paper.abstract or paper.title)
        cost = [len(x.split()) * TOKENS_PER_WORD for x in sents]
        chunks: list[list[int]] = [[]]
        for i, c in enumerate(cost):
            if chunks[-1] and sum(cost[j] for j in chunks[-1]) + c > size:
                keep: list[int] = []
                for j in reversed(chunks[-1]):  # the overlap: the last sentences, up to chunk_overlap
                    if sum(cost[x] for x in keep) + cost[j] > overlap:
                        break
                    keep.insert(0, j)
                chunks.append(keep)
            chunks[-1].append(i)
        for n, chunk in enumerate(chunks):
            ids.append(f"{paper.id}:{n}")
            texts.append(" ".join(sents[j] for j in chunk))
            metas.append(PaperIndex._chunk_meta(paper, n))
            owners.append(k)
    return ids, texts, metas, owners


def bulk_load(
    index: Any,
    papers: list[Any],
    batch: int,
    word_chunks: bool = False,
    start_at: int = 0,
    after_batch: Any = None,
) -> None:
    """Write papers into a new, empty store as ingest lays them out (the same chunks, chunk and
    paper metadata, paper vector = normalised mean of its chunks' vectors), in large batches and
    without ingest's per-batch look-ups and deletes of earlier copies (a new store has none); then
    build the keyword index from the stored papers. Chunk metadata is the fields search reads, not
    llama-index's node JSON. `word_chunks`: chunks cut by estimated tokens (`_word_chunks`), not by
    the tokenizer, which is most of the load's time. `start_at`: resume an interrupted load (the
    batches before it are stored; the one at it is written again with upserts)."""
    import numpy as np
    from llama_index.core.schema import MetadataMode

    for start in range(start_at, len(papers), batch):
        part = papers[start : start + batch]
        if word_chunks:
            ids, texts, metas, owners = _word_chunks(part, index.settings.index)
            embed = [f"title: {part[o].title}\n\n{t}" for t, o in zip(texts, owners, strict=True)]
        else:
            nodes, owners = index.chunk_nodes(part)
            ids = [n.node_id for n in nodes]
            texts = [n.get_content(MetadataMode.NONE) for n in nodes]
            metas = [dict(n.metadata) for n in nodes]
            embed = [index.embed_text_of(n) for n in nodes]
        vecs = np.asarray(index.embed_texts(embed), dtype=np.float32)
        write_chunks = index._chunks.upsert if start == start_at and start else index._chunks.add
        write_chunks(ids=ids, embeddings=vecs, documents=texts, metadatas=metas)
        owner = np.asarray(owners)
        paper_vecs, counts = [], []
        for k in range(len(part)):
            mean = vecs[owner == k].mean(axis=0)
            paper_vecs.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
            counts.append(int((owner == k).sum()))
        index._papers.upsert(
            ids=[p.id for p in part],
            embeddings=np.asarray(paper_vecs),
            documents=[p.abstract for p in part],
            metadatas=[index._paper_meta(p, c) for p, c in zip(part, counts, strict=True)],
        )
        print(f"  loaded {start + len(part)} / {len(papers)}", file=sys.stderr, flush=True)
        if after_batch:
            after_batch()
    index.sync_keywords()


def store_only(
    n: int,
    work: Path,
    chroma_url: str | None,
    batch: int,
    word_chunks: bool = False,
    with_serve: bool = False,
) -> dict[str, Any]:
    """Load n synthetic papers with hashed vectors into the store and keyword index; time it."""
    from paperqa.index import PaperIndex
    from paperqa.ingest import parse_files
    from paperqa.settings import Settings

    jsonl = work / f"synthetic_{n}.jsonl"
    if not jsonl.is_file():
        generate(n, jsonl)
    home = work / f"store_only_{n}{'_server' if chroma_url else ''}"
    loaded = home / "loaded.json"  # written when the load finished: a rerun only measures
    settings = Settings(home=home, chroma_url=chroma_url)
    settings.index.collection = f"storeonly{n}"
    settings.embedding.batch_size = batch
    loading = home / "loading.json"  # an unfinished load: resumed where its papers end
    if not loaded.is_file():
        tokenizer_index = PaperIndex(Settings(home=work / "tokenizer_home"))
        real = tokenizer_index.embed_model  # for its tokenizer only
        tokenizer_index.close()
        spent, start_at = 0.0, 0
        if loading.is_file():
            index = PaperIndex(settings, embed_model=HashedEmbedding(real))
            spent = json.loads(loading.read_text())["seconds"]
            start_at = index._papers.count() // batch * batch
            print(f"  resuming at {start_at} papers ({spent:.0f} s so far)", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
            index = PaperIndex(settings, embed_model=HashedEmbedding(real))
            if chroma_url:
                index.delete_all()  # a server keeps collections between runs
                index.close()
                index = PaperIndex(settings, embed_model=HashedEmbedding(real))
        home.mkdir(parents=True, exist_ok=True)
        papers = parse_files([jsonl]).papers
        t0 = time.perf_counter()

        def note_progress() -> None:  # the time so far, for a resumed load to add to
            loading.write_text(json.dumps({"seconds": spent + time.perf_counter() - t0}))

        bulk_load(index, papers, batch, word_chunks, start_at, note_progress)
        seconds = spent + time.perf_counter() - t0
        chunks = index._chunks.count()
        index.close()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        record = {"seconds": seconds, "peak_rss_mb": rss, "chunks": chunks, "word_chunks": word_chunks}
        loaded.write_text(json.dumps(record))
        loading.unlink(missing_ok=True)
        del index, real, papers
        import gc

        gc.collect()
    load = json.loads(loaded.read_text())
    if os.environ.get("SCALE_LOAD_ONLY"):
        return {"papers": n, "loaded": load}
    (p50, p95), (s50, s95) = retrieval_latency(home, chroma_url, True, settings.index.collection)
    server = _chroma_server_pid(chroma_url)
    serve = serve_startup(home, settings.index.collection, chroma_url) if with_serve else {}
    return {
        "papers": n,
        "vectors": "hashed",
        "chunking": "estimated tokens" if load.get("word_chunks") else "tokenizer (as ingest)",
        "chunks_per_paper": round(load["chunks"] / n, 2) if load.get("chunks") else None,
        "store": "chroma server" if chroma_url else "embedded",
        "insert_papers_per_s": round(n / load["seconds"], 1),
        "insert_s": round(load["seconds"], 1),
        "retrieval_ms_p50": round(p50, 2),
        "retrieval_ms_p95": round(p95, 2),
        "summary_retrieval_ms_p50": round(s50, 2),
        "summary_retrieval_ms_p95": round(s95, 2),
        "loader_peak_rss_mb": round(load["peak_rss_mb"], 1),
        "chroma_server_rss_mb": round(_rss_mb(server), 1) if server else None,
        "disk_mb": round((_du(home) + _server_disk(server)) / 2**20, 1),
        **serve,
    }


def serve_startup(
    home: Path, collection: str | None = None, chroma_url: str | None = None
) -> dict[str, float]:
    """`paperqa serve` on a data folder, as a user starts it: seconds from launch until the page
    is served and takes questions (`serve_ready_s`) and until the first answer arrives through its
    API (`first_answer_s`: the models load in the background meanwhile), its RSS at those two
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
    ap.add_argument("--chroma-url", default=None, help="With --store-only: a `chroma run` server.")
    ap.add_argument("--batch", type=int, default=2000, help="With --store-only: papers written per batch.")
    ap.add_argument(
        "--word-chunks",
        action="store_true",
        help="With --store-only: cut chunks by estimated tokens (words x 1.3) instead of tokenizing.",
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.store_only:
        rows_file = args.out / "store_only.json"
        rows: list[dict[str, Any]] = json.loads(rows_file.read_text()) if rows_file.is_file() else []
        for n in args.store_only:
            row = store_only(n, args.work, args.chroma_url, args.batch, args.word_chunks, args.serve)
            print(json.dumps(row), flush=True)
            if "loaded" in row:
                continue
            rows = [r for r in rows if (r["papers"], r["store"]) != (n, row["store"])] + [row]
            rows.sort(key=lambda r: (r["store"], r["papers"]))
            _write_rows(
                args.out / "store_only",
                "# Store-only scale benchmark\n\nMeasured with `python benchmarks/scale.py --store-only N "
                f"[--chroma-url URL]` on {os.cpu_count()} cores. Vectors are hashed bags of words "
                "(`HashedEmbedding`), not the embedding model's: these rows measure the store, the keyword "
                "index and retrieval with the real query model, not ingest speed or answer quality. "
                "Summary searches run twice (relevance feedback) and are timed apart.",
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
