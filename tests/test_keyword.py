"""The segmented keyword index: appends at scale instead of rebuilding, newest copy wins,
merges, reconciles with the store, and readers in other processes see a writer's changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paperqa.ingest.parse import expand_paths, parse_files
from paperqa.store.keyword import KeywordIndex, KeywordPolicy
from paperqa.types import Paper

from .conftest import CORPUS, ROOT


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    return parse_files(expand_paths([CORPUS])).papers


def _by_id(ps: list[Paper]) -> dict[str, Paper]:
    return {p.id: p for p in ps}


def _find(papers: list[Paper], title_start: str) -> Paper:
    return next(p for p in papers if p.title.startswith(title_start))


def _segments(folder: Path) -> list[str]:
    return list(json.loads((folder / "manifest.json").read_text())["segments"])


def test_small_corpora_are_one_exact_segment(tmp_path: Path, papers: list[Paper]) -> None:
    kw = KeywordIndex(tmp_path / "kw")  # default policy: rebuild below 20k papers
    head, tail = papers[:300], papers[300:]
    assert kw.update(head, lambda: _by_id(head)) == "rebuilt"
    assert kw.update(tail, lambda: _by_id(papers)) == "rebuilt"
    assert len(_segments(tmp_path / "kw")) == 1 and len(kw) == len(papers)
    target = _find(papers, "On Layer Normalization in the Transformer")
    assert kw.search("layer normalization warm-up stage Transformer", 3)[0][0] == target.id


def test_large_corpora_append_segments_then_merge(tmp_path: Path, papers: list[Paper]) -> None:
    folder = tmp_path / "kw"
    kw = KeywordIndex(folder, KeywordPolicy(rebuild_below=100, max_segments=3, merge_fraction=0.9))
    assert kw.update(papers[:400], lambda: _by_id(papers[:400])) == "rebuilt"
    # A small ingest at "scale" writes only the new papers, in a new segment.
    assert kw.update(papers[400:450], lambda: pytest.fail("must not rebuild")) == "appended"
    assert len(_segments(folder)) == 2 and len(kw) == 450
    new = papers[420]
    assert new.id in [pid for pid, _ in kw.search(new.title, 5)]
    # Unchanged papers are not written again.
    assert kw.update(papers[400:450], lambda: pytest.fail("nothing to do")) == "unchanged"
    # A changed abstract: the newest copy counts, the old text no longer matches.
    old = papers[10]
    changed = old.model_copy(
        update={"title": "Zyxwvut", "abstract": "Quokka fluorescence in deep sea vents."}
    )
    assert kw.update([changed], lambda: pytest.fail("must not rebuild")) == "appended"
    assert [pid for pid, _ in kw.search("zyxwvut quokka", 5)] == [old.id]
    assert old.id not in [pid for pid, _ in kw.search(old.title, 20)]
    assert kw.hashes()[old.id] == changed.text_hash and len(kw) == 450
    # Too many segments: merged into one, from the store's papers.
    merged = {**_by_id(papers[:450]), old.id: changed}
    assert kw.update(papers[450:460], lambda: {**merged, **_by_id(papers[450:460])}) == "rebuilt"
    assert len(_segments(folder)) == 1 and len(kw) == 460
    assert [pid for pid, _ in kw.search("zyxwvut quokka", 5)] == [old.id]
    leftovers = sorted(p.name for p in folder.iterdir() if p.name.startswith(("seg-", ".tmp")))
    assert leftovers == _segments(folder)  # replaced segments are deleted


def test_segments_score_on_one_scale(tmp_path: Path, papers: list[Paper]) -> None:
    """A small appended segment ranks as if every paper were in one exact index (its IDF is
    rescaled to all segments), rather than on its own 50-paper statistics."""
    exact = KeywordIndex(tmp_path / "exact")
    exact.update(papers, lambda: _by_id(papers))
    seg = KeywordIndex(tmp_path / "seg", KeywordPolicy(rebuild_below=10, merge_fraction=0.99))
    seg.update(papers[:500], lambda: _by_id(papers[:500]))
    assert seg.update(papers[500:], lambda: pytest.fail("must append")) == "appended"
    queries = [p.title for p in papers[500:]] + [p.abstract.split(". ")[0] for p in papers[470:530]]
    top1 = top5 = 0.0
    for q in queries:
        a, b = exact.search(q, 5), seg.search(q, 5)
        top1 += a[0][0] == b[0][0]
        top5 += len({pid for pid, _ in a} & {pid for pid, _ in b}) / 5
        assert b == sorted(b, key=lambda h: -h[1])
    assert top1 / len(queries) >= 0.99 and top5 / len(queries) >= 0.95, (top1, top5)


def test_filters_and_sync(tmp_path: Path, papers: list[Paper]) -> None:
    kw = KeywordIndex(tmp_path / "kw", KeywordPolicy(rebuild_below=10))
    kw.update(papers[:200], lambda: _by_id(papers[:200]))
    kw.update(papers[200:260], lambda: pytest.fail("append"))
    allowed = {p.id for p in papers[150:230]}  # spans both segments
    hits = kw.search("language model reasoning benchmark", 50, allowed)
    assert hits and all(pid in allowed for pid, _ in hits)
    assert {pid for pid, _ in hits} & {p.id for p in papers[200:230]}
    # The store lost some papers and holds others the index never saw (a killed ingest,
    # another machine writing to a shared Chroma server): sync makes them agree.
    store = _by_id(papers[5:300])
    assert kw.sync(store) == "rebuilt"  # removals force a rebuild
    assert kw.hashes() == {pid: p.text_hash for pid, p in store.items()}
    assert kw.sync(store) == "unchanged"


def test_a_reader_in_another_process_sees_new_segments(tmp_path: Path, papers: list[Paper]) -> None:
    folder = tmp_path / "kw"
    reader = KeywordIndex(folder)
    assert reader.search("anything", 5) == []  # no index yet: no hits, no error
    writer = KeywordIndex(folder, KeywordPolicy(rebuild_below=10))
    writer.update(papers[:100], lambda: _by_id(papers[:100]))
    assert len(reader) == 100  # loaded once, so the next change must be noticed, not just read
    target = papers[150]
    code = (
        "import sys, pickle; from pathlib import Path; from paperqa.store.keyword import KeywordIndex, KeywordPolicy;"
        "ps = pickle.load(open(sys.argv[2], 'rb'));"
        "KeywordIndex(Path(sys.argv[1]), KeywordPolicy(rebuild_below=10, merge_fraction=1.0)).update(ps, lambda: {})"
    )
    import pickle

    blob = tmp_path / "papers.pkl"
    blob.write_bytes(pickle.dumps(papers[100:200]))
    subprocess.run([sys.executable, "-c", code, str(folder), str(blob)], check=True, cwd=ROOT)
    assert len(reader) == 200  # the reader reloads the new manifest
    assert target.id in [pid for pid, _ in reader.search(target.title, 5)]


def test_damaged_keyword_index_is_rebuilt_from_the_store(tmp_path: Path, papers: list[Paper]) -> None:
    folder = tmp_path / "kw"
    kw = KeywordIndex(folder)
    kw.update(papers[:50], lambda: _by_id(papers[:50]))
    (folder / "manifest.json").write_text("{not json")
    fresh = KeywordIndex(folder)
    assert len(fresh) == 0  # unreadable: treated as empty, not a crash
    assert fresh.sync(_by_id(papers[:50])) == "rebuilt" and len(fresh) == 50


def test_a_segment_tokenized_in_blocks_scores_exactly_as_in_one(
    tmp_path: Path, papers: list[Paper], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large rebuild tokenizes KEYWORD_BLOCK papers at a time into one vocabulary: the index
    is the one a single pass builds (same hits, same scores, same IDF)."""
    import paperqa.store.keyword as keyword

    whole = KeywordIndex(tmp_path / "whole")
    whole.update(papers, lambda: _by_id(papers))
    monkeypatch.setattr(keyword, "KEYWORD_BLOCK", 37)
    blocks = KeywordIndex(tmp_path / "blocks")
    blocks.update(papers, lambda: _by_id(papers))
    queries = [p.title for p in papers[::25]] + ["process reward models", "low-rank gradient memory"]
    for q in queries:
        got, want = blocks.search(q, 10), whole.search(q, 10)
        assert [pid for pid, _ in got] == [pid for pid, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want])
    assert blocks.idf(["model", "galor", "diffus"]) == pytest.approx(whole.idf(["model", "galor", "diffus"]))


