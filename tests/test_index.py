"""Idempotent ingest into a real Chroma store in a temp folder."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from paperqa.api import PaperQA
from paperqa.ingest.parse import parse_files
from paperqa.settings import Settings

from .conftest import CORPUS

PAGE = "002_0e3d0914205f9d43.txt"  # 42 papers


@pytest.mark.slow  # ingests with the real embedding model
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


@pytest.mark.slow  # ingests with the real embedding model
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


@pytest.mark.slow  # ingests with the real embedding model
def test_keyword_index_grows_by_segments_and_recovers_after_a_lost_update(tmp_path: Path) -> None:
    from paperqa.settings import IndexSettings

    settings = Settings(
        home=tmp_path / "home", index=IndexSettings(keyword_rebuild_below=10, keyword_merge_fraction=1.0)
    )
    app = PaperQA(settings)
    app.ingest([CORPUS / PAGE])
    other = "000_adfa45a2c22c7900.txt"
    app.ingest([CORPUS / other])  # at "scale": the second ingest adds a segment, no rebuild
    manifest = settings.keyword_dir / "manifest.json"
    assert len(json.loads(manifest.read_text())["segments"]) == 2
    ids = {p.id for p in app.papers()}
    assert set(app.index.keyword.hashes()) == ids

    # An ingest killed after the store write but before the keyword update: the rerun
    # indexes the stored papers for keywords without embedding anything again.
    shutil.rmtree(settings.keyword_dir)
    rerun = PaperQA(settings)
    calls = []
    original = rerun.index.embed_texts
    rerun.index.embed_texts = lambda texts: calls.append(len(texts)) or original(texts)  # type: ignore[method-assign]
    report = rerun.ingest([CORPUS / PAGE])
    assert report.added == 0 and calls == []
    assert {p.id for p in parse_files([CORPUS / PAGE]).papers} <= set(rerun.index.keyword.hashes())
    # A reader catches up with the rest on its first search.
    hits = PaperQA(settings).index.keyword_search("attention", 5)
    assert hits and set(rerun.index.keyword.hashes()) == ids


@pytest.mark.slow  # ingests with the real embedding model
def test_rerun_after_a_lost_keyword_update_keeps_every_page_of_a_paper(tmp_path: Path) -> None:
    """Papers indexed again for keywords are the stored ones, not the incoming records."""
    first, second = "000_adfa45a2c22c7900.txt", "001_6b8d6c65c737c233.txt"
    settings = Settings(home=tmp_path / "home")
    app = PaperQA(settings)
    app.ingest([CORPUS / first, CORPUS / second])
    both = [p for p in app.papers() if p.pages == [first, second]]
    assert both, "some papers are on both pages"
    shutil.rmtree(settings.keyword_dir)
    app.index.keyword.clear()
    app.ingest([CORPUS / first])  # unchanged in the store, missing from the keyword index
    again = {p.id: p for p in app.papers()}
    assert all(again[p.id].pages == [first, second] for p in both)
    assert set(app.index.keyword.hashes()) == set(again)


def test_a_question_is_embedded_once_however_often_it_is_searched(tmp_path: Path) -> None:
    from paperqa.store.index import PaperIndex

    class CountingEmbedder:
        calls = 0

        def get_query_embedding(self, text: str) -> list[float]:
            self.calls += 1
            return [3.0, 4.0]

    model = CountingEmbedder()
    index = PaperIndex(Settings(home=tmp_path), embed_model=model)
    try:
        first = index.embed_query("What is GaLore?")
        first[0] = 99.0  # a caller changing its copy changes nothing remembered
        again = index.embed_query("What is GaLore?")
        assert model.calls == 1
        assert again.tolist() == [0.6000000238418579, 0.800000011920929]
        index.embed_query("What is SLTrain?")
        assert model.calls == 2
    finally:
        index.close()


def test_ingest_embeds_the_chunkers_token_ids_as_the_model_embeds_the_text(app: PaperQA) -> None:
    """The local model reads the ids the chunker counted with (no second tokenization): the
    same ids as tokenizing each chunk's text, the same vectors as `SentenceTransformer.encode`."""
    import numpy as np

    index = app.index
    path = index.token_path
    assert path is not None  # MiniLM's WordPiece ids add up
    papers = parse_files([CORPUS / PAGE]).papers
    chunks = index.chunk(papers)
    assert len(chunks) > len(papers)  # some abstracts exceed the window and are cut
    st = index.embed_model._model
    texts = [c.embed_text for c in chunks]
    ids = st.tokenizer(texts, add_special_tokens=False)["input_ids"]
    assert [list(c.token_ids or ()) for c in chunks] == ids
    vectors = index.embed_chunks(chunks)
    expected = st.encode(texts, normalize_embeddings=True)
    assert float(np.min(np.sum(vectors * expected, axis=1))) > 0.9999


