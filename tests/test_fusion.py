"""Fusion of BM25 and dense scores, and the settings tuning around it, on hand-made scores (fast:
no index, no embedding model)."""

from __future__ import annotations

from typing import Any

import numpy as np

from paperqa.answer.retrieve import KEYWORD_PIN, Retriever, fuse, keyword_gap, standardised
from paperqa.evaluate import Question
from paperqa.settings import RetrievalSettings
from paperqa.tuning import CachedIndex, cross_validate, pick_settings, split_halves
from paperqa.types import ChunkHit, Paper

SETTINGS = RetrievalSettings(dense_weight=1.5, keyword_weight=1.0, keyword_confident_gap=0.2)


def _order(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda pid: -scores[pid])


def test_keyword_gap_is_the_first_scores_lead_over_the_second_relative_to_the_first() -> None:
    assert keyword_gap([("a", 20.0), ("b", 10.0)]) == 0.5
    assert keyword_gap([("a", 10.0), ("b", 10.0)]) == 0.0
    assert keyword_gap([("a", 3.0)]) == 1.0
    assert keyword_gap([]) == 0.0


def test_a_paper_missing_from_a_list_gets_the_weakest_candidates_score() -> None:
    z, missing = standardised([("a", 3.0), ("b", 2.0), ("c", 1.0)])
    assert z["a"] > z["b"] > z["c"] == missing


def test_a_confident_keyword_match_stays_first_whatever_dense_says() -> None:
    keyword = [("a", 20.0), ("b", 10.0), ("c", 9.0), ("d", 8.0)]
    dense = {"b": 0.80, "c": 0.70, "d": 0.65, "a": 0.30}  # dense puts `a` last
    fused = fuse(keyword, dense, SETTINGS)
    assert _order(fused)[0] == "a"
    assert fused["a"] >= KEYWORD_PIN
    # below the pinned paper dense reorders: b (best dense, second BM25) before c and d
    assert _order(fused)[1:] == ["b", "c", "d"]


def test_without_the_pin_the_same_dense_scores_override_the_keyword_match() -> None:
    keyword = [("a", 20.0), ("b", 10.0), ("c", 9.0), ("d", 8.0)]
    dense = {"b": 0.80, "c": 0.70, "d": 0.65, "a": 0.30}
    assert _order(fuse(keyword, dense, SETTINGS, pin=False))[0] != "a"


def test_dense_decides_when_keyword_scores_are_close() -> None:
    keyword = [("a", 10.0), ("b", 9.8), ("c", 9.6), ("d", 5.0)]  # gap 0.02: not confident
    dense = {"b": 0.70, "a": 0.45, "c": 0.44, "d": 0.40}
    fused = fuse(keyword, dense, SETTINGS)
    assert _order(fused)[0] == "b"
    assert max(fused.values()) <= 1.0  # no pin


def test_a_paper_only_dense_finds_can_reach_the_top_when_keywords_are_unsure() -> None:
    keyword = [("a", 6.0), ("b", 5.9), ("c", 5.8), ("d", 5.7), ("e", 5.6)]
    dense = {"x": 0.75, "a": 0.42, "b": 0.41, "c": 0.40, "d": 0.39, "e": 0.38}
    assert _order(fuse(keyword, dense, SETTINGS))[:2] == ["x", "a"]


def test_one_retriever_alone_keeps_its_own_order() -> None:
    keyword = [("a", 9.0), ("b", 8.0), ("c", 1.0)]
    dense = {"c": 0.9, "a": 0.5, "b": 0.4}
    assert _order(fuse(keyword, {}, SETTINGS)) == ["a", "b", "c"]
    assert _order(fuse([], dense, SETTINGS)) == ["c", "a", "b"]
    assert fuse([], {}, SETTINGS) == {}


