"""Uploads: only known text formats, size-limited, stored under the data folder with safe names."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from paperqa.api import PaperQA, writer_lock
from paperqa.errors import PaperQAError
from paperqa.ingest.parse import parse_files, safe_file_name
from paperqa.references import reference
from paperqa.settings import Settings, UISettings
from paperqa.types import Paper, http_link
from paperqa_ui.render import render_paper

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


# ---- links: http(s) or nothing ---------------------------------------------------------------------

HOSTILE = [
    "javascript:alert(8)",
    "JaVaScRiPt:alert(8)",
    "  javascript:alert(8)",
    "java\tscript:alert(8)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCg4KTwvc2NyaXB0Pg==",
    "vbscript:msgbox(8)",
    " VBScript:msgbox(8)",
    "file:///etc/passwd",
    "//evil.example/x",
]


def test_only_http_links_and_dois_are_links() -> None:
    for url in HOSTILE:
        assert http_link(url) is None, url
    assert http_link("  https://arxiv.org/abs/2401.00001 ") == "https://arxiv.org/abs/2401.00001"
    assert http_link("HTTP://Example.org/a") == "HTTP://Example.org/a"
    assert http_link("doi:10.1234/ABC.5") == "https://doi.org/10.1234/ABC.5"
    assert http_link("10.1234/abc") == "https://doi.org/10.1234/abc"
    paper = Paper(id="p", title="t", abstract="a", links=[*HOSTILE, "https://e.org", "https://e.org"])
    assert paper.links == ["https://e.org"]


@pytest.mark.parametrize(
    "bad", ["javascript:alert(8)", " JAVASCRIPT:alert(8)", "data:text/html,x", "vbscript:x"]
)
def test_every_format_drops_a_hostile_link_and_keeps_the_record(tmp_path: Path, bad: str) -> None:
    abstract = ABSTRACT.format(name="Quokka")
    files = {
        "csl.json": json.dumps(
            [{"type": "article", "title": "Quokka CSL", "abstract": abstract, "URL": bad}]
        ),
        "a.jsonl": json.dumps(
            {"title": "Quokka JSONL", "abstract": abstract, "links": [bad, "https://ok.org/j"]}
        ),
        "b.bib": "@article{q,\n  title = {Quokka Bib},\n  abstract = {"
        + abstract
        + "},\n  url = {"
        + bad
        + "}\n}\n",
        "c.csv": "title,abstract,url\nQuokka CSV," + json.dumps(abstract) + "," + json.dumps(bad) + "\n",
        "d.ris": f"TY  - JOUR\nTI  - Quokka RIS\nAB  - {abstract}\nUR  - {bad}\nER  - \n",
        "e.xml": (
            '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>' + html.escape(bad) + "</id>"
            "<title>Quokka Atom</title><summary>" + abstract + "</summary>"
            '<link href="' + html.escape(bad) + '"/></entry></feed>'
        ),
    }
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        paths.append(tmp_path / name)
    parsed = parse_files(paths)
    titles = sorted(p.title for p in parsed.papers)
    assert titles == sorted(
        ["Quokka CSL", "Quokka JSONL", "Quokka Bib", "Quokka CSV", "Quokka RIS", "Quokka Atom"]
    )
    for p in parsed.papers:
        assert all(u.lower().startswith(("http://", "https://")) for u in p.links), (p.title, p.links)
    assert next(p for p in parsed.papers if p.title == "Quokka JSONL").links == ["https://ok.org/j"]


def test_a_stored_hostile_link_is_no_link_on_screen_or_in_a_reference() -> None:
    # A paper made without validation (as an old store might hold it) is checked again at render.
    paper = Paper.model_construct(
        id="p", title="Quokka", abstract="a", links=["javascript:alert(8)"], pages=[], locations=["x.json:1"]
    )
    shown = render_paper(paper)
    assert "javascript" not in shown.lower() and "<a " not in shown
    assert "javascript" not in reference(paper).lower()


def test_the_same_upload_twice_is_stored_once(tmp_path: Path) -> None:
    client = tmp_path / "client"
    client.mkdir()
    first = client / "papers.jsonl"
    first.write_text(
        json.dumps({"title": "Quokka Pruning", "abstract": ABSTRACT.format(name="Quokka")}) + "\n"
    )
    renamed = client / "same papers.jsonl"
    renamed.write_bytes(first.read_bytes())
    with PaperQA(Settings(home=tmp_path / "home")) as app:
        assert app.ingest_uploads([first]).added == 1
        again = app.ingest_uploads([first, renamed])
        assert (again.added, again.unchanged, again.skipped) == (0, 1, 0)
        stored = [p for p in app.settings.uploads_dir.rglob("*") if p.is_file()]
        assert [p.name for p in stored] == ["papers.jsonl"]


def test_a_link_with_braces_or_quotes_is_no_link_and_cannot_break_an_export() -> None:
    from paperqa.export import to_bibtex
    from paperqa.types import Answer, Citation, Source

    hostile = "https://x.org/},howpublished={javascript:alert(1)}"
    assert http_link(hostile) is None and http_link('https://x.org/"onmouseover="x') is None
    paper = Paper(id="p1", title="Quokka", abstract="a", links=[hostile, "https://ok.org/q"])
    answer = Answer(
        question="q",
        answer="Quokka [1].",
        citations=[Citation(n=1, paper_id="p1", title="Quokka")],
        sources=[Source(n=1, paper=paper, score=1.0)],
    )
    bib = to_bibtex(answer)
    assert "howpublished" not in bib and "url = {https://ok.org/q}" in bib


def test_terminal_control_codes_do_not_survive_ingest() -> None:
    from paperqa.ingest.records import clean_text

    assert (
        clean_text("Quokka\x1b]8;;https://evil\x07 Pruning\x1b[31m") == "Quokka ]8;;https://evil Pruning [31m"
    )


def test_an_upload_is_stored_private_and_never_half_copied(tmp_path: Path) -> None:
    import stat

    from paperqa.store.files import store_upload

    src = tmp_path / "a.jsonl"
    src.write_text("{}\n")
    target = store_upload(src, tmp_path / "uploads", "a.jsonl")
    assert (
        stat.S_IMODE(target.stat().st_mode) == 0o600 and stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    )
    assert [p.name for p in target.parent.iterdir()] == ["a.jsonl"]  # no partial copy left


def test_half_a_login_is_refused_not_served_open() -> None:
    from pydantic import SecretStr

    from paperqa_ui.serve import _auth

    with pytest.raises(PaperQAError, match="PAPERQA_UI__PASSWORD is missing"):
        _auth(UISettings(username="alice"), allow_remote_without_auth=False)
    with pytest.raises(PaperQAError, match="PAPERQA_UI__USERNAME is missing"):
        _auth(UISettings(password=SecretStr("x")), allow_remote_without_auth=False)
    assert _auth(UISettings(username="alice", password=SecretStr("x")), False) == ("alice", "x")