def test_a_tokenizer_whose_ids_do_not_add_up_is_not_trusted_with_them() -> None:
    from types import SimpleNamespace

    from tokenizers.pre_tokenizers import Metaspace

    from paperqa.store.embedding import TokenPath

    path = TokenPath.__new__(TokenPath)  # no model needed to judge the tokenizer
    path.tokenizer = SimpleNamespace(backend_tokenizer=SimpleNamespace(pre_tokenizer=Metaspace()))
    assert not path.adds_up()


def test_chroma_keeps_spans_not_texts_and_hits_read_their_text_from_the_paper(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Chunk records hold a vector alone and paper records no document (Chroma would store each
    text three times); a chunk's span is kept with its paper, and a hit's text is its span of the
    paper's abstract. Records from before (a span in the chunk's metadata, in separate keys, a text
    as the document) still read; a span that no longer matches its paper gives the paper's whole
    text."""
    import numpy as np

    from paperqa.store.chunking import passage_source, text_check
    from paperqa.store.index import PaperIndex
    from paperqa.store.records import paper_of, paper_spans, paper_state

    from .fakes import FakeEmbedModel, paper

    settings = Settings(home=tmp_path)
    settings.index.whole_paper_tokens = 0  # cut every abstract at chunk_size
    settings.index.chunk_size = 12
    settings.index.chunk_overlap = 0
    long = paper("Mole Retrieval", " ".join(f"Moles dig tunnel number {i} under the lawn." for i in range(6)))
    short = paper("Vole Ranking", "Voles rank burrows by depth.")
    model = FakeEmbedModel()
    index = PaperIndex(settings, embed_model=model)
    try:
        index.upsert([long, short])
        stored = index._chunks.get(include=["documents", "metadatas"])
        assert len(stored["ids"]) > 2 and all(d is None for d in stored["documents"])
        assert all(m is None for m in stored["metadatas"])  # no metadata: the paper is in the id
        assert all(d is None for d in index._papers.get(include=["documents"])["documents"])
        meta = index._papers.get(ids=[short.id], include=["metadatas"])["metadatas"][0]
        check = text_check(short.abstract)
        assert paper_state(meta) == (short.text_hash, short.meta_hash, 1)
        key = paper_spans(meta)[:16]  # its chunks' write time, their ids' first part
        assert paper_spans(meta) == f"{key}|0.{len(short.abstract)}.{check}"
        assert meta["state"][16] == meta["json"][16] == "|"  # each begins with its write time
        assert f"{key}|{short.id}:0" in stored["ids"] and all(cid[16] == "|" for cid in stored["ids"])
        assert paper_of(meta) == short
        texts = {pid: [t for t, _ in chunks] for pid, chunks in index.chunks_of([long.id, short.id]).items()}
        assert " ".join(texts[long.id]) == passage_source(long) and texts[short.id] == [short.abstract]
        query = np.asarray(model.get_query_embedding("voles rank burrows"), dtype=np.float32)
        hits = index.dense_search(query / np.linalg.norm(query), 3)
        assert hits and all(h.text in texts[h.paper_id] for h in hits)
        unread = index.dense_search(query / np.linalg.norm(query), 3, texts=False)
        assert [h.chunk_id for h in unread] == [h.chunk_id for h in hits] and not any(h.text for h in unread)
        assert index.with_texts(unread) == hits  # read later, the same texts
        mixed = index.with_texts([hits[0], *unread[1:]])  # read and unread together, in order
        assert [h.text for h in mixed] == [h.text for h in hits]
        assert unread[0].record is not None and "record" not in unread[0].model_dump()  # never in JSON

        stale = short.model_copy(update={"abstract": "An older abstract another client replaced."})
        index.catalog.put([stale])  # the catalog's copy is older than the chunks Chroma holds
        assert index.chunks_of([short.id])[short.id][0][0] == short.abstract
        assert index.catalog[short.id].abstract == short.abstract  # taken from Chroma's record

        first, *rest = paper_spans(
            index._papers.get(ids=[long.id], include=["metadatas"])["metadatas"][0]
        ).split(",")
        wrong = ",".join([first, "0.5.1", *rest[1:]])  # another splitter's span for its second chunk
        state = f"{long.text_hash}:{long.meta_hash}:{len(rest) + 1}:{wrong}"
        index._papers.update(ids=[long.id], metadatas=[{"state": state}])
        index.catalog.put([long], {long.id: wrong})
        with caplog.at_level("WARNING"):
            read = [t for t, _ in index.chunks_of([long.id, short.id])[long.id]]
        assert (
            read[0] == texts[long.id][0]
            and read[1] == passage_source(long)
            and read[2:] == texts[long.id][2:]
        )
        assert "re-ingest" in caplog.text
        index.catalog.put([long], {long.id: ",".join([first, *rest])})  # its spans as written
        caplog.clear()
        vector = index._chunks.get(ids=[f"{key}|{short.id}:0"], include=["embeddings"])["embeddings"][0]
        index._chunks.delete(ids=[f"{key}|{short.id}:0"])
        # a paper from before its chunks had keys or spans: its record counts them, the catalog has no spans
        index._papers.update(ids=[short.id], metadatas=[{"state": f"{short.text_hash}:{short.meta_hash}:1"}])
        index.catalog.remove([short.id])
        index.catalog.put([short])
        index._chunks.add(  # a record from before its paper kept its span
            ids=[f"{short.id}:0"],
            metadatas=[{"paper_id": short.id, "span": f"0:0:5:{check}"}],
            embeddings=[vector],
        )
        with caplog.at_level("WARNING"):  # its own span, which fails: the whole text, and a warning
            assert index.chunks_of([short.id])[short.id][0][0] == short.abstract
        assert "re-ingest" in caplog.text
        index._chunks.delete(ids=[f"{short.id}:0"])
        cut = {"start": 0, "end": len(short.abstract), "check": check}
        index._chunks.add(  # a record from before spans were one value: its keys are read
            ids=[f"{short.id}:0"], metadatas=[{"paper_id": short.id, "chunk": 0, **cut}], embeddings=[vector]
        )
        assert index.chunks_of([short.id])[short.id][0][0] == short.abstract
        index._chunks.delete(ids=[f"{short.id}:0"])
        index._chunks.add(  # a record from before spans: its text is its document
            ids=[f"{short.id}:0"],
            documents=["Old stored text."],
            metadatas=[{"paper_id": short.id, "chunk": 0}],
            embeddings=[vector],
        )
        assert index.chunks_of([short.id])[short.id][0][0] == "Old stored text."
        record = index._papers.get(ids=[long.id], include=["metadatas"])["metadatas"][0]
        assert set(record) == {"json", "state"}
        index._papers.update(ids=[long.id], metadatas=[{"state": f"{long.text_hash}:{long.meta_hash}:0"}])
        assert " ".join(t for t, _ in index.chunks_of([long.id])[long.id]) == passage_source(
            long
        )  # the catalog's count
    finally:
        index.close()


def test_the_hnsw_settings_are_set_on_new_collections_and_changed_on_open(tmp_path: Path) -> None:
    from paperqa.store.index import PaperIndex

    from .fakes import FakeEmbedModel, paper

    settings = Settings(home=tmp_path)
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    index.upsert([paper(f"Paper {i}", f"A paper about topic {i}.") for i in range(3)])
    assert index._chunks.configuration_json["hnsw"]["sync_threshold"] == 1000  # Chroma's own
    assert index._chunks.configuration_json["hnsw"]["ef_search"] == 200  # ours: the same hits every run
    index.close()
    settings.index.hnsw_sync_threshold, settings.index.hnsw_batch_size = 30000, 3000
    settings.index.hnsw_ef_search = 300
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    try:
        for collection in (index._chunks, index._papers):
            hnsw = collection.configuration_json["hnsw"]
            assert (hnsw["sync_threshold"], hnsw["batch_size"], hnsw["space"]) == (30000, 3000, "cosine")
            assert hnsw["ef_search"] == 300
        assert index.count() == 3 and index.keyword_search("paper", 3)
    finally:
        index.close()


def test_records_from_before_their_parts_were_one_value_read_the_same() -> None:
    from paperqa.store.chunking import Chunk, text_check
    from paperqa.store.records import (
        chunk_number,
        chunk_paper,
        chunk_span,
        paper_of,
        paper_record,
        paper_spans,
        paper_state,
        read_spans,
        spans_value,
    )

    from .fakes import paper

    p = paper("Vole Ranking", "Voles rank burrows by depth.")
    before = {
        "title": p.title,
        "text_hash": p.text_hash,
        "meta_hash": p.meta_hash,
        "n_chunks": 2,
        "json": "{}",
    }
    texts = ["Voles rank burrows", "by depth."]
    chunks = [
        Chunk(
            owner=0,
            number=i,
            start=p.abstract.index(t),
            end=p.abstract.index(t) + len(t),
            text=t,
            embed_text=t,
        )
        for i, t in enumerate(texts)
    ]
    record = paper_record(p, spans_value(chunks))
    one_value = {"state": f"{p.text_hash}:{p.meta_hash}:2"}  # the state before it kept the spans
    assert (
        paper_state(record) == paper_state(before) == paper_state(one_value) == (p.text_hash, p.meta_hash, 2)
    )
    assert read_spans(paper_spans(record)) == [(c.start, c.end, text_check(c.text)) for c in chunks]
    assert paper_spans(before) == paper_spans(one_value) == "" and read_spans("") == []
    assert (
        paper_of({"json": p.model_dump_json()}) == paper_of(record) == p
    )  # written without its time, and with
    assert (chunk_paper(f"{p.id}:1", None), chunk_number(f"{p.id}:1")) == (p.id, 1)
    old = {"paper_id": p.id, "chunk": 1, "start": 19, "end": 28, "check": text_check(texts[1])}
    span = {"paper_id": p.id, "span": f"1:19:28:{text_check(texts[1])}"}
    assert chunk_span(old) == chunk_span(span) == (1, 19, 28, text_check(texts[1]))
    assert chunk_paper("other:3", old) == p.id  # a record from before names its paper
    assert chunk_span({"paper_id": p.id, "chunk": 0}) is None  # from before spans: the text is the document
    assert chunk_span(None) is None  # a record of now keeps nothing


def test_a_metadata_or_text_change_rewrites_a_record_from_before_in_the_current_form(tmp_path: Path) -> None:
    from paperqa.store.index import PaperIndex
    from paperqa.store.records import paper_state

    from .fakes import FakeEmbedModel, paper

    index = PaperIndex(Settings(home=tmp_path), embed_model=FakeEmbedModel())
    try:
        p = paper("Vole Ranking", "Voles rank burrows by depth.")
        index.upsert([p])
        json_ = index._papers.get(ids=[p.id], include=["metadatas"])["metadatas"][0]["json"]
        before = {"title": p.title, "text_hash": p.text_hash, "meta_hash": p.meta_hash, "n_chunks": 1}
        index._papers.update(ids=[p.id], metadatas=[{**before, "date": "", "json": json_, "state": None}])
        changed = p.model_copy(update={"authors": 3})  # the same text: a metadata-only update
        counts = index.upsert([changed])
        assert (counts.added, counts.updated) == (0, 1)
        record = index._papers.get(ids=[p.id], include=["metadatas"])["metadatas"][0]
        assert set(record) == {"json", "state"}  # the stale separate keys are gone
        assert paper_state(record) == (changed.text_hash, changed.meta_hash, 1)
        assert index.upsert([changed]).unchanged == 1
        index._papers.update(ids=[p.id], metadatas=[{**before, "state": None}])  # from before again
        rewritten = changed.model_copy(update={"abstract": "Voles rank burrows by depth and width."})
        assert index.upsert([rewritten]).updated == 1  # its text changed: re-embedded
        record = index._papers.get(ids=[p.id], include=["metadatas"])["metadatas"][0]
        assert set(record) == {"json", "state"} and paper_state(record)[0] == rewritten.text_hash
    finally:
        index.close()


def _chunk_ids_of(index: Any, paper_id: str) -> list[str]:
    """A paper's chunk ids as its catalog row names them."""
    from paperqa.store.records import chunk_ids

    return chunk_ids(paper_id, index.catalog.spans([paper_id])[paper_id])


