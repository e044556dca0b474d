"""Where a Chroma store's disk goes: the size of each SQLite table and index in its
`chroma.sqlite3` (SQLite's `dbstat`), and of its vector-index folders.

    .venv/bin/python benchmarks/chroma_disk.py DIR [--papers N] [--out benchmarks/results]

DIR is an embedded store's `chroma` folder (`<home>/chroma`) or a `chroma run --path` folder;
`--papers` divides the sizes by the papers it holds. Reads the file only (a scan of every page:
about a minute for 3 GB). Writes chroma_disk.json and chroma_disk.md.

May touch: reads DIR; writes the two result files.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sqlite_parts(db: Path) -> list[tuple[str, int]]:
    """(table or index name, bytes) for every part of the SQLite file, largest first."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    finally:
        con.close()
    return [(str(name), int(size)) for name, size in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--papers", type=int, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    db = args.store / "chroma.sqlite3"
    if not db.is_file():
        raise SystemExit(f"error: no chroma.sqlite3 in {args.store}\nhint: pass a store's chroma folder")
    parts = sqlite_parts(db)
    vectors = sum(
        f.stat().st_size for d in args.store.iterdir() if d.is_dir() for f in d.rglob("*") if f.is_file()
    )
    rows = [{"part": name, "mb": round(size / 2**20, 1)} for name, size in parts[:10]]
    rows.append(
        {"part": "(the rest of the SQLite file)", "mb": round(sum(s for _, s in parts[10:]) / 2**20, 1)}
    )
    rows.append({"part": "(vector index folders)", "mb": round(vectors / 2**20, 1)})
    if args.papers:
        for row in rows:
            row["kb_per_paper"] = round(row["mb"] * 1024 / args.papers, 2)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chroma_disk.json").write_text(
        json.dumps({"store": str(args.store), "papers": args.papers, "rows": rows}, indent=2)
    )
    keys = list(rows[0])
    table = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    table += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
    (args.out / "chroma_disk.md").write_text(
        "# Where a Chroma store's disk goes\n\nMeasured with `python benchmarks/chroma_disk.py DIR --papers N` "
        f"on `{args.store}` ({args.papers or '?'} papers): SQLite's `dbstat` per table and index.\n\n"
        + "\n".join(table)
        + "\n"
    )
    print("\n".join(table))


if __name__ == "__main__":
    main()
