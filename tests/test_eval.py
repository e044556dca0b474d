"""The eval harness as scripts use it: `paperqa eval --questions FILE --json`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from paperqa.evaluate import (
    Question,
    answer_metrics,
    evaluate_answers,
    lead_of,
    retrieval_metrics,
    summary_table,
    write_report,
)
from paperqa.types import Answer, Citation, Paper, PriorTurn, Source

from .conftest import DEV, run_cli

KEYS = {"recall@1", "recall@5", "recall@10", "mrr@10", "summary_coverage@10"}
EXAMPLE_KEYS = {
    "prose_faults",
    "id",
    "type",
    "question",
    "answer",
    "lead",
    "refused",
    "cited",
    "keywords_in_lead",
    "keywords_anywhere",
}


def test_metric_definitions() -> None:
    rows = [
        {"type": "factoid", "gold": ["a"], "ranked": ["x", "a"]},  # hit at 5, rank 2
        {"type": "comparison", "gold": ["a", "b"], "ranked": ["a", "x", "y", "z", "w", "b"]},  # b at 6
        {"type": "summary", "gold": ["a", "b", "c", "d"], "ranked": ["a", "b", "x"]},
    ]
    m = retrieval_metrics(rows)
    assert m["recall@1"] == 0.0
    assert m["recall@5"] == round(1 / 3, 4)  # only the factoid has every gold paper in the top 5
    assert m["recall@10"] == round(2 / 3, 4)
    assert m["mrr@10"] == round((0.5 + 1 + 1) / 3, 4)
    assert m["summary_coverage@10"] == 0.5


@pytest.mark.slow
def test_eval_json_interface_and_baselines(home_copy: Path, tmp_path: Path) -> None:
    lines = DEV.read_text().splitlines()
    subset = [json.loads(x) for x in lines]
    picked = [
        q for q in subset if q["id"] in {"dev-001", "dev-023", "dev-032", "dev-038", "dev-040", "dev-044"}
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(q) for q in picked) + "\n")
    res = run_cli(
        "eval",
        "--questions",
        str(qfile),
        "--answers",
        "--json",
        "--report",
        str(tmp_path / "rep"),
        home=home_copy,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["n"] == 6
    assert out["questions"] == str(qfile) and out["tuned_on"] == "eval/dev.jsonl"
    assert [e["id"] for e in out["examples"]] == [q["id"] for q in picked]
    assert all(set(e) >= EXAMPLE_KEYS for e in out["examples"]) and "answer_examples" not in out
    for e in out["examples"]:
        assert e["lead"] == lead_of(e["answer"])
    assert out["answers"].keys() >= {"keyword_accuracy", "lead_keyword_accuracy", "lead_cites_all"}
    assert out["by_type"]["summary"]["lead_papers"] >= 1  # dev-038's lead cites papers
    assert out["metrics"].keys() >= KEYS
    assert {"bm25", "dense"} == set(out["baselines"]) and out["baselines"]["bm25"].keys() >= KEYS
    retrieval_types = {t for t, m in out["by_type"].items() if "recall@5" in m}
    assert retrieval_types == {"factoid", "comparison", "summary", "followup"}  # unanswerable excluded
    assert "refusal_rate" in out["by_type"]["unanswerable"]  # ... but its answer is scored
    assert out["metrics"]["recall@5"] == 1.0  # these gold papers are all found
    assert 0 < out["latency_ms"]["p50"] <= out["latency_ms"]["p95"]
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "| hybrid |" in report and "| bm25 |" in report and "| dense |" in report
    assert (tmp_path / "rep" / "retrieval.png").stat().st_size > 1000
    assert f"Questions: {qfile} (6)" in report and "### Worst leads" in report


def test_bad_question_file_names_the_line(tmp_path: Path) -> None:
    qfile = tmp_path / "bad.jsonl"
    qfile.write_text(
        '{"id": "a", "type": "factoid", "question": "ok?"}\n{"id": "b", "type": "riddle", "question": "?"}\n'
    )
    res = run_cli("eval", "--questions", str(qfile), home=tmp_path / "home")  # fails before any index
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "bad.jsonl:2" in res.stderr and "type" in res.stderr


def _row(
    type_: str,
    answer: str,
    *,
    gold: tuple[str, ...] = (),
    keywords: tuple[str, ...] = (),
    refused: bool = False,
) -> dict[str, Any]:
    """A hand-made answer row: sources [1]-[4] are papers a-d; cited = the papers [n] names."""
    sources = {1: "paper a", 2: "paper b", 3: "paper c", 4: "paper d"}
    cited = sorted({sources[int(n)] for n in re.findall(r"\[(\d+)\]", answer) if int(n) in sources})
    return {
        "id": f"{type_}-1",
        "type": type_,
        "question": "q?",
        "answer": answer,
        "refused": refused,
        "sources": sources,
        "cited": cited,
        "cited_titles": [c.title() for c in cited],
        "gold": list(gold),
        "gold_titles": [g.title() for g in gold],
        "keywords": list(keywords),
        "ttft": 0.5,
        "total": 1.0,
        "notes": [],
    }


FACTOID = "It trains on many words [1].\n\n**Evidence:**\n- **Paper A**: 13.6B Danish words. [1]"
COMPARISON = (
    "Both scale batch training [1].\n\n| Aspect | [1] A | [2] B |\n|---|---|---|\n"
    "| **Reported results** | batch 8192 [1] | batch 32K [2] |"
)


def test_lead_is_the_first_paragraph() -> None:
    assert lead_of(FACTOID) == "It trains on many words [1]."
    # a paragraph split, not a sentence split: sentences and single line breaks stay in the lead
    assert lead_of("\n\nOne [1]. Two [2].\nThree [3].\n \nEvidence") == "One [1]. Two [2].\nThree [3]."
    assert lead_of("No blank line at all [1].") == "No blank line at all [1]."
    assert lead_of("A.\r\n\r\nB.") == "A."


def test_keyword_in_evidence_only_counts_anywhere_but_not_in_lead() -> None:
    rows = [_row("factoid", FACTOID, gold=("paper a",), keywords=("13.6b",))]
    m = answer_metrics(rows)
    assert m["keyword_accuracy"] == 1.0
    assert m["lead_keyword_accuracy"] == 0.0
    rows.append(_row("factoid", "It used 13.6B words [1].", gold=("paper a",), keywords=("13.6B",)))
    assert answer_metrics(rows)["lead_keyword_accuracy"] == 0.5


def test_followups_are_scored_like_factoids() -> None:
    m = answer_metrics([_row("followup", FACTOID, gold=("paper a",), keywords=("13.6B", "Danish"))])
    assert (m["keyword_accuracy"], m["lead_keyword_accuracy"]) == (1.0, 0.0)
    assert answer_metrics([_row("followup", FACTOID, keywords=("Llama2",))])["keyword_accuracy"] == 0.0


def test_comparison_lead_must_cite_every_gold_paper() -> None:
    row = _row("comparison", COMPARISON, gold=("paper a", "paper b"), keywords=("8192", "32k"))
    m = answer_metrics([row])
    assert m["lead_cites_all"] == 0.0  # the lead cites [1] only; [2] is in the table
    assert m["keyword_accuracy"] == 1.0  # both sides' keywords are in the answer
    assert m["lead_keyword_accuracy"] == 0.0  # 32K is only in the table
    both = _row(
        "comparison", COMPARISON.replace("training [1]", "training [1][2]"), gold=("paper a", "paper b")
    )
    refused = _row("comparison", "The corpus does not cover this.", gold=("paper a",), refused=True)
    m = answer_metrics([row, both, refused])  # refusals are not scored on their lead
    assert m["lead_cites_all"] == 0.5
    one_side = _row("comparison", COMPARISON, keywords=("8192", "64K"))
    assert answer_metrics([one_side])["keyword_accuracy"] == 0.0


def test_side_owner_accuracy_wants_a_column_for_each_gold_paper_and_no_other() -> None:
    right = _row("comparison", COMPARISON, gold=("paper a", "paper b"))
    assert answer_metrics([right])["side_owner_accuracy"] == 1.0
    wrong = _row("comparison", COMPARISON, gold=("paper a", "paper c"))
    no_table = _row("comparison", "Paper A batch 8192 [1].", gold=("paper a", "paper b"))
    assert answer_metrics([right, wrong, no_table])["side_owner_accuracy"] == pytest.approx(1 / 3, abs=1e-3)
    assert answer_metrics([_row("factoid", FACTOID, gold=("paper a",))])["side_owner_accuracy"] is None


def test_summary_lead_papers_counts_distinct_cited_papers() -> None:
    lead = "PRMs help [1][2]. Dense rewards too [2][3]. Unknown [9]."
    m = answer_metrics([_row("summary", lead + "\n\n**Topic**\n- **Paper D**: x [4]")])
    assert m["lead_papers"] == 3.0  # [1][2][3]; [4] is below the lead, [9] is no source
    assert answer_metrics([_row("summary", "One paper [1].")])["lead_papers"] == 1.0


def test_metrics_that_do_not_apply_are_none_not_zero() -> None:
    m = answer_metrics([_row("summary", "Summary [1].", gold=("paper a",))])
    for key in ("keyword_accuracy", "lead_keyword_accuracy", "lead_cites_all", "refusal_rate"):
        assert m[key] is None, key
    assert m["gold_recall"] == 1.0 and m["false_refusal_rate"] == 0.0
    u = answer_metrics([_row("unanswerable", "The corpus does not cover this.", refused=True)])
    assert u["refusal_rate"] == 1.0 and u["false_refusal_rate"] is None and u["ttft_s_p50"] is None


class _FakeApp:
    """Stands in for PaperQA in evaluate_answers: replies with scripted answers, no model."""

    def __init__(self, replies: dict[str, tuple[str, list[str]]]) -> None:
        self.replies = replies  # question -> (answer text, titles of sources [1], [2], ...)
        self.histories: list[list[PriorTurn]] = []  # what each question was asked with

    def ask_stream(self, question: str, history: list[PriorTurn]) -> Iterator[SimpleNamespace]:
        self.histories.append(list(history))
        text, titles = self.replies[question]
        papers = [Paper(id=f"p{i}", title=t, abstract="x") for i, t in enumerate(titles)]
        sources = [Source(n=i + 1, paper=p, score=1.0) for i, p in enumerate(papers)]
        cites = [
            Citation(n=s.n, paper_id=s.paper.id, title=s.paper.title) for s in sources if f"[{s.n}]" in text
        ]
        yield SimpleNamespace(kind="token", answer=None)
        answer = Answer(question=question, answer=text, citations=cites, sources=sources)
        yield SimpleNamespace(kind="final", answer=answer)


QUESTIONS = [
    Question(
        id="f1",
        type="factoid",
        question="How many Danish words?",
        gold_titles=["SnakModel: Lessons Learned"],
        answer_keywords=["13.6B"],
    ),
    Question(
        id="c1",
        type="comparison",
        question="Compare A and B.",
        gold_titles=["LARS: Large Batch", "Accurate, Large Minibatch SGD"],
        answer_keywords=["8192", "32K"],
    ),
    Question(id="s1", type="summary", question="Summarize X.", gold_titles=["LARS: Large Batch"]),
]
REPLIES = {
    "How many Danish words?": (FACTOID, ["SnakModel: Lessons Learned"]),
    "Compare A and B.": (COMPARISON, ["LARS: Large Batch", "Accurate, Large Minibatch SGD"]),
    "Summarize X.": ("X helps [1][2].\n\n**Topic**\n- x [1]", ["LARS: Large Batch", "Other Paper"]),
}


def _answer_result() -> dict[str, Any]:
    ans = evaluate_answers(_FakeApp(REPLIES), QUESTIONS)  # type: ignore[arg-type]
    retrieval = dict.fromkeys(KEYS, 1.0)
    return {
        "n": len(QUESTIONS),
        "questions": "eval/held_out.jsonl",
        "tuned_on": "eval/dev.jsonl",
        "metrics": retrieval,
        "baselines": {"bm25": retrieval, "dense": retrieval},
        "by_type": ans["by_type"],
        "latency_ms": {"p50": 1.0, "p95": 2.0},
        "answers": ans["answers"],
        "examples": ans["examples"],
        "llm": "scripted",
    }


def test_examples_show_what_the_reader_saw() -> None:
    result = _answer_result()
    json.dumps(result)  # the CLI prints it as JSON
    ex = {e["id"]: e for e in result["examples"]}
    assert set(ex["f1"]) >= EXAMPLE_KEYS
    assert ex["f1"]["lead"] == "It trains on many words [1]."
    assert ex["f1"]["cited"] == ["SnakModel: Lessons Learned"]  # real titles, not normalised
    assert (ex["f1"]["keywords_in_lead"], ex["f1"]["keywords_anywhere"]) == (False, True)
    assert ex["c1"]["keywords_in_lead"] is False and ex["c1"]["keywords_anywhere"] is True
    assert ex["c1"]["lead_cites_gold"] is False
    assert ex["s1"]["keywords_anywhere"] is None
    assert result["by_type"]["summary"]["lead_papers"] == 2.0
    assert result["answers"]["lead_keyword_accuracy"] == 0.0


def test_report_names_the_question_file_and_shows_worst_leads(tmp_path: Path) -> None:
    result = _answer_result()
    text = write_report(result, tmp_path / "rep").read_text()
    assert "Questions: eval/held_out.jsonl (3)" in text
    assert "Tuned on: eval/dev.jsonl · reported on: eval/held_out.jsonl" in text
    assert _cell(text, "summary", "keyword_accuracy") == "–"  # does not apply: not 0
    assert _cell(text, "summary", "lead_papers") == "2.000"
    assert _cell(text, "comparison", "lead_cites_all") == "0.000"
    assert "### Worst leads (2 of 2 checked miss; up to 8)" in text
    worst = text.split("### Worst leads", 1)[1].split("### Best answers", 1)[0]
    assert "How many Danish words?" in worst and "`13.6B`" in worst
    assert "> It trains on many words [1]." in worst and "Evidence" not in worst
    assert "Compare A and B." in worst and "Accurate, Large Minibatch SGD" in worst
    assert "Summarize X." not in worst
    assert "### Best answers" in text and "### Worst answers" in text
    table = summary_table(result)
    assert table.startswith("Questions: eval/held_out.jsonl (3)\nTuned on: eval/dev.jsonl")
    assert "lead_cites_all=0.000" in table


def _cell(report: str, scope: str, key: str) -> str:
    """A cell of the report's answers table (header "| scope | ... |")."""
    lines = report.splitlines()
    header = next(x for x in lines if x.startswith("| scope |"))
    col = [c.strip() for c in header.split("|")].index(key)
    start = lines.index(header)
    row = next(x for x in lines[start:] if x.startswith(f"| {scope} |"))
    return [c.strip() for c in row.split("|")][col]


