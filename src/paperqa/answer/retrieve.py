"""Retrieve: hybrid (dense chunks + BM25 papers) search, ranked per paper.

* Dense: nearest chunks in Chroma, grouped by paper (a paper scores by the mean of its best chunk
  and its paper vector).
* Keyword: BM25 over title + abstract, one entry per paper.
* Fusion: score-aware. Each retriever's scores become z-scores over its own candidates, and their
  weighted sum ranks the papers (one entry per paper). A close race in one list barely moves the
  sum, so the other list decides it: where BM25's scores are close (a paraphrase, a question that
  shares no rare word with the abstract), dense decides. When BM25 is confident — its first paper's
  score clears the second's by a wide margin — that paper stays first: dense adds papers and
  reorders the rest, it never overrides a clear keyword match.
* Exact names: a name in the question ("FreePRM") a paper owns (title, or defined and used in its
  abstract) ranks it above every fused score, below a confident keyword match; one that several
  papers hold and none introduces ("ImageNet") is a shared term and ranks nothing.
* Summaries (diverse searches): BM25 weighs more, the dense query is moved toward the first papers
  found (relevance feedback: a topic's papers resemble each other), and MMR spreads the top.
* Comparisons: each named side gets its own sub-query, so every side is among the sources.
* Follow-ups: rewritten into a standalone query from the conversation before retrieval.

May touch: the store's search methods on `index.PaperIndex` (embed_query, dense_search, with_texts, dense_papers, keyword_search, paper_vectors, chunks_of, term statistics); never Chroma or llama-index directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..settings import RetrievalSettings
from ..store.index import PaperIndex
from ..text import (
    OWN_IN_TITLE,
    OWN_TITLE_START,
    NameMatcher,
    name_phrases,
    name_tokens,
    points_back,
    side_names,
    side_ownership,
)
from ..types import ChunkHit, Paper, PriorTurn, Source, asked
from ..validate import check_dates
from .question import CMP_HEAD, CMP_SPLIT, comparison_parts, focus_query

Mode = Literal["hybrid", "dense", "bm25"]

# How many times a comparison side is repeated in its sub-query, against the shared context once.
SIDE_REPEAT = 2
_PRONOUN = re.compile(r"\b(it|its|they|them|their|this|that|these|those|the paper|the method|same)\b", re.I)


def leans_on_history(question: str, history: Sequence[str | PriorTurn]) -> bool:
    """Does the question lean on the turns before it (a pronoun, "the paper", or very short)?"""
    return bool(history) and (
        _PRONOUN.search(question) is not None or points_back(question) or len(question.split()) <= 6
    )


def rewrite_followup(question: str, history: Sequence[str | PriorTurn]) -> str:
    """Deterministic standalone rewrite: a question that leans on earlier turns is joined with the
    previous question so retrieval sees the topic."""
    if not leans_on_history(question, history):
        return question
    return f"{asked(history[-1]).strip()} {question.strip()}"


@dataclass
class Filters:
    """Which papers a search may return; every search path (dense, BM25, exact names, each
    comparison side's sub-query) sees only the papers `allows` lets through."""

    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None
    pages: list[str] = field(default_factory=list)
    paper_ids: list[str] = field(default_factory=list)  # a question about chosen papers: only these

    def __post_init__(self) -> None:
        # Checked where they enter, whoever builds the filter (CLI, API, UI, MCP): "2024" and
        # "2024-05" become full dates (a `to` date the last day), a bad date is refused.
        self.date_from, self.date_to = check_dates(self.date_from, self.date_to)

    def active(self) -> bool:
        return bool(self.date_from or self.date_to or self.pages or self.paper_ids)

    def allows(self, p: Paper) -> bool:
        if self.paper_ids and p.id not in self.paper_ids:
            return False
        if self.pages and not set(self.pages) & set(p.pages):
            return False
        if self.date_from or self.date_to:
            if not p.date:
                return False
            if self.date_from and p.date < self.date_from:
                return False
            if self.date_to and p.date > self.date_to:
                return False
        return True


# A compared side's sub-query looks at its three best papers: the winner, the one it may tie with,
# and one more for when a better-owned paper took the winner for another side.
SIDE_CANDIDATES = 3
# BM25's best papers for each name a side offers ("GaLore", "Don't Stop Pretraining?") are
# candidates too: the paper that owns a name is found by the name itself.
SIDE_NAME_CANDIDATES = 3
# A side's sub-query winner is preferred among papers that own the side equally (half a tier).
SIDE_WINNER_BONUS = 0.5
# A compared side's two best papers within this share of the first's score are a toss-up: the one
# whose title holds more of the side's words is the side.
SIDE_TITLE_TIE = 0.1
# Boosts on top of the fused score (which lies in [0, 1]), so each rule outranks the ones below it.
SIDE_BOOST = 8.0  # each compared side's best paper first, so every side is among the sources
KEYWORD_PIN = 4.0  # then BM25's first paper when BM25 is confident (diverse searches: after MMR)
NAME_BOOST = 2.0  # then papers that own a name in the question ("FreePRM"), above every fused score
# Of several owners of one name, those that own it less strongly (`text.side_ownership`: the title
# only holds it, "Q-GaLore: Quantized GaLore …", where another's title head is it, "GaLore: …") get
# this share of NAME_BOOST: still above every unnamed paper, below the name's own paper.
LESSER_OWNER_SHARE = 0.5
# Exact names are looked for among the fused top and BM25's top (a name's owner is a candidate of
# at least one list); a name owned by more papers than NAME_MAX_OWNERS is a common term, not a name.
NAME_CANDIDATES_FUSED = 40
NAME_CANDIDATES_KEYWORD = 10
NAME_MAX_OWNERS = 3
# A paper's dense score: its best chunk and its paper vector weigh the same (a paper is as good as
# its best passage and as its whole); one found by one view only is docked a little.
CHUNK_SHARE = 0.5
ONE_VIEW_PENALTY = 0.05
# MMR re-ranks the best max(3 k, 20) papers: enough room for novelty, not so much that a summary
# reaches papers far from the topic.
MMR_POOL_PER_PAPER = 3
MMR_POOL_MIN = 20
# Relevance feedback for summaries: the first three papers of a topic search describe the topic
# (three: fewer is one paper's angle, more lets in the neighbouring topics a broad search reaches).
FEEDBACK_PAPERS = 3
# BM25 runs here while the dense search waits on the embedding model and Chroma (both release
# the GIL; at 1M papers in a `chroma run` server each takes 15-35 ms of a search).
_KEYWORD_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="paperqa-keyword")


