"""Saved chats in a temp data folder (no index, no model): written one finished answer at a time,
read back as the same typed objects, listed and deleted per user; a process killed while it
writes leaves the store readable without the answer it was writing; a damaged or locked file
is a readable error with a hint. Then `paperqa chats` (list, --json, export) through CliRunner."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperqa.answer.retrieve import Filters
from paperqa.api import SavedChats
from paperqa.cli import cli
from paperqa.errors import StoreError
from paperqa.export import conversation_markdown
from paperqa.history import CHATS_FILE, TITLE_CHARS, ChatStore, title_of
from paperqa.settings import Settings
from paperqa.types import Answer, Citation, Source

from .conftest import run_cli
from .fakes import paper

DOMINO = paper("Domino: Eliminating Communication in LLM Training", "Domino is 1.3x faster than Megatron-LM.")


def answer(question: str, text: str = "Domino is 1.3x faster than Megatron-LM [1].") -> Answer:
    return Answer(
        question=question,
        answer=text,
        citations=[Citation(n=1, paper_id=DOMINO.id, title=DOMINO.title)],
        sources=[Source(n=1, paper=DOMINO, score=0.9, evidence=[DOMINO.abstract])],
        timings={"total": 1.5},
    )


@pytest.fixture()
def store(tmp_path: Path) -> ChatStore:
    return ChatStore(tmp_path / CHATS_FILE)


def test_a_saved_answer_reads_back_with_its_citations_sources_and_settings(store: ChatStore) -> None:
    first = answer("How fast is Domino?")
    store.add("c1", "local", first, {"top_k": 5})
    store.add("c1", "local", answer("On which GPUs?", "On DGX-H100 nodes [1]."))
    chat = store.get("c1", "local")
    assert chat.title == "How fast is Domino?" and chat.turns == 2
    assert [t.question for t in chat.items] == ["How fast is Domino?", "On which GPUs?"]
    assert chat.items[0].answer == first and chat.items[0].settings == {"top_k": 5}
    assert chat.items[0].answer.sources[0].paper == DOMINO
    assert chat.items[0].created <= chat.items[1].created == chat.updated


def test_chats_are_listed_most_recently_answered_first_and_deleted_one_at_a_time(store: ChatStore) -> None:
    store.add("old", "local", answer("First chat?"))
    store.add("new", "local", answer("Second chat?"))
    assert [c.id for c in store.summaries("local")] == ["new", "old"]
    store.add("old", "local", answer("Back to the first?"))
    listed = store.summaries("local")
    assert [(c.id, c.title, c.turns) for c in listed] == [
        ("old", "First chat?", 2),
        ("new", "Second chat?", 1),
    ]
    store.delete("old", "local")
    assert [c.id for c in store.summaries("local")] == ["new"]
    with pytest.raises(StoreError, match="no saved chat 'old'") as e:
        store.get("old", "local")
    assert e.value.hint and "paperqa chats" in e.value.hint


def test_each_user_sees_reads_extends_and_deletes_only_their_own_chats(store: ChatStore) -> None:
    store.add("ann-1", "ann", answer("Ann's question?"))
    store.add("bob-1", "bob", answer("Bob's question?"))
    assert [c.id for c in store.summaries("ann")] == ["ann-1"]
    assert [c.id for c in store.summaries("bob")] == ["bob-1"]
    for refused in (
        lambda: store.get("ann-1", "bob"),
        lambda: store.delete("ann-1", "bob"),
        lambda: store.add("ann-1", "bob", answer("Sneaking in?")),
    ):
        with pytest.raises(StoreError, match="no saved chat 'ann-1'"):
            refused()
    assert store.get("ann-1", "ann").turns == 1


def test_a_title_is_the_first_question_on_one_line_cut_to_fit() -> None:
    assert title_of("  How fast\n is  Domino? ") == "How fast is Domino?"
    long = title_of("word " * 40)
    assert len(long) == TITLE_CHARS and long.endswith("…")


# A process that saves one answer, then is killed (os._exit) just before its second answer commits.
KILLED_WRITER = textwrap.dedent(
    """
    import os, sqlite3, sys
    from paperqa import history
    from tests.test_history import answer

    connect = sqlite3.connect
    saved = []

    def traced(*args, **kw):
        conn = connect(*args, **kw)
        def trace(statement):
            if statement == "COMMIT" and saved:
                os._exit(9)  # killed mid-write: the turn's rows are written, not committed
        conn.set_trace_callback(trace)
        return conn

    history.sqlite3.connect = traced
    store = history.ChatStore(history.Path(sys.argv[1]))
    store.add("c1", "local", answer("How fast is Domino?"))
    saved.append(1)
    store.add("c1", "local", answer("On which GPUs?"))
    store.add("c2", "local", answer("A new chat?"))
    """
)


def test_a_process_killed_while_writing_leaves_the_store_readable_without_that_answer(
    store: ChatStore,
) -> None:
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(store.path)], cwd=root, capture_output=True, text=True
    )
    assert run.returncode == 9, run.stderr
    chat = store.get("c1", "local")
    assert [t.question for t in chat.items] == ["How fast is Domino?"]
    assert [c.id for c in store.summaries("local")] == ["c1"]
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store.add("c1", "local", answer("On which GPUs?"))  # and it takes the next answer
    assert store.get("c1", "local").turns == 2


def test_a_damaged_file_is_an_error_saying_to_move_it_aside(store: ChatStore) -> None:
    store.path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot read the saved chats") as e:
        store.summaries("local")
    assert e.value.hint and f"move {CHATS_FILE}" in e.value.hint


def test_a_file_locked_by_another_writer_is_an_error_saying_to_wait(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / CHATS_FILE, busy_timeout=0.1)
    store.add("c1", "local", answer("How fast is Domino?"))
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another process") as e:
            store.add("c1", "local", answer("On which GPUs?"))
        assert e.value.hint and "retry" in e.value.hint
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.get("c1", "local").turns == 1


def test_a_file_from_a_newer_version_is_refused_not_misread(store: ChatStore) -> None:
    with sqlite3.connect(store.path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer PaperQA"):
        store.summaries("local")


def test_the_api_saves_the_options_an_answer_was_asked_with(tmp_path: Path) -> None:
    chats = SavedChats(Settings(home=tmp_path))
    chats.save_answer(
        "c1", answer("How fast is Domino?"), style="comparison", filters=Filters(date_from="2024-01-01")
    )
    turn = chats.conversation("c1").items[0]
    assert turn.settings["style"] == "comparison" and turn.settings["top_k"] == 5
    assert turn.settings["filters"]["date_from"] == "2024-01-01"
    assert turn.settings["llm"]["provider"] == "embedded"
    assert chats.conversations()[0].id == "c1" and chats.conversations("ann") == []


def test_a_chat_exports_as_markdown_with_each_question_answer_and_references(store: ChatStore) -> None:
    store.add("c1", "local", answer("How fast is <Domino>?"))
    store.add("c1", "local", answer("On which GPUs?", "On DGX-H100 nodes [1]."))
    md = conversation_markdown(store.get("c1", "local"))
    assert md.startswith("# How fast is &lt;Domino&gt;?\n\n_Saved chat, ") and "2 questions" in md
    assert "## How fast is &lt;Domino&gt;?" in md and "## On which GPUs?" in md
    assert md.count("[1] **Domino: Eliminating Communication") == 2


# ---- paperqa chats ----------------------------------------------------------------------------


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with one saved chat of two questions, as PAPERQA_HOME."""
    monkeypatch.setenv("PAPERQA_HOME", str(tmp_path))
    chats = SavedChats(Settings(home=tmp_path))
    chats.save_answer("a1b2c3", answer("How fast is Domino?"))
    chats.save_answer("a1b2c3", answer("On which GPUs?", "On DGX-H100 nodes [1]."))
    return tmp_path