# ---- what a reader reads: the prose lint and the seeded sample of leads ----------------------------


def test_the_prose_lint_finds_template_leads_and_passes_a_researchers_sentence() -> None:
    from paperqa.text import prose_faults

    broken = {
        "Compared on what does each method rely — X [1]: the authors propose a method.": "after 'On'",
        "On do these papers say about federated learning, the 3 papers share one thread [1].": "after 'On'",
        "In “Q-GaLore”, furthermore, when combined with quantization, memory drops [1].": "connective",
        "Our work presents a new optimizer [2].": "first person",
        "Their 8-bit GaLore reduces memory [1].": "pronoun",
        "Compared on pruning — SPDF [2]: sparsity helps; The Journey Matters [1]: schedules matter.": "template",
        "(3) HiFT can save more than 60% GPU memory [1].": "list number",
    }
    for lead, fault in broken.items():
        assert any(fault in f for f in prose_faults(lead)), lead
    fine = [
        "GaLore projects gradients into a low-rank subspace so that optimizer states shrink [1]; "
        "SLTrain instead parameterises the weights as a sparse plus low-rank sum [2].",
        "FreePRM reports “we reach 53.0% F1 on ProcessBench” [1].",  # quoted: the paper's words
        "Experiments on US census data show a 4% gain [1].",
        "GroCo computes the loss based on how many positive pairs are farther apart than negatives [1].",
        "The method focuses on what is lost when layers are pruned [2].",
    ]
    assert [prose_faults(lead) for lead in fine] == [[], [], [], [], []]


