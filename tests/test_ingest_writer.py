"""An ingest writes one batch to the store while it embeds the next (`store.index._Writer`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from paperqa.errors import StoreError
from paperqa.settings import Settings
from paperqa.store.index import PaperIndex, _Writer
from paperqa.types import Paper

from .fakes import FakeEmbedModel


def _paper(i: int) -> Paper:
    return Paper(id=f"p{i}", title=f"Paper {i}", abstract=f"Abstract number {i}.")


def test_writes_run_in_order_one_at_a_time_beside_the_caller() -> None:
    done: list[int] = []
    running = threading.Event()

    def write(k: int) -> None:
        running.set()
        time.sleep(0.05)
        done.append(k)

    with _Writer() as writer:
        writer.submit(lambda: write(1))
        running.wait(1)
        assert done == []  # the caller goes on (embeds the next batch) while batch 1 is written
        writer.submit(lambda: write(2))
        assert done == [1]  # the next write waits for the one under way
    assert done == [1, 2]  # none is left running on leaving


def test_a_failed_write_is_raised_to_the_caller_at_its_next_batch_or_on_leaving() -> None:
    def fail() -> None:
        raise StoreError("writing to the index failed: disk full", hint="free some disk")

    with pytest.raises(StoreError, match="disk full"), _Writer() as writer:
        writer.submit(fail)
        writer.submit(lambda: None)
    with pytest.raises(StoreError, match="disk full"), _Writer() as writer:
        writer.submit(fail)


def test_an_ingest_stopped_by_another_error_still_waits_for_the_write_under_way() -> None:
    done: list[str] = []

    def slow() -> None:
        time.sleep(0.1)
        done.append("written")

    with pytest.raises(KeyboardInterrupt), _Writer() as writer:
        writer.submit(slow)
        raise KeyboardInterrupt
    assert done == ["written"]


def test_an_ingest_of_several_batches_stores_every_paper_once(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    settings.index.ingest_batch = 2
    settings.embedding.batch_size = 1  # papers per write: the larger of the two
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    try:
        counts = index.upsert([_paper(i) for i in range(7)])
        assert counts.added == 7
        assert sorted(index.papers()) == [f"p{i}" for i in range(7)]
        assert index._chunks.count() == 7
        assert index.keyword_search("number", 10)
    finally:
        index.close()


def test_a_store_write_failing_midway_keeps_the_batches_written_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path)
    settings.index.ingest_batch = 2
    settings.embedding.batch_size = 1  # papers per write: the larger of the two
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    real = index._write
    calls: list[int] = []

    def failing_third(papers: list[Paper], *rest: Any) -> None:
        calls.append(len(papers))
        if len(calls) == 3:
            raise StoreError("writing to the index failed: disk full", hint="rerun ingest to finish")
        real(papers, *rest)

    monkeypatch.setattr(index, "_write", failing_third)
    try:
        with pytest.raises(StoreError, match="disk full"):
            index.upsert([_paper(i) for i in range(7)])
        assert sorted(index.papers()) == ["p0", "p1", "p2", "p3"]
    finally:
        index.close()