def test_a_higher_dense_weight_moves_the_dense_favourite_up() -> None:
    keyword = [("a", 10.0), ("b", 9.0), ("c", 5.0), ("d", 4.0)]  # gap 0.1: not confident
    dense = {"b": 0.60, "a": 0.50, "c": 0.45, "d": 0.44}
    low = fuse(keyword, dense, SETTINGS.model_copy(update={"dense_weight": 0.2}))
    high = fuse(keyword, dense, SETTINGS.model_copy(update={"dense_weight": 3.0}))
    assert _order(low)[0] == "a" and _order(high)[0] == "b"


# ---- the Retriever on a fake index -----------------------------------------------------------


class FakeIndex:
    """Fixed BM25 and dense candidates for every query; the papers they name."""

    def __init__(
        self, papers: list[Paper], keyword: list[tuple[str, float]], dense: dict[str, float]
    ) -> None:
        self._papers = {p.id: p for p in papers}
        self._keyword = keyword
        self._dense = dense
        self.calls: list[str] = []
        self.read: set[str] = set()  # papers whose hits' texts were read

    def refresh(self) -> None:
        pass

    def ensure_keywords(self) -> None:
        pass

    def papers(self) -> dict[str, Paper]:
        return self._papers

    def embed_query(self, text: str) -> np.ndarray:
        self.calls.append("embed")
        return np.ones(4, dtype=np.float32)

    def dense_search(
        self, vec: np.ndarray, k: int, allowed: set[str] | None = None, texts: bool = True
    ) -> list[ChunkHit]:
        self.calls.append("dense")
        hits = sorted(self._dense.items(), key=lambda kv: -kv[1])
        return [ChunkHit(paper_id=p, chunk_id=f"{p}:0", text="", score=s) for p, s in hits]

    def with_texts(self, hits: list[ChunkHit]) -> list[ChunkHit]:
        self.read.update(h.paper_id for h in hits)
        return [h.model_copy(update={"text": f"text of {h.paper_id}"}) for h in hits]

    def dense_papers(self, vec: np.ndarray, k: int, allowed: set[str] | None = None) -> dict[str, float]:
        return dict(self._dense)

    def keyword_search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        self.calls.append("keyword")
        return list(self._keyword)

    def paper_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        return {pid: np.eye(8, dtype=np.float32)[i % 8] for i, pid in enumerate(ids)}


def _paper(pid: str, title: str, abstract: str = "An abstract.") -> Paper:
    return Paper(id=pid, title=title, abstract=abstract)


def test_a_generic_name_does_not_outrank_a_confident_keyword_match() -> None:
    """'MFU' looks like a method name, and two papers own it, but BM25 is sure about another
    paper (the one the question describes): that one stays first; the name owners come next."""
    papers = [
        _paper("mega", "MegaScale: Scaling LLM Training to More Than 10,000 GPUs"),
        _paper("f1", "MFU: Raising Utilization in Mixture Models"),
        _paper("f2", "MFU-aware Pruning"),
        _paper("other", "An unrelated study"),
    ]
    index = FakeIndex(
        papers,
        keyword=[("mega", 18.7), ("other", 10.1), ("f1", 5.6), ("f2", 4.1)],
        dense={"mega": 0.57, "other": 0.56, "f1": 0.40, "f2": 0.35},
    )
    r = Retriever(index, SETTINGS).search(  # type: ignore[arg-type]
        "What MFU does the production training system reach?", k=4
    )
    assert [s.paper.id for s in r.sources][:3] in (["mega", "f1", "f2"], ["mega", "f2", "f1"])


def test_a_benchmark_several_titles_hold_in_their_middle_is_no_papers_name() -> None:
    """'ImageNet' in "Saving Days of ImageNet and BERT Training" and "Training ImageNet in 1 Hour":
    a term the papers share, so neither outranks the paper the question describes."""
    papers = [
        _paper("avg", "Stop Wasting My Time! Saving Days of ImageNet and BERT Training"),
        _paper("sgd", "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour"),
        _paper("aim", "Multimodal Autoregressive Pre-training of Large Vision Encoders"),
    ]
    index = FakeIndex(
        papers,
        keyword=[("aim", 5.9), ("avg", 5.7), ("sgd", 5.6)],  # BM25 is not sure of one
        dense={"aim": 0.54, "avg": 0.53, "sgd": 0.45},
    )
    r = Retriever(index, SETTINGS).search(  # type: ignore[arg-type]
        "What ImageNet accuracy does the 3B vision encoder reach with a frozen trunk?", k=3
    )
    assert r.sources[0].paper.id == "aim"
    assert r.named == ["ImageNet"]  # still a name the corpus holds (no unknown-name refusal)