def test_a_rewritten_paper_leaves_no_chunk_behind_in_either_record_form(tmp_path: Path) -> None:
    """Chunk records are found by their ids ("<key>|<paper>:<n>", the key and count kept with the
    paper): a paper whose new text is rewritten loses its old chunks, and the chunks of a record
    from before (which carry their paper id and span) are all replaced by records with none."""
    from paperqa.store.index import PaperIndex

    from .fakes import FakeEmbedModel, paper

    settings = Settings(home=tmp_path)
    settings.index.whole_paper_tokens = 0
    settings.index.chunk_size = 12
    settings.index.chunk_overlap = 0
    index = PaperIndex(settings, embed_model=FakeEmbedModel())
    try:
        long = paper(
            "Mole Retrieval", " ".join(f"Moles dig tunnel number {i} under the lawn." for i in range(6))
        )
        index.upsert([long])
        assert len(index._chunks.get()["ids"]) > 2
        shorter = long.model_copy(update={"abstract": "Moles dig tunnels."})
        assert index.upsert([shorter]).updated == 1
        assert (
            index._chunks.get()["ids"] == _chunk_ids_of(index, long.id)
            and len(_chunk_ids_of(index, long.id)) == 1
        )
        assert [t for t, _ in index.chunks_of([long.id])[long.id]] == ["Moles dig tunnels."]

        vector = index._chunks.get(include=["embeddings"])["embeddings"][0]
        index._chunks.delete(ids=_chunk_ids_of(index, long.id))
        index._chunks.upsert(  # two chunk records in the form from before, and a paper record too
            ids=[f"{long.id}:0", f"{long.id}:1"],
            embeddings=[vector, vector],
            metadatas=[{"paper_id": long.id, "span": "0:0:5:1"}, {"paper_id": long.id, "span": "1:5:9:1"}],
        )
        index._papers.update(
            ids=[long.id], metadatas=[{"state": f"{shorter.text_hash}:{shorter.meta_hash}:2"}]
        )
        again = long.model_copy(update={"abstract": "Moles dig tunnels under lawns."})
        assert index.upsert([again]).updated == 1
        got = index._chunks.get(include=["metadatas"])
        assert got["ids"] == _chunk_ids_of(index, long.id) and got["metadatas"] == [None]
        assert [t for t, _ in index.chunks_of([long.id])[long.id]] == ["Moles dig tunnels under lawns."]
    finally:
        index.close()


