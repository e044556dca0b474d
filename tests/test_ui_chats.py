"""The saved chats in the UI, without a browser: the chat list's converter, a saved chat shown again
with its citation links, and the handlers (save as answered, list, reopen, delete, export) over a
scripted API with a real chat store in a temp folder, for two logged-in users and for none."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from paperqa.answer.engine import Event
from paperqa.api import SavedChats
from paperqa.errors import StoreError
from paperqa.history import ChatSummary, Conversation, Turn
from paperqa.settings import Settings
from paperqa_ui.app import PaperQAUI, user_of
from paperqa_ui.prefs import DEFAULT_PREFS
from paperqa_ui.render import chat_choices, conversation_messages

from .test_ui_render import ScriptedAPI, answer_citing


def test_the_chat_list_shows_each_chats_title_date_and_length_newest_first() -> None:
    chats = [
        ChatSummary(id="b", title="Second <chat>?", created=0, updated=86_400 * 400, turns=1),
        ChatSummary(id="a", title="First chat?", created=0, updated=0, turns=3),
    ]
    (label_b, id_b), (label_a, id_a) = chat_choices(chats)
    assert (id_b, id_a) == ("b", "a")
    assert label_b.startswith("Second <chat>? · 1971-") and label_b.endswith(" · 1 question")
    assert label_a.startswith("First chat? · 19") and label_a.endswith(" · 3 questions")
    assert chat_choices([]) == []


def test_a_saved_chat_is_shown_again_with_each_answers_own_citation_links() -> None:
    first, second = answer_citing("Domino is 1.3x faster [1].", [1]), answer_citing("On H100s [2].", [2])
    turns = [Turn(question=q, answer=a, created=0) for q, a in (("How <fast>?", first), ("On what?", second))]
    chat = Conversation(
        id="c1", title="How <fast>?", created=0, updated=0, turns=2, user="local", items=turns
    )
    messages = conversation_messages(chat)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0]["content"] == "How &lt;fast&gt;?"
    anchors = []
    for message, n in zip(messages[1::2], (1, 2), strict=True):
        link = re.search(r'<a class="pqa-cite" href="#pqa-(\w+)-(\d)"', message["content"])
        assert link is not None and link.group(2) == str(n)
        assert f'id="pqa-{link.group(1)}-{n}"' in message["content"]  # the details the link opens
        anchors.append(link.group(1))
    assert anchors[0] != anchors[1]  # each answer's links open its own details


class ChatsAPI(ScriptedAPI, SavedChats):
    """A scripted answerer with the real saved chats of a temp data folder."""

    def __init__(self, home: Path, *events: Event) -> None:
        ScriptedAPI.__init__(self, *events)
        self.settings = Settings(home=home)

    save_answer = SavedChats.save_answer

    def ask_stream(self, question: str, **options: object) -> Iterator[Event]:
        for ev in ScriptedAPI.ask_stream(self, question, **options):
            if ev.answer is not None:  # the answer to this question, as the engine gives it
                ev = Event("final", answer=ev.answer.model_copy(update={"question": question}))
            yield ev


def login(name: str | None) -> Any:
    """What Gradio passes a handler as its request: the login name, None without a login."""
    return SimpleNamespace(username=name)


def ask(ui: PaperQAUI, question: str, chat_id: str, user: str | None) -> list[tuple[Any, ...]]:
    steps = ui.respond(question, [], [], chat_id, [], login(user), *DEFAULT_PREFS.values())
    return [copy.deepcopy(step) for step in steps]


@pytest.fixture()
def ui(tmp_path: Path) -> PaperQAUI:
    api = ChatsAPI(tmp_path, Event("final", answer=answer_citing("Domino is 1.3x faster [1].", [1])))
    return PaperQAUI(api)  # type: ignore[arg-type]


def test_an_answer_is_saved_as_it_arrives_and_listed_for_its_user(ui: PaperQAUI) -> None:
    ask(ui, "How fast is Domino?", "c1", None)
    ask(ui, "And on which GPUs?", "c1", None)
    listing, delete, export = ui.show_saved("c1", login(None))
    assert listing["choices"][0][1] == "c1" and listing["value"] == "c1"
    assert (
        listing["choices"][0][0].startswith("How fast is Domino? · ")
        and "2 questions" in listing["choices"][0][0]
    )
    assert delete["visible"] and export["visible"]
    markdown = Path(export["value"]).read_text()
    assert markdown.startswith("# How fast is Domino?") and "## And on which GPUs?" in markdown
    turn = ui.app.conversation("c1").items[0]
    assert turn.settings["style"] == "auto" and turn.settings["top_k"] == 5


def test_a_reopened_chat_shows_every_answer_and_goes_on_in_the_same_chat(ui: PaperQAUI) -> None:
    ask(ui, "How fast is Domino?", "c1", None)
    chat, hist, sources, box, md, bib, force, current = ui.open_chat("c1", login(None))
    assert [m["role"] for m in chat] == ["user", "assistant"] and '<a class="pqa-cite"' in chat[1]["content"]
    assert [h.question for h in hist] == ["How fast is Domino?"] and "Domino" in sources and current == "c1"
    assert hist[0].papers == ui.app.conversation("c1").items[0].answer.lead_papers() != []
    assert box == "" and bib["visible"] and md["visible"] and not force["visible"]
    assert Path(md["value"]).read_text().startswith("## How fast is Domino?")
    ask(ui, "On which GPUs?", current, None)
    assert ui.app.conversation("c1").turns == 2


def test_two_logged_in_users_see_only_their_own_chats(ui: PaperQAUI) -> None:
    ask(ui, "Ann asks about Domino?", "ann-chat", "ann")
    ask(ui, "Bob asks about Domino?", "bob-chat", "bob")
    ann, bob = ui.show_saved("", login("ann"))[0], ui.show_saved("", login("bob"))[0]
    assert [c[1] for c in ann["choices"]] == ["ann-chat"] and [c[1] for c in bob["choices"]] == ["bob-chat"]
    assert ui.show_saved("", login(None))[0]["choices"] == []  # nor does the local user
    shown = ui.open_chat("ann-chat", login("bob"))
    assert "no saved chat" in shown[0][0]["content"] and shown[1] == [] and shown[-1] != "ann-chat"
    ui.delete_chat("ann-chat", login("bob"))
    assert ui.app.conversation("ann-chat", "ann").turns == 1
    with pytest.raises(StoreError):
        ui.app.conversation("ann-chat", "bob")


def test_deleting_the_chat_on_screen_starts_a_new_one(ui: PaperQAUI) -> None:
    ask(ui, "How fast is Domino?", "c1", None)
    chat, hist, *_, current = ui.delete_chat("c1", login(None))
    assert chat == [] and hist == [] and current != "c1"
    assert ui.app.conversations() == []
    listing, delete, export = ui.show_saved(current, login(None))
    assert listing["choices"] == [] and not delete["visible"] and not export["visible"]


def test_an_answer_the_store_refuses_is_still_shown_with_why_it_was_not_saved(ui: PaperQAUI) -> None:
    ui.app.chats.path.write_bytes(b"not a database" * 100)
    final = ask(ui, "How fast is Domino?", "c1", None)[-1]
    assert '<a class="pqa-cite"' in final[0][-1]["content"]
    assert (
        "cannot read the saved chats" in final[0][-1]["content"] and "— not saved." in final[0][-1]["content"]
    )
    assert "cannot read the saved chats" in ui.show_saved("c1", login(None))[0]["info"]


def test_without_a_login_everyone_is_the_local_user() -> None:
    assert user_of(None) is None and user_of(login(None)) is None and user_of(login("ann")) == "ann"