def test_a_method_name_still_ranks_its_owner_first_when_keywords_are_unsure() -> None:
    papers = [_paper("a", "Some Study"), _paper("free", "FreePRM: Process Rewards"), _paper("b", "Other")]
    index = FakeIndex(
        papers,
        keyword=[("a", 8.0), ("free", 7.9), ("b", 7.5)],
        dense={"a": 0.6, "b": 0.5, "free": 0.45},
    )
    r = Retriever(index, SETTINGS).search("What does FreePRM report?", k=3)  # type: ignore[arg-type]
    assert r.sources[0].paper.id == "free" and r.named == ["FreePRM"]


# ---- tuning and cross-validation --------------------------------------------------------------


def _q(i: int, t: str) -> Question:
    return Question(id=f"q{i}", type=t, question=f"question {i}", gold_titles=["X"])


def test_halves_have_the_same_mix_of_question_types_and_share_no_question() -> None:
    qs = [_q(i, t) for i, t in enumerate(["factoid"] * 5 + ["summary"] * 4 + ["comparison"] * 2)]
    a, b = split_halves(qs)
    assert {q.id for q in a}.isdisjoint({q.id for q in b}) and len(a) + len(b) == len(qs)
    for t, n in (("factoid", 5), ("summary", 4), ("comparison", 2)):
        assert abs(sum(q.type == t for q in a) - sum(q.type == t for q in b)) <= 1
        assert sum(q.type == t for q in a + b) == n


def _scored(values: list[tuple[float, float]]) -> list[tuple[RetrievalSettings, dict[str, float], float]]:
    """(objective spread over recall@1, gold_mrr) per grid point, dense_weight = index."""
    keys = {"recall@5": 0.0, "mrr@10": 0.0, "summary_coverage@10": 0.0}
    return [
        (RetrievalSettings(dense_weight=float(i)), {"recall@1": obj, **keys}, g)
        for i, (obj, g) in enumerate(values)
    ]


def test_the_pick_is_the_best_objective_then_the_best_gold_mrr() -> None:
    assert pick_settings(_scored([(0.5, 0.9), (0.7, 0.1), (0.6, 0.9)])).dense_weight == 1.0
    assert pick_settings(_scored([(0.7, 0.2), (0.7, 0.3), (0.6, 0.9)])).dense_weight == 1.0


def test_a_plateau_of_tied_settings_gives_its_middle_not_an_edge() -> None:
    tied = _scored([(0.5, 0.5), (0.7, 0.5), (0.7, 0.5), (0.7, 0.5), (0.6, 0.5)])
    assert pick_settings(tied).dense_weight == 2.0


def test_a_search_reads_the_texts_of_the_papers_it_returns_only() -> None:
    """Candidates are ranked on their scores; only the k papers returned have their hits' texts
    read (at 1M papers reading every candidate's text was a third of a search)."""
    papers = [_paper(f"p{i}", f"Paper {i}") for i in range(8)]
    dense = {p.id: 0.9 - 0.1 * i for i, p in enumerate(papers)}
    index = FakeIndex(papers, keyword=[("p0", 3.0), ("p1", 2.0)], dense=dense)
    r = Retriever(index, SETTINGS).search("a question about papers", k=3)  # type: ignore[arg-type]
    returned = {s.paper.id for s in r.sources}
    assert len(returned) == 3 and index.read == returned
    assert all(h.text == f"text of {s.paper.id}" for s in r.sources for h in s.chunks)


