"""Tuning the retrieval settings on a question set (`paperqa eval --tune`) and split-half
cross-validation of that choice (`paperqa eval --cv`), scored with `evaluate`'s retrieval metrics.

May touch: `api.PaperQA`, and its retriever and index to re-rank without searching again
(`CachedIndex`): the one tool besides api.py that reads the index directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from .answer.retrieve import Retriever
from .api import PaperQA
from .evaluate import TYPES, Question, mean, ranked_row, retrieval_metrics
from .settings import RetrievalSettings

# The settings `tune` chooses from, each with the values tried. Every combination is scored on the
# tuning questions; see `pick_settings` for the rule. The defaults in RetrievalSettings are this
# grid's pick on eval/dev.jsonl (`paperqa eval --tune`).
TUNING_GRID: dict[str, tuple[float, ...]] = {
    "dense_weight": (0.5, 1.0, 1.5, 2.0, 3.0),
    "keyword_confident_gap": (0.1, 0.2, 0.3, 0.5),
    "diverse_dense_weight": (0.2, 0.35, 0.5, 1.0),
    "summary_feedback": (0.0, 0.5, 1.0, 2.0),
}
TUNING_KEYS = ("recall@1", "recall@5", "mrr@10", "summary_coverage@10")  # summed: the objective


class CachedIndex:
    """The index calls a search makes, memoised: a grid of settings re-ranks the same candidates,
    so each question is embedded and searched once (tuning only; the data does not change)."""

    def __init__(self, index: Any) -> None:
        self._index = index
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _call(self, name: str, key: tuple[Any, ...], *args: Any) -> Any:
        if (name, *key) not in self._memo:
            self._memo[(name, *key)] = getattr(self._index, name)(*args)
        return self._memo[(name, *key)]

    def embed_query(self, text: str) -> Any:
        return self._call("embed_query", (text,), text)

    def dense_search(self, vec: Any, k: int, allowed: set[str] | None = None, texts: bool = True) -> Any:
        return self._call("dense_search", (vec.tobytes(), k, _frozen(allowed), texts), vec, k, allowed, texts)

    def with_texts(self, hits: Any) -> Any:
        return self._call("with_texts", tuple((h.chunk_id, h.score) for h in hits), hits)

    def dense_papers(self, vec: Any, k: int, allowed: set[str] | None = None) -> Any:
        return self._call("dense_papers", (vec.tobytes(), k, _frozen(allowed)), vec, k, allowed)

    def keyword_search(self, query: str, k: int, allowed: set[str] | None = None) -> Any:
        return self._call("keyword_search", (query, k, _frozen(allowed)), query, k, allowed)

    def refresh(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


def _frozen(allowed: set[str] | None) -> frozenset[str] | None:
    return None if allowed is None else frozenset(allowed)


def gold_mrr(rows: list[dict[str, Any]]) -> float:
    """Mean reciprocal rank (top 10) of every gold paper, not only the first: the tie-break, since
    it also moves when a comparison's second side or a summary's fifth paper moves."""
    ranks = [1.0 / (r["ranked"].index(g) + 1) if g in r["ranked"] else 0.0 for r in rows for g in r["gold"]]
    return mean(ranks)


def grid_settings(base: RetrievalSettings, grid: dict[str, tuple[float, ...]]) -> list[RetrievalSettings]:
    names = list(grid)
    return [
        base.model_copy(update=dict(zip(names, values, strict=True)))
        for values in itertools.product(*(grid[n] for n in names))
    ]


def pick_settings(scored: Sequence[tuple[RetrievalSettings, dict[str, float], float]]) -> RetrievalSettings:
    """The rule that chooses settings from a scored grid (in grid order): the highest sum of
    TUNING_KEYS; ties go to the higher `gold_mrr`; settings still tied (a plateau the questions
    cannot tell apart) give the middle one, in grid order, rather than an edge of the plateau."""

    def key(t: tuple[RetrievalSettings, dict[str, float], float]) -> tuple[float, float]:
        return (round(sum(t[1][k] for k in TUNING_KEYS), 4), round(t[2], 4))

    best = max(key(t) for t in scored)
    tied = [t[0] for t in scored if key(t) == best]
    return tied[len(tied) // 2]


def tune(
    app: PaperQA,
    questions: list[Question],
    grid: dict[str, tuple[float, ...]] | None = None,
    index: CachedIndex | None = None,
) -> tuple[RetrievalSettings, list[dict[str, Any]]]:
    """Score every grid combination on the questions (hybrid only) and pick one (`pick_settings`).
    Returns the pick and every combination's scores."""
    grid = grid or TUNING_GRID
    index = index or CachedIndex(app.index)
    answerable = [q for q in questions if q.type != "unanswerable"]
    scored = []
    for settings in grid_settings(app.settings.retrieval, grid):
        r = Retriever(index, settings)  # type: ignore[arg-type]
        rows = [ranked_row(r, q, "hybrid") for q in answerable]
        scored.append((settings, retrieval_metrics(rows), gold_mrr(rows)))
    table = [
        {**{n: getattr(s, n) for n in grid}, **{k: m[k] for k in TUNING_KEYS}, "gold_mrr": g}
        for s, m, g in scored
    ]
    return pick_settings(scored), table


