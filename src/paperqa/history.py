"""Saved conversations: every answered question of a chat, kept in one SQLite file per data folder.

`ChatStore` writes one finished answer per transaction (its question, the `Answer` with its
citations and sources, the settings it was asked with, the time), so a process killed while it
streams or writes leaves the store as it was before that answer: never a half-written record.
Reads and writes are per user: a conversation belongs to the user who started it, and another
user neither lists, reads, extends nor deletes it. Typed objects in and out (`Answer` through
pydantic's JSON); one short-lived connection per call, so the UI's threads share nothing.

May touch: the SQLite file it is given (and SQLite's `-wal` / `-shm` files beside it); nothing else.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .errors import StoreError
from .store.files import private_file
from .types import Answer

CHATS_FILE = "chats.sqlite3"
# Who owns the chats when no login is configured: everyone on this machine is one user.
LOCAL_USER = "local"
# A write is one small transaction (milliseconds); another thread of the server or a CLI
# reading the file may hold it briefly. Wait this long for it, then say so rather than hang.
BUSY_TIMEOUT_S = 5.0
# A chat's title is its first question, cut to what fits on one line of the chat list.
TITLE_CHARS = 80
# Bumped when the tables change; a file from a newer version is refused, not misread.
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (user, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    settings TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (conversation_id, n)
);
"""


class Turn(BaseModel):
    """One question of a conversation and the answer it got."""

    question: str
    answer: Answer
    settings: dict[str, Any] = Field(default_factory=dict, description="What it was asked with.")
    created: float = Field(description="When it was answered (Unix time).")


class ChatSummary(BaseModel):
    """A saved conversation as the chat list shows it."""

    id: str
    title: str = Field(description="The first question, cut to TITLE_CHARS.")
    created: float
    updated: float = Field(description="When its last answer was saved.")
    turns: int


class Conversation(ChatSummary):
    """A saved conversation with every answer, oldest first."""

    user: str
    items: list[Turn] = Field(default_factory=list)


def new_conversation_id() -> str:
    """The id a new conversation is saved under (12 hex digits, as typed after `paperqa chats
    export` or `paperqa ask --chat`)."""
    return uuid.uuid4().hex[:12]


def title_of(question: str) -> str:
    """A chat's title: its first question on one line, cut to TITLE_CHARS with an ellipsis."""
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def not_found(conversation_id: str) -> StoreError:
    return StoreError(
        f"no saved chat {conversation_id!r}", hint="`paperqa chats` lists the saved chats and their ids"
    )


class ChatStore:
    """The saved conversations in one SQLite file (created on first use)."""

    def __init__(self, path: Path, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._ready = False

    # ---- connection ---------------------------------------------------------------
    def _fail(self, e: sqlite3.Error) -> StoreError:
        if "locked" in str(e) or "busy" in str(e):
            return StoreError(
                f"the saved chats in {self.path} are locked by another process",
                hint="wait a moment and retry; if it lasts, stop the other `paperqa` using this data folder",
            )
        return StoreError(
            f"cannot read the saved chats in {self.path} ({e})",
            hint=f"the file may be damaged: move {self.path.name} (and its -wal file) aside and a new, "
            "empty one is created",
        )

    @contextlib.contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for one call, in one transaction: committed when the block ends, rolled
        back when it raises. A write takes the write lock up front (BEGIN IMMEDIATE), so two
        writers queue instead of computing the same turn number. SQLite's own errors become a
        StoreError with a hint."""
        try:
            if not self._ready:
                private_file(self.path)  # created 0600: the chats are this account's only
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise self._fail(e) from e
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            if not self._ready:
                self._prepare(conn)
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise self._fail(e) from e
        finally:
            conn.close()

    def _prepare(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the saved chats in {self.path} were written by a newer PaperQA (schema {version})",
                hint="upgrade paperqa-local, or point PAPERQA_HOME at another data folder",
            )
        # WAL: readers never block the writer, and a write cut short is simply not in the file.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._ready = True

    # ---- writes -------------------------------------------------------------------
    def add(
        self, conversation_id: str, user: str, answer: Answer, settings: dict[str, Any] | None = None
    ) -> Turn:
        """Save a finished answer as the next turn of a conversation (started by this call when
        new), in one transaction. A conversation of another user is refused."""
        turn = Turn(question=answer.question, answer=answer, settings=settings or {}, created=time.time())
        record = turn.answer.model_dump_json()
        with self._connect(write=True) as conn:
            owner = conn.execute("SELECT user FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if owner is None:
                conn.execute(
                    "INSERT INTO conversations (id, user, title, created, updated) VALUES (?, ?, ?, ?, ?)",
                    (conversation_id, user, title_of(turn.question), turn.created, turn.created),
                )
            elif owner[0] != user:
                raise not_found(conversation_id)
            n = conn.execute(
                "SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO turns (conversation_id, n, question, answer, settings, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, n, turn.question, record, _json(turn.settings), turn.created),
            )
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (turn.created, conversation_id))
        return turn

    def delete(self, conversation_id: str, user: str) -> None:
        """Delete one of this user's conversations with its answers."""
        with self._connect(write=True) as conn:
            gone = conn.execute(
                "DELETE FROM conversations WHERE id = ? AND user = ?", (conversation_id, user)
            ).rowcount
        if not gone:
            raise not_found(conversation_id)

    # ---- reads --------------------------------------------------------------------
    def summaries(self, user: str) -> list[ChatSummary]:
        """This user's conversations, the most recently answered first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT c.id, c.title, c.created, c.updated, COUNT(t.n) FROM conversations c "
                "LEFT JOIN turns t ON t.conversation_id = c.id WHERE c.user = ? "
                "GROUP BY c.id ORDER BY c.updated DESC, c.id",
                (user,),
            ).fetchall()
        return [ChatSummary(id=r[0], title=r[1], created=r[2], updated=r[3], turns=r[4]) for r in rows]

    def get(self, conversation_id: str, user: str) -> Conversation:
        """One of this user's conversations with every answer (StoreError when it has none)."""
        with self._connect() as conn:
            head = conn.execute(
                "SELECT id, title, created, updated FROM conversations WHERE id = ? AND user = ?",
                (conversation_id, user),
            ).fetchone()
            if head is None:
                raise not_found(conversation_id)
            rows = conn.execute(
                "SELECT question, answer, settings, created FROM turns WHERE conversation_id = ? ORDER BY n",
                (conversation_id,),
            ).fetchall()
        items = [
            Turn(question=q, answer=Answer.model_validate_json(a), settings=_unjson(s), created=t)
            for q, a, s, t in rows
        ]
        return Conversation(
            id=head[0],
            title=head[1],
            created=head[2],
            updated=head[3],
            turns=len(items),
            user=user,
            items=items,
        )


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _unjson(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}