def test_cached_index_searches_each_query_once() -> None:
    index = FakeIndex([_paper("a", "A")], keyword=[("a", 1.0)], dense={"a": 0.5})
    cached: Any = CachedIndex(index)
    for _ in range(3):
        vec = cached.embed_query("q")
        cached.keyword_search("q", 10)
        cached.dense_search(vec, 10)
    assert index.calls == ["embed", "keyword", "dense"]
    hits = cached.dense_search(vec, 10, texts=False)
    assert cached.with_texts(hits) == cached.with_texts(hits) and index.read == {"a"}
    rescored = [h.model_copy(update={"score": 0.1}) for h in hits]  # the same chunk found by another query
    assert [h.score for h in cached.with_texts(rescored)] == [0.1]


class FakeApp:
    def __init__(self, index: FakeIndex) -> None:
        self.index = index
        self.settings = type("S", (), {"retrieval": RetrievalSettings()})()

    def warm_up_retrieval(self) -> None:
        pass


def test_cross_validation_scores_every_question_once_with_settings_from_the_other_half() -> None:
    papers = [_paper("a", "Gold Paper"), _paper("b", "Other Paper")]
    index = FakeIndex(papers, keyword=[("a", 9.0), ("b", 8.9)], dense={"b": 0.9, "a": 0.2})
    qs = [
        Question(id=f"q{i}", type="factoid", question=f"question {i}", gold_titles=["Gold Paper"])
        for i in range(6)
    ]
    grid = {"dense_weight": (0.1, 5.0)}
    cv = cross_validate(FakeApp(index), qs, grid)  # type: ignore[arg-type]
    assert [f["reported_on"] for f in cv["folds"]] == [3, 3]
    # BM25 (barely) prefers the gold paper, dense strongly prefers the other: a small dense
    # weight wins on each half, and the held-out half confirms it.
    assert all(f["settings"] == {"dense_weight": 0.1} for f in cv["folds"])
    assert cv["pooled"]["hybrid"]["recall@1"] == 1.0
    assert cv["pooled"]["dense"]["recall@1"] == 0.0


class _Words:
    """The one piece of the index a side pick reads: content terms (here: lower-cased words)."""

    def content_terms(self, texts: list[str]) -> list[list[str]]:
        return [[w.strip("?():,").lower() for w in t.split()] for t in texts]


def _src(n: int, title: str, score: float) -> Any:
    from paperqa.types import Source

    return Source(n=n, paper=Paper(id=f"p{n}", title=title, abstract="x"), score=score)


def test_a_side_that_is_a_toss_up_goes_to_the_paper_whose_title_says_it() -> None:
    retriever = Retriever(_Words(), SETTINGS)  # type: ignore[arg-type]
    strategies = _src(1, "Simple Strategies to Continually Pre-train Models", 1.0)
    rewarm = _src(2, "Continual Pre-Training: How to rewarm your model?", 0.95)
    picked = retriever._side_pick("rewarm the learning rate", [strategies, rewarm])
    assert [s.n for s in picked] == [2, 1]
    # a clear winner keeps its place, whatever its title says
    rewarm.score = 0.5
    assert [s.n for s in retriever._side_pick("rewarm the learning rate", [strategies, rewarm])] == [1, 2]


# ---- relevance feedback for summaries -----------------------------------------------------------


