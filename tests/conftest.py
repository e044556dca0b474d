"""Shared fixtures: a real Chroma index of the bundled corpus (built once per session with
the real embedding model), helpers to run the CLI as a user would, and a scripted LLM for
unit tests of prompt and citation logic."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"
DEV = ROOT / "eval" / "dev.jsonl"
ARTIFACTS = ROOT / "artifacts"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


class ScriptedLLM:
    """A fake ChatModel that replies with scripted text (unit tests only)."""

    name = "scripted"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.prompts: list[tuple[str, str]] = []
        self.limits: list[int | None] = []  # the max_tokens asked for, per call

    def stream(self, system: str, user: str, max_tokens: int | None = None) -> Iterator[str]:
        self.prompts.append((system, user))
        self.limits.append(max_tokens)
        reply = self.replies.pop(0) if self.replies else ""
        for i in range(0, len(reply), 7):
            yield reply[i : i + 7]


@pytest.fixture(scope="session")
def corpus_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the whole bundled corpus indexed (real Chroma, real embeddings)."""
    from paperqa.api import PaperQA
    from paperqa.settings import Settings

    home = tmp_path_factory.mktemp("corpus_home")
    app = PaperQA(Settings(home=home))
    report = app.ingest()
    assert report.papers == 550
    return home


@pytest.fixture(scope="session")
def app(corpus_home: Path):  # type: ignore[no-untyped-def]
    """A PaperQA over the indexed corpus; the LLM is set per test."""
    from paperqa.api import PaperQA
    from paperqa.settings import Settings

    return PaperQA(Settings(home=corpus_home))


@pytest.fixture()
def home_copy(corpus_home: Path, tmp_path: Path) -> Path:
    """A private copy of the indexed data folder (Chroma's embedded store is not process-safe)."""
    dst = tmp_path / "home"
    shutil.copytree(corpus_home, dst)
    return dst


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(proc: subprocess.Popen, url: str, what: str, headers: dict[str, str] | None = None) -> None:  # type: ignore[type-arg]
    """Wait until a server we started answers `url`; fail with its name if it exits or hangs."""
    import time
    import urllib.request

    for _ in range(240):
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2)
            return
        except Exception:
            if proc.poll() is not None:
                pytest.fail(f"{what} exited")
            time.sleep(0.5)
    proc.terminate()
    pytest.fail(f"{what} did not start")


@contextmanager
def serving(
    proc: subprocess.Popen, probe: str, what: str, headers: dict[str, str] | None = None
) -> Iterator[None]:  # type: ignore[type-arg]
    """A server process we started, once it answers `probe` (`wait_http`); stopped afterwards,
    whatever the tests did."""
    try:
        wait_http(proc, probe, what, headers)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 300):  # type: ignore[no-untyped-def]
    """Run `paperqa ...` in a subprocess, as a user would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERQA_")}
    full_env["PAPERQA_HOME"] = str(home)
    full_env.update(env or {})
    exe = Path(sys.executable).parent / "paperqa"
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the session's real index loads the real embedding model: it is `slow` (left out
    of `make check`, the fast tier), whether or not its module says so."""
    real = {"corpus_home", "app", "home_copy"}
    for item in items:
        if real & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