def test_chats_lists_each_saved_chat_with_its_id_date_and_title(home: Path) -> None:
    res = CliRunner().invoke(cli, ["chats"])
    assert res.exit_code == 0, res.output
    assert "a1b2c3" in res.stdout and "How fast is Domino?" in res.stdout and "2 questions" in res.stdout
    listed = json.loads(CliRunner().invoke(cli, ["chats", "--json"]).stdout)
    assert [(c["id"], c["title"], c["turns"]) for c in listed] == [("a1b2c3", "How fast is Domino?", 2)]
    assert json.loads(CliRunner().invoke(cli, ["chats", "--json", "--user", "ann"]).stdout) == []


def test_chats_export_prints_the_markdown_or_writes_it_to_a_file(home: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["chats", "export", "a1b2c3"])
    assert res.exit_code == 0 and res.stdout.startswith("# How fast is Domino?")
    out = tmp_path / "chat.md"
    res = CliRunner().invoke(cli, ["chats", "export", "a1b2c3", "-o", str(out)])
    assert res.exit_code == 0 and "## On which GPUs?" in out.read_text()


def test_chats_export_of_an_unknown_id_says_how_to_find_one_without_a_traceback(home: Path) -> None:
    res = run_cli("chats", "export", "nope", home=home, timeout=120)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "no saved chat 'nope'" in res.stderr and "`paperqa chats` lists" in res.stderr


def test_chats_with_none_saved_says_where_they_come_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERQA_HOME", str(tmp_path))
    res = CliRunner().invoke(cli, ["chats"])
    assert res.exit_code == 0 and "no saved chats" in res.stderr
