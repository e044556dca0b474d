"""Uploads: only known text formats, size-limited, stored under the data folder with safe names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperqa.api import PaperQA, writer_lock
from paperqa.errors import PaperQAError
from paperqa.ingest import safe_file_name
from paperqa.settings import Settings, UISettings

ABSTRACT = (
    "We introduce {name}, a method for pruning attention heads during decoding. It keeps 40 percent "
    "of the heads and loses under one point of accuracy on long-context benchmarks."
)


def test_client_file_names_cannot_leave_the_upload_folder() -> None:
    assert safe_file_name("../../etc/passwd.jsonl") == "passwd.jsonl"
    assert safe_file_name("..\\..\\windows\\evil.bib") == "evil.bib"
    assert safe_file_name("..") == "upload"  # no type: refused
    assert safe_file_name(".jsonl") == "upload.jsonl"  # keeps its type
    assert safe_file_name(".bashrc") == "upload.bashrc"
    assert safe_file_name("my papers (v2);rm -rf.jsonl") == "my_papers__v2__rm_-rf.jsonl"
    long = safe_file_name("a" * 500 + ".jsonl")
    assert len(long) <= 120 and long.endswith(".jsonl")


def test_uploads_are_checked_renamed_and_kept_under_the_data_folder(home_copy: Path, tmp_path: Path) -> None:
    client = tmp_path / "client"
    client.mkdir()
    good = client / "my papers (v2).jsonl"
    good.write_text(
        json.dumps(
            {"id": "2511.00001", "title": "Quokka Pruning", "abstract": ABSTRACT.format(name="Quokka")}
        )
        + "\n"
    )
    hidden = client / "..hidden.bib"
    hidden.write_text(
        "@article{w1,\n  title = {Wombat Heads},\n  abstract = {" + ABSTRACT.format(name="Wombat") + "}\n}\n"
    )
    dotted = client / ".jsonl"  # only an extension: accepted by its type
    dotted.write_text(
        json.dumps({"title": "Numbat Decoding", "abstract": ABSTRACT.format(name="Numbat")}) + "\n"
    )
    script = client / "payload.py"
    script.write_text("import os\n")
    big = client / "big.txt"
    big.write_text("Big Title\n" + "word " * 300_000)  # 1.5 MB
    with PaperQA(Settings(home=home_copy, ui=UISettings(max_upload_mb=1))) as app:
        before = app.index.count()
        report = app.ingest_uploads([good, hidden, dotted, script, big])
        assert (report.added, report.skipped, report.papers) == (3, 2, before + 3)
        reasons = {e.file: e.reason for e in report.errors}
        assert reasons["payload.py"].startswith("file type not accepted")
        assert reasons["big.txt"] == "larger than 1 MB (PAPERQA_UI__MAX_UPLOAD_MB)"
        titles = {p.title for p in app.papers()}
        assert {"Quokka Pruning", "Wombat Heads", "Numbat Decoding"} <= titles
        uploads = app.settings.uploads_dir.resolve()
        stored = [p for p in home_copy.rglob("*") if p.is_file() and "uploads" in p.parts]
        assert sorted(p.name for p in stored) == ["hidden.bib", "my_papers__v2_.jsonl", "upload.jsonl"]
        assert all(p.resolve().is_relative_to(uploads) for p in stored)
        # Nothing accepted: nothing is written, the corpus is unchanged.
        report = app.ingest_uploads([script])
        assert (report.added, report.skipped, report.papers) == (0, 1, before + 3)
        # Another ingest is writing: a clear error, and no copy of the upload is kept.
        folders = set(app.settings.uploads_dir.iterdir())
        with writer_lock(home_copy), pytest.raises(PaperQAError, match="another ingest is writing"):
            app.ingest_uploads([good])
        assert set(app.settings.uploads_dir.iterdir()) == folders
        assert app.index.count() == before + 3