def keyword_gap(keyword: Sequence[tuple[str, float]]) -> float:
    """How clearly a ranking's first paper beats its second, (s1 - s2) / s1, 1.0 for a lone hit:
    BM25's confidence, and whether a compared side's two best papers are a toss-up."""
    if not keyword or keyword[0][1] <= 0:
        return 0.0
    second = keyword[1][1] if len(keyword) > 1 else 0.0
    return (keyword[0][1] - second) / keyword[0][1]


def standardised(scores: Sequence[tuple[str, float]]) -> tuple[dict[str, float], float]:
    """Scores as z-scores over the candidate list ((s - mean) / std), and the z-score a paper the list
    does not hold gets: that of the list's weakest candidate (its true score is at most that)."""
    if not scores:
        return {}, 0.0
    values = np.array([sc for _, sc in scores], dtype=np.float64)
    mean, std = float(values.mean()), float(values.std())
    std = std if std > 1e-9 else 1.0
    return {pid: (sc - mean) / std for pid, sc in scores}, (float(values.min()) - mean) / std


def fuse(
    keyword: Sequence[tuple[str, float]],
    dense: Mapping[str, float],
    settings: RetrievalSettings,
    dense_weight: float | None = None,
    pin: bool = True,
) -> dict[str, float]:
    """Score-aware fusion of BM25 [(paper, score)] (best first) and dense {paper: similarity}.

    Each retriever's scores become z-scores over its own candidates, so a paper that stands out in
    one list counts as much as one that stands out in the other, whatever the raw scales (BM25 grows
    with rare words; cosine sits between 0.3 and 0.8); a close race in one list barely moves the sum,
    so the other list decides it. The weighted sum is scaled to [0, 1]. When BM25's first paper clears
    its second by `keyword_confident_gap` of its score (and `pin`), it gets KEYWORD_PIN on top: dense
    then ranks every other paper but does not override a confident keyword match."""
    wk = settings.keyword_weight
    wd = settings.dense_weight if dense_weight is None else dense_weight
    kz, k_missing = standardised(keyword)
    dz, d_missing = standardised(sorted(dense.items(), key=lambda kv: -kv[1]))
    raw = {
        pid: (wk * kz.get(pid, k_missing) if kz else 0.0) + (wd * dz.get(pid, d_missing) if dz else 0.0)
        for pid in kz.keys() | dz.keys()
    }
    if not raw:
        return {}
    lo, hi = min(raw.values()), max(raw.values())
    fused = {pid: (v - lo) / (hi - lo) if hi - lo > 1e-12 else 1.0 for pid, v in raw.items()}
    if pin and kz and keyword_gap(keyword) >= settings.keyword_confident_gap:
        fused[keyword[0][0]] += KEYWORD_PIN
    return fused