def test_a_large_rebuild_writes_several_segments_that_rank_as_one(
    tmp_path: Path, papers: list[Paper]
) -> None:
    """A rebuild past `segment_papers` writes segments of at most that many papers (bounding
    the memory one build takes); they rank as one exact segment does, and later changes are
    appended beside them rather than rebuilding again."""
    exact = KeywordIndex(tmp_path / "exact")
    exact.update(papers, lambda: _by_id(papers))
    policy = KeywordPolicy(rebuild_below=10, segment_papers=200, max_segments=8, merge_fraction=0.25)
    split = KeywordIndex(tmp_path / "split", policy)
    assert split.update(papers, lambda: _by_id(papers)) == "rebuilt"
    assert len(_segments(tmp_path / "split")) == 3  # 550 papers, at most 200 a segment
    assert len(split) == len(papers)
    for q in [p.title for p in papers[::50]]:
        got, want = split.search(q, 5), exact.search(q, 5)
        assert got[0][0] == want[0][0]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=0.05)
    changed = papers[0].model_copy(update={"abstract": "A new abstract about zebrafish telomeres."})
    assert split.update([changed], lambda: pytest.fail("must append")) == "appended"
    assert len(_segments(tmp_path / "split")) == 4
    assert split.search("zebrafish telomeres", 1)[0][0] == changed.id


