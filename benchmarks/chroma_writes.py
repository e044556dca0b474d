"""What a Chroma server writes to disk per record, by the metadata its records carry: bytes the
`chroma run` process wrote (/proc/<pid>/io) while N chunk-like records were added, against the
store's size on disk after.

    .venv/bin/python benchmarks/chroma_writes.py [--records 200000] [--out benchmarks/results]

Each layout loads a fresh `chroma run --path <tmp>` on a free local port: random unit vectors of
384 dimensions in batches of 1,000, ids like the store's ("<paper id>:<n>", paper ids hashes),
HNSW synced every 30,000 vectors (as the 1M load). Chunk layouts: no metadata (chunk records
now: `none_ordered`, their ids beginning with their write's key; `none`, as before keys); the
paper id only; the five keys chunk records had (paper id, number, start, end, checksum);
the two they had next (paper id and the span as one value). Paper layouts (one record a paper, a
1.5 KB JSON and a state value): as they are, and with values that begin with the time they were
written (their string index then grows at its end instead of at random places). `--layouts`
picks some. Writes chroma_writes.json and chroma_writes.md (rows of other layouts are kept).

May touch: a temporary folder per layout (removed after) and the two result files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BATCH = 1000
DIM = 384
LAYOUTS = (
    "none",
    "none_ordered",
    "paper_id",
    "five_keys",
    "paper_id_and_span",
    "paper_json_state",
    "paper_json_state_ordered",
)
PAPER_LAYOUTS = ("paper_json_state", "paper_json_state_ordered")
WORDS = "model training data layer loss sparse memory gradient token batch attention rank".split()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _written(pid: int) -> int:
    text = Path(f"/proc/{pid}/io").read_text()
    return int(re.search(r"write_bytes:\s+(\d+)", text).group(1))  # type: ignore[union-attr]


def _paper_metadata(rid: str, ordered: bool) -> dict[str, Any]:
    """A paper record's metadata: a JSON of about 1.5 KB (an abstract of made-up words) and its
    state (hashes, count, spans); `ordered`: each value begins with the time it is written."""
    digest = hashlib.sha1(rid.encode()).hexdigest()
    abstract = " ".join(WORDS[int(digest[i % 40], 16) % len(WORDS)] for i in range(190))
    raw = json.dumps({"id": rid, "title": f"Paper {digest[:8]}", "abstract": abstract, "authors": 3})
    state = f"{digest[:16]}:{digest[16:32]}:2:0.{len(abstract) // 2}.{int(digest[:8], 16)},1.900.{int(digest[8:16], 16)}"
    if ordered:
        stamp = f"{time.time_ns():016x}|"
        return {"json": stamp + raw, "state": stamp + state}
    return {"json": raw, "state": state}


def _metadatas(layout: str, ids: list[str]) -> list[dict[str, Any]] | None:
    """The records' metadata in one layout (spans made up: their values are what matters)."""
    if layout in ("none", "none_ordered"):
        return None
    if layout in PAPER_LAYOUTS:
        return [_paper_metadata(rid, layout.endswith("ordered")) for rid in ids]
    out: list[dict[str, Any]] = []
    for rid in ids:
        pid, n = rid.rsplit(":", 1)
        start = int(hashlib.sha1(rid.encode()).hexdigest()[:4], 16)
        check = int(hashlib.sha1(rid.encode()).hexdigest()[4:12], 16)
        if layout == "paper_id":
            out.append({"paper_id": pid})
        elif layout == "five_keys":
            out.append({"paper_id": pid, "chunk": int(n), "start": start, "end": start + 900, "check": check})
        else:
            out.append({"paper_id": pid, "span": f"{n}:{start}:{start + 900}:{check}"})
    return out


def load(layout: str, records: int) -> dict[str, Any]:
    """Add `records` records in one layout to a fresh server; its bytes written and disk."""
    import chromadb

    path = Path(tempfile.mkdtemp(prefix=f"chroma-writes-{layout}-"))
    port = _free_port()
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    chroma = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        for _ in range(200):
            try:
                client = chromadb.HttpClient(host="127.0.0.1", port=port)
                client.heartbeat()
                break
            except Exception:  # not up yet
                time.sleep(0.2)
        else:
            raise SystemExit(
                f"error: chroma run on port {port} did not start\nhint: run `{chroma} run` by hand"
            )
        hnsw = {"space": "cosine", "sync_threshold": 30000, "batch_size": 3000}
        col = client.get_or_create_collection("chunks", configuration={"hnsw": hnsw})  # type: ignore[arg-type]
        rng = np.random.default_rng(0)
        before, t0 = _written(server.pid), time.perf_counter()
        for start in range(0, records, BATCH):
            ids = []
            for i in range(start, min(records, start + BATCH)):
                if layout in PAPER_LAYOUTS:
                    ids.append("p" + hashlib.sha1(str(i).encode()).hexdigest()[:12])
                    continue
                pid = "p" + hashlib.sha1(str(i // 2).encode()).hexdigest()[:12]
                # "none_ordered": ids that begin with their batch's key, as the store's (`records.chunk_id`)
                ids.append(f"{start:016x}|{pid}:{i % 2}" if layout == "none_ordered" else f"{pid}:{i % 2}")
            vec = rng.standard_normal((len(ids), DIM)).astype(np.float32)
            vec /= np.linalg.norm(vec, axis=1, keepdims=True)
            metas = _metadatas(layout, ids)
            if metas is None:
                col.add(ids=ids, embeddings=vec)
            else:
                col.add(ids=ids, embeddings=vec, metadatas=metas)  # type: ignore[arg-type]
            print(f"\r  {layout}: {start + len(ids)}/{records}", end="", file=sys.stderr, flush=True)
        seconds = time.perf_counter() - t0
        time.sleep(5)  # the server's last flush
        written = _written(server.pid) - before
    finally:
        server.terminate()
        server.wait()
    print(file=sys.stderr)
    disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    shutil.rmtree(path, ignore_errors=True)
    return {
        "layout": layout,
        "records": records,
        "records_per_s": round(records / seconds),
        "written_mb": round(written / 2**20, 1),
        "disk_mb": round(disk / 2**20, 1),
        "written_over_disk": round(written / disk, 2),
        "written_kb_per_record": round(written / records / 1024, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS))
    args = ap.parse_args()
    new = [load(layout, args.records) for layout in args.layouts]
    for row in new:
        print(json.dumps(row))
    write_results(new, args.out)


def write_results(new: list[dict[str, Any]], out: Path) -> None:
    """chroma_writes.json and .md in `out`: these rows, and the kept rows of other layouts or sizes."""
    from scale import write_kept_rows

    intro = (
        "# What a Chroma server writes per record, by its metadata\n\n"
        f"Measured with `python benchmarks/chroma_writes.py --records N [--layouts …]` on {os.cpu_count()} "
        "cores: bytes the `chroma run` process wrote (/proc/<pid>/io) while the records were added, "
        "random unit vectors, ids like the store's (paper ids are hashes), HNSW synced every 30,000. "
        "Chunk layouts: chunk records (none_ordered is how they are now, ids that begin with their write's "
        "key; none, ids that begin with their paper id, as before); paper layouts: one record a paper "
        "(a 1.5 KB JSON and its state), `_ordered` with values that begin with their write time."
    )
    order = {layout: i for i, layout in enumerate(LAYOUTS)}
    write_kept_rows(out / "chroma_writes", intro, new, lambda r: (order.get(r["layout"], 99), r["records"]))


if __name__ == "__main__":
    main()