def split_halves(questions: list[Question]) -> tuple[list[Question], list[Question]]:
    """Two halves with the same mix of question types: within each type (in file order), the
    questions alternate between the halves."""
    a: list[Question] = []
    b: list[Question] = []
    for t in TYPES:
        for i, q in enumerate(q for q in questions if q.type == t):
            (a if i % 2 == 0 else b).append(q)
    return a, b


def cross_validate(
    app: PaperQA, questions: list[Question], grid: dict[str, tuple[float, ...]] | None = None
) -> dict[str, Any]:
    """Split-half cross-validation: settings picked on one half (`tune`) are scored on the other,
    both ways; every question is scored once, by settings not tuned on it. BM25-only and dense-only
    (which have no settings in the grid) are scored on the same halves."""
    app.warm_up_retrieval()
    index = CachedIndex(app.index)
    halves = split_halves(questions)
    folds = []
    pooled: dict[str, list[dict[str, Any]]] = {"hybrid": [], "bm25": [], "dense": []}
    for name, (tune_on, report_on) in (("A->B", halves), ("B->A", halves[::-1])):
        picked, _ = tune(app, tune_on, grid, index)
        answerable = [q for q in report_on if q.type != "unanswerable"]
        rows = {
            mode: [ranked_row(Retriever(index, picked), q, mode) for q in answerable]  # type: ignore[arg-type]
            for mode in ("hybrid", "bm25", "dense")
        }
        for mode, rs in rows.items():
            pooled[mode] += rs
        folds.append(
            {
                "fold": name,
                "tuned_on": len(tune_on),
                "reported_on": len(report_on),
                "settings": {n: getattr(picked, n) for n in (grid or TUNING_GRID)},
                "metrics": {m: retrieval_metrics(rs) for m, rs in rows.items()},
                "factoid_recall@1": {
                    m: retrieval_metrics([r for r in rs if r["type"] == "factoid"])["recall@1"]
                    for m, rs in rows.items()
                },
            }
        )
    return {
        "n": len(questions),
        "folds": folds,
        "pooled": {m: retrieval_metrics(rs) for m, rs in pooled.items()},
        "pooled_factoid_recall@1": {
            m: retrieval_metrics([r for r in rs if r["type"] == "factoid"])["recall@1"]
            for m, rs in pooled.items()
        },
    }


def cv_table(cv: dict[str, Any], sources: Sequence[str] = ()) -> str:
    """Markdown: each fold's picked settings and held-out metrics, then both folds pooled."""
    keys = list(TUNING_KEYS)
    out = [
        f"Split-half cross-validation on {cv['n']} questions"
        + (f" ({' + '.join(sources)})" if sources else "")
        + ": settings picked on one half, reported on the other.",
        "",
        "| fold | system | " + " | ".join(keys) + " | factoid recall@1 |",
        "|---|---|" + "---|" * (len(keys) + 1),
    ]
    for f in [
        *cv["folds"],
        {"fold": "pooled", "metrics": cv["pooled"], "factoid_recall@1": cv["pooled_factoid_recall@1"]},
    ]:
        for m, v in f["metrics"].items():
            out.append(
                f"| {f['fold']} | {m} | "
                + " | ".join(f"{v[k]:.3f}" for k in keys)
                + f" | {f['factoid_recall@1'][m]:.3f} |"
            )
    out.append("")
    for f in cv["folds"]:
        out.append(
            f"{f['fold']}: tuned on {f['tuned_on']}, reported on {f['reported_on']}; picked {f['settings']}"
        )
    return "\n".join(out)
