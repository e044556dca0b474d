"""Eval harness: retrieval quality (hybrid vs BM25-only vs dense-only), latency, and with
`answers=True` the full answer pipeline (citations, keywords, refusals, speed).

Question file format (JSONL, one object a line): id, type (factoid | comparison | summary |
unanswerable | followup), question (a string; for followup a list of two turns, scored on the
second), gold_titles, answer_keywords. Gold titles match papers by normalised title.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from .api import PaperQA
from .errors import PaperQAError
from .retrieve import Mode, rewrite_followup
from .types import normalize_title

TYPES = ("factoid", "comparison", "summary", "unanswerable", "followup")
RETRIEVAL_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "summary_coverage@10")


class Question(BaseModel):
    id: str
    type: str
    question: str | list[str]
    gold_titles: list[str] = Field(default_factory=list)
    answer_keywords: list[str] = Field(default_factory=list)

    @property
    def turns(self) -> list[str]:
        return self.question if isinstance(self.question, list) else [self.question]

    @property
    def standalone(self) -> str:
        turns = self.turns
        return rewrite_followup(turns[-1], turns[:-1])


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question set; a bad line is reported with file and line number."""
    if not path.is_file():
        raise PaperQAError(f"question file not found: {path}", hint="pass --questions eval/dev.jsonl")
    out: list[Question] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = Question.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as e:
            first = str(e).splitlines()[0]
            raise PaperQAError(f"{path}:{lineno}: not a valid question: {first}") from e
        if q.type not in TYPES:
            raise PaperQAError(f"{path}:{lineno}: field 'type' must be one of {', '.join(TYPES)}")
        if q.type == "followup" and len(q.turns) < 2:
            raise PaperQAError(f"{path}:{lineno}: a followup 'question' is a list of two turns")
        out.append(q)
    if not out:
        raise PaperQAError(f"{path}: no questions in the file")
    return out


def _mean(xs: list[float]) -> float:
    return round(sum(xs) / len(xs), 4) if xs else 0.0


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def retrieval_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """rows: {type, gold: [norm titles], ranked: [norm titles]} (unanswerable excluded by caller)."""
    rec: dict[int, list[float]] = {1: [], 5: [], 10: []}
    mrr: list[float] = []
    cov: list[float] = []
    for r in rows:
        gold, ranked = r["gold"], r["ranked"]
        if not gold:
            continue
        if r["type"] == "summary":
            cov.append(sum(g in ranked[:10] for g in gold) / len(gold))
        for k in rec:
            rec[k].append(float(all(g in ranked[:k] for g in gold)))
        ranks = [ranked.index(g) for g in gold if g in ranked[:10]]
        mrr.append(1.0 / (min(ranks) + 1) if ranks else 0.0)
    return {
        "recall@1": _mean(rec[1]),
        "recall@5": _mean(rec[5]),
        "recall@10": _mean(rec[10]),
        "mrr@10": _mean(mrr),
        "summary_coverage@10": _mean(cov),
    }


def _by_type(
    rows: list[dict[str, Any]], fn: Callable[[list[dict[str, Any]]], dict[str, float]]
) -> dict[str, Any]:
    types = sorted({r["type"] for r in rows})
    return {t: fn([r for r in rows if r["type"] == t]) for t in types}


