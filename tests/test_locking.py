"""The data folder's file locks (real files): one holder at a time, the others told who it is;
a claim shared by one process's users; a waiting writer; a dead holder's lock is free."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from paperqa.api import writer_lock
from paperqa.errors import PaperQAError, StoreError
from paperqa.store import locking
from paperqa.store.chroma import STORE_LOCK, claim_store, release_store


def _another_process(then: str, path: Path) -> list[str]:
    """A Python command that tries the lock on `path`, then runs `then` (with `lock`, `holder`)."""
    code = f"import sys, time; from pathlib import Path; from paperqa.store import locking; lock, holder = locking.try_lock(Path(sys.argv[1])); {then}"
    return [sys.executable, "-c", code, str(path)]


def _busy(holder: str) -> PaperQAError:
    return PaperQAError(f"held by pid {holder}", hint="wait")


def test_a_second_holder_is_refused_and_told_the_first_ones_pid(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    first, _ = locking.try_lock(path)
    assert first is not None
    second, holder = locking.try_lock(path)
    assert second is None and holder.startswith(f"{os.getpid()}: ")
    with pytest.raises(PaperQAError, match=f"held by pid {os.getpid()}: "), locking.held(path, _busy):
        pass
    locking.release(first)


def test_another_process_is_refused_while_this_one_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with locking.held(path, _busy):
        command = _another_process("print(lock is None, holder)", path)
        out = subprocess.run(command, capture_output=True, text=True, check=True)
    assert out.stdout.startswith(f"True {os.getpid()}: ")


def test_a_released_lock_is_free_again_and_leaves_no_holder_note(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with locking.held(path, _busy):
        assert locking.holder_note(path).exists()
    assert not locking.holder_note(path).exists()
    lock, holder = locking.try_lock(path)
    assert lock is not None and holder == ""
    locking.release(lock)


def test_the_lock_of_a_killed_holder_is_free(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    command = _another_process("print('held', flush=True); time.sleep(60)", path)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        assert locking.try_lock(path)[1].startswith(f"{proc.pid}: ")
    finally:
        proc.kill()
        proc.wait()
    lock, _ = locking.try_lock(path)  # its note is stale; the new holder writes its own
    assert lock is not None and locking.holder_of(path).startswith(f"{os.getpid()}: ")
    locking.release(lock)


def test_a_claim_is_shared_by_this_processs_users_and_freed_by_the_last(tmp_path: Path) -> None:
    path = tmp_path / "store.lock"
    assert locking.claim(path, _busy) is True
    assert locking.claim(path, _busy) is False  # a second user in this process shares it
    locking.unclaim(path)
    assert locking.try_lock(path)[0] is None  # one user left: still held
    locking.unclaim(path)
    lock, _ = locking.try_lock(path)
    assert lock is not None
    locking.release(lock)
    locking.unclaim(path)  # past the last user: nothing happens


def test_a_waiting_writer_goes_in_when_the_holder_leaves(tmp_path: Path) -> None:
    path = tmp_path / ".lock"
    order: list[str] = []
    inside = threading.Event()

    def holder() -> None:
        with locking.waiting(path):
            order.append("first in")
            inside.set()
            time.sleep(0.3)
            order.append("first out")

    t = threading.Thread(target=holder)
    t.start()
    inside.wait(5)
    with locking.waiting(path):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]


def test_the_store_and_the_ingest_lock_name_their_holder_and_say_what_to_do(tmp_path: Path) -> None:
    lock, _ = locking.try_lock(tmp_path / STORE_LOCK)
    with pytest.raises(StoreError, match=f"open in another process \\(pid {os.getpid()}: ") as store:
        claim_store(tmp_path)
    assert store.value.hint and "chroma run" in store.value.hint
    assert lock is not None
    locking.release(lock)
    assert claim_store(tmp_path) is True
    release_store(tmp_path)
    busy = f"another ingest is writing .*pid {os.getpid()}: "
    with writer_lock(tmp_path), pytest.raises(PaperQAError, match=busy) as ingest, writer_lock(tmp_path):
        pass
    assert ingest.value.hint == "wait for it to finish, then retry"
