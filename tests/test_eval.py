"""The eval harness as scripts use it: `paperqa eval --questions FILE --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperqa.evaluate import retrieval_metrics

from .conftest import DEV, run_cli

KEYS = {"recall@1", "recall@5", "recall@10", "mrr@10", "summary_coverage@10"}


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
        "eval", "--questions", str(qfile), "--json", "--report", str(tmp_path / "rep"), home=home_copy
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["n"] == 6
    assert out["metrics"].keys() >= KEYS
    assert {"bm25", "dense"} == set(out["baselines"]) and out["baselines"]["bm25"].keys() >= KEYS
    assert set(out["by_type"]) == {"factoid", "comparison", "summary", "followup"}  # unanswerable excluded
    assert out["metrics"]["recall@5"] == 1.0  # these gold papers are all found
    assert 0 < out["latency_ms"]["p50"] <= out["latency_ms"]["p95"]
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "| hybrid |" in report and "| bm25 |" in report and "| dense |" in report
    assert (tmp_path / "rep" / "retrieval.png").stat().st_size > 1000


def test_bad_question_file_names_the_line(home_copy: Path, tmp_path: Path) -> None:
    qfile = tmp_path / "bad.jsonl"
    qfile.write_text(
        '{"id": "a", "type": "factoid", "question": "ok?"}\n{"id": "b", "type": "riddle", "question": "?"}\n'
    )
    res = run_cli("eval", "--questions", str(qfile), home=home_copy)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "bad.jsonl:2" in res.stderr and "type" in res.stderr
