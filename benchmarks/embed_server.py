"""Embedding-server benchmark: papers/s embedding the bundled corpus through an OpenAI-compatible
embeddings server (infinity-emb serving the bundled all-MiniLM-L6-v2 on loopback) with 1, 2 and 4
batches in flight, next to in-process embedding with the same model.

    .venv/bin/python benchmarks/embed_server.py --out benchmarks/results

One text per paper (title, a blank line, the abstract: 550 texts), `embedding.batch_size` texts
per request; each configuration is timed `--repeats` times, round-robin (so a change in the
machine's load falls on all of them alike) and reported by its median. infinity is started from
`--infinity` (default: .venv-infinity/bin/infinity_emb, made by `make infinity`), or `--url`
names a server that is already running. Writes embed_server.json and embed_server.md
(`--rewrite` only remakes the Markdown from the JSON).

May touch: starts and stops one infinity process on 127.0.0.1; writes the two result files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CONCURRENCIES = (1, 2, 4)  # what the issue asks for; 4 is the setting's default
SERVED_NAME = "all-MiniLM-L6-v2"
STARTUP_S = 180  # loading torch and the model takes ~20 s on an idle 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_infinity(exe: str, model_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1"}
    cmd = [exe, "v2", "--model-id", model_dir, "--served-model-name", SERVED_NAME, "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--device", "cpu", "--engine", "torch", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"infinity exited (code {proc.returncode}): run it by hand to see why")
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"infinity did not answer {url}/models within {STARTUP_S} s")


def measure(url: str, repeats: int, batch_size: int) -> dict[str, Any]:
    """Papers/s for in-process embedding and for the server at each of CONCURRENCIES."""
    from paperqa.api import bundled_corpus
    from paperqa.ingest.parse import expand_paths, parse_files
    from paperqa.settings import EmbeddingSettings
    from paperqa.store.embedding import make_embed_model

    papers = parse_files(expand_paths([bundled_corpus()])).papers
    texts = [f"{p.title}\n\n{p.abstract}" for p in papers]
    models: dict[str, Any] = {"in-process": make_embed_model(EmbeddingSettings(batch_size=batch_size))}
    for c in CONCURRENCIES:
        models[f"server, concurrency {c}"] = make_embed_model(
            EmbeddingSettings(
                provider="openai-compatible",
                base_url=url,
                model=SERVED_NAME,
                batch_size=batch_size,
                concurrency=c,
            )
        )
    for model in models.values():  # warm: first-call costs (threads, connections) are not throughput
        model.get_text_embedding_batch(texts[: batch_size * 4])
    seconds: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            t0 = time.perf_counter()
            vecs = model.get_text_embedding_batch(texts)
            seconds[name].append(time.perf_counter() - t0)
            assert len(vecs) == len(texts)
            print(f"{name}: {seconds[name][-1]:.1f} s", file=sys.stderr, flush=True)
    rows = []
    for name, secs in seconds.items():
        med = statistics.median(secs)
        rows.append(
            {
                "config": name,
                "papers": len(texts),
                "median_s": round(med, 2),
                "papers_per_s": round(len(texts) / med, 1),
                "runs_s": [round(s, 2) for s in secs],
            }
        )
    return {"rows": rows, "texts": len(texts), "batch_size": batch_size, "repeats": repeats}


def write(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "embed_server.json").write_text(json.dumps(result, indent=2) + "\n")
    base = result["rows"][0]["papers_per_s"]
    lines = [
        "# Embedding through an OpenAI-compatible server",
        "",
        f"`{result['command']}`",
        "",
        f"{result['texts']} texts (title + abstract of every bundled paper), batch size "
        f"{result['batch_size']}, all-MiniLM-L6-v2 on CPU both in process (sentence-transformers via "
        f"llama-index) and in infinity-emb {result['infinity_version']} on 127.0.0.1; median of "
        f"{result['repeats']} round-robin runs.",
        "",
        "| configuration | median s | papers/s | vs in-process | runs (s) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for r in result["rows"]:
        runs = ", ".join(f"{s:.2f}" for s in r["runs_s"])
        lines.append(
            f"| {r['config']} | {r['median_s']:.2f} | {r['papers_per_s']:.1f} | "
            f"{r['papers_per_s'] / base:.2f}x | {runs} |"
        )
    spread = max(max(r["runs_s"]) / min(r["runs_s"]) for r in result["rows"])
    lines += [
        "",
        f"Machine: {result['cores']} cores ({result['machine']}); load average (1, 5, 15 min) "
        f"{result['load_before']} before and {result['load_after']} after the runs. Client and server "
        "share those cores: the server's model computes on the same CPUs as the client that sends "
        "and decodes the batches, so concurrency here can only overlap the HTTP and JSON work with "
        "the model's work, not add compute. A load average above the core count means other "
        f"processes were running too: the slowest run of one configuration took {spread:.2f}x its "
        "fastest, and differences between configurations smaller than that are noise, not a ranking.",
        "",
    ]
    (out / "embed_server.md").write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--infinity", default=str(ROOT / ".venv-infinity" / "bin" / "infinity_emb"))
    ap.add_argument("--url", help="an OpenAI-compatible server already serving all-MiniLM-L6-v2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64, help="texts per request (the setting's default)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--rewrite", action="store_true", help="only rewrite the Markdown from the JSON in --out")
    args = ap.parse_args()
    if args.rewrite:
        write(json.loads((args.out / "embed_server.json").read_text()), args.out)
        return

    from paperqa.settings import apply_offline_defaults
    from paperqa.store.embedding import default_embedding_path

    apply_offline_defaults()
    # A SIGTERM (a `timeout`, say) unwinds like Ctrl-C, so the server started here is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    proc = None
    url = args.url
    if not url:
        if not Path(args.infinity).is_file():
            raise SystemExit(f"no infinity at {args.infinity}: run `make infinity` or pass --infinity/--url")
        proc, url = _start_infinity(args.infinity, default_embedding_path())
    try:
        load_before = [round(x, 2) for x in os.getloadavg()]
        result = measure(url, args.repeats, args.batch_size)
        result["load_before"] = load_before
        result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    version = "?"
    if proc is not None:
        pip_show = subprocess.run(
            [
                str(Path(args.infinity).parent / "python"),
                "-c",
                "import infinity_emb; print(infinity_emb.__version__)",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        version = pip_show.stdout.strip() or "?"
    result.update(
        infinity_version=version, cores=os.cpu_count(), machine=platform.processor() or platform.machine()
    )
    result["command"] = " ".join(["python benchmarks/embed_server.py", *sys.argv[1:]])
    write(result, args.out)
    print((args.out / "embed_server.md").read_text())


if __name__ == "__main__":
    main()
