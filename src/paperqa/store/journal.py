"""The writer's journal: what a write to Chroma is about to do, kept in the data folder until the
catalog has committed its copy, so that the next writer finishes what a killed one left.

An entry is one write of a batch of papers: the key of its new chunks, how many each paper gets,
the ids of each paper's chunks before (deleted once its record names the new ones), and the papers
whose catalog rows it writes. `PaperIndex.finish_writes` reads the entries left behind: a paper
whose record took the new key loses its old chunks, one whose record did not loses the new ones,
and every paper's catalog row is copied again from its record.

May touch: the data folder's `writes/` folder.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER = "writes"


@dataclass
class Entry:
    """One write in flight (see the module)."""

    key: str
    papers: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    old: dict[str, list[str]] = field(default_factory=dict)


def begin(home: Path, entry: Entry) -> Path:
    """Keep `entry` (written whole or not at all) until `end`; its file."""
    folder = home / FOLDER
    folder.mkdir(exist_ok=True)
    path = folder / f"{entry.key}-{os.getpid()}.json"
    part = path.with_suffix(".part")
    with part.open("w", encoding="utf-8") as fh:
        json.dump(asdict(entry), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, path)
    return path


def end(path: Path) -> None:
    path.unlink(missing_ok=True)


def left(home: Path) -> list[tuple[Path, Entry]]:
    """The entries writes left behind, oldest first; one that does not read (a disk that lost its
    last write) is dropped with a warning."""
    out: list[tuple[Path, Entry]] = []
    folder = home / FOLDER
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append((path, Entry(**json.loads(path.read_text(encoding="utf-8")))))
        except (OSError, ValueError, TypeError) as e:
            log.warning("dropped an unreadable write journal entry %s: %s", path.name, e)
            path.unlink(missing_ok=True)
    for part in folder.glob("*.part") if folder.is_dir() else []:  # never begun: nothing was written
        part.unlink(missing_ok=True)
    return out