# A name after one of these is what the question measures against, not what it asks about.
_AS_BASELINE = r"\b(?:over|than|against|versus|vs\.?|compared (?:to|with)|relative to|unlike)\s+(?:the\s+)?"


@dataclass
class Retrieval:
    query: str
    sources: list[Source]
    best_dense: float  # best chunk cosine similarity of the whole search
    named: list[str]  # names in the question owned by a returned paper
    sub_queries: list[str] = field(default_factory=list)
    focus: list[str] = field(default_factory=list)  # paper ids the question names (sides, name owners)
    best_match: str | None = None  # the paper of the best chunk (`best_dense`): what a refusal names
    keyword_sure: str | None = None  # BM25's first paper when it clears its second (keyword_confident_gap)
    on_topic: bool = False  # a summary's papers, already judged on the topic (`summarize.on_topic`)

    @property
    def names_first(self) -> bool:
        """The question names one paper, and it came first: the question is about that paper,
        unless it names it only as a baseline ("… save over GaLore?")."""
        if not (len(self.focus) == 1 and self.sources and self.sources[0].paper.id == self.focus[0]):
            return False
        return not any(
            re.search(_AS_BASELINE + re.escape(n) + r"(?![\w-])", self.query, re.I) for n in self.named
        )


class Retriever:
    """Searches the store; the answer stage reads the store only through it (the methods below)."""

    def __init__(self, index: PaperIndex, settings: RetrievalSettings) -> None:
        self.index = index
        self.settings = settings

    # ---- the store, as the answer stage reads it ------------------------------------
    def papers(self) -> Mapping[str, Paper]:
        """Every indexed paper by id."""
        return self.index.papers()

    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector a search for `text` uses (remembered by the store)."""
        return self.index.embed_query(text)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of passages, embedded as chunks are."""
        return self.index.embed_texts(texts)

    def paper_vectors(self, paper_ids: list[str]) -> dict[str, np.ndarray]:
        """Paper-level vectors of the given papers (those that have one)."""
        return self.index.paper_vectors(paper_ids)

    def content_terms(self, texts: Sequence[str]) -> list[list[str]]:
        """Texts analysed as the keyword index analyses them, without function words (with
        `idf`, this makes the retriever the `evidence.Lexicon`)."""
        return self.index.content_terms(texts)

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """BM25 IDF of analysed terms over the indexed papers."""
        return self.index.idf(terms)

    def papers_holding(self, text: str, most: int) -> list[Paper]:
        """Papers whose title, abstract or authors hold `text` (the catalog's text search)."""
        return self.index.catalog.search(text, most)

    def keyword_search(self, query: str, k: int) -> list[tuple[str, float]]:
        """BM25 over title + abstract: [(paper id, score)], best first."""
        return self.index.keyword_search(query, k)

    def _dense(
        self, query_vec: np.ndarray, allowed: set[str] | None
    ) -> tuple[dict[str, list[ChunkHit]], dict[str, float]]:
        """Chunks per paper, and a paper score: the mean of its best chunk and its paper vector."""
        if allowed is not None and not allowed:
            return {}, {}
        per_paper: dict[str, list[ChunkHit]] = {}
        for hit in self.index.dense_search(query_vec, self.settings.candidates, allowed, texts=False):
            per_paper.setdefault(hit.paper_id, []).append(hit)
        paper_sim = self.index.dense_papers(query_vec, self.settings.candidates, allowed)
        scores: dict[str, float] = {}
        for pid in set(per_paper) | set(paper_sim):
            chunk = per_paper[pid][0].score if pid in per_paper else None
            vec = paper_sim.get(pid)
            if chunk is None or vec is None:
                scores[pid] = (chunk if chunk is not None else vec or 0.0) - ONE_VIEW_PENALTY
            else:
                scores[pid] = CHUNK_SHARE * chunk + (1 - CHUNK_SHARE) * vec
        return per_paper, scores

    def _feedback_vector(self, qvec: np.ndarray, ranked: list[str], beta: float) -> np.ndarray:
        """Rocchio: the query plus `beta` times the mean vector of the FEEDBACK_PAPERS best-ranked
        papers, normalised (cosine search)."""
        if not ranked:  # nothing found (a filter no paper passes): nothing to learn from
            return qvec
        vecs = list(self.index.paper_vectors(ranked[:FEEDBACK_PAPERS]).values())
        if not vecs:
            return qvec
        moved = qvec + beta * np.mean(vecs, axis=0)
        return (moved / (np.linalg.norm(moved) or 1.0)).astype(np.float32)

    def _add_passages(self, qvec: np.ndarray, paper_ids: list[str], dense: dict[str, list[ChunkHit]]) -> None:
        """The chunks of papers ranked without a dense hit of their own (found by keywords or by
        feedback), scored against the question, best first: every source has its best passage."""
        if not paper_ids:
            return
        for pid, chunks in self.index.chunks_of(paper_ids).items():
            hits = [  # chunks_of gives them in chunk order, the order of the store's chunk ids
                ChunkHit(paper_id=pid, chunk_id=f"{pid}:{i}", text=text, score=float(vec @ qvec))
                for i, (text, vec) in enumerate(chunks)
            ]
            if hits:
                dense[pid] = sorted(hits, key=lambda h: -h.score)

    def _allowed(self, filters: Filters) -> set[str]:
        """The ids of the papers the filters let through: chosen ids and dates are looked up
        in the catalog; only a filter on daily pages reads the papers (those left, or all)."""
        catalog = self.index.papers()
        ids: set[str] | None = (
            {pid for pid in filters.paper_ids if pid in catalog} if filters.paper_ids else None
        )
        if filters.date_from or filters.date_to:
            dated = catalog.ids_between(filters.date_from, filters.date_to)
            ids = dated if ids is None else ids & dated
        if filters.pages:
            pool = catalog.get_many(sorted(ids)).values() if ids is not None else catalog.values_in_order()
            ids = {p.id for p in pool if filters.allows(p)}
        return ids if ids is not None else set(catalog)

    def _keyword(self, query: str, allowed: set[str] | None) -> list[tuple[str, float]]:
        return self.index.keyword_search(query, self.settings.candidates, allowed)

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        diverse: bool = False,
        split_comparisons: bool = True,
    ) -> Retrieval:
        k = k or self.settings.top_k
        query = focus_query(query)
        self.index.refresh()
        papers = self.index.papers()
        allowed = self._allowed(filters) if filters and filters.active() else None
        keyword_job = None
        if mode != "dense":  # a first keyword sync (minutes at 1M papers) runs here, BM25 beside dense
            self.index.ensure_keywords()
            keyword_job = _KEYWORD_POOL.submit(self._keyword, query, allowed)
        qvec = self.index.embed_query(query) if mode != "bm25" else None
        dense, dense_score = self._dense(qvec, allowed) if qvec is not None else ({}, {})
        keyword = keyword_job.result() if keyword_job is not None else []
        best_dense = max((h[0].score for h in dense.values()), default=0.0)
        best_match = max(dense, key=lambda pid: dense[pid][0].score, default=None)

        wd = self.settings.diverse_dense_weight if diverse else self.settings.dense_weight
        scores = fuse(keyword, dense_score, self.settings, dense_weight=wd, pin=not diverse)
        beta = self.settings.summary_feedback
        if diverse and mode == "hybrid" and qvec is not None and beta > 0:
            # A topic's papers resemble each other more than they resemble the question: search
            # again with the question moved toward the first papers found (dense relevance feedback).
            # Only the ranking moves: a source's passages and similarity stay those to the question.
            moved = self._feedback_vector(qvec, sorted(scores, key=lambda pid: -scores[pid]), beta)
            _, dense_score = self._dense(moved, allowed)
            scores = fuse(keyword, dense_score, self.settings, dense_weight=wd, pin=False)

        names: tuple[list[str], dict[str, NameMatcher], list[str], set[str]] = ([], {}, [], set())
        focus: list[str] = []
        sub_queries: list[str] = []
        if mode == "hybrid":
            names = self._boost_name_owners(query, scores, keyword, papers, allowed)
            if split_comparisons:
                sub_queries, focus = self._boost_compared_sides(query, scores, dense, filters)

        named, matchers, named_owners, shared = names
        # The papers the question is about: each compared side's winner, else the owners of names.
        focus = focus or named_owners
        ranked = sorted(scores, key=lambda pid: -scores[pid])
        ranked = [pid for pid in ranked if pid in papers]
        if diverse:
            ranked = self._diverse_order(ranked, scores, keyword, k)
        ranked = ranked[:k]
        if diverse and qvec is not None:  # a summary quotes every paper it lists
            self._add_passages(qvec, [pid for pid in ranked if pid not in dense], dense)
        kw = dict(keyword)
        read: dict[str, list[ChunkHit]] = {}  # the texts of the returned papers' hits only
        for hit in self.index.with_texts([h for pid in ranked for h in dense.get(pid, [])]):
            read.setdefault(hit.paper_id, []).append(hit)
        sources = [
            Source(
                n=i + 1,
                paper=papers[pid],
                score=scores[pid],
                dense=dense[pid][0].score if dense.get(pid) else 0.0,
                keyword=kw.get(pid, 0.0),
                chunks=read.get(pid, []),
            )
            for i, pid in enumerate(ranked)
        ]
        owned = [n for n in named if n in shared or any(matchers[n].owns(s.paper) for s in sources)]
        shown = {s.paper.id for s in sources}
        return Retrieval(
            query=query,
            sources=sources,
            best_dense=best_dense,
            named=owned,
            sub_queries=sub_queries,
            focus=[pid for pid in focus if pid in shown],
            best_match=best_match if best_match in papers else None,
            keyword_sure=keyword[0][0]
            if keyword_gap(keyword) >= self.settings.keyword_confident_gap
            else None,
        )

    def _diverse_order(
        self, ranked: list[str], scores: dict[str, float], keyword: Sequence[tuple[str, float]], k: int
    ) -> list[str]:
        """MMR over the best MMR pool; a confident keyword match still leads (the pin stays out of
        MMR's relevance scale)."""
        pool = max(MMR_POOL_PER_PAPER * k, MMR_POOL_MIN)
        ranked = self._mmr(ranked[:pool], scores, k, self.settings.mmr_lambda)
        if keyword and keyword_gap(keyword) >= self.settings.keyword_confident_gap:
            sure = keyword[0][0]
            if sure in ranked:
                ranked = [sure] + [pid for pid in ranked if pid != sure]
        return ranked

    def _boost_name_owners(
        self,
        query: str,
        scores: dict[str, float],
        keyword: Sequence[tuple[str, float]],
        papers: Mapping[str, Paper],
        allowed: set[str] | None,
    ) -> tuple[list[str], dict[str, NameMatcher], list[str], set[str]]:
        """Exact names: the owners of a method name in the question (among the fused top and BM25's
        top) get NAME_BOOST. Returns the names some candidate owns, their matchers, the owners, and
        the names that are terms several papers share (`_shared_term`: none boosted)."""
        top = sorted(scores, key=lambda pid: -scores[pid])[:NAME_CANDIDATES_FUSED]
        candidates = set(top) | {pid for pid, _ in keyword[:NAME_CANDIDATES_KEYWORD]}
        if allowed is not None:
            candidates &= allowed
        named: list[str] = []
        matchers: dict[str, NameMatcher] = {}
        owners_all: list[str] = []
        shared: set[str] = set()
        # A multi-word name ("Focused Transformer") is as strict as "FreePRM": it names one thing.
        phrases = name_phrases(query)
        strict = set(name_tokens(query)) | set(phrases)
        for name in [*phrases, *name_tokens(query, loose=True)]:
            matcher = matchers[name] = NameMatcher(name)
            owners = [pid for pid in candidates if pid in papers and matcher.owns(papers[pid])]
            if not 0 < len(owners) <= (NAME_MAX_OWNERS if name in strict else 1):
                continue
            named.append(name)
            if name not in strict:
                continue  # a plain capitalised word ("Domino") shows coverage, not rank
            tiers = {pid: side_ownership(name, papers[pid]) for pid in owners}
            if _shared_term(matcher, tiers, papers):  # shows coverage as a name does, never boosted
                shared.add(name)
                continue
            for pid in owners:
                share = 1.0 if tiers[pid] == max(tiers.values()) else LESSER_OWNER_SHARE
                scores[pid] = scores.get(pid, 0.0) + NAME_BOOST * share
                if pid not in owners_all:
                    owners_all.append(pid)
        return named, matchers, owners_all, shared

    def _boost_compared_sides(
        self,
        query: str,
        scores: dict[str, float],
        dense: dict[str, list[ChunkHit]],
        filters: Filters | None,
    ) -> tuple[list[str], list[str]]:
        """Comparisons: each side gets its own sub-query, and its best paper SIDE_BOOST, so every side
        is among the sources. Returns the sides and the papers picked for them."""
        parts = comparison_parts(query)
        if not parts:
            return [], []
        # Each side is searched with the context the sides share ("… for large-batch ImageNet
        # training"), which the bare side ("linear scaling rule") lacks; the side is said twice
        # (SIDE_REPEAT) so the shared context ("continued-pretraining recipe") does not pull every
        # side to the one paper that matches the context best.
        context = query
        for part in parts:
            context = context.replace(part, " ")
        context = CMP_HEAD.sub("", CMP_SPLIT.sub(" ", context))
        allowed = self._allowed(filters) if filters and filters.active() else None
        papers = self.index.papers()
        pools: list[list[tuple[str, float]]] = []
        chunks: dict[str, list[ChunkHit]] = {}
        for part in parts:
            sub_query = f"{(part + ' ') * SIDE_REPEAT}{context}".strip()
            sub = self.search(
                sub_query, k=SIDE_CANDIDATES, filters=filters, mode="hybrid", split_comparisons=False
            )
            found = [s.paper.id for s in self._side_pick(part, sub.sources)]
            chunks.update({s.paper.id: s.chunks for s in sub.sources if s.chunks})
            # The papers the side's names point to, wherever BM25 finds them: the owner of "GaLore"
            # may rank below a follow-up that says "GaLore" more often ("Q-GaLore").
            for name in side_names(part):
                found += [pid for pid, _ in self.index.keyword_search(name, SIDE_NAME_CANDIDATES, allowed)]
            found = [pid for pid in dict.fromkeys(found) if pid in papers]
            pools.append(
                [
                    (pid, side_ownership(part, papers[pid]) + (SIDE_WINNER_BONUS if i == 0 else 0.0))
                    for i, pid in enumerate(found)
                ]
            )
        picks = assign_sides(pools)
        kept_parts: list[str] = []
        focus: list[str] = []
        for part, pid in zip(parts, picks, strict=True):
            if pid is None:
                continue  # the same paper as another side ("Large Content" and "Behavior Models")
            kept_parts.append(part)
            focus.append(pid)
            scores[pid] = scores.get(pid, 0.0) + SIDE_BOOST
            if chunks.get(pid) and pid not in dense:
                dense[pid] = chunks[pid]
        return kept_parts, focus

    def _side_pick(self, part: str, found: list[Source]) -> list[Source]:
        """A compared side's papers, best first: when its first two score within SIDE_TITLE_TIE of
        each other, the one whose title says more of the side's words comes first ("re-warming the
        learning rate" -> "… How to (re)warm your model?")."""
        close = len(found) >= 2 and found[0].score > 0
        if close and keyword_gap([(s.paper.id, s.score) for s in found]) <= SIDE_TITLE_TIE:
            words = set(self.index.content_terms([part])[0])
            held = [len(words & set(t)) for t in self.index.content_terms([s.paper.title for s in found[:2]])]
            if held[1] > held[0]:
                return [found[1], found[0], *found[2:]]
        return found

    def _mmr(self, ranked: list[str], scores: dict[str, float], k: int, lam: float = 0.7) -> list[str]:
        """Maximal marginal relevance over paper vectors: relevant but not redundant."""
        if len(ranked) <= 1:
            return ranked
        vecs = self.index.paper_vectors(ranked)
        top = max(scores[p] for p in ranked)
        chosen: list[str] = []
        rest = list(ranked)
        while rest and len(chosen) < k:

            def value(pid: str) -> float:
                rel = scores[pid] / top
                if not chosen or pid not in vecs:
                    return rel
                red = (
                    max(float(vecs[pid] @ vecs[c]) for c in chosen if c in vecs)
                    if any(c in vecs for c in chosen)
                    else 0.0
                )
                return lam * rel - (1 - lam) * red

            best = max(rest, key=value)
            chosen.append(best)
            rest.remove(best)
        return chosen