def evaluate_retrieval(
    app: PaperQA, questions: list[Question], progress: Callable[[], None] | None = None
) -> dict[str, Any]:
    answerable = [q for q in questions if q.type != "unanswerable"]
    app.warm_up_retrieval()
    rows: dict[str, list[dict[str, Any]]] = {"hybrid": [], "bm25": [], "dense": []}
    latencies: list[float] = []
    for q in answerable:
        gold = [normalize_title(t) for t in q.gold_titles]
        for mode in ("hybrid", "bm25", "dense"):
            m: Mode = mode
            t0 = time.perf_counter()
            r = app.retriever.search(
                q.standalone, k=10, mode=m, diverse=(q.type == "summary" and m == "hybrid")
            )
            if mode == "hybrid":
                latencies.append((time.perf_counter() - t0) * 1000)
            rows[mode].append(
                {
                    "id": q.id,
                    "type": q.type,
                    "gold": gold,
                    "ranked": [normalize_title(s.paper.title) for s in r.sources],
                }
            )
        if progress:
            progress()
    core = [r for r in rows["hybrid"] if r["type"] in ("factoid", "comparison", "followup")]
    return {
        "n": len(questions),
        "metrics": retrieval_metrics(rows["hybrid"]),
        "core_metrics": retrieval_metrics(core),
        "by_type": _by_type(rows["hybrid"], retrieval_metrics),
        "baselines": {m: retrieval_metrics(rows[m]) for m in ("bm25", "dense")},
        "baselines_by_type": {m: _by_type(rows[m], retrieval_metrics) for m in ("bm25", "dense")},
        "latency_ms": {"p50": round(_pct(latencies, 0.5), 2), "p95": round(_pct(latencies, 0.95), 2)},
        "misses": [
            {"id": r["id"], "type": r["type"], "missing": [g for g in r["gold"] if g not in r["ranked"][:5]]}
            for r in rows["hybrid"]
            if any(g not in r["ranked"][:5] for g in r["gold"])
        ],
    }


_MARK = re.compile(r"\[(\d+)\]")


def answer_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    markers = [m for r in rows for m in r["markers"]]
    valid = [m for r in rows for m in r["markers"] if m in r["source_ns"]]
    answerable = [r for r in rows if r["type"] != "unanswerable"]
    unanswerable = [r for r in rows if r["type"] == "unanswerable"]
    prec, rec = [], []
    for r in answerable:
        if r["refused"] or not r["gold"]:
            continue
        cited = set(r["cited"])
        if cited:
            prec.append(len(cited & set(r["gold"])) / len(cited))
        rec.append(len(cited & set(r["gold"])) / len(r["gold"]))
    factoid = [r for r in rows if r["type"] == "factoid" and r["keywords"]]
    kw = [float(all(k.lower() in r["answer"].lower() for k in r["keywords"])) for r in factoid]
    return {
        "citation_validity": round(len(valid) / len(markers), 4) if markers else 1.0,
        "cited_precision": _mean(prec),
        "gold_recall": _mean(rec),
        "keyword_accuracy": _mean(kw),
        "refusal_rate": _mean([float(r["refused"]) for r in unanswerable]),
        "false_refusal_rate": _mean([float(r["refused"]) for r in answerable]),
        "ttft_s_p50": round(_pct([r["ttft"] for r in rows if not r["refused"]], 0.5), 3),
        "total_s_p50": round(_pct([r["total"] for r in rows], 0.5), 3),
    }


