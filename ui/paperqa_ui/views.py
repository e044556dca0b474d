"""The chat app's components, grouped by the part of the page they make up, and which of them
each event updates (`outputs`): what `app.PaperQAUI` lays out and wires.

May touch: nothing (Gradio component handles only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr


@dataclass
class SettingsView:
    """The sidebar's inputs, in `DEFAULT_PREFS` order, and the connection test."""

    inputs: list[Any]
    test: gr.Button
    test_result: gr.Markdown


@dataclass
class SavedChatsView:
    """The saved chats under the chat: pick one to reopen it, then delete or export it."""

    current: gr.State  # the id the chat on screen is saved under (a fresh one for a new chat)
    listing: gr.Radio
    delete: gr.Button
    export: gr.DownloadButton

    def outputs(self) -> list[Any]:
        """What `PaperQAUI.show_saved` fills."""
        return [self.listing, self.delete, self.export]


@dataclass
class ChatView:
    chatbot: gr.Chatbot
    question: gr.Textbox
    ask: gr.Button
    new_chat: gr.Button
    export_md: gr.DownloadButton
    export_bib: gr.DownloadButton
    sources: gr.HTML
    history: gr.State  # this conversation's turns (`PriorTurn`: each question and the papers its lead cited)
    saved: SavedChatsView
    scope: gr.State  # the paper ids the questions are about ([]: the whole corpus)
    scope_label: gr.Markdown
    clear_scope: gr.Button
    force: gr.Button  # shown under a refusal: ask the last question again, without the gate

    def outputs(self) -> list[Any]:
        """What every chat event updates, in the order `PaperQAUI.respond` yields it."""
        return [
            self.chatbot,
            self.history,
            self.sources,
            self.question,
            self.export_md,
            self.export_bib,
            self.force,
        ]

    def scope_outputs(self) -> list[Any]:
        """What setting or clearing the scope updates."""
        return [self.scope, self.scope_label, self.clear_scope]


@dataclass
class CorpusView:
    search: gr.Textbox
    count: gr.Markdown
    table: gr.Dataframe
    ids: gr.State  # the paper id of each table row
    paper: gr.HTML
    select: gr.CheckboxGroup  # papers ticked for "Ask about these"
    ask_about: gr.Button
    upload: gr.File
    ingest: gr.Button
    ingest_result: gr.Markdown

    def listing(self) -> list[Any]:
        """What `PaperQAUI.show_corpus` fills."""
        return [self.table, self.ids, self.count]
