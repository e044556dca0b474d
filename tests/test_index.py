"""Idempotent ingest into a real Chroma store in a temp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from paperqa.api import PaperQA
from paperqa.settings import Settings

from .conftest import CORPUS

PAGE = "002_0e3d0914205f9d43.txt"  # 42 papers


def test_reingest_embeds_nothing_and_adds_nothing(tmp_path: Path) -> None:
    app = PaperQA(Settings(home=tmp_path / "home"))
    first = app.ingest([CORPUS / PAGE])
    assert (first.papers, first.added, first.updated, first.unchanged) == (42, 42, 0, 0)
    chunks = app.index._chunks.count()
    assert chunks > 42  # abstracts are split into several sentence-aware chunks

    calls = []
    original = app.index.embed_texts
    app.index.embed_texts = lambda texts: calls.append(len(texts)) or original(texts)  # type: ignore[method-assign]
    again = app.ingest([CORPUS / PAGE])
    assert (again.papers, again.added, again.updated, again.unchanged) == (42, 0, 0, 42)
    assert calls == [] and app.index._chunks.count() == chunks

    # A fresh process (new client) sees the same store.
    reopened = PaperQA(Settings(home=tmp_path / "home"))
    assert reopened.index.count() == 42 and reopened.index._chunks.count() == chunks


def test_changed_abstract_is_reembedded_and_pages_accumulate(tmp_path: Path) -> None:
    src = tmp_path / "pages"
    src.mkdir()
    shutil.copy(CORPUS / PAGE, src / PAGE)
    app = PaperQA(Settings(home=tmp_path / "home"))
    app.ingest([src])
    text = (src / PAGE).read_text(encoding="utf-8")
    edited = text.replace("The Transformer is widely used", "The Transformer architecture is widely used", 1)
    assert edited != text
    (src / "edited.txt").write_text(edited, encoding="utf-8")
    report = app.ingest([src / "edited.txt"])
    # Every paper now also lists the new page (metadata update), one abstract changed.
    assert (report.added, report.updated, report.unchanged, report.papers) == (0, 42, 0, 42)
    paper = next(
        p for p in app.papers() if p.title == "On Layer Normalization in the Transformer Architecture"
    )
    assert "Transformer architecture is widely used" in paper.abstract
    assert paper.pages == [PAGE, "edited.txt"]
    hits = app.index.chunks_of([paper.id])[paper.id]
    assert any("architecture is widely used" in t for t, _ in hits)
    assert not any("The Transformer is widely used" in t for t, _ in hits)  # old chunks are gone
