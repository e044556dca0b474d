"""The data folder's files are the user's alone: the folder is created 0700, its SQLite files
0600, so other accounts on the machine cannot read the saved chats or the index (the per-login
separation of the chats would mean nothing otherwise). An upload is stored once per content.

May touch: creates folders and empty files, and sets their modes; reads and copies uploads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# Hex digits of an upload's SHA-256 naming its folder: 64 bits, no collision among uploads.
UPLOAD_HASH_CHARS = 16


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) when missing; the folder itself 0700 when this creates it.
    A folder that exists keeps its mode: the operator may have shared it on purpose."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=PRIVATE_DIR)
            os.chmod(path, PRIVATE_DIR)  # mkdir's mode is cut by the umask; this is not
    return path


def private_file(path: Path) -> Path:
    """Create an empty `path` readable by its owner only, unless it exists. SQLite opens an empty
    file as a new database, and its -wal and -shm files take the database file's mode."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    return path


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def store_upload(src: Path, folder: Path, name: str) -> Path:
    """Copy an upload to `folder/<content hash>/<name>`; the same content uploaded again, under
    any name of the same type (its suffix says how it is parsed), is the copy already there."""
    dest = private_dir(folder) / file_digest(src)[:UPLOAD_HASH_CHARS]
    suffix = Path(name).suffix.lower()
    if dest.is_dir():
        kept = sorted(p for p in dest.iterdir() if p.is_file() and p.suffix.lower() == suffix)
        if kept:
            return kept[0]
    private_dir(dest)
    target = dest / name
    # Copied under a temporary name, then renamed: a copy cut short is never taken for the upload.
    partial = dest / f".{name}.partial"
    partial.touch(mode=PRIVATE_FILE)
    shutil.copyfile(src, partial)
    partial.replace(target)
    return target
