"""What the paper catalog (SQLite) writes to disk per paper in a large write: bytes a process wrote
(/proc/self/io) while it put N synthetic papers into a new catalog, 2,000 a call as ingest and the
scale loader do, against the catalog's size after.

    .venv/bin/python benchmarks/catalog_writes.py [--papers 200000] [--out benchmarks/results]

Modes: `bulk` is how a large write runs now (`PaperCatalog.bulk_write`: the puts commit together,
every BULK_COMMIT papers, SQLite's log copied into the file every BULK_LOG_PAGES pages, the
text-search index built at the end); `each_put` commits every put alone with SQLite's default log
size, the text-search index still built at the end (a large write before). Each mode runs in a
fresh process on a fresh catalog. Writes catalog_writes.json and catalog_writes.md.

May touch: a temporary folder (removed after) and the two result files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
PUT = 2000
MODES = ("bulk", "each_put")


def _written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes"):
            return int(line.split()[1])
    return 0


def run(mode: str, jsonl: Path, papers: int, folder: Path) -> dict[str, Any]:
    """Put the first `papers` papers of `jsonl` into a new catalog in `folder` (this process)."""
    from paperqa.ingest.jsonl import parse_jsonl
    from paperqa.ingest.merge import identifier_keys
    from paperqa.store import catalog as module

    lines = jsonl.read_text(encoding="utf-8").splitlines(keepends=True)[:papers]
    catalog = module.PaperCatalog(folder / module.CATALOG_FILE, "bench", identifier_keys)
    if mode == "each_put":  # every put its own transaction; the text index still waits for the end
        module.BULK_COMMIT, module.BULK_LOG_PAGES = 1, 1000
    before, t0 = _written(), time.perf_counter()
    with catalog.bulk_write():
        for start in range(0, papers, PUT):
            batch, _errors = parse_jsonl("".join(lines[start : start + PUT]), jsonl.name)
            catalog.put(batch, {p.id: "18ef23860de94332|0.120.2179736299,100.240.17" for p in batch})
    catalog.close()
    os.sync()
    written = _written() - before
    disk = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    return {
        "mode": mode,
        "papers": papers,
        "seconds": round(time.perf_counter() - t0, 1),
        "written_mb": round(written / 2**20, 1),
        "disk_mb": round(disk / 2**20, 1),
        "written_over_disk": round(written / disk, 2),
        "written_kb_per_paper": round(written / papers / 1024, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--papers", type=int, default=200_000)
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--one", nargs=3, metavar=("MODE", "JSONL", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # the child: one mode, its row on stdout
        mode, jsonl, folder = args.one
        print(json.dumps(run(mode, Path(jsonl), args.papers, Path(folder))))
        return
    from scale import generate

    with tempfile.TemporaryDirectory(prefix="catalog-writes-") as tmp:
        jsonl = generate(args.papers, Path(tmp) / "papers.jsonl")
        rows = []
        for mode in args.modes:
            folder = Path(tmp) / mode
            folder.mkdir()
            cmd = [
                sys.executable,
                __file__,
                "--papers",
                str(args.papers),
                "--one",
                mode,
                str(jsonl),
                str(folder),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    write_results(rows, args.out)


def write_results(new: list[dict[str, Any]], out: Path) -> None:
    """catalog_writes.json and .md in `out`: these rows, and the kept rows of other modes or sizes."""
    from scale import write_kept_rows

    intro = (
        "# What the paper catalog writes per paper in a large write\n\n"
        f"Measured with `python benchmarks/catalog_writes.py --papers N` on {os.cpu_count()} cores: bytes "
        "the process wrote (/proc/self/io) while it put N synthetic papers (`scale.py`'s) into a new "
        "catalog, 2,000 a call, and the catalog's size after. `bulk`: as a large write runs now "
        "(`PaperCatalog.bulk_write`); `each_put`: every put committed alone, SQLite's default log size."
    )
    order = {mode: i for i, mode in enumerate(MODES)}
    write_kept_rows(out / "catalog_writes", intro, new, lambda r: (r["papers"], order.get(r["mode"], 99)))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
