"""File locks between processes: the one module behind the data folder's three locks.

* `held(path, busy)`: hold a lock for a block, or fail at once naming the process that holds it
  (one ingest at a time per data folder).
* `claim(path, busy)` / `unclaim(path)`: a lock this process holds while any of its users needs
  it, shared by its threads (the embedded Chroma store, which one process at a time may open).
* `waiting(path)`: hold a lock for a block, waiting for whoever holds it (the keyword writer).

The locks are `filelock`'s (flock on Unix): the kernel frees a lock when its process dies, so a
killed run never leaves a stale lock behind. A holder writes "pid: command" to a note beside the
lock file (`<lock>.holder`), so a process that cannot take the lock can say who has it.

May touch: the lock files and holder notes at the paths it is given; nothing else.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import BaseFileLock, FileLock, Timeout

# What a lock's holder is called when its note is missing (it is taking or giving up the lock).
UNKNOWN_HOLDER = "unknown"


def holder_note(path: Path) -> Path:
    """Where the holder of the lock file `path` says who it is."""
    return path.with_name(path.name + ".holder")


def _new_lock(path: Path, wait: bool) -> BaseFileLock:
    # One object per holding: two of them conflict in one process as across processes. Not
    # thread-local: a claim taken in one thread may be given up in another.
    return FileLock(str(path), timeout=-1 if wait else 0, thread_local=False)


def try_lock(path: Path) -> tuple[BaseFileLock | None, str]:
    """Take the lock on `path` without waiting. Returns the held lock (`release` frees it) and
    "", or None and what its holder wrote ("pid: command")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _new_lock(path, wait=False)
    try:
        lock.acquire()
    except Timeout:
        return None, holder_of(path)
    note = holder_note(path)
    draft = note.with_name(f"{note.name}.{os.getpid()}")
    draft.write_text(f"{os.getpid()}: {' '.join(Path(a).name for a in sys.argv[:2])}")
    os.replace(draft, note)  # a reader sees the whole note or none
    return lock, ""


def holder_of(path: Path) -> str:
    """What the holder of the lock on `path` wrote about itself."""
    try:
        return holder_note(path).read_text().strip() or UNKNOWN_HOLDER
    except FileNotFoundError:
        return UNKNOWN_HOLDER


def release(lock: BaseFileLock) -> None:
    """Free a lock taken with `try_lock`. Its note goes first, while the lock is still held:
    only a holder ever writes or removes a note."""
    holder_note(Path(lock.lock_file)).unlink(missing_ok=True)
    lock.release()


@contextlib.contextmanager
def held(path: Path, busy: Callable[[str], Exception]) -> Iterator[None]:
    """Hold the lock on `path` for the block; raise `busy(holder)` when another holds it."""
    lock, holder = try_lock(path)
    if lock is None:
        raise busy(holder)
    try:
        yield
    finally:
        release(lock)


@contextlib.contextmanager
def waiting(path: Path) -> Iterator[None]:
    """Hold the lock on `path` for the block, waiting as long as another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _new_lock(path, wait=True):
        yield


@dataclass
class _Claim:
    lock: BaseFileLock
    users: int = 1  # users in this process


_CLAIMS: dict[str, _Claim] = {}  # by resolved lock file
_CLAIMS_LOCK = threading.Lock()


def claim(path: Path, busy: Callable[[str], Exception]) -> bool:
    """Hold the lock on `path` for this process, on behalf of one more user. Returns whether this
    user is the first in this process (the others share its holding); raises `busy(holder)` when
    another process holds it."""
    key = str(path.resolve())
    with _CLAIMS_LOCK:
        if key in _CLAIMS:
            _CLAIMS[key].users += 1
            return False
        lock, holder = try_lock(path)
        if lock is None:
            raise busy(holder)
        _CLAIMS[key] = _Claim(lock)
        return True


def unclaim(path: Path) -> None:
    """One user of a `claim` is done; the last one frees the lock. Idempotent past the last."""
    key = str(path.resolve())
    with _CLAIMS_LOCK:
        held_claim = _CLAIMS.get(key)
        if held_claim is None:
            return
        held_claim.users -= 1
        if held_claim.users <= 0:
            release(held_claim.lock)
            del _CLAIMS[key]
