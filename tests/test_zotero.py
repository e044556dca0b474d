"""Zotero libraries: CSL JSON and RIS exports (fixtures in tests/fixtures/zotero), their
identifiers, and one paper per DOI / arXiv id / normalised title across every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperqa.ingest.merge import adopt_known_ids, identifier_index
from paperqa.ingest.parse import detect_format, expand_paths, parse_files
from paperqa.ingest.records import arxiv_id_of, normalize_doi
from paperqa.text import normalize_title
from paperqa.types import Paper, paper_id_for

from .conftest import CORPUS, ROOT, run_cli

ZOTERO = ROOT / "tests" / "fixtures" / "zotero"
CSL, RIS, LATIN1 = ZOTERO / "library.json", ZOTERO / "library.ris", ZOTERO / "latin1.ris"
DOMINO = "Domino: Eliminating Communication in LLM Training via Generic Tensor Slicing and Overlapping"
SORTED_LLAMA = (
    "Sorted LLaMA: Unlocking the Potential of Intermediate Layers of Large Language Models for "
    "Dynamic Inference Using Sorted Fine-Tuning (SoFT)"
)
WIDGETS = "Sparse α-Entmax Retrieval for Long Widget Catalogues"


def errors_of(path: Path) -> dict[int | None, str]:
    return {e.line: e.reason for e in parse_files([path]).errors}


def test_csl_json_keeps_doi_arxiv_id_authors_and_year() -> None:
    by_title = {p.title: p for p in parse_files([CSL]).papers}
    domino = by_title[DOMINO]  # "<i>Domino</i>: …" loses its markup
    assert domino.id == paper_id_for(DOMINO)
    assert (domino.doi, domino.arxiv_id, domino.date) == (
        "10.48550/arxiv.2409.15241",
        "2409.15241",
        "2024-09-23",
    )
    assert domino.author_names == ["Guanhua Wang", "Chengming Zhang", "José Müller"] and domino.authors == 3
    qwen = by_title["Qwen2.5 technical report"]  # date parts written as strings; arXiv id from "number"
    assert (qwen.arxiv_id, qwen.date, qwen.author_names) == ("2412.15115", "2024-12-19", ["Qwen Team"])
    widgets = by_title[WIDGETS]  # LaTeX in the title; a year alone is kept as written
    assert (widgets.date, widgets.date_text, widgets.doi) == (None, "2025", "10.5555/widgets.2025.001")
    assert widgets.author_names == ["Åse Ødegård", "Zoë Lefèvre"]


def test_csl_json_with_a_bom_is_read_and_each_bad_record_is_named() -> None:
    assert CSL.read_bytes().startswith(b"\xef\xbb\xbf")
    assert errors_of(CSL) == {
        80: "record 4 ('A Survey Zotero Holds Without Its Abstract'): no abstract (field 'abstract'); skipped",
        99: 'record 5: field \'author\' is malformed (a list of {"family": …, "given": …} names expected); skipped',
        106: "record 6: field 'issued' is malformed ({\"date-parts\": [[year, month, day]]} expected); skipped",
        113: "record 7: not a JSON object; skipped",
        129: "record 9: no title (field 'title'); skipped",
    }


def test_a_repeated_doi_in_one_export_is_one_paper() -> None:
    papers = parse_files([CSL]).papers
    assert len(papers) == 3  # record 8 is record 1 again, under another title and a DOI URL in capitals
    (domino,) = [p for p in papers if p.doi == "10.48550/arxiv.2409.15241"]
    assert domino.title == DOMINO and domino.locations == ["library.json:2", "library.json:114"]


def test_a_truncated_csl_export_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    text = CSL.read_text(encoding="utf-8-sig")
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index('"id": "widgets"') + 30], encoding="utf-8")
    r = parse_files([cut])
    assert [p.title for p in r.papers] == [DOMINO, "Qwen2.5 technical report"]
    (err,) = r.errors  # on the line where the JSON breaks off
    assert err.file == "cut.json" and err.line == 57 and err.reason.startswith("record 3: invalid JSON")


def test_ris_keeps_doi_arxiv_id_authors_and_year() -> None:
    by_title = {p.title: p for p in parse_files([RIS]).papers}
    llama = by_title[SORTED_LLAMA]
    assert (llama.doi, llama.arxiv_id, llama.date, llama.authors) == (
        "10.48550/arxiv.2309.08968",
        "2309.08968",
        "2023-09-16",
        6,
    )
    assert llama.author_names[0] == "Kavehzadeh, Parsa"
    tulu = by_title["TÜLU 3: Pushing Frontiers in Open Language Model Post-Training"]  # T\"ULU in the file
    assert (tulu.arxiv_id, tulu.date_text) == ("2411.15124", "2024")  # the URL's version suffix dropped
    widgets = by_title["Sparse α-Entmax Retrieval for Long Widget Catalogues & Beyond"]  # &amp; decoded
    assert widgets.abstract.endswith("Code and data: https://example.org/widgets.")  # N2, two lines


def test_ris_reports_stray_text_missing_fields_and_a_cut_record_by_line() -> None:
    assert b"\r\n" in RIS.read_bytes()  # Zotero writes CRLF
    assert errors_of(RIS) == {
        34: "text outside a record (a record starts with 'TY  - '); ignored",
        36: "record 4 ('A Second Survey Without an Abstract'): no abstract (tag AB or N2); skipped",
        41: "record 5: no title (tag TI or T1); skipped",
        46: "record 6: no 'ER  -' line (the file ends inside it); skipped",
    }


def test_a_record_missing_its_end_tag_is_reported_and_the_next_one_kept(tmp_path: Path) -> None:
    f = tmp_path / "x.ris"
    f.write_text(
        "TY  - JOUR\nTI  - First\nAB  - A first abstract.\n"
        "TY  - JOUR\nTI  - Second\nAB  - A second abstract.\nER  - \n"
    )
    r = parse_files([f])
    assert [p.title for p in r.papers] == ["Second"]
    assert [(e.line, e.reason) for e in r.errors] == [
        (1, "record 1: no 'ER  -' line before the next 'TY'; skipped")
    ]


def test_a_latin1_export_is_reported_with_its_line_and_the_other_files_kept() -> None:
    r = parse_files([LATIN1, RIS])
    assert ("latin1.ris", 2, "not valid UTF-8") in {(e.file, e.line, e.reason) for e in r.errors}
    assert SORTED_LLAMA in {p.title for p in r.papers}


def test_zotero_exports_and_the_bundled_pages_give_one_paper_each() -> None:
    bundled = parse_files(expand_paths([CORPUS])).papers
    r = parse_files([*expand_paths([CORPUS]), CSL, RIS])
    keys = [normalize_title(p.title) for p in r.papers]
    assert len(keys) == len(set(keys)) == len(bundled) + 1  # only the widget paper is new
    by_id = {p.id: p for p in r.papers}
    llama = by_id[paper_id_for(SORTED_LLAMA)]
    assert llama.pages[-1] == "library.ris" and llama.arxiv_id == "2309.08968" and llama.upvotes == 1
    widgets = by_id[paper_id_for(WIDGETS)]  # in both exports: matched by DOI, titles differ
    assert widgets.pages == ["library.json", "library.ris"]


def test_arxiv_id_and_doi_from_other_formats_match_a_zotero_record(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "2309.08968", "title": "Sorted LLaMA (preprint title)", "abstract": "An abstract."})
        + "\n"
    )
    (tmp_path / "b.bib").write_text(
        "@article{w, title={Widgets, the journal version}, doi={10.5555/WIDGETS.2025.001}, abstract={Abs.}}\n"
    )
    r = parse_files([*sorted(tmp_path.iterdir()), CSL, RIS])
    titles = {p.title for p in r.papers}
    assert "Sorted LLaMA (preprint title)" in titles and SORTED_LLAMA not in titles  # first seen wins
    assert "Widgets, the journal version" in titles and WIDGETS not in titles


def test_an_indexed_paper_with_the_same_doi_keeps_its_id() -> None:
    stored = Paper(id="pstored", title="Old Title", abstract="x", doi="10.1/a")
    other = Paper(id=paper_id_for("Other"), title="Other", abstract="y")
    incoming = [
        Paper(id=paper_id_for("New Title"), title="New Title", abstract="x2", doi="10.1/a"),
        Paper(id=paper_id_for("Same By arXiv"), title="Same By arXiv", abstract="x3", arxiv_id="1"),
        other,
    ]
    known = [stored, Paper(id="pstored", title="Old Title", abstract="x", arxiv_id="1")]
    out = adopt_known_ids(incoming, identifier_index(known))
    assert [(p.id, p.title) for p in out] == [("pstored", "New Title"), (other.id, "Other")]


@pytest.mark.parametrize(
    ("text", "doi", "arxiv"),
    [
        ("https://doi.org/10.48550/arXiv.2309.08968", "10.48550/arxiv.2309.08968", "2309.08968"),
        ("doi: 10.1145/3580305.3599256", "10.1145/3580305.3599256", None),
        ("http://arxiv.org/pdf/hep-th/9901001v3", None, "hep-th/9901001"),
        ("arXiv:2411.15124 [cs]", None, "2411.15124"),
        ("not an identifier", None, None),
    ],
)
def test_identifiers_are_normalised(text: str, doi: str | None, arxiv: str | None) -> None:
    assert (normalize_doi(text), arxiv_id_of(text)) == (doi, arxiv)


def test_csl_json_is_told_apart_from_a_json_array_of_papers() -> None:
    csl = CSL.read_text(encoding="utf-8-sig")
    assert detect_format(Path("my library.json"), csl) == "csl"
    assert detect_format(Path("x.json"), '[{"title": "T", "abstract": "A"}]') == "jsonl"
    assert detect_format(Path("x.jsonl"), csl) == "jsonl"  # JSONL by name stays JSONL
    assert detect_format(Path("export"), RIS.read_text(encoding="utf-8")) == "ris"


def test_new_papers_stored_before_identifiers_keep_their_hash() -> None:
    p = Paper(id="p1", title="T", abstract="A")
    legacy = p.model_dump_json(exclude={"doi", "arxiv_id", "author_names"})
    import hashlib

    assert p.meta_hash == hashlib.sha1(legacy.encode()).hexdigest()[:16]
    assert p.model_copy(update={"doi": "10.1/x"}).meta_hash != p.meta_hash


@pytest.mark.slow
def test_ingesting_a_zotero_export_of_bundled_papers_adds_no_duplicates(home_copy: Path) -> None:
    res = run_cli("ingest", "--json", str(CSL), str(RIS), home=home_copy)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert (report["papers"], report["added"]) == (551, 1)  # the widget paper; the rest were there
    assert report["skipped"] == len(report["errors"]) == 9
    papers = json.loads(run_cli("papers", "--json", home=home_copy).stdout)
    keys = [normalize_title(p["title"]) for p in papers]
    assert len(papers) == 551 and len(set(keys)) == 551
    llama = next(p for p in papers if p["id"] == paper_id_for(SORTED_LLAMA))
    assert (llama["arxiv_id"], llama["upvotes"], llama["authors"]) == ("2309.08968", 1, 6)
    assert llama["pages"] == ["004_c724cc07e4921154.txt", "library.ris"]


def test_bibtex_reports_a_broken_entry_by_line_and_keeps_the_others(tmp_path: Path) -> None:
    f = tmp_path / "zotero.bib"
    f.write_text(
        "@string{wr = {Widget Retrieval}}\n"
        "@article{broken,\n  title = {Unclosed brace,\n}\n"
        '@article{ok,\n  title = wr,\n  author = {M{\\"u}ller, J. and Roe, R.},\n'
        "  abstract = {An abstract.},\n  doi = {10.5555/X}\n}\n"
    )
    r = parse_files([f])
    (p,) = r.papers
    assert (p.title, p.doi, p.author_names) == ("Widget Retrieval", "10.5555/x", ["Müller, J.", "Roe, R."])
    (err,) = r.errors
    assert err.line == 2 and err.reason.startswith("invalid BibTeX entry (Unexpected block start")


def test_uploads_accept_both_zotero_export_types() -> None:
    from paperqa.ingest.parse import UPLOAD_SUFFIXES, safe_file_name

    for name in ("My Library.json", "My Library.ris"):
        assert Path(safe_file_name(name)).suffix in UPLOAD_SUFFIXES
