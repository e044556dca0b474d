"""The daily-papers parser on the five bundled pages, and its tricky cases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paperqa.errors import PaperQAError
from paperqa.ingest.merge import merge_papers
from paperqa.ingest.pages import parse_daily_page
from paperqa.ingest.parse import expand_paths, parse_files
from paperqa.ingest.records import clean_text
from paperqa.text import normalize_title
from paperqa.types import Paper, paper_id_for

from .conftest import CORPUS

# Counted by reading the pages: a paper is a title line followed by its abstract line.
PER_PAGE = {
    "000_adfa45a2c22c7900.txt": 119,
    "001_6b8d6c65c737c233.txt": 63,
    "002_0e3d0914205f9d43.txt": 42,
    "003_ac29468e3162324a.txt": 296,
    "004_c724cc07e4921154.txt": 53,
}


@pytest.fixture(scope="module")
def parsed():  # type: ignore[no-untyped-def]
    return parse_files(expand_paths([CORPUS]))


def test_each_page_yields_every_paper() -> None:
    for name, count in PER_PAGE.items():
        page = parse_daily_page((CORPUS / name).read_text(encoding="utf-8"), name)
        assert len(page.drafts) == count, name
        assert page.orphans == [] and page.errors == []


def test_corpus_dedupes_to_exact_count(parsed) -> None:  # type: ignore[no-untyped-def]
    assert sum(PER_PAGE.values()) == 573
    assert len(parsed.papers) == 550
    assert parsed.errors == [] and parsed.skipped == 0
    ids = [p.id for p in parsed.papers]
    assert len(set(ids)) == 550
    assert all(p.abstract and len(p.abstract) > 200 for p in parsed.papers)


def test_boilerplate_is_never_a_title(parsed) -> None:  # type: ignore[no-untyped-def]
    titles = {p.title.lower() for p in parsed.papers}
    for junk in ("new", "subscribe", "daily papers", "byak and the research community", "jun 10", "·"):
        assert junk not in titles
    assert not any(t.startswith(("subscribe", "get trending", "•")) for t in titles)


def test_title_glued_to_subscribe_is_recovered(parsed) -> None:  # type: ignore[no-untyped-def]
    by_title = {p.title: p for p in parsed.papers}
    for title in (
        "FreePRM: Training Process Reward Models Without Ground Truth Process Labels",
        "UniTalker: Scaling up Audio-Driven 3D Facial Animation through A Unified Model",
        "Intrinsic Dimensionality Explains the Effectiveness of Language Model Fine-Tuning",
    ):
        assert title in by_title
        assert by_title[title].locations[0].endswith(":3")


def test_metadata_authors_date_upvotes(parsed) -> None:  # type: ignore[no-untyped-def]
    by_key = {normalize_title(p.title): p for p in parsed.papers}
    sorted_llama = by_key[
        normalize_title(
            "Sorted LLaMA: Unlocking the Potential of Intermediate Layers of "
            "Large Language Models for Dynamic Inference Using Sorted Fine-Tuning (SoFT)"
        )
    ]
    assert (sorted_llama.authors, sorted_llama.date, sorted_llama.upvotes) == (6, "2023-09-16", 1)
    sortednet = next(p for p in parsed.papers if p.title.startswith("SortedNet"))
    assert (sortednet.authors, sortednet.date, sortednet.upvotes) == (6, "2023-09-01", None)
    qwen = next(p for p in parsed.papers if p.title == "Qwen2.5 Technical Report")
    assert (qwen.authors, qwen.upvotes, qwen.date) == (42, 15, "2024-12-19")
    # A date without a year stays as written; no year is invented.
    bias = next(p for p in parsed.papers if p.title.startswith("Is Position Bias in Dense Retrievers"))
    assert (bias.date, bias.date_text, bias.upvotes, bias.organization) == (None, "May 25", 2, "sionic-ai")
    stat = next(p for p in parsed.papers if p.title == "Skill-Targeted Adaptive Training")
    assert stat.organization == "Princeton University" and stat.authors is None
    assert sum(1 for p in parsed.papers if p.authors) == 50


def test_duplicates_remember_every_page(parsed) -> None:  # type: ignore[no-untyped-def]
    multi = [p for p in parsed.papers if len(p.pages) > 1]
    assert len(multi) == 21
    curricula = next(
        p for p in parsed.papers if p.title == "Training Curricula for Open Domain Answer Re-Ranking"
    )
    assert set(curricula.pages) == {
        "000_adfa45a2c22c7900.txt",
        "001_6b8d6c65c737c233.txt",
        "004_c724cc07e4921154.txt",
    }
    # Metadata from the page that has it survives the merge.
    assert curricula.authors == 6 and curricula.date == "2020-04-29"


def test_latex_variants_of_a_title_merge(parsed) -> None:  # type: ignore[no-untyped-def]
    bt = [p for p in parsed.papers if "Backward-compatible Training with Basis" in p.title]
    assert len(bt) == 1 and bt[0].title == "BT^2: Backward-compatible Training with Basis Transformation"
    fast = next(
        p for p in parsed.papers if p.title == "Training Superior Sparse Autoencoders for Instruct Models"
    )
    assert "Finetuning-aligned Sequential Training (FAST)" in fast.abstract
    assert fast.links == ["https://github.com/Geaming2002/FAST"]


def test_stable_ids_follow_the_title() -> None:
    assert paper_id_for("FreePRM: Training") == paper_id_for("freeprm  training!")
    assert paper_id_for("A") != paper_id_for("B")


ABSTRACT = ("We study a thing in depth. " * 12).strip()


def test_stray_abstract_without_title_is_reported_not_invented(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(f"Subscribe\nA Real Title\n{ABSTRACT}\n{ABSTRACT.replace('thing', 'other thing')}\n")
    result = parse_files([page])
    assert [p.title for p in result.papers] == ["A Real Title"]
    assert result.skipped == 1
    assert (result.errors[0].file, result.errors[0].line) == ("page.txt", 4)
    assert "abstract without a title" in result.errors[0].reason


def test_stray_abstract_known_from_another_page_is_attached(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(f"A Real Title\n{ABSTRACT}\n")
    (tmp_path / "b.txt").write_text(f"Get trending papers in your email inbox!\n{ABSTRACT}\n")
    result = parse_files(expand_paths([tmp_path]))
    assert len(result.papers) == 1 and result.skipped == 0
    assert result.papers[0].pages == ["a.txt", "b.txt"]


def test_title_without_abstract_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "p.txt"
    page.write_text(f"Lonely Title\nA Real Title\n{ABSTRACT}\n")
    result = parse_files([page])
    assert len(result.papers) == 1
    assert result.errors[0].line == 1 and "title without an abstract" in result.errors[0].reason


def test_bad_files_are_reported_and_the_rest_ingested(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\x00\x01\x02garbage")
    (tmp_path / "latin.txt").write_bytes(b"Title\n" + "caf\xe9".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "good.txt").write_text(f"A Real Title\n{ABSTRACT}\n")
    (tmp_path / "huge.txt").write_text("word " * 400_000)  # one 2 MB line, no title
    (tmp_path / "cut.jsonl").write_text('{"title": "T", "abstract": "trunc')
    result = parse_files(expand_paths([tmp_path]))
    assert [p.title for p in result.papers] == ["A Real Title"]
    errors = {(e.file, e.line): e.reason for e in result.errors}
    assert errors[("x.bin", None)] == "looks like a binary file, not text"
    assert errors[("latin.txt", 2)] == "not valid UTF-8"
    assert errors[("empty.txt", None)] == "empty file"
    assert "abstract without a title" in errors[("huge.txt", 1)]
    assert errors[("cut.jsonl", 1)].startswith("invalid JSON")
    assert result.skipped == len(result.errors) == 5


def test_missing_path_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(PaperQAError, match="no such file"):
        expand_paths([tmp_path / "missing.txt"])


def test_latex_markup_in_abstracts_becomes_plain_text() -> None:
    assert clean_text(r"we introduce T\"ULU 3, a study of {\it asynchronous} Local-SGD") == (
        "we introduce TÜLU 3, a study of asynchronous Local-SGD"
    )
    assert clean_text(r"by 57--87\% on x \& y; ``total recall''; \(\Delta W\)") == (
        "by 57–87% on x & y; “total recall”; ΔW"
    )
    assert clean_text(r"Na\"{\i}ve \unknownmacro stays") == r"Naïve \unknownmacro stays"


def test_bundled_abstracts_carry_no_latex_escapes(parsed) -> None:  # type: ignore[no-untyped-def]
    tulu = next(p for p in parsed.papers if p.title.startswith("TÜLU 3"))
    assert "TÜLU 3, a family of fully-open" in tulu.abstract
    for p in parsed.papers:
        assert not re.search(r"\\[\"'%&]|``|\{\\it", p.abstract), p.title


def _record(abstract: str, **fields: object) -> Paper:
    return Paper(id="p1", title="Quokka Decoding", abstract=abstract, **fields)  # type: ignore[arg-type]


def test_duplicates_in_one_parse_keep_the_fuller_record_and_every_page() -> None:
    kept = _record("Short.", date_text="May 25", upvotes=3, pages=["a.txt"], locations=["a.txt:3"])
    other = _record("A longer abstract.", date="2024-05-25", date_text="May 25, 2024", upvotes=7, authors=4)
    other.pages, other.locations = ["b.txt", "a.txt"], ["b.txt:9"]
    merged = merge_papers(kept, other)
    assert merged.abstract == "A longer abstract." and merged.upvotes == 7 and merged.authors == 4
    assert (merged.date, merged.date_text) == ("2024-05-25", "May 25, 2024")  # a date with its own wording
    assert merged.pages == ["a.txt", "b.txt"] and merged.locations == ["a.txt:3", "b.txt:9"]
    assert kept.abstract == "Short."  # the records themselves are left as they were


def test_a_paper_ingested_again_replaces_the_stored_text_and_keeps_what_it_lacks() -> None:
    stored = _record("The stored, longer abstract.", date="2023-09-16", upvotes=9, pages=["a.txt"])
    incoming = _record("An edit.", upvotes=2, pages=["b.txt"])
    merged = merge_papers(stored, incoming, other_wins=True)
    assert merged.abstract == "An edit." and merged.upvotes == 2 and merged.date == "2023-09-16"
    assert merged.pages == ["a.txt", "b.txt"]
