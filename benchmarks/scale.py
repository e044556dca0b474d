"""Scale benchmark: ingest throughput vs raw embedding throughput, retrieval latency, memory, disk.

    .venv/bin/python benchmarks/scale.py --sizes 1000 10000 100000 --out benchmarks/results

For each size it generates perturbed copies of the bundled corpus (arXiv-style JSONL: new method
names, shuffled sentences, changed numbers), ingests them into a fresh data folder in a subprocess
(peak RSS measured there), measures the raw embedding throughput of the same texts in the same run,
times warm hybrid retrieval on the development questions, measures the serve process's peak RSS
and the index size on disk. Writes results.json, results.md and scale.png.
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


def ingest_subprocess(jsonl: Path, home: Path) -> dict[str, float]:
    code = (
        "import json,resource,sys,time;from pathlib import Path;from paperqa.api import PaperQA;"
        "from paperqa.settings import Settings;t=time.perf_counter();"
        f"r=PaperQA(Settings(home=Path({str(home)!r}))).ingest([Path({str(jsonl)!r})]);"
        "print(json.dumps({'papers':r.papers,'seconds':time.perf_counter()-t,"
        "'peak_rss_mb':resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024}))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def retrieval_latency(home: Path) -> tuple[float, float]:
    from paperqa.api import PaperQA
    from paperqa.evaluate import load_questions
    from paperqa.settings import Settings

    app = PaperQA(Settings(home=home))
    app.warm_up_retrieval()
    times = []
    for q in load_questions(ROOT / "eval" / "dev.jsonl"):
        t0 = time.perf_counter()
        app.retriever.search(q.standalone, k=5)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def serve_rss(home: Path) -> float:
    """Peak RSS (MB) of `paperqa serve` after start-up and a few questions through its API."""
    import socket

    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PAPERQA_HOME": str(home)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "paperqa"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = None
        for _ in range(600):
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:
                time.sleep(1)
        if client is not None:
            for q in ("What speedup does the method report?", "Summarize work on process reward models."):
                client.predict(q, api_name="/ask")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--embed-sample", type=int, default=400)
    ap.add_argument("--skip-serve", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    work = Path(tempfile.mkdtemp(prefix="paperqa-scale-"))
    try:
        for n in args.sizes:
            jsonl = generate(n, work / f"synthetic_{n}.jsonl")
            raw = raw_embedding_rate(jsonl, min(args.embed_sample, n), work)
            home = work / f"home_{n}"
            ing = ingest_subprocess(jsonl, home)
            p50, p95 = retrieval_latency(home)
            row = {
                "papers": n,
                "ingest_papers_per_s": round(n / ing["seconds"], 2),
                "raw_embed_papers_per_s": round(raw, 2),
                "ratio": round((n / ing["seconds"]) / raw, 3),
                "ingest_peak_rss_mb": round(ing["peak_rss_mb"], 1),
                "serve_peak_rss_mb": None if args.skip_serve else round(serve_rss(home), 1),
                "retrieval_ms_p50": round(p50, 2),
                "retrieval_ms_p95": round(p95, 2),
                "index_mb": round(_du(home) / 2**20, 1),
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    keys = list(results[0])
    md = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    md += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in results]
    (args.out / "results.md").write_text(
        "# Scale benchmark\n\nMeasured with `python benchmarks/scale.py --sizes "
        + " ".join(map(str, args.sizes))
        + f"` on {os.cpu_count()} cores.\n\n"
        + "\n".join(md)
        + "\n"
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    xs = [r["papers"] for r in results]
    a.plot(xs, [r["ingest_papers_per_s"] for r in results], "o-", label="ingest")
    a.plot(xs, [r["raw_embed_papers_per_s"] for r in results], "s--", label="raw embedding")
    a.set_xscale("log"), a.set_title("papers / s"), a.legend()
    b.plot(xs, [r["retrieval_ms_p50"] for r in results], "o-", label="p50")
    b.plot(xs, [r["retrieval_ms_p95"] for r in results], "s--", label="p95")
    b.set_xscale("log"), b.set_title("hybrid retrieval, ms"), b.legend()
    fig.tight_layout()
    fig.savefig(args.out / "scale.png", dpi=110)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
