"""What the CLI and the UI ask of `PaperQA` besides questions: one paper, a corpus search with
one meaning, a reset. A real Chroma store in a temp folder, with a fake embedding model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperqa.api import PaperQA, reset_index
from paperqa.cli import cli
from paperqa.errors import StoreError
from paperqa.settings import Settings
from paperqa.types import Paper

from .fakes import FakeEmbedModel, paper


def _papers() -> list[Paper]:
    quokka = paper("Quokka Decoding", "Quokka decoding generates text 2.7x faster than greedy decoding.")
    zebra = paper("Zebra Attention", "A striped attention pattern that halves the memory of decoding.")
    mole = paper("Mole Retrieval", "Retrieval that digs through long documents.")
    quokka.upvotes, zebra.upvotes = 3, 9
    for p in (quokka, zebra, mole):
        p.pages = ["page.txt"]
    return [quokka, zebra, mole]


@pytest.fixture()
def small_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PaperQA]:
    """A PaperQA on three papers in a fresh data folder; embeddings from FakeEmbedModel."""
    monkeypatch.setattr("paperqa.store.index.make_embed_model", lambda _settings: FakeEmbedModel())
    app = PaperQA(Settings(home=tmp_path / "home"))
    app.index.upsert(_papers())
    yield app
    app.close()


def test_search_matches_title_or_abstract_in_any_case_most_upvoted_first(small_app: PaperQA) -> None:
    assert [p.title for p in small_app.search_papers("DECODING")] == ["Zebra Attention", "Quokka Decoding"]
    assert [p.title for p in small_app.search_papers("striped")] == ["Zebra Attention"]
    assert small_app.search_papers("no such words") == []


def test_search_returns_at_most_limit_papers_and_every_one_for_an_empty_query(small_app: PaperQA) -> None:
    assert len(small_app.search_papers("", limit=None)) == 3
    assert [p.title for p in small_app.search_papers("  ", limit=2)] == ["Zebra Attention", "Quokka Decoding"]


def test_a_paper_is_found_by_its_id_and_an_unknown_id_finds_none(small_app: PaperQA) -> None:
    quokka = _papers()[0]
    found = small_app.paper(quokka.id)
    assert found is not None and found.title == "Quokka Decoding"
    assert small_app.paper("p000000000000") is None


def test_reset_empties_the_index_and_the_app_can_ingest_again(small_app: PaperQA) -> None:
    small_app.reset()
    assert small_app.paper_count() == 0 and small_app.search_papers("") == []
    assert not small_app.index.keyword.hashes()
    small_app.index.upsert(_papers()[:1])
    assert [p.title for p in small_app.search_papers("")] == ["Quokka Decoding"]


def test_a_data_folder_open_in_this_process_is_not_reset_underneath_it(small_app: PaperQA) -> None:
    with pytest.raises(StoreError, match="open in this process") as e:
        reset_index(small_app.settings)
    assert e.value.hint and small_app.paper_count() == 3


def test_the_cli_lists_the_same_search_as_the_ui(small_app: PaperQA, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperqa_ui.app import PaperQAUI

    rows, ids, _count = PaperQAUI(small_app).show_corpus("decoding")  # what the corpus tab lists
    assert ids and ids == [p.id for p in small_app.search_papers("decoding")]
    small_app.close()  # the CLI opens the folder itself
    monkeypatch.setenv("PAPERQA_HOME", str(small_app.settings.home))  # restored after the test
    listed = CliRunner().invoke(cli, ["papers", "--search", "decoding"])
    assert listed.exit_code == 0, listed.output
    assert [line.split("  ")[-1] for line in listed.stdout.splitlines()] == [r[0] for r in rows]


def test_the_cli_reset_deletes_the_index_without_opening_it(
    small_app: PaperQA, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = small_app.settings.home
    small_app.close()
    (home / "ingest.unfinished").write_text("pid 123")  # a store that must not be opened to be reset
    monkeypatch.setenv("PAPERQA_HOME", str(home))
    done = CliRunner().invoke(cli, ["reset", "--yes"])
    assert done.exit_code == 0, done.output
    assert not any((home / name).exists() for name in ("chroma", "keyword", "ingest.unfinished"))
