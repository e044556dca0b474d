"""Every input is checked where it enters, with one line saying what to fix: papers per answer,
dates, the question; `ingest` fails when nothing could be ingested; `chats export --user` in
either order. The same validator serves the CLI, the API, the UI and MCP."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from paperqa.answer.retrieve import Filters
from paperqa.api import SavedChats
from paperqa.cli import cli
from paperqa.errors import PaperQAError
from paperqa.settings import Settings
from paperqa.validate import check_date, check_dates, check_top_k, clean_question
from paperqa_ui.prefs import DEFAULT_PREFS, ask_options, prefs_from

from .test_history import answer as answer_for  # a finished answer to save


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


def error_of(result: Any) -> str:
    assert result.exit_code == 1 and isinstance(result.exception, PaperQAError), result.output
    return str(result.exception)


# ---- papers per answer --------------------------------------------------------------------------


def test_papers_per_answer_are_one_to_fifty() -> None:
    assert check_top_k(None) is None and check_top_k(1) == 1 and check_top_k(50) == 50
    for bad in (0, -5, 51, 10_000, True):
        with pytest.raises(PaperQAError, match="from 1 to 50"):
            check_top_k(bad)  # type: ignore[arg-type]


def test_ask_refuses_a_negative_top_k_before_loading_anything(tmp_path: Path) -> None:
    result = run("ask", "What does Domino do?", "--top-k", "-5", "--home", str(tmp_path / "h"))
    assert "must be a whole number from 1 to 50, not -5" in error_of(result)
    assert not (tmp_path / "h" / "chroma").exists()  # nothing was opened


# ---- dates ---------------------------------------------------------------------------------------


def test_dates_are_iso_days_months_or_years() -> None:
    assert check_date("2024-05-01", "from") == "2024-05-01"
    assert check_date("2024-05", "from") == "2024-05-01"
    assert check_date("2024-02", "to", end=True) == "2024-02-29"
    assert check_date("2023", "to", end=True) == "2023-12-31"
    assert check_date(" ", "from") is None
    for bad, why in [
        ("yesterday", "YYYY-MM-DD"),
        ("2024-13-45", "no month 13"),
        ("2023-02-29", "has 28 days"),
        ("24-05-01", "YYYY-MM-DD"),
        ("2024/05/01", "YYYY-MM-DD"),
    ]:
        with pytest.raises(PaperQAError, match=why):
            check_date(bad, "the from date")
    with pytest.raises(PaperQAError, match="after the to date"):
        check_dates("2024-06", "2024-05")
    assert check_dates("2024", "2024") == ("2024-01-01", "2024-12-31")


def test_every_filter_is_checked_whoever_builds_it() -> None:
    assert Filters(date_from="2024-03", date_to="2024-03") == Filters(
        date_from="2024-03-01", date_to="2024-03-31"
    )
    with pytest.raises(PaperQAError, match="yesterday"):
        Filters(date_from="yesterday")
    # The chat's sidebar builds its filter the same way.
    values = {**DEFAULT_PREFS, "date_from": "2024-13-45"}
    with pytest.raises(PaperQAError, match="no month 13"):
        ask_options(prefs_from(*values.values()), Settings())


@pytest.mark.parametrize("flag,value", [("--date-from", "yesterday"), ("--date-to", "2024-13-45")])
def test_ask_refuses_a_bad_date_saying_which(tmp_path: Path, flag: str, value: str) -> None:
    message = error_of(run("ask", "What does Domino do?", flag, value, "--home", str(tmp_path)))
    assert value in message and ("from date" in message if "from" in flag else "to date" in message)


# ---- the question ---------------------------------------------------------------------------------


def test_a_question_of_invisible_characters_is_empty() -> None:
    for text in ("\u200b\u200b", " \u200c\u200d\ufeff ", "\u2060", "\u00ad\n"):
        with pytest.raises(PaperQAError, match="the question is empty"):
            clean_question(text)
    assert clean_question("\u200bWhat is\u200b Domino?\ufeff") == "What is Domino?"


def test_a_question_in_another_script_is_told_paperqa_answers_in_english() -> None:
    for text in ("这篇论文提出了什么方法?", "GaLore是如何在预训练中减少内存的?", "Что такое трансформер?"):
        with pytest.raises(PaperQAError, match="PaperQA answers questions in English"):
            clean_question(text)
    assert clean_question("What does Müller's café-style naïve método do?")  # Latin letters pass


def test_ask_refuses_an_empty_or_foreign_question_before_loading_anything(tmp_path: Path) -> None:
    assert "the question is empty" in error_of(run("ask", "\u200b\u200b", "--home", str(tmp_path / "h")))
    assert "in English" in error_of(run("ask", "这篇论文提出了什么方法?", "--home", str(tmp_path / "h")))
    assert not (tmp_path / "h").exists()


# ---- ingest ---------------------------------------------------------------------------------------


def test_ingest_fails_when_nothing_could_be_ingested_and_keeps_what_is_stored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = tmp_path / "one.jsonl"
    good.write_text(json.dumps({"title": "Quokka Decoding", "abstract": "We prune heads. " * 3}) + "\n")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    first = run("ingest", str(good), "--home", str(home), "--json")
    assert first.exit_code == 0 and json.loads(first.stdout)["added"] == 1
    # The index's SQLite files (Chroma's, the catalog) are the user's only, like the folder.
    databases = list(home.rglob("*.sqlite3"))
    assert len(databases) >= 2 and stat.S_IMODE(home.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(db.stat().st_mode) == 0o600 for db in databases), databases
    failed = run("ingest", str(binary), "--home", str(home))
    assert "nothing could be ingested from" in error_of(failed) and "bin.txt" in str(failed.exception)
    assert "skipped bin.txt" in failed.stderr
    as_json = run("ingest", str(binary), "--home", str(home), "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["papers"] == 1  # nothing lost
    again = run("ingest", str(good), str(binary), "--home", str(home))
    assert again.exit_code == 0 and "1 unchanged" in again.stdout and "1 skipped" in again.stdout


# ---- saved chats ----------------------------------------------------------------------------------


def test_chats_export_takes_user_before_or_after_export(tmp_path: Path) -> None:
    store = SavedChats(Settings(home=tmp_path))
    store.save_answer("c1", answer_for("What does Domino do?"), "alice")
    home = ["--home", str(tmp_path)]
    for args in (
        ["chats", *home, "--user", "alice", "export", "c1"],
        ["chats", "export", "c1", "--user", "alice", *home],
        ["chats", "--user", "alice", "export", "c1", *home],
    ):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert "What does Domino do?" in result.stdout
    assert run("chats", "export", "c1", "--home", str(tmp_path)).exit_code == 1  # not the local user's


def test_the_data_folder_and_its_sqlite_files_are_private_when_created(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    store = SavedChats(Settings(home=home))
    store.save_answer("c1", answer_for("What does Domino do?"), "alice")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    chats = home / "chats.sqlite3"
    assert stat.S_IMODE(chats.stat().st_mode) == 0o600
    for extra in home.glob("chats.sqlite3-*"):
        assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0


def test_blanks_that_print_nothing_and_lone_marks_are_an_empty_question() -> None:
    for text in ("\u2800\u2800", "\u3164", "\u115f\u1160", "\u034f", "\ufe0f\ufe0f", "\u0301"):
        with pytest.raises(PaperQAError, match="the question is empty"):
            clean_question(text)
    with pytest.raises(PaperQAError, match="as text"):
        check_date(20240501, "the from date")  # type: ignore[arg-type]
