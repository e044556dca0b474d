"""The settings sidebar's choices, saved in the browser, and what they mean for `PaperQA.ask_stream`.

Pure: the choices are a dict of the sidebar's values, in `DEFAULT_PREFS` order; this module
turns them into the options of one question (style, date filter, papers per answer, LLM).

May touch: nothing but the choices and settings it is given (no Gradio, no index).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paperqa.retrieve import Filters
from paperqa.settings import LLMSettings

STYLES = {"auto": None, "concise": "factoid", "detailed": "summary", "table": "comparison", "list": "listing"}
BACKENDS = ["embedded", "gguf", "openai-compatible", "openai"]
DEFAULT_PREFS: dict[str, Any] = {
    "backend": "embedded",
    "gguf_path": "",
    "base_url": "",
    "model": "",
    "top_k": 5,
    "date_from": "",
    "date_to": "",
    "style": "auto",
}


def prefs_from(*values: Any) -> dict[str, Any]:
    """The sidebar's values, in `DEFAULT_PREFS` order, as named choices."""
    return dict(zip(DEFAULT_PREFS, values, strict=True))


def values_of(prefs: dict[str, Any] | None) -> list[Any]:
    """Saved choices back as the sidebar's values; a choice never saved takes its default."""
    full = {**DEFAULT_PREFS, **(prefs or {})}
    return [full[k] for k in DEFAULT_PREFS]


def llm_settings_from(prefs: dict[str, Any], base: LLMSettings) -> LLMSettings | None:
    """The session's backend choice as LLMSettings (None: the server's default)."""
    backend = prefs.get("backend") or "embedded"
    if backend == "embedded" and base.resolved_provider() == "embedded":
        return None
    return base.model_copy(
        update={
            "provider": backend,
            "gguf_path": Path(prefs["gguf_path"]) if prefs.get("gguf_path") else None,
            "base_url": prefs.get("base_url") or None,
            "model": prefs.get("model") or None,
        }
    )


def ask_options(prefs: dict[str, Any], base: LLMSettings) -> dict[str, Any]:
    """The keyword arguments of `PaperQA.ask_stream` for these choices (a cleared one: its default)."""
    p = {k: DEFAULT_PREFS[k] if v is None else v for k, v in {**DEFAULT_PREFS, **prefs}.items()}
    return {
        "style": STYLES.get(p["style"]),
        "filters": Filters(date_from=p["date_from"] or None, date_to=p["date_to"] or None),
        "top_k": int(p["top_k"]) if p["top_k"] else None,
        "llm_settings": llm_settings_from(p, base),
    }
