"""The CLI as a user runs it, with the real embedded SmolLM2 model; misconfiguration messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.slow


def test_ingest_json_reports_unchanged_on_rerun(home_copy: Path) -> None:
    res = run_cli("ingest", "--json", home=home_copy)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert {"papers", "added", "updated", "unchanged", "seconds"} <= out.keys()
    assert (out["papers"], out["added"], out["updated"], out["unchanged"]) == (550, 0, 0, 550)


def test_papers_json_has_every_paper(home_copy: Path) -> None:
    res = run_cli("papers", "--json", home=home_copy)
    papers = json.loads(res.stdout)
    assert len(papers) == 550
    assert all(
        {"id", "title", "abstract", "date", "authors", "upvotes", "links", "pages"} <= p.keys()
        for p in papers
    )
    llama = next(p for p in papers if p["title"].startswith("Sorted LLaMA"))
    assert llama["authors"] == 6 and llama["date"] == "2023-09-16" and llama["upvotes"] == 1


def test_ask_with_embedded_model_cites_only_real_sources(home_copy: Path) -> None:
    res = run_cli("ask", "--json", "What speedup over Megatron-LM does Domino report?", home=home_copy)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert {"question", "answer", "refused", "citations", "sources", "timings"} <= out.keys()
    assert not out["refused"]
    sources = {s["n"]: s for s in out["sources"]}
    shown = {int(n) for n in re.findall(r"\[(\d+)\]", out["answer"])}
    assert shown and shown <= sources.keys()
    assert {c["n"] for c in out["citations"]} == shown
    for c in out["citations"]:
        assert sources[c["n"]]["paper_id"] == c["paper_id"]
    assert sources[1]["title"].startswith("Domino")
    assert "1.3x" in out["answer"]


def test_ask_text_output_has_references(home_copy: Path) -> None:
    res = run_cli("ask", "Which learning rate scheduler did MiniCPM introduce?", home=home_copy)
    assert res.returncode == 0, res.stderr
    assert "WSD" in res.stdout
    refs = res.stdout.split("\nReferences\n", 1)[1]
    assert re.search(r"^\[1\] MiniCPM: .*https://github.com/OpenBMB/MiniCPM", refs, re.M)


def test_ask_refuses_what_the_corpus_does_not_cover(home_copy: Path) -> None:
    res = run_cli(
        "ask", "--json", "What does the corpus report about CRISPR gene-editing efficiency?", home=home_copy
    )
    out = json.loads(res.stdout)
    assert out["refused"] and out["citations"] == []


def _one_line_error(res) -> str:  # type: ignore[no-untyped-def]
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, res.stderr
    return lines[0]


def test_llm_server_down_says_what_to_fix(home_copy: Path) -> None:
    res = run_cli(
        "ask",
        "What F1 does FreePRM reach?",
        home=home_copy,
        env={"PAPERQA_LLM__BASE_URL": "http://127.0.0.1:9/v1", "PAPERQA_LLM__MODEL": "m"},
    )
    line = _one_line_error(res)
    assert "cannot reach the LLM server at http://127.0.0.1:9/v1" in line and "PAPERQA_LLM__BASE_URL" in line


def test_missing_gguf_file_says_what_to_fix(home_copy: Path, tmp_path: Path) -> None:
    res = run_cli("check", home=home_copy, env={"PAPERQA_LLM__GGUF_PATH": str(tmp_path / "nope.gguf")})
    line = _one_line_error(res)
    assert "GGUF model file not found" in line and "PAPERQA_LLM__GGUF_PATH" in line


def test_openai_without_key_says_what_to_fix(home_copy: Path) -> None:
    res = run_cli("check", home=home_copy, env={"PAPERQA_LLM__PROVIDER": "openai", "OPENAI_API_KEY": ""})
    assert "OPENAI_API_KEY" in _one_line_error(res)


def test_bad_ingest_path_names_it(home_copy: Path, tmp_path: Path) -> None:
    res = run_cli("ingest", str(tmp_path / "missing.txt"), home=home_copy)
    assert "missing.txt" in _one_line_error(res)
    # ...and nothing already stored is lost.
    assert len(json.loads(run_cli("papers", "--json", home=home_copy).stdout)) == 550


def test_ask_follow_up_continues_the_saved_chat_about_its_paper(home_copy: Path) -> None:
    first = run_cli("ask", "--json", "What is GaLore?", home=home_copy)
    assert first.returncode == 0, first.stderr
    chat = json.loads(first.stdout)["chat_id"]
    second = run_cli(
        "ask", "-c", "--json", "Which consumer GPU do the authors pre-train a 7B model on?", home=home_copy
    )
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    lead = out["answer"].split("\n\n")[0]
    assert out["chat_id"] == chat and "RTX 4090" in lead
    assert {c["title"] for c in out["citations"] if f"[{c['n']}]" in lead} == {
        "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection"
    }
    third = run_cli(
        "ask",
        "--chat",
        chat,
        "--json",
        "By how much does it reduce memory usage in optimizer states?",
        home=home_copy,
    )
    assert third.returncode == 0 and "65.5%" in json.loads(third.stdout)["answer"].split("\n\n")[0]
    chats = json.loads(run_cli("chats", "--json", home=home_copy).stdout)
    assert [c["turns"] for c in chats if c["id"] == chat] == [3]
    unknown = run_cli("ask", "--chat", "000000000000", "How does it work?", home=home_copy)
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "000000000000" in unknown.stderr


def test_an_answer_is_printed_even_when_the_chats_cannot_be_saved(home_copy: Path) -> None:
    (home_copy / "chats.sqlite3").unlink(missing_ok=True)
    (home_copy / "chats.sqlite3").mkdir()  # a folder where the saved chats' file should be
    res = run_cli("ask", "--json", "What is GaLore?", home=home_copy)
    assert res.returncode == 0 and "Traceback" not in res.stderr
    out = json.loads(res.stdout)
    assert out["chat_id"] is None and "GaLore" in out["answer"]
    assert "warning: the answer was not saved as a chat" in res.stderr