def test_a_rebuild_never_takes_more_than_half_the_segments(tmp_path: Path, papers: list[Paper]) -> None:
    policy = KeywordPolicy(rebuild_below=10, segment_papers=10, max_segments=6)
    kw = KeywordIndex(tmp_path / "kw", policy)
    kw.update(papers, lambda: _by_id(papers))
    assert len(_segments(tmp_path / "kw")) == 3
    assert len(kw) == len(papers)


def test_the_manifest_keeps_the_fingerprint_of_what_the_index_holds(
    tmp_path: Path, papers: list[Paper]
) -> None:
    from paperqa.store.fingerprint import Fingerprint

    folder = tmp_path / "kw"
    kw = KeywordIndex(folder, KeywordPolicy(rebuild_below=100, max_segments=4, merge_fraction=0.9))

    def recomputed() -> Fingerprint:
        return Fingerprint.of(kw.hashes().items())

    assert kw.fingerprint() == Fingerprint()
    kw.update(papers[:200], lambda: _by_id(papers[:200]))  # rebuilt
    assert kw.fingerprint() == recomputed() and kw.fingerprint().count == 200
    changed = papers[5].model_copy(update={"abstract": "A new abstract."})
    assert kw.update([*papers[200:230], changed, changed], lambda: pytest.fail("appends")) == "appended"
    assert kw.fingerprint() == recomputed() and kw.fingerprint().count == 230
    # another process reads the same value from the manifest, without computing it
    assert KeywordIndex(folder).fingerprint() == recomputed()
    # an index written before fingerprints were kept computes its own
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["fingerprint"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert KeywordIndex(folder).fingerprint() == recomputed()


def test_a_words_scores_read_from_its_column_are_bm25s_own(tmp_path: Path, papers: list[Paper]) -> None:
    """Multi-segment search reads a word's scores from the sparse matrix directly; they are
    exactly what bm25s computes for the word (same rows, same float32 values)."""
    import numpy as np

    from paperqa.store.keyword import _word_scores

    kw = KeywordIndex(tmp_path / "kw")
    kw.update(papers[:120], lambda: _by_id(papers[:120]))
    kw.search("warm", 1)
    seg = kw._segments[0]
    for word in ("train", "model", "memori", "galor"):
        dense = np.zeros(len(seg.ids), dtype=np.float32)
        rows, values = _word_scores(seg, word)
        dense[rows] += values
        if word in seg.bm25.vocab_dict:
            assert len(rows) > 0
            assert np.array_equal(dense, seg.bm25.get_scores_from_ids([seg.bm25.vocab_dict[word]]))
        else:
            assert len(rows) == 0


def test_a_hyphenated_compound_matches_its_closed_spelling_where_papers_write_it(
    tmp_path: Path, papers: list[Paper]
) -> None:
    def paper(i: int, abstract: str) -> Paper:
        return papers[i].model_copy(update={"id": f"p{i}", "abstract": abstract})

    few = [paper(0, "Pretraining on web text."), paper(1, "A high-quality corpus for fine-tuning.")]
    kw = KeywordIndex(tmp_path / "kw")
    kw.update(few, lambda: _by_id(few))
    question, sentence = kw.content_terms(["How long is the pretraining?", "Its pre-training takes a day."])
    # some paper writes "pretraining": the hyphenated spelling shares its term
    assert "pretrain" in question and "pretrain" in sentence
    assert {"pre", "train"} <= set(sentence)  # and keeps its parts
    # no paper writes "highquality" or "finetuning": those compounds read as their parts only
    assert kw.content_terms(["high-quality fine-tuning"])[0] == ["high", "qualiti", "fine", "tune"]
