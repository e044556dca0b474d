"""The paper catalog: papers read on demand from SQLite, in stored order, and kept in line with
Chroma's paper records (real Chroma in a temp folder, a fake embedding model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperqa.ingest.merge import identifier_keys
from paperqa.settings import Settings
from paperqa.store.catalog import CATALOG_FILE, PaperCatalog
from paperqa.store.index import PaperIndex
from paperqa.store.records import paper_spans
from paperqa.store.textsearch import FTS_DROP
from paperqa.types import Paper

from .fakes import FakeEmbedModel


def make(i: int, **extra: object) -> Paper:
    fields: dict[str, object] = {"id": f"p{i}", "title": f"Paper {i}", "abstract": f"Abstract number {i}."}
    fields.update(extra)
    return Paper.model_validate(fields)


@pytest.fixture
def catalog(tmp_path: Path) -> PaperCatalog:
    return PaperCatalog(tmp_path / CATALOG_FILE, "store-a", identifier_keys)


def test_papers_come_back_by_id_in_the_order_they_were_stored(catalog: PaperCatalog) -> None:
    catalog.put([make(3), make(1)])
    catalog.put([make(2)])
    assert list(catalog) == ["p3", "p1", "p2"]
    assert len(catalog) == 3
    assert catalog["p1"].title == "Paper 1"
    assert "p2" in catalog and "p9" not in catalog
    assert catalog.get("p9") is None
    assert [p.id for p in catalog.values_in_order(batch=2)] == ["p3", "p1", "p2"]


def test_a_replaced_paper_keeps_its_place_and_shows_its_new_text(catalog: PaperCatalog) -> None:
    catalog.put([make(1), make(2)])
    assert catalog["p1"].abstract == "Abstract number 1."  # now cached
    catalog.put([make(1, abstract="Changed.")])
    assert list(catalog) == ["p1", "p2"]
    assert catalog["p1"].abstract == "Changed."
    assert catalog.hashes()["p1"] == make(1, abstract="Changed.").text_hash


def test_search_matches_title_or_abstract_in_any_case_most_upvoted_first(catalog: PaperCatalog) -> None:
    papers = [
        make(1, title="Routing tricks", upvotes=1),
        make(2, abstract="A ROUTING network.", upvotes=9),
        make(3, title="Unrelated", upvotes=50),
    ]
    catalog.put(papers)
    assert [p.id for p in catalog.search("routing", None)] == ["p2", "p1"]
    assert [p.id for p in catalog.search("", 2)] == ["p3", "p2"]
    assert catalog.count_matching("Routing") == (2, True)
    for query in ("routing", "ROUTING NET", "number", "xyz"):  # what Paper.mentions says
        assert {p.id for p in catalog.search(query, None)} == {p.id for p in papers if p.mentions(query)}


def test_date_bounds_are_inclusive_and_undated_papers_never_pass(catalog: PaperCatalog) -> None:
    catalog.put([make(1, date="2025-01-01"), make(2, date="2025-03-01"), make(3)])
    assert catalog.ids_between("2025-01-01", "2025-02-01") == {"p1"}
    assert catalog.ids_between("2025-02-01", None) == {"p2"}
    assert catalog.ids_between(None, None) == {"p1", "p2"}


def test_identifier_keys_find_the_paper_that_holds_them(catalog: PaperCatalog) -> None:
    catalog.put([make(1, doi="10.1/abc"), make(2, arxiv_id="2501.00001")])
    keys = identifier_keys(make(9, doi="10.1/abc")) + identifier_keys(make(8, arxiv_id="2501.00001"))
    assert set(catalog.ids_by_key(keys).values()) == {"p1", "p2"}
    catalog.remove(["p1"])
    assert set(catalog.ids_by_key(keys).values()) == {"p2"}


def test_a_catalog_file_of_another_store_starts_empty(tmp_path: Path) -> None:
    first = PaperCatalog(tmp_path / CATALOG_FILE, "store-a", identifier_keys)
    first.put([make(1)])
    first.close()
    assert len(PaperCatalog(tmp_path / CATALOG_FILE, "store-a", identifier_keys)) == 1
    assert len(PaperCatalog(tmp_path / CATALOG_FILE, "store-b", identifier_keys)) == 0


def test_a_lost_catalog_is_refilled_from_chroma_and_a_stale_one_is_corrected(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    index.upsert([make(i) for i in range(5)])
    index.close()
    (tmp_path / CATALOG_FILE).unlink()  # an index from before the catalog, or a deleted file
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    assert sorted(index.papers()) == [f"p{i}" for i in range(5)]
    assert index.papers()["p3"].abstract == "Abstract number 3."
    spans = index.catalog.spans(["p3"])["p3"]  # the chunks' spans come with the paper records
    assert spans == paper_spans(index._papers.get(ids=["p3"], include=["metadatas"])["metadatas"][0]) != ""
    index.catalog.remove(["p3", "p4"])  # a catalog that missed papers Chroma holds
    index.catalog.put([make(7)])  # and holds one Chroma lost
    index.close()
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    try:
        assert sorted(index.papers()) == [f"p{i}" for i in range(5)]
        assert index.keyword_search("number", 10)  # the keyword index is built from the catalog
    finally:
        index.close()


def test_after_an_interrupted_ingest_every_stored_paper_is_compared_with_the_catalog(tmp_path: Path) -> None:
    from paperqa.store.chroma import UNFINISHED

    settings = Settings(home=tmp_path)
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    index.upsert([make(1), make(2)])
    index.catalog.put([make(2, abstract="What the catalog wrongly kept.")])  # same count, stale text
    index.close()
    (tmp_path / UNFINISHED).write_text("pid 1, started now")
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    try:
        assert index.papers()["p2"].abstract == "Abstract number 2."
    finally:
        index.close()


def test_a_starting_server_reads_counts_and_examples_from_the_catalog_alone(tmp_path: Path) -> None:
    from paperqa.api import PaperQA

    app = PaperQA(Settings(home=tmp_path))
    try:
        assert not app.has_papers()
        app.index._embed_model = FakeEmbedModel()
        app.index.upsert([make(1, upvotes=3), make(2, upvotes=9), make(3)])
        app.index._papers.delete(ids=["p3"])  # the store changed behind the catalog's back
        assert app.listed_paper_count() == 3 and app.has_papers()
        assert [p.id for p in app.most_upvoted(2)] == ["p2", "p1"]
        assert app.paper_count() == 2
    finally:
        app.close()


def test_values_stream_every_paper_in_stored_order(catalog: PaperCatalog) -> None:
    """What a keyword rebuild reads: all papers, in the order they were stored, in batches."""
    catalog.put([make(3), make(1), make(2)])
    values = catalog.values()
    assert len(values) == 3
    assert [p.id for p in values] == ["p3", "p1", "p2"]
    assert make(1) in values


def test_the_most_upvoted_page_is_read_from_the_rank_index_not_a_scan(catalog: PaperCatalog) -> None:
    """The start-up's example questions come from `search("", n)`: ordered by an index, so a
    million papers cost no more than ten; ties are broken by title, as in every search."""
    catalog.put([make(i, upvotes=i % 3, title=f"T{9 - i}") for i in range(9)])
    assert [(p.upvotes, p.title) for p in catalog.search("", 4)] == [
        (2, "T1"),
        (2, "T4"),
        (2, "T7"),
        (1, "T2"),
    ]
    plan = catalog._db.execute(
        "EXPLAIN QUERY PLAN SELECT json FROM papers ORDER BY upvotes DESC, title LIMIT 4"
    ).fetchall()
    assert "USING INDEX papers_rank" in str(plan) and "TEMP B-TREE" not in str(plan)


def _searchable() -> list[Paper]:
    return [
        make(1, title="GaLore: gradient low-rank projection", upvotes=5, author_names=["Jiawei Zhao"]),
        make(2, title="Q-GaLore", abstract='Quantized "GaLore" with INT4 projection.', upvotes=9),
        make(3, title="Sámi speech", abstract="Élise Müller studies low-resource ASR.", upvotes=1),
        make(4, title="Unrelated", abstract="Nothing here.", upvotes=50, author_names=["Émile ZOLA"]),
    ]


@pytest.mark.parametrize(
    "query",
    [
        "galore",
        "LORE",
        "q-galore",
        '"galore"',
        "zhao",
        "émile zola",
        "müller",
        "ÉLISE",
        "a",
        "xyz",
        "projection",
    ],
)
def test_text_search_finds_what_mentions_says_in_title_abstract_or_authors(
    catalog: PaperCatalog, query: str
) -> None:
    papers = _searchable()
    catalog.put(papers)
    expected = [p.id for p in sorted(papers, key=lambda p: (-(p.upvotes or 0), p.title)) if p.mentions(query)]
    assert [p.id for p in catalog.search(query, None)] == expected
    assert [p.id for p in catalog.search(query, 1)] == expected[:1]
    assert catalog.count_matching(query) == (len(expected), True)


def test_a_common_text_walks_the_papers_in_rank_order_with_the_same_hits(
    catalog: PaperCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperqa.store import catalog as module

    papers = [make(i, abstract=f"Sparse training number {i}.", upvotes=i % 7) for i in range(40)]
    catalog.put([*papers, make(99, abstract="Dense.")])
    direct = [p.id for p in catalog.search("sparse train", 10)]
    monkeypatch.setattr(module, "FTS_DIRECT_ROWS", 5)  # 40 candidates: the rank-order walk
    assert [p.id for p in catalog.search("sparse train", 10)] == direct
    monkeypatch.setattr(module, "FTS_DENSE_ROWS", 20)  # in more than 20: each paper's text is tested
    assert [p.id for p in catalog.search("sparse train", 10)] == direct
    assert catalog.count_matching("sparse train") == (40, True)  # exact unless an estimate is asked for
    monkeypatch.setattr(module, "COUNT_SAMPLE", 41)  # the first 41 papers: 40 hold it, of 41 papers
    assert catalog.count_matching("sparse train", estimate=True) == (40, False)
    monkeypatch.setattr(module, "FTS_DENSE_ROWS", 50_000)
    # every trigram of "qzxw" is in 20 papers, the text itself in every other one: from a sample of
    # four candidates the estimate is 20 x 2/4; without an estimate, the exact count
    catalog.put([make(100 + i, abstract="qzxw." if i % 2 else "qzx zxw.") for i in range(20)])
    monkeypatch.setattr(module, "COUNT_SAMPLE", 4)
    assert catalog.count_matching("qzxw", estimate=True) == (10, False)
    assert catalog.count_matching("qzxw") == (10, True)
    assert direct == [p.id for p in sorted(papers, key=lambda p: (-(p.upvotes or 0), p.title))][:10]


def test_the_text_index_follows_every_replace_remove_and_clear(catalog: PaperCatalog) -> None:
    catalog.put([make(1, abstract="About routing."), make(2, abstract="About routing too.")])
    catalog.put([make(1, abstract="About pruning.", author_names=["Ada Lovelace"])])
    assert [p.id for p in catalog.search("routing", None)] == ["p2"]
    assert [p.id for p in catalog.search("lovelace", None)] == ["p1"]
    catalog.remove(["p2"])
    assert catalog.search("routing", None) == [] and catalog.count_matching("routing")[0] == 0
    catalog.clear()
    assert catalog.search("pruning", None) == []
    catalog.put([make(3, abstract="Routing again.")])
    assert [p.id for p in catalog.search("routing", None)] == ["p3"]


def test_a_catalog_from_before_the_text_index_builds_it_on_open_with_progress(tmp_path: Path) -> None:
    from paperqa.store import textsearch as module

    old = PaperCatalog(tmp_path / CATALOG_FILE, "store-a", identifier_keys)
    papers = [make(i, abstract=f"Abstract {i} on routing.", author_names=[f"Ørsted {i}"]) for i in range(7)]
    old.put(papers)
    # what a catalog written before the index looks like: no index, no author column
    old._db.executescript(FTS_DROP)
    old._db.execute("ALTER TABLE papers DROP COLUMN authors")
    old._db.execute("ALTER TABLE papers DROP COLUMN spans")
    old._db.execute("DELETE FROM meta WHERE name IN ('fts', 'fts_done')")
    old.close()
    seen: list[tuple[int, int]] = []
    module_batch = module.FTS_BUILD_BATCH
    module.FTS_BUILD_BATCH = 3  # three batches, each committed with its progress
    try:
        reopened = PaperCatalog(
            tmp_path / CATALOG_FILE, "store-a", identifier_keys, progress=lambda d, t: seen.append((d, t))
        )
    finally:
        module.FTS_BUILD_BATCH = module_batch
    assert seen[-1] == (7, 7) and [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) >= 3
    assert [p.id for p in reopened.search("ørsted 4", None)] == ["p4"]
    assert reopened.count_matching("routing")[0] == 7
    reopened.put([make(8, abstract="Routing, added later.")])  # the triggers keep it in step
    assert reopened.count_matching("routing")[0] == 8
    assert reopened.spans(["p8"]) == {}  # no spans kept: a catalog from before, or put without them
    reopened.put([make(8, abstract="Routing, added later.")], {"p8": "0.21.7"})
    reopened.put([make(8, abstract="Routing, added later.")])  # the same text: its spans stay
    assert reopened.spans(["p8", "p1"]) == {"p8": "0.21.7"}
    reopened.put([make(8, abstract="Routing, rewritten.")])  # another text: its old spans go
    assert reopened.spans(["p8"]) == {}


def test_every_write_keeps_the_fingerprint_of_the_papers_held(catalog: PaperCatalog) -> None:
    from paperqa.store.fingerprint import Fingerprint

    def recomputed() -> Fingerprint:
        return Fingerprint.of(catalog.hashes().items())

    assert catalog.fingerprint() == Fingerprint()
    catalog.put([make(1), make(2), make(3)])
    catalog.put([make(2, abstract="Changed."), make(4), make(4, abstract="Last copy wins.")])
    assert catalog.fingerprint() == recomputed() and catalog.fingerprint().count == 4
    catalog.remove(["p1", "p9"])
    assert catalog.fingerprint() == recomputed() and catalog.fingerprint().count == 3
    catalog._db.execute("DELETE FROM meta WHERE name = 'fingerprint'")  # a catalog from before
    catalog.put([make(5)])
    assert catalog.fingerprint() == recomputed() and catalog.fingerprint().count == 4
    catalog.clear()
    assert catalog.fingerprint() == Fingerprint() == recomputed()


def test_a_fingerprint_is_order_free_and_updates_like_a_recount() -> None:
    from paperqa.store.fingerprint import Fingerprint

    pairs = [(f"p{i}", f"h{i}") for i in range(6)]
    assert Fingerprint.of(pairs) == Fingerprint.of(reversed(pairs))
    assert Fingerprint.of(pairs[:4]).changed(pairs[4:], [pairs[0]]) == Fingerprint.of(pairs[1:])
    assert Fingerprint.of(pairs) != Fingerprint.of([*pairs[:5], ("p5", "changed")])
    assert Fingerprint.loads(Fingerprint.of(pairs).dumps()) == Fingerprint.of(pairs)
    assert Fingerprint.loads("garbled") is None and Fingerprint.loads(None) is None


def test_keywords_in_step_are_not_checked_hash_by_hash_and_a_stale_index_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path)
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    index.upsert([make(i) for i in range(5)])
    index.close()
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    try:
        with monkeypatch.context() as m:
            m.setattr(PaperCatalog, "hashes", lambda self: pytest.fail("the fingerprints agree"))
            assert index.sync_keywords() == "unchanged"
        index.keyword.update([make(1, abstract="A stale copy.")], lambda: {})  # out of step
        assert index.sync_keywords() != "unchanged"
        assert index.keyword.hashes() == index.catalog.hashes()
    finally:
        index.close()


def test_a_bulk_write_commits_its_puts_together_and_a_failed_put_alone_is_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    catalog = PaperCatalog(tmp_path / CATALOG_FILE, "store-a", identifier_keys)
    other = sqlite3.connect(tmp_path / CATALOG_FILE)  # another process's view

    def committed() -> int:
        return int(other.execute("SELECT count(*) FROM papers").fetchone()[0])

    with catalog.bulk_write():
        catalog.put([make(i) for i in range(3)])
        catalog.put([make(3)])
        with monkeypatch.context() as m, pytest.raises(ZeroDivisionError):
            m.setattr(catalog, "_keys_of", lambda _paper: 1 / 0)  # fails after its rows went in
            catalog.put([make(4)])
        assert len(catalog) == 4 and "p4" not in catalog and committed() == 0
        with monkeypatch.context() as m:
            m.setattr("paperqa.store.catalog.BULK_COMMIT", 2)
            catalog.put([make(5), make(6)])  # BULK_COMMIT papers since the last commit: committed
        assert committed() == 6
        catalog.put([make(7)])
        assert committed() == 6
    assert committed() == 7 and sorted(catalog) == sorted(f"p{i}" for i in (0, 1, 2, 3, 5, 6, 7))
    other.close()


def test_a_bulk_write_leaves_the_text_index_behind_and_it_catches_up_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    catalog = PaperCatalog(tmp_path / CATALOG_FILE, "store-a", identifier_keys)
    catalog.put([make(i, abstract=f"Abstract {i} on routing.") for i in range(3)])
    seen: list[tuple[int, int]] = []
    with catalog.bulk_write(lambda done, total: seen.append((done, total))):
        catalog.put(
            [
                make(i, abstract=f"Abstract {i} on pruning.", author_names=[f"Noether {i}"])
                for i in range(3, 8)
            ]
        )
        catalog.put([make(1, abstract="Abstract 1 on sparsity.")])  # one indexed before: kept in step
        catalog.remove(["p2"])
        catalog.put([make(4, abstract="Abstract 4 on pruning, rewritten.", author_names=["Noether 4"])])
        catalog.put([make(11, abstract="Abstract 11 on pruning.")])
        catalog.remove(["p11"])  # written and removed inside
        assert catalog.search("pruning", None) == []  # not yet: the papers written inside wait
        assert [p.id for p in catalog.search("sparsity", None)] == ["p1"]
        assert [p.id for p in catalog.search("routing", None)] == ["p0"]
        assert catalog.spans(["p1"]) == {}
    assert seen[-1] == (7, 7)
    catalog._db.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)")
    assert sorted(p.id for p in catalog.search("pruning", None)) == [f"p{i}" for i in range(3, 8)]
    assert [p.id for p in catalog.search("rewritten", None)] == ["p4"]
    assert [p.id for p in catalog.search("noether 5", None)] == ["p5"]
    assert catalog.count_matching("abstract")[0] == 7
    catalog.put([make(9, abstract="Abstract 9 on pruning.")])  # in step again
    assert catalog.count_matching("pruning")[0] == 6

    bulk = catalog.bulk_write()  # kept: a bulk write that is let go of ends (and commits)
    bulk.__enter__()  # a process killed inside: the next open catches up
    with monkeypatch.context() as m:
        m.setattr("paperqa.store.catalog.BULK_COMMIT", 1)
        catalog.put([make(10, abstract="Abstract 10 on distillation.")])  # committed
    catalog.put([make(12, abstract="Abstract 12 on distillation.")])  # not yet: the next sync copies it
    catalog._db.close()
    reopened = PaperCatalog(tmp_path / CATALOG_FILE, "store-a", identifier_keys)
    assert [p.id for p in reopened.search("distillation", None)] == ["p10"]
    with pytest.raises(sqlite3.ProgrammingError):  # the killed process's bulk write, let go of
        bulk.__exit__(None, None, None)