def _record_chunk_ids(index: Any, paper_id: str) -> list[str]:
    """A paper's chunk ids as its Chroma paper record names them."""
    from paperqa.store.records import chunk_ids, paper_spans

    return chunk_ids(
        paper_id, paper_spans(index._papers.get(ids=[paper_id], include=["metadatas"])["metadatas"][0])
    )


def test_a_write_killed_midway_leaves_no_chunk_behind_once_the_same_ingest_runs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paper's new chunks have new ids, so a write that dies before its paper record takes them
    leaves them no one's, and one that dies after it leaves the old ones and a stale catalog row:
    the next ingest (the same papers, found unchanged) finishes it from the writer's journal."""
    from chromadb.api.models.Collection import Collection

    from paperqa.errors import StoreError
    from paperqa.store import journal
    from paperqa.store.index import PaperIndex

    from .fakes import FakeEmbedModel, paper

    def killed(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("killed")

    chunk_upsert = Collection.upsert

    def papers_killed(self: Collection, ids: list[str], **kwargs: Any) -> None:
        if not all("|" in i for i in ids):  # paper records (chunk ids begin with their key)
            killed()
        chunk_upsert(self, ids=ids, **kwargs)

    def all_chunks_are_named(*papers: Any) -> None:
        named = {cid for p in papers for cid in _record_chunk_ids(index, p.id)}
        assert set(index._chunks.get()["ids"]) == named and not list((tmp_path / journal.FOLDER).iterdir())
        assert all(_chunk_ids_of(index, p.id) == _record_chunk_ids(index, p.id) for p in papers)

    index = PaperIndex(Settings(home=tmp_path), embed_model=FakeEmbedModel())
    try:
        vole, mole = (
            paper("Vole Ranking", "Voles rank burrows by depth."),
            paper("Mole Digging", "Moles dig."),
        )
        index.upsert([vole, mole])
        wider = vole.model_copy(update={"abstract": "Voles rank burrows by width."})
        with monkeypatch.context() as m:  # killed before its paper record
            m.setattr(Collection, "upsert", papers_killed)
            with pytest.raises(StoreError):
                index.upsert([wider, mole])
        assert len(index._chunks.get()["ids"]) == 3 and len(journal.left(tmp_path)) == 1
        assert index.upsert([vole, mole]).unchanged == 2  # nothing to write, the leftovers go
        all_chunks_are_named(vole, mole)
        assert [t for t, _ in index.chunks_of([vole.id])[vole.id]] == [vole.abstract]

        with monkeypatch.context() as m:  # killed after its paper record, before the catalog
            m.setattr(index.catalog, "put", killed)
            with pytest.raises(StoreError):
                index.upsert([wider, mole])
        assert index.catalog[vole.id].abstract == vole.abstract  # stale
        assert index.upsert([wider, mole]).unchanged == 2
        assert index.catalog[vole.id].abstract == wider.abstract
        all_chunks_are_named(wider, mole)
        assert [t for t, _ in index.chunks_of([vole.id])[vole.id]] == [wider.abstract]

        (tmp_path / journal.FOLDER / "0-1.json").write_text('{"key": "0')  # a disk that lost its end
        assert index.upsert([wider]).unchanged == 1 and not list((tmp_path / journal.FOLDER).iterdir())
    finally:
        index.close()


def test_a_bulk_write_killed_before_its_commit_loses_no_catalog_row_once_the_next_ingest_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a bulk write the catalog commits every BULK_COMMIT papers, after Chroma holds them: a
    process killed before that commit loses catalog rows (new, rewritten or with new metadata) that
    Chroma has, and the old chunks of the rewritten ones are still there; the journal puts it right."""
    from paperqa.store import journal
    from paperqa.store.index import PaperIndex, UpsertCounts

    from .fakes import FakeEmbedModel, paper

    vole, mole = paper("Vole Ranking", "Voles rank burrows by depth."), paper("Mole Digging", "Moles dig.")
    index = PaperIndex(Settings(home=tmp_path), embed_model=FakeEmbedModel())
    index.upsert([vole, mole])
    wider = vole.model_copy(update={"abstract": "Voles rank burrows by width."})
    renamed = mole.model_copy(update={"title": "Mole Digging Again"})  # metadata only
    shrew = paper("Shrew Feeding", "Shrews eat insects at night.")
    bulk = index.catalog.bulk_write()
    bulk.__enter__()  # the writes below run inside it, as a large ingest's batches do
    for batch in ([wider], [renamed], [shrew]):
        index._upsert_batch(batch, UpsertCounts())
    assert len(journal.left(tmp_path)) == 3  # none committed yet
    index.catalog._db.close()  # killed: the open transaction is lost
    index.close()
    reopened = PaperIndex(Settings(home=tmp_path), embed_model=FakeEmbedModel())
    try:
        assert reopened.upsert([wider, renamed, shrew]).unchanged == 3
        assert reopened.catalog[vole.id].abstract == wider.abstract
        assert reopened.catalog[mole.id].title == renamed.title and shrew.id in reopened.catalog
        named = {cid for p in (wider, renamed, shrew) for cid in _record_chunk_ids(reopened, p.id)}
        assert set(reopened._chunks.get()["ids"]) == named and not journal.left(tmp_path)
    finally:
        reopened.close()
        with contextlib.suppress(Exception):
            bulk.__exit__(None, None, None)


def test_searches_in_chosen_papers_find_chunks_of_either_form_and_skip_leftovers(tmp_path: Path) -> None:
    """A store some of whose records are from before (chunks with their paper id, a paper record
    with no count) answers a search in chosen papers from both kinds; a chunk record past its
    paper's chunks (a write interrupted before its paper record) is never a hit."""
    import numpy as np

    from paperqa.store.chunking import text_check
    from paperqa.store.index import PaperIndex

    from .fakes import FakeEmbedModel, paper

    model = FakeEmbedModel()
    index = PaperIndex(Settings(home=tmp_path), embed_model=model)
    try:
        old, new = (
            paper("Vole Ranking", "Voles rank burrows by depth."),
            paper("Mole Digging", "Moles dig deep burrows."),
        )
        index.upsert([old, new])
        got = index._chunks.get(ids=_chunk_ids_of(index, old.id), include=["embeddings"])
        index._chunks.delete(ids=_chunk_ids_of(index, old.id))
        span = f"0:0:{len(old.abstract)}:{text_check(old.abstract)}"
        index._chunks.add(
            ids=[f"{old.id}:0"], embeddings=got["embeddings"], metadatas=[{"paper_id": old.id, "span": span}]
        )
        index._papers.update(
            ids=[old.id], metadatas=[{"state": None, "text_hash": old.text_hash, "meta_hash": old.meta_hash}]
        )
        index.catalog.put([old.model_copy(update={"abstract": "Voles."})])  # the catalog has no spans for it
        index.catalog.put([old])
        query = np.asarray(model.get_query_embedding("burrows"), dtype=np.float32)
        query /= np.linalg.norm(query)
        hits = index.dense_search(query, 5, allowed={old.id, new.id})
        assert {h.paper_id for h in hits} == {old.id, new.id}
        assert {h.text for h in hits} == {old.abstract, new.abstract}

        key = _chunk_ids_of(index, new.id)[0][:16]
        other = f"{int(key, 16) + 1:016x}"  # a key its paper record does not hold
        for leftover in (f"{key}|{new.id}:5", f"{other}|{new.id}:0"):  # past its chunks, another write's
            index._chunks.upsert(ids=[leftover], embeddings=[query])  # nearest of all
            assert leftover not in {h.chunk_id for h in index.dense_search(query, 5)}
            assert leftover not in {h.chunk_id for h in index.dense_search(query, 5, allowed={new.id})}
    finally:
        index.close()