def assign_sides(pools: Sequence[Sequence[tuple[str, float]]]) -> list[str | None]:
    """One paper per compared side, each a different paper, maximising how well the papers own their
    sides in total (`pools`: per side, its candidates and their ownership scores, best first). A
    side whose best owner (a title-level owner, `OWN_IN_TITLE` or more) went to another side, and
    whose own pick owns it less, is that other side named twice: it gets None."""
    best_total = -1.0
    best: list[str | None] = [None] * len(pools)

    def walk(i: int, taken: list[str], total: float) -> None:
        nonlocal best_total, best
        if i == len(pools):
            if total > best_total:
                best_total, best = total, list(taken)
            return
        options = [(pid, sc) for pid, sc in pools[i] if pid not in taken] or [("", 0.0)]
        for pid, sc in options[:SIDE_OPTIONS]:
            walk(i + 1, [*taken, pid], total + sc)

    walk(0, [], 0.0)
    picks: list[str | None] = [pid or None for pid in best]
    for i, pool in enumerate(pools):
        if not pool or picks[i] is None:
            continue
        top_pid, top = max(pool, key=lambda x: x[1])
        mine = dict(pool).get(picks[i] or "", 0.0)
        if int(top) >= OWN_IN_TITLE and top_pid != picks[i] and top_pid in picks and int(mine) < int(top):
            picks[i] = None
    return picks


# Candidates tried per side when assigning papers to sides (the search is exhaustive over these).
SIDE_OPTIONS = 6


def _shared_term(matcher: NameMatcher, tiers: Mapping[str, int], papers: Mapping[str, Paper]) -> bool:
    """A name several papers hold and none introduces (by its title's start or head, or in brackets
    in its abstract) is a term they share (a benchmark: "ImageNet"), not a paper's name."""
    if len(tiers) < 2 or max(tiers.values()) >= OWN_TITLE_START:
        return False
    return not any(matcher.defined.search(papers[pid].abstract) for pid in tiers)