class VectorIndex(FakeIndex):
    """Dense scores are real cosine similarities between the query vector and fixed paper vectors,
    so a moved query vector finds other papers; BM25 scores are fixed."""

    def __init__(self, papers: list[Paper], keyword: list[tuple[str, float]], vecs: dict[str, list[float]]):
        super().__init__(papers, keyword, {})
        self.vecs = {pid: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for pid, v in vecs.items()}
        self.query = np.asarray([1.0, 0.0, 0.0], dtype=np.float32)
        self.queried: list[np.ndarray] = []

    def embed_query(self, text: str) -> np.ndarray:
        return self.query

    def _sims(self, vec: np.ndarray) -> dict[str, float]:
        self.queried.append(vec)
        return {pid: float(v @ vec) for pid, v in self.vecs.items()}

    def dense_search(
        self, vec: np.ndarray, k: int, allowed: set[str] | None = None, texts: bool = True
    ) -> list[ChunkHit]:
        hits = sorted(self._sims(vec).items(), key=lambda kv: -kv[1])
        return [ChunkHit(paper_id=p, chunk_id=f"{p}:0", text=p, score=s) for p, s in hits]

    def with_texts(self, hits: list[ChunkHit]) -> list[ChunkHit]:
        return list(hits)

    def dense_papers(self, vec: np.ndarray, k: int, allowed: set[str] | None = None) -> dict[str, float]:
        return self._sims(vec)

    def paper_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        return {pid: self.vecs[pid] for pid in ids if pid in self.vecs}


def _topic_index() -> VectorIndex:
    """a, b, c, t1 are one topic (vectors near (1, 1, 0)); `off` is nearer the bare question's vector
    (1, 0, 0) but about something else (1, 0, 1). BM25 ranks the topic's first three papers first."""
    papers = [_paper(p, f"Paper {p}") for p in ("a", "b", "c", "t1", "off", "z")]
    vecs = {
        "a": [1.0, 1.0, 0.0],
        "b": [1.0, 1.2, 0.0],
        "c": [1.0, 0.9, 0.0],
        "t1": [0.5, 1.0, 0.0],
        "off": [1.0, 0.0, 1.2],
        "z": [0.0, 0.0, 1.0],
    }
    keyword = [("a", 9.0), ("b", 8.8), ("c", 8.6), ("off", 5.0), ("t1", 4.9), ("z", 1.0)]
    return VectorIndex(papers, keyword, vecs)


def _summary_order(feedback: float) -> list[str]:
    settings = SETTINGS.model_copy(update={"summary_feedback": feedback, "mmr_lambda": 1.0})
    r = Retriever(_topic_index(), settings).search("summarize the topic", k=5, diverse=True)  # type: ignore[arg-type]
    return [s.paper.id for s in r.sources]


def test_summary_feedback_ranks_a_paper_like_the_first_found_above_one_only_like_the_question() -> None:
    without, with_feedback = _summary_order(0.0), _summary_order(0.5)
    assert without.index("off") < without.index("t1")  # the bare question prefers `off`
    assert with_feedback.index("t1") < with_feedback.index("off")  # the topic's papers pull t1 up
    assert set(with_feedback[:3]) == set(without[:3]) == {"a", "b", "c"}  # the agreed topic stays on top


def test_summary_feedback_leaves_similarity_to_the_question_and_other_searches_alone() -> None:
    index = _topic_index()
    settings = SETTINGS.model_copy(update={"summary_feedback": 0.5})
    r = Retriever(index, settings).search("summarize the topic", k=4, diverse=True)  # type: ignore[arg-type]
    for s in r.sources:  # a source's similarity is to the question, not to the moved query
        assert abs(s.dense - float(index.vecs[s.paper.id] @ index.query)) < 1e-6
    assert len(index.queried) == 4  # chunks and papers, for the question and for the moved query

    plain = _topic_index()
    Retriever(plain, settings).search("what does the topic report", k=4)  # type: ignore[arg-type]
    assert len(plain.queried) == 2 and all(np.array_equal(v, plain.query) for v in plain.queried)


def test_a_summary_search_that_finds_nothing_returns_no_sources_instead_of_failing() -> None:
    """A filter no paper passes leaves feedback nothing to learn from (the store refuses an empty
    id list): the search comes back empty, for the caller to refuse."""

    class Empty(VectorIndex):
        def paper_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
            assert ids, "asked the store for the vectors of no paper"
            return super().paper_vectors(ids)

    index = Empty([], [], {})
    r = Retriever(index, SETTINGS.model_copy(update={"summary_feedback": 0.5})).search(  # type: ignore[arg-type]
        "summarize the topic", k=5, diverse=True
    )
    assert r.sources == [] and r.best_dense == 0.0
