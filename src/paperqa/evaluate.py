"""Eval harness: retrieval quality (hybrid vs BM25-only vs dense-only), latency, and with
`answers=True` the full answer pipeline (citations, keywords, refusals, speed), scored also on
the lead (`lead_of`: the first paragraph, what the reader sees before the evidence).

Question file format (JSONL, one object a line): id, type (factoid | comparison | summary |
unanswerable | followup), question (a string; for followup a list of two or more turns, scored on the
second), gold_titles, answer_keywords. Gold titles match papers by normalised title.

Tuning the retrieval settings on a set, and cross-validating that, live in `tuning.py`.

May touch: `api.PaperQA` and its retriever (to rank by one mode, hybrid, BM25 or dense).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from .answer.question import analyze
from .answer.retrieve import Mode, Retriever, rewrite_followup
from .api import PaperQA
from .errors import PaperQAError, first_line
from .text import marker_numbers, normalize_title, prose_faults
from .types import Answer, PriorTurn

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
            first = first_line(e)
            raise PaperQAError(f"{path}:{lineno}: not a valid question: {first}") from e
        if q.type not in TYPES:
            raise PaperQAError(f"{path}:{lineno}: field 'type' must be one of {', '.join(TYPES)}")
        if q.type == "followup" and len(q.turns) < 2:
            raise PaperQAError(f"{path}:{lineno}: a followup 'question' is a list of two or more turns")
        out.append(q)
    if not out:
        raise PaperQAError(f"{path}: no questions in the file")
    return out


def mean(xs: list[float]) -> float:
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
        "recall@1": mean(rec[1]),
        "recall@5": mean(rec[5]),
        "recall@10": mean(rec[10]),
        "mrr@10": mean(mrr),
        "summary_coverage@10": mean(cov),
    }


def _by_type(
    rows: list[dict[str, Any]], fn: Callable[[list[dict[str, Any]]], dict[str, Any]]
) -> dict[str, Any]:
    types = sorted({r["type"] for r in rows})
    return {t: fn([r for r in rows if r["type"] == t]) for t in types}


def ranked_row(retriever: Retriever, q: Question, mode: Mode) -> dict[str, Any]:
    """One question searched in one mode, as `retrieval_metrics` reads it (top 10 titles)."""
    r = retriever.search(q.standalone, k=10, mode=mode, diverse=(q.type == "summary" and mode == "hybrid"))
    return {
        "id": q.id,
        "type": q.type,
        "gold": [normalize_title(t) for t in q.gold_titles],
        "ranked": [normalize_title(s.paper.title) for s in r.sources],
    }


def evaluate_retrieval(
    app: PaperQA, questions: list[Question], progress: Callable[[], None] | None = None
) -> dict[str, Any]:
    answerable = [q for q in questions if q.type != "unanswerable"]
    app.warm_up_retrieval()
    rows: dict[str, list[dict[str, Any]]] = {"hybrid": [], "bm25": [], "dense": []}
    latencies: list[float] = []
    for q in answerable:
        for mode in ("hybrid", "bm25", "dense"):
            m: Mode = mode
            t0 = time.perf_counter()
            row = ranked_row(app.retriever, q, m)
            if mode == "hybrid":
                latencies.append((time.perf_counter() - t0) * 1000)
            rows[mode].append(row)
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


_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
# Leads a report shows per question type, drawn at random with a fixed seed (`lead_samples`).
LEAD_SAMPLE = 5
SAMPLE_SEED = 26
KEYWORD_TYPES = ("factoid", "followup", "comparison")  # keyword_accuracy: every keyword anywhere
LEAD_KEYWORD_TYPES = ("factoid", "followup", "comparison")  # lead_keyword_accuracy: every keyword in the lead
TOP_TYPES = ("factoid", "followup")  # lead_paper_is_top: one paper answers, retrieval ranked it


def lead_of(answer: str) -> str:
    """The answer's lead: its first paragraph, the text before the first blank line.

    This is what a reader takes as the answer before the evidence list or comparison table
    below it. A paragraph split, not a sentence split: a lead of three sentences stays whole.
    """
    return _BLANK_LINE.split(answer.strip(), maxsplit=1)[0].strip()


def _has_all(keywords: list[str], text: str) -> bool:
    low = text.lower()
    return all(k.lower() in low for k in keywords)


def _lead_papers(r: dict[str, Any]) -> set[str]:
    """Normalised titles of the papers the lead cites ([n] mapped through the answer's sources)."""
    return {r["sources"][n] for n in marker_numbers(lead_of(r["answer"])) if n in r["sources"]}


def keywords_anywhere(r: dict[str, Any]) -> bool | None:
    """Every keyword somewhere in the answer; None when the row has no keyword check."""
    if r["type"] not in KEYWORD_TYPES or not r["keywords"]:
        return None
    return _has_all(r["keywords"], r["answer"])


def keywords_in_lead(r: dict[str, Any]) -> bool | None:
    """Every keyword in the lead (factoids, follow-ups, comparisons); None when it does not apply."""
    if r["type"] not in LEAD_KEYWORD_TYPES or not r["keywords"]:
        return None
    return _has_all(r["keywords"], lead_of(r["answer"]))


def lead_cites_gold(r: dict[str, Any]) -> bool | None:
    """A comparison's lead cites every gold paper; None unless an answered comparison with gold."""
    if r["type"] != "comparison" or r["refused"] or not r["gold"]:
        return None
    return set(r["gold"]) <= _lead_papers(r)


_TABLE_HEADER = re.compile(r"^\| Aspect \|(.*)\|\s*$", re.M)


def side_owners_right(r: dict[str, Any]) -> bool | None:
    """A comparison's table has one column per gold paper and no other: every side's column is its
    own paper. None unless an answered comparison with two or more gold papers."""
    if r["type"] != "comparison" or r["refused"] or len(r["gold"]) < 2:
        return None
    header = _TABLE_HEADER.search(r["answer"])
    if header is None:
        return False
    columns = {r["sources"].get(n) for n in marker_numbers(header.group(1))}
    return columns == set(r["gold"])


def lead_faults(r: dict[str, Any]) -> list[str] | None:
    """What the prose lint finds in an answered question's lead (`text.prose_faults`); None for a
    refusal, whose wording is fixed."""
    if r["refused"]:
        return None
    return prose_faults(lead_of(r["answer"]))


def _rate(xs: list[float]) -> float | None:
    """Mean, or None when no row is scored (shown as "–": the metric does not apply)."""
    return mean(xs) if xs else None


def _flags(flags: list[bool | None]) -> float | None:
    return _rate([float(f) for f in flags if f is not None])


def answer_metrics(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Answer quality over rows {type, answer, refused, sources: {n: norm title}, cited: [norm
    titles], gold: [norm titles], keywords, ttft, total}. A metric no row is scored on is None."""
    markers = [(m, r) for r in rows for m in marker_numbers(r["answer"])]
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
    summaries = [r for r in rows if r["type"] == "summary" and not r["refused"]]
    answered = [r["ttft"] for r in rows if not r["refused"]]
    return {
        "citation_validity": _rate([float(m in r["sources"]) for m, r in markers]),
        "cited_precision": _rate(prec),
        "gold_recall": _rate(rec),
        "keyword_accuracy": _flags([keywords_anywhere(r) for r in rows]),
        "lead_keyword_accuracy": _flags([keywords_in_lead(r) for r in rows]),
        "lead_cites_all": _flags([lead_cites_gold(r) for r in rows]),
        "side_owner_accuracy": _flags([side_owners_right(r) for r in rows]),
        "turn_paper_accuracy": _flags([ok for r in rows for ok in r.get("turn_papers") or []]),
        "lead_paper_is_top": _flags([r.get("lead_top") for r in rows]),
        "which_paper_accuracy": _flags([r.get("which_paper") for r in rows]),
        "lead_papers": _rate([float(len(_lead_papers(r))) for r in summaries]),
        "prose_lint_failures": float(sum(bool(lead_faults(r)) for r in rows)),
        "refusal_rate": _rate([float(r["refused"]) for r in unanswerable]),
        "false_refusal_rate": _rate([float(r["refused"]) for r in answerable]),
        "ttft_s_p50": round(_pct(answered, 0.5), 3) if answered else None,
        "total_s_p50": round(_pct([r["total"] for r in rows], 0.5), 3) if rows else None,
    }


def _example(r: dict[str, Any]) -> dict[str, Any]:
    """One question as the reader saw it, with the per-question checks the metrics count."""
    kw_any = keywords_anywhere(r)
    good = (not r["refused"]) == (r["type"] != "unanswerable") and kw_any is not False
    if r["gold"]:
        good = good and bool(set(r["cited"]) & set(r["gold"]))
    return {
        "id": r["id"],
        "type": r["type"],
        "question": r["question"],
        "answer": r["answer"],
        "lead": lead_of(r["answer"]),
        "refused": r["refused"],
        "cited": r["cited_titles"],
        "keywords": r["keywords"],
        "gold_titles": r["gold_titles"],
        "keywords_in_lead": keywords_in_lead(r),
        "keywords_anywhere": kw_any,
        "lead_cites_gold": lead_cites_gold(r),
        "side_owners_right": side_owners_right(r),
        "prose_faults": lead_faults(r),
        "good": good,
        "notes": r["notes"],
    }


def _ask_timed(app: PaperQA, question: str, history: list[PriorTurn]) -> tuple[Answer, float | None, float]:
    """The answer, the seconds to its first token (None: none streamed) and to its end."""
    t0 = time.perf_counter()
    ttft: float | None = None
    final: Answer | None = None
    for ev in app.ask_stream(question, history=history):
        if ev.kind == "token" and ttft is None:
            ttft = time.perf_counter() - t0
        elif ev.kind == "final":
            final = ev.answer
    if final is None:
        raise PaperQAError(f"no answer came back for {question!r}")
    return final, ttft, time.perf_counter() - t0


def evaluate_answers(
    app: PaperQA, questions: list[Question], progress: Callable[[], None] | None = None
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for q in questions:
        # A conversation is asked turn by turn, as a user asks it: each turn's answer (the papers
        # its lead cites) is what the next turn's "it" refers to. Latency is the last turn's.
        history: list[PriorTurn] = []
        turn_papers: list[bool] = []
        gold_ids = {normalize_title(t) for t in q.gold_titles}
        for turn in q.turns:
            final, ttft, total = _ask_timed(app, turn, history)
            lead = final.lead_papers()
            titles_by_id = {s.paper.id: normalize_title(s.paper.title) for s in final.sources}
            turn_papers.append(bool(gold_ids & {titles_by_id[pid] for pid in lead}))
            history.append(PriorTurn(question=turn, papers=lead))
        titles = {s.n: s.paper.title for s in final.sources}
        cited = [titles[c.n] for c in final.citations if c.n in titles]
        lead = final.lead_papers()
        rows.append(
            {
                "id": q.id,
                "type": q.type,
                "question": q.turns[-1],
                "answer": final.answer,
                "refused": final.refused,
                "sources": {n: normalize_title(t) for n, t in titles.items()},
                "cited": [normalize_title(t) for t in cited],
                "cited_titles": cited,
                "gold": [normalize_title(t) for t in q.gold_titles],
                "gold_titles": q.gold_titles,
                "keywords": q.answer_keywords,
                "ttft": ttft if ttft is not None else total,
                "total": total,
                "notes": final.notes,
                "turn_papers": turn_papers if len(q.turns) > 1 else None,
                "lead_top": (lead[0] == final.sources[0].paper.id) if lead and q.type in TOP_TYPES else None,
                # "which paper …?": the lead names (cites) a gold paper
                "which_paper": (
                    bool(gold_ids & {titles_by_id[pid] for pid in lead})
                    if q.type in TOP_TYPES and analyze(q.turns[-1]).asks_paper and not final.refused
                    else None
                ),
            }
        )
        if progress:
            progress()
    examples = [_example(r) for r in rows]
    return {
        "answers": answer_metrics(rows),
        "by_type": _by_type(rows, answer_metrics),
        "examples": examples,
        "lead_samples": lead_samples(examples),
    }


def lead_samples(
    examples: list[dict[str, Any]], k: int = LEAD_SAMPLE, seed: int = SAMPLE_SEED
) -> dict[str, list[str]]:
    """Per question type, the ids of `k` answered questions drawn at random (seeded: the same
    draw every run of a set), so a reader reads ordinary leads, not only the worst."""
    rng = random.Random(seed)
    by_type: dict[str, list[str]] = {}
    for e in examples:
        if not e["refused"]:
            by_type.setdefault(e["type"], []).append(e["id"])
    return {t: sorted(rng.sample(ids, min(k, len(ids))), key=ids.index) for t, ids in by_type.items()}


def run(
    app: PaperQA,
    questions: list[Question],
    answers: bool = False,
    progress: Callable[[], None] | None = None,
    source: str | None = None,
    tuned_on: str | None = None,
) -> dict[str, Any]:
    """Retrieval (and with `answers` the answer) metrics. `source` is the question file as given,
    `tuned_on` the question set the settings were tuned on; both are printed with the numbers."""
    result = evaluate_retrieval(app, questions, progress)
    result["questions"] = source
    result["tuned_on"] = tuned_on
    if answers:
        ans = evaluate_answers(app, questions, progress)
        result["answers"] = ans["answers"]
        for t, m in ans["by_type"].items():
            result["by_type"].setdefault(t, {}).update(m)
        result["examples"] = ans["examples"]
        result["lead_samples"] = ans["lead_samples"]
    result["llm"] = app.settings.llm.resolved_provider() if answers else None
    return result


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _provenance(result: dict[str, Any]) -> list[str]:
    """Which question file the numbers are on, and which one the settings were tuned on."""
    source = result.get("questions") or "(not named)"
    lines = [f"Questions: {source} ({result['n']})"]
    tuned = result.get("tuned_on")
    if tuned:
        same = result.get("questions") and Path(tuned).resolve() == Path(result["questions"]).resolve()
        lines.append(f"Tuned on: {tuned} · reported on: {source}" + (" (same set)" if same else ""))
    return lines


def lead_misses(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answerable questions whose lead misses its keywords or, for comparisons, a gold paper."""
    return [
        e
        for e in examples
        if e["type"] != "unanswerable" and False in (e["keywords_in_lead"], e["lead_cites_gold"])
    ]


def _answer_lines(result: dict[str, Any], worst_leads: int = 8) -> list[str]:
    akeys = list(result["answers"].keys())
    lines = [f"## Answers (LLM: {result.get('llm')})", "", "| scope | " + " | ".join(akeys) + " |"]
    lines.append("|---|" + "---|" * len(akeys))
    lines.append("| all | " + " | ".join(_fmt(result["answers"][k]) for k in akeys) + " |")
    for t, m in result["by_type"].items():
        lines.append(f"| {t} | " + " | ".join(_fmt(m.get(k)) for k in akeys) + " |")
    lines += [
        "",
        "The lead is the answer's first paragraph, what a reader takes as the answer before the "
        "evidence list or table. keyword_accuracy: every keyword anywhere in the answer (factoid, "
        "follow-up, comparison); lead_keyword_accuracy: every keyword in the lead (factoid, "
        "follow-up, comparison); lead_cites_all: the lead of an answered comparison cites every gold paper; "
        "side_owner_accuracy: a comparison's table has a column for each gold paper and no other; "
        "turn_paper_accuracy: each turn of a conversation, asked in order, has a gold paper in its lead; "
        "lead_paper_is_top: a factoid's or follow-up's lead cites retrieval's first paper first; "
        "which_paper_accuracy: a 'which paper …?' question's lead cites a gold paper; "
        "lead_papers: distinct papers cited in the lead of an answered summary. – : does not apply.",
    ]
    ex = result.get("examples", [])
    lines += _sample_lines(ex, result.get("lead_samples") or lead_samples(ex))
    misses = lead_misses(ex)
    checked = [e for e in ex if (e["keywords_in_lead"], e["lead_cites_gold"]) != (None, None)]
    lines += ["", f"### Worst leads ({len(misses)} of {len(checked)} checked miss; up to {worst_leads})", ""]
    for e in misses[:worst_leads]:
        expected = ", ".join(f"`{k}`" for k in e["keywords"]) or "–"
        lines += [f"**{e['id']} ({e['type']})** — {e['question']}", "", f"Expected keywords: {expected}"]
        if e["lead_cites_gold"] is False:
            lines.append("Expected papers cited in the lead: " + "; ".join(e["gold_titles"]))
        lines += ["", "> " + (e["lead"] or "(empty)").replace("\n", "\n> "), ""]
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
    return lines


def _sample_lines(examples: list[dict[str, Any]], samples: dict[str, list[str]]) -> list[str]:
    """The seeded random leads of each type, as a reader sees them, with the prose lint's faults."""
    by_id = {e["id"]: e for e in examples}
    failing = [e for e in examples if e.get("prose_faults")]
    lines = [
        "",
        f"### Leads a reader reads ({LEAD_SAMPLE} per type, drawn at random, seed {SAMPLE_SEED})",
        "",
    ]
    lines.append(
        f"Prose lint: {len(failing)} of {len(examples)} leads fail ({', '.join(e['id'] for e in failing) or 'none'})."
    )
    for t, ids in samples.items():
        lines += ["", f"#### {t}", ""]
        for i in ids:
            e = by_id[i]
            faults = f" — lint: {'; '.join(e['prose_faults'])}" if e.get("prose_faults") else ""
            lines += [
                f"**{e['id']}** — {e['question']}{faults}",
                "",
                "> " + (e["lead"] or "(empty)").replace("\n", "\n> "),
                "",
            ]
    return lines


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

    lines = ["# PaperQA evaluation", "", *_provenance(result), "", "## Retrieval (paper level)", ""]
    lines.append("| system | " + " | ".join(keys) + " |")
    lines.append("|---|" + "---|" * len(keys))
    for name, m in systems.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in keys) + " |")
    lines += ["", "![retrieval](retrieval.png)", "", "### Hybrid by question type", ""]
    lines.append("| type | " + " | ".join(keys) + " |")
    lines.append("|---|" + "---|" * len(keys))
    for t, m in result["by_type"].items():
        lines.append(f"| {t} | " + " | ".join(_fmt(m.get(k)) for k in keys) + " |")
    lat = result["latency_ms"]
    lines += ["", f"Hybrid retrieval latency (warm): p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms", ""]
    if result.get("misses"):
        lines += ["Missed at 5: " + ", ".join(f"{m['id']} ({m['type']})" for m in result["misses"]), ""]
    if "answers" in result:
        lines += _answer_lines(result)
    md = folder / "report.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return md


def summary_table(result: dict[str, Any]) -> str:
    keys = list(RETRIEVAL_KEYS)
    rows = [("hybrid", result["metrics"]), *result["baselines"].items()]
    out = [*_provenance(result), "system   " + "  ".join(f"{k:>20}" for k in keys)]
    for name, m in rows:
        out.append(f"{name:<8} " + "  ".join(f"{m[k]:>20.3f}" for k in keys))
    lat = result["latency_ms"]
    out.append(f"hybrid latency p50 {lat['p50']:.1f} ms  p95 {lat['p95']:.1f} ms")
    if "answers" in result:
        out.append("answers: " + ", ".join(f"{k}={_fmt(v)}" for k, v in result["answers"].items()))
    return "\n".join(out)
