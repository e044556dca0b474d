"""The files the chat offers for download: an answer as Markdown and its references as BibTeX, a
saved chat as Markdown. Each is readable by this account only (Gradio's cached copy keeps the mode)
and written in Gradio's temporary folder, which `serve.launch` puts under the data folder.

May touch: that temporary folder (new files only).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from paperqa.export import conversation_markdown, to_bibtex, to_markdown
from paperqa.history import Conversation
from paperqa.types import Answer


def _private_export(prefix: str, files: dict[str, str]) -> list[Path]:
    """Files readable by this account only (Gradio's cached copy keeps their mode), in a fresh
    folder of Gradio's temporary folder (`serve.launch` puts it under the data folder)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("GRADIO_TEMP_DIR") or None))
    paths = []
    for name, text in files.items():
        path = folder / name
        path.touch(mode=0o600)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def write_exports(answer: Answer) -> tuple[Path, Path]:
    """The answer as Markdown and its references as BibTeX."""
    md, bib = _private_export(
        "paperqa-export-", {"answer.md": to_markdown(answer), "references.bib": to_bibtex(answer)}
    )
    return md, bib


def write_chat_export(chat: Conversation) -> Path:
    """A saved chat as Markdown."""
    return _private_export("paperqa-chat-", {"chat.md": conversation_markdown(chat)})[0]
