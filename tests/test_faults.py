"""Faults: an ingest killed midway, a second writer, a damaged store, an LLM that dies mid-answer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperqa.api import PaperQA, writer_lock
from paperqa.errors import ConfigError, PaperQAError
from paperqa.settings import Settings

from .conftest import CORPUS, ScriptedLLM, run_cli

pytestmark = pytest.mark.slow
PAGE = "000_adfa45a2c22c7900.txt"  # 119 papers


def _stored_chunks(home: Path) -> int:
    db = home / "chroma" / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return int(con.execute("SELECT count(*) FROM embeddings").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_killed_ingest_is_finished_by_the_next_run(tmp_path: Path) -> None:
    clean = PaperQA(Settings(home=tmp_path / "clean"))
    clean.ingest([CORPUS / PAGE])
    expected_chunks = clean.index._chunks.count()

    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERQA_")}
    env["PAPERQA_HOME"] = str(home)
    env["PAPERQA_INDEX__INGEST_BATCH"] = "32"  # several batches in one page: a kill lands between two
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "paperqa"), "ingest", str(CORPUS / PAGE)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while _stored_chunks(home) == 0 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _stored_chunks(home)
    assert 0 < partial < expected_chunks

    res = run_cli("ingest", str(CORPUS / PAGE), "--json", home=home)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["papers"] == 119 and out["added"] + out["unchanged"] == 119
    app = PaperQA(Settings(home=home))
    assert app.index._chunks.count() == expected_chunks  # nothing twice, nothing lost
    ids = app.index._chunks.get(include=[])["ids"]
    assert len(ids) == len(set(ids))


def test_second_writer_is_told_to_wait(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with writer_lock(home):
        res = run_cli("ingest", str(CORPUS / PAGE), home=home)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "another ingest is writing to" in res.stderr and "wait for it to finish" in res.stderr


def test_damaged_store_gives_a_clear_message(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "chroma").mkdir(parents=True)
    (home / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    res = run_cli("papers", home=home)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "paperqa reset" in res.stderr


def test_a_second_process_is_told_how_to_share_the_store(tmp_path: Path) -> None:
    """Chroma's embedded store is not process-safe: one process holds a data folder."""
    home = tmp_path / "home"
    app = PaperQA(Settings(home=home))
    app.ingest([CORPUS / "002_0e3d0914205f9d43.txt"])
    res = run_cli("ingest", str(CORPUS / PAGE), home=home)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert f"pid {os.getpid()}" in res.stderr and "open in another process" in res.stderr
    assert "--chroma-url" in res.stderr and "chroma run --path" in res.stderr
    assert app.index.count() == 42  # untouched
    app.close()
    res = run_cli("papers", "--json", home=home)
    assert res.returncode == 0 and len(json.loads(res.stdout)) == 42


def test_questions_are_answered_while_an_ingest_runs(tmp_path: Path) -> None:
    """The chat UI ingests uploads in its own process while other users keep asking."""
    import threading

    app = PaperQA(Settings(home=tmp_path / "home"))
    app.ingest([CORPUS / "002_0e3d0914205f9d43.txt"])
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            app.ingest([CORPUS / PAGE])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    worker = threading.Thread(target=ingest)
    worker.start()
    answered = 0
    seen_counts = set()
    while worker.is_alive():
        r = app.retriever.search("Where must layer normalization be placed to train without warm-up?", k=5)
        assert r.sources[0].paper.title == "On Layer Normalization in the Transformer Architecture"
        assert all(s.paper.id in app.index.papers() for s in r.sources)
        seen_counts.add(len(app.index.papers()))
        answered += 1
    worker.join()
    assert not errors and answered >= 3
    assert len(seen_counts) > 1  # the paper list grew while questions were answered
    expected = {p.id for p in app.papers()}
    assert len(expected) == app.index.count() == 42 + 119
    ids = app.index._chunks.get(include=[])["ids"]
    assert len(ids) == len(set(ids))
    assert set(app.index.keyword.hashes()) == expected
    new = next(p for p in app.papers() if PAGE in p.pages)
    assert new.id in [s.paper.id for s in app.retriever.search(new.title, k=3).sources]


@pytest.mark.slow  # ingests the corpus with the real embedding model
def test_torn_vector_index_gives_a_clear_message_and_reset_recovers(tmp_path: Path) -> None:
    """A kill during Chroma's in-place flush can leave torn index files (chroma-core/chroma
    #7238, #5925): no stack trace, a way out. Chroma writes its vector index files once a
    collection passes 1,000 vectors: the corpus cut at chunk_size (1,150 chunks) passes it."""
    home_copy = tmp_path / "home"
    cut = {"PAPERQA_INDEX__WHOLE_PAPER_TOKENS": "0"}
    assert run_cli("ingest", "--json", home=home_copy, env=cut, timeout=900).returncode == 0
    torn = [p for p in (home_copy / "chroma").glob("*/index_metadata.pickle")]
    assert torn, "the corpus is big enough for Chroma to have persisted its vector index"
    for pickle in torn:
        pickle.write_bytes(b"")
    res = run_cli("ask", "--json", "What is FreePRM?", home=home_copy)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "cannot be read" in res.stderr and "paperqa reset --yes" in res.stderr
    # With the marker a killed ingest leaves, the damage is found before anything loads it.
    (home_copy / "ingest.unfinished").write_text("pid 123, started 2026-11-23 10:00:00")
    res = run_cli("papers", home=home_copy)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "damaged by an interrupted ingest (pid 123" in res.stderr
    assert run_cli("reset", "--yes", home=home_copy).returncode == 0
    res = run_cli("ingest", str(CORPUS / "002_0e3d0914205f9d43.txt"), "--json", home=home_copy)
    assert res.returncode == 0 and json.loads(res.stdout)["papers"] == 42


class DyingLLM(ScriptedLLM):
    def stream(self, system: str, user: str, max_tokens: int | None = None) -> Iterator[str]:
        yield "FreePRM achieves"
        raise ConfigError("the LLM server at http://127.0.0.1:9/v1 stopped answering", hint="restart it")


def test_llm_dying_mid_answer_leaves_sources_and_a_clear_error(corpus_home: Path) -> None:
    app = PaperQA(Settings(home=corpus_home), llm=DyingLLM())
    events = []
    with pytest.raises(PaperQAError, match="stopped answering"):
        for ev in app.ask_stream("What average F1 score on ProcessBench does FreePRM reach?"):
            events.append(ev)
    assert events[0].kind == "sources" and events[0].retrieval.sources[0].paper.title.startswith("FreePRM")