def test_a_report_shows_a_seeded_random_sample_of_leads_of_each_type(tmp_path: Path) -> None:
    from paperqa.evaluate import LEAD_SAMPLE, lead_samples

    examples = [
        {"id": f"q{i}", "type": "factoid" if i % 3 else "summary", "refused": i == 4, "lead": f"L{i}"}
        for i in range(20)
    ]
    first, again = lead_samples(examples), lead_samples(examples)
    assert first == again  # the same draw every run
    assert len(first["factoid"]) == LEAD_SAMPLE and len(first["summary"]) == LEAD_SAMPLE
    assert "q4" not in first["summary"] + first["factoid"]  # a refusal has no lead to read
    assert lead_samples(examples, seed=1) != first  # drawn, not the first five


def test_a_conversation_is_asked_turn_by_turn_each_turn_knowing_the_last_answers_paper() -> None:
    replies = {
        "What is SnakModel?": ("SnakModel is a Danish model [1].", ["SnakModel: Lessons Learned"]),
        "How many words did it train on?": ("It trains on 13.6B words [2].", ["Other", "Wrong Paper"]),
    }
    app = _FakeApp(replies)
    conv = Question(
        id="f9",
        type="followup",
        question=["What is SnakModel?", "How many words did it train on?"],
        gold_titles=["SnakModel: Lessons Learned"],
        answer_keywords=["13.6B"],
    )
    result = evaluate_answers(app, [conv])  # type: ignore[arg-type]
    # the second turn was asked with the first turn's question and the paper its lead cited
    assert app.histories == [[], [PriorTurn(question="What is SnakModel?", papers=["p0"])]]
    # the first turn's lead cites the gold paper, the second's does not
    assert result["answers"]["turn_paper_accuracy"] == 0.5
    assert result["answers"]["lead_paper_is_top"] == 0.0  # the last lead cites retrieval's second paper
    assert result["answers"]["keyword_accuracy"] == 1.0  # keywords are the last turn's


def test_which_paper_questions_are_scored_on_the_paper_their_lead_names() -> None:
    replies = {
        "Which paper trains an open Danish model?": (
            "The paper is SnakModel [1].",
            ["SnakModel: Lessons Learned"],
        ),
        "Which paper proposes Zebra decoding?": ("The paper is Quokka [1].", ["Quokka Decoding"]),
        "How many Danish words?": ("13.6B words [1].", ["SnakModel: Lessons Learned"]),
    }
    qs = [
        Question(id=f"w{i}", type="factoid", question=text, gold_titles=["SnakModel: Lessons Learned"])
        for i, text in enumerate(replies)
    ]
    result = evaluate_answers(_FakeApp(replies), qs)  # type: ignore[arg-type]
    assert result["answers"]["which_paper_accuracy"] == 0.5  # the third question does not ask for a paper
