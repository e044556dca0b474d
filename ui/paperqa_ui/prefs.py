"""The settings sidebar's choices, saved in the browser, and what they mean for `PaperQA.ask_stream`.

Pure: the choices are a dict of the sidebar's values, in `DEFAULT_PREFS` order; this module
turns them into the options of one question (style, date filter, papers per answer, LLM). Which
LLM a choice may name is the operator's decision, made in `paperqa.backends`; a choice saved in a
browser that this server does not offer is shown as the server default.

May touch: nothing but the choices and settings it is given (no Gradio, no index).
"""

from __future__ import annotations

from typing import Any

from paperqa.answer.retrieve import Filters
from paperqa.backends import SERVER_DEFAULT, LLMChoice, resolve
from paperqa.settings import LLMSettings, Settings

STYLES = {"auto": None, "concise": "factoid", "detailed": "summary", "table": "comparison", "list": "listing"}
DEFAULT_PREFS: dict[str, Any] = {
    "backend": SERVER_DEFAULT,
    "gguf_file": "",
    "base_url": "",
    "model": "",
    "api_key": "",  # the user's own key for a custom server, kept in their browser
    "top_k": 5,
    "date_from": "",
    "date_to": "",
    "style": "auto",
}


def prefs_from(*values: Any) -> dict[str, Any]:
    """The sidebar's values, in `DEFAULT_PREFS` order, as named choices."""
    return dict(zip(DEFAULT_PREFS, values, strict=True))


def values_of(
    prefs: dict[str, Any] | None, backends: list[str] | None = None, gguf_files: list[str] | None = None
) -> list[Any]:
    """Saved choices back as the sidebar's values; a choice never saved takes its default, and a
    backend or GGUF file this server does not offer (`backends`, `gguf_files`) is not restored."""
    full = {**DEFAULT_PREFS, **(prefs or {})}
    if backends is not None and full["backend"] not in backends:
        full["backend"] = SERVER_DEFAULT
    if gguf_files is not None and full["gguf_file"] not in gguf_files:
        full["gguf_file"] = ""
    return [full[k] for k in DEFAULT_PREFS]


def llm_choice(prefs: dict[str, Any]) -> LLMChoice:
    """The sidebar's LLM fields as the choice `paperqa.backends.resolve` checks."""
    return LLMChoice(
        backend=str(prefs.get("backend") or SERVER_DEFAULT),
        gguf_file=str(prefs.get("gguf_file") or ""),
        base_url=str(prefs.get("base_url") or ""),
        model=str(prefs.get("model") or ""),
        api_key=str(prefs.get("api_key") or ""),
    )


def llm_settings_from(prefs: dict[str, Any], settings: Settings) -> LLMSettings | None:
    """The session's backend choice as LLMSettings (None: the server's default); a ConfigError
    for a backend the operator did not offer."""
    return resolve(llm_choice(prefs), settings)


def ask_options(prefs: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `PaperQA.ask_stream` for these choices (a cleared one: its default)."""
    p = {k: DEFAULT_PREFS[k] if v is None else v for k, v in {**DEFAULT_PREFS, **prefs}.items()}
    return {
        "style": STYLES.get(p["style"]),
        "filters": Filters(date_from=p["date_from"] or None, date_to=p["date_to"] or None),
        "top_k": int(p["top_k"]) if p["top_k"] else None,
        "llm_settings": llm_settings_from(p, settings),
    }