def evaluate_answers(
    app: PaperQA, questions: list[Question], progress: Callable[[], None] | None = None
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for q in questions:
        t0 = time.perf_counter()
        ttft: float | None = None
        final = None
        history = q.turns[:-1]
        for ev in app.ask_stream(q.turns[-1], history=history):
            if ev.kind == "token" and ttft is None:
                ttft = time.perf_counter() - t0
            elif ev.kind == "final":
                final = ev.answer
        total = time.perf_counter() - t0
        assert final is not None
        by_n = {s.n: normalize_title(s.paper.title) for s in final.sources}
        rows.append(
            {
                "id": q.id,
                "type": q.type,
                "question": q.turns[-1],
                "answer": final.answer,
                "refused": final.refused,
                "markers": [int(m) for m in _MARK.findall(final.answer)],
                "source_ns": set(by_n),
                "cited": [by_n[c.n] for c in final.citations if c.n in by_n],
                "gold": [normalize_title(t) for t in q.gold_titles],
                "keywords": q.answer_keywords,
                "ttft": ttft if ttft is not None else total,
                "total": total,
                "notes": final.notes,
            }
        )
        if progress:
            progress()
    overall = answer_metrics(rows)
    by_type = _by_type(rows, answer_metrics)
    examples = []
    for r in rows:
        score = answer_metrics([r])
        good = (not r["refused"]) == (r["type"] != "unanswerable")
        if r["type"] == "factoid" and r["keywords"]:
            good = good and score["keyword_accuracy"] == 1.0
        if r["gold"]:
            good = good and score["gold_recall"] > 0
        examples.append({**{k: v for k, v in r.items() if k != "source_ns"}, "good": good})
    return {"answers": overall, "by_type": by_type, "examples": examples}


def run(
    app: PaperQA,
    questions: list[Question],
    answers: bool = False,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    result = evaluate_retrieval(app, questions, progress)
    if answers:
        ans = evaluate_answers(app, questions, progress)
        result["answers"] = ans["answers"]
        for t, m in ans["by_type"].items():
            result["by_type"].setdefault(t, {}).update(m)
        result["answer_examples"] = ans["examples"]
    result["llm"] = app.settings.llm.resolved_provider() if answers else None
    return result


def write_report(result: dict[str, Any], folder: Path) -> Path:
    """Markdown report and a PNG chart of hybrid vs the baselines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    keys = ["recall@1", "recall@5", "recall@10", "mrr@10", "summary_coverage@10"]
    systems = {"hybrid": result["metrics"], **result["baselines"]}
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.26
    for i, (name, m) in enumerate(systems.items()):
        ax.bar([x + i * width for x in range(len(keys))], [m[k] for k in keys], width, label=name)
    ax.set_xticks([x + width for x in range(len(keys))], keys)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Retrieval on {result['n']} questions")
    ax.legend()
    fig.tight_layout()
    png = folder / "retrieval.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)

    lines = ["# PaperQA evaluation", "", f"Questions: {result['n']}", "", "## Retrieval (paper level)", ""]
    lines.append("| system | " + " | ".join(keys) + " |")
    lines.append("|---|" + "---|" * len(keys))
    for name, m in systems.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in keys) + " |")
    lines += ["", "![retrieval](retrieval.png)", "", "### Hybrid by question type", ""]
    lines.append("| type | " + " | ".join(keys) + " |")
    lines.append("|---|" + "---|" * len(keys))
    for t, m in result["by_type"].items():
        lines.append(f"| {t} | " + " | ".join(f"{m.get(k, 0):.3f}" for k in keys) + " |")
    lat = result["latency_ms"]
    lines += ["", f"Hybrid retrieval latency (warm): p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms", ""]
    if result.get("misses"):
        lines += ["Missed at 5: " + ", ".join(f"{m['id']} ({m['type']})" for m in result["misses"]), ""]
    if "answers" in result:
        akeys = list(result["answers"].keys())
        lines += [f"## Answers (LLM: {result.get('llm')})", "", "| scope | " + " | ".join(akeys) + " |"]
        lines.append("|---|" + "---|" * len(akeys))
        lines.append("| all | " + " | ".join(f"{result['answers'][k]:.3f}" for k in akeys) + " |")
        for t, m in result["by_type"].items():
            lines.append(f"| {t} | " + " | ".join(f"{m.get(k, 0):.3f}" for k in akeys) + " |")
        ex = result.get("answer_examples", [])
        for title, pick in (
            ("Best answers", [e for e in ex if e["good"]]),
            ("Worst answers", [e for e in ex if not e["good"]]),
        ):
            lines += ["", f"### {title}", ""]
            seen: set[str] = set()
            for e in pick:
                if e["type"] in seen:
                    continue
                seen.add(e["type"])
                lines += [
                    f"**{e['id']} ({e['type']})** — {e['question']}",
                    "",
                    "> " + e["answer"].replace("\n", "\n> "),
                    "",
                ]
    md = folder / "report.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return md


def summary_table(result: dict[str, Any]) -> str:
    keys = list(RETRIEVAL_KEYS)
    rows = [("hybrid", result["metrics"]), *result["baselines"].items()]
    out = ["system   " + "  ".join(f"{k:>20}" for k in keys)]
    for name, m in rows:
        out.append(f"{name:<8} " + "  ".join(f"{m[k]:>20.3f}" for k in keys))
    lat = result["latency_ms"]
    out.append(f"hybrid latency p50 {lat['p50']:.1f} ms  p95 {lat['p95']:.1f} ms")
    if "answers" in result:
        out.append("answers: " + ", ".join(f"{k}={v:.3f}" for k, v in result["answers"].items()))
    return "\n".join(out)
