"""JSONL / JSON, BibTeX, CSV and arXiv Atom: same stable ids and deduplication as the pages."""

from __future__ import annotations

import json
from pathlib import Path

from paperqa.ingest.parse import parse_files
from paperqa.types import paper_id_for

ABS = "We propose a method that makes training faster. It reaches 2.5x speedup on eight GPUs in our tests."
TITLE = "Fast Training of Widgets"


def test_jsonl_arxiv_snapshot(tmp_path: Path) -> None:
    f = tmp_path / "arxiv.jsonl"
    rows = [
        {
            "id": "2401.00001",
            "title": TITLE,
            "abstract": ABS,
            "authors": "A. One, B. Two and C. Three",
            "categories": "cs.LG",
            "update_date": "2024-01-05",
        },
        {"id": "2401.00002", "title": "No Abstract Here", "abstract": ""},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    r = parse_files([f])
    (p,) = r.papers
    assert (p.id, p.date, p.authors) == (paper_id_for(TITLE), "2024-01-05", 3)
    assert p.links == ["https://arxiv.org/abs/2401.00001"]
    assert [(e.line, e.reason.split(";")[0]) for e in r.errors] == [
        (2, "'No Abstract Here' has no abstract"),
        (3, "invalid JSON: Expecting property name enclosed in double quotes"),
    ]


def test_json_array_and_same_id_across_formats(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([{"title": TITLE, "abstract": ABS}]))
    (tmp_path / "b.bib").write_text(
        "@article{w24,\n  title = {Fast Training of {W}idgets},\n  author = {One, A. and Two, B.},\n"
        f'  year = 2024,\n  abstract = "{ABS}",\n  eprint = {{2401.00001}}\n}}\n'
        "@misc{noabs,\n  title = {Only a Title}\n}\n"
    )
    r = parse_files(sorted(tmp_path.iterdir()))
    assert len(r.papers) == 1  # one paper from two formats
    p = r.papers[0]
    assert p.pages == ["a.json", "b.bib"] and p.authors == 2
    assert r.errors[0].file == "b.bib" and r.errors[0].line == 8 and "no abstract" in r.errors[0].reason


def test_csv_and_missing_columns(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(f'title,abstract,date\n"{TITLE}","{ABS}",2023-02-03\n')
    bad = tmp_path / "bad.csv"
    bad.write_text("name,text\nx,y\n")
    r = parse_files([good, bad])
    assert [p.date for p in r.papers] == ["2023-02-03"]
    assert (r.errors[0].file, r.errors[0].line) == ("bad.csv", 1) and "'title' and 'abstract'" in r.errors[
        0
    ].reason


def test_arxiv_atom(tmp_path: Path) -> None:
    f = tmp_path / "query.xml"
    f.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry>'
        f"<id>http://arxiv.org/abs/2401.00001v1</id><published>2024-01-02T00:00:00Z</published>"
        f"<title>{TITLE}</title><summary>{ABS}</summary><author><name>A</name></author>"
        "<author><name>B</name></author></entry></feed>"
    )
    (p,) = parse_files([f]).papers
    assert (p.title, p.date, p.authors, p.links[0]) == (
        TITLE,
        "2024-01-02",
        2,
        "http://arxiv.org/abs/2401.00001v1",
    )


def test_unrecognised_text_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("just a note\nnothing else\n")
    r = parse_files([f])
    assert r.papers == [] and r.errors[-1].reason == "no papers recognised in this file"


def test_hostile_structured_files_are_reported_and_the_rest_kept(tmp_path: Path) -> None:
    long_abstract = ABS + " " + "More detail follows here. " * 8000  # one ~200 KB CSV field
    (tmp_path / "long.csv").write_text(f'title,abstract\nLong Abstract Paper,"{long_abstract}"\n')
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    (tmp_path / "links.jsonl").write_text(
        json.dumps({"title": "Linked Paper", "abstract": ABS, "links": 5})
        + "\n"
        + json.dumps({"title": TITLE, "abstract": ABS, "links": "https://example.org/p"})
        + "\n"
    )
    r = parse_files(sorted(tmp_path.iterdir()))
    titles = {p.title: p for p in r.papers}
    assert set(titles) == {"Long Abstract Paper", TITLE}
    assert titles[TITLE].links == ["https://example.org/p"]
    errors = {(e.file, e.line): e.reason for e in r.errors}
    assert errors[("deep.json", 1)] == "invalid JSON: nested too deeply"
    assert errors[("deep.jsonl", 1)] == "invalid JSON: nested too deeply"
    assert errors[("links.jsonl", 1)] == "'links' must be a list of URLs"
    assert r.skipped == len(r.errors)
