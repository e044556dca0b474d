"""Which LLM a chat or API user may make the server use: the operator decides.

A user picks a backend by name. The names are the server's own LLM (`Settings.llm`), the embedded
model, the operator's list (`UISettings.backends`), a GGUF file in the operator's models folder
(`UISettings.models_dir`) and, only when the operator allows it, a server URL the user types
(`UISettings.allow_custom_server`), whose host must be in `UISettings.allowed_hosts`.

The server's keys go only where the operator configured them: its own LLM's key to its own LLM,
a listed backend's key to that backend. A user-typed URL gets the key the user typed, or none.
A GGUF choice is a file name inside the models folder; a missing, unreadable, non-GGUF or outside
file gets one and the same error, so the choice tells nothing about the server's files.

May touch: reads the models folder (names, and the first bytes of the chosen file); nothing else.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from .errors import ConfigError
from .settings import BackendSettings, LLMSettings, Settings

SERVER_DEFAULT = "server default"  # the server's own LLM, as PAPERQA_LLM__* configures it
EMBEDDED = "embedded"  # SmolLM2 shipped in the package: no network, no file choice
GGUF_FILE = "GGUF file"  # a file of the operator's models folder
CUSTOM_SERVER = "custom server"  # a URL the user types (only when the operator allows it)
RESERVED = (SERVER_DEFAULT, EMBEDDED, GGUF_FILE, CUSTOM_SERVER)
GGUF_MAGIC = b"GGUF"  # the first four bytes of every GGUF file
OPENAI_HOST = "api.openai.com"


@dataclass(frozen=True)
class LLMChoice:
    """What a user asked for: a backend name and, for a GGUF file or a custom server, its fields."""

    backend: str = SERVER_DEFAULT
    gguf_file: str = ""
    base_url: str = ""
    model: str = ""
    api_key: str = ""  # the user's own key, for a custom server only


def backend_names(settings: Settings) -> list[str]:
    """The names a user may pick, in the order the UI shows them."""
    ui = settings.ui
    names = [SERVER_DEFAULT]
    if settings.llm.resolved_provider() != "embedded":
        names.append(EMBEDDED)
    names += [b.name for b in ui.backends if b.name not in RESERVED]
    if ui.models_dir is not None:
        names.append(GGUF_FILE)
    if ui.allow_custom_server:
        names.append(CUSTOM_SERVER)
    return names


def gguf_files(settings: Settings) -> list[str]:
    """The GGUF files of the models folder a user may pick, by name ([] when none is configured)."""
    folder = settings.ui.models_dir
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() == ".gguf" and _usable(p.name, folder))


def _usable(name: str, folder: Path) -> bool:
    try:
        model_file(name, folder)
    except ConfigError:
        return False
    return True


def resolve(choice: LLMChoice, settings: Settings) -> LLMSettings | None:
    """The LLM settings for `choice` (None: the server's own LLM). Raises ConfigError, saying
    what to pick instead, for a choice the operator did not allow."""
    name = (choice.backend or SERVER_DEFAULT).strip()
    base = settings.llm
    if name == SERVER_DEFAULT:
        return None
    if name == EMBEDDED:
        if base.resolved_provider() == "embedded":
            return None
        return base.model_copy(
            update={"provider": "embedded", "base_url": None, "gguf_path": None, "api_key": None}
        )
    listed = next((b for b in settings.ui.backends if b.name == name and name not in RESERVED), None)
    if listed is not None:
        return _listed(listed, base)
    if name == GGUF_FILE and settings.ui.models_dir is not None:
        path = model_file(choice.gguf_file, settings.ui.models_dir)
        return base.model_copy(
            update={"provider": "gguf", "gguf_path": path, "base_url": None, "api_key": None}
        )
    if name == CUSTOM_SERVER and settings.ui.allow_custom_server:
        url = check_url(choice.base_url, settings.ui.allowed_hosts)
        key = SecretStr(choice.api_key.strip()) if choice.api_key.strip() else None
        return base.model_copy(
            update={
                "provider": "openai-compatible",
                "base_url": url,
                "model": choice.model.strip() or None,
                "api_key": key,  # the user's key or none: never the server's
                "gguf_path": None,
            }
        )
    raise ConfigError(
        f"the LLM backend '{name}' is not offered by this server",
        hint=f"pick one of: {', '.join(backend_names(settings))}",
    )


def _listed(backend: BackendSettings, base: LLMSettings) -> LLMSettings:
    """An operator-listed backend; the server's own key only for OpenAI's own API."""
    key = backend.api_key
    if key is None and backend.provider == "openai" and not backend.base_url:
        key = base.api_key
    return base.model_copy(
        update={
            "provider": backend.provider,
            "base_url": backend.base_url,
            "model": backend.model,
            "gguf_path": backend.gguf_path,
            "api_key": key,
        }
    )


def model_file(name: str, folder: Path) -> Path:
    """The GGUF file `name` of the models folder. One error for every file that cannot be used
    (missing, unreadable, not GGUF, a path outside the folder), naming only what the user typed."""
    unusable = ConfigError(
        f"no usable GGUF file named '{name.strip()}' in the server's models folder",
        hint="pick one of the files the sidebar lists",
    )
    plain = name.strip()
    if not plain or "\x00" in plain or Path(plain).name != plain or plain in (".", ".."):
        raise unusable
    root = folder.expanduser().resolve()
    path = (root / plain).resolve()
    if path.parent != root or path.suffix.lower() != ".gguf":
        raise unusable
    try:
        with path.open("rb") as f:
            magic = f.read(len(GGUF_MAGIC))
    except OSError:
        raise unusable from None
    if magic != GGUF_MAGIC:
        raise unusable
    return path


def check_url(url: str, allowed_hosts: list[str]) -> str:
    """A user-typed server URL, when it is http(s) and its host is allowed; else a ConfigError."""
    text = (url or "").strip()
    if not text:
        raise ConfigError("the custom server needs a URL", hint="type it, e.g. http://127.0.0.1:11434/v1")
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise ConfigError(f"not a URL: {text}", hint="type it as http://HOST:PORT/v1") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ConfigError(f"not an http(s) URL: {text}", hint="type it as http://HOST:PORT/v1")
    if parts.username or parts.password:
        raise ConfigError("the URL may not carry a user or password", hint="type the key in its own field")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ConfigError(
            "the server URL may not carry a query or a fragment", hint="type it as http://HOST:PORT/v1"
        )
    if not _host_allowed(host, allowed_hosts):
        shown = ", ".join(allowed_hosts) or "none"
        raise ConfigError(
            f"this server may not call {host}: a typed URL may name only {shown}",
            hint="use a backend from the list, or ask the operator to add the host to PAPERQA_UI__ALLOWED_HOSTS",
        )
    return text


def _host_allowed(host: str, allowed: list[str]) -> bool:
    """Exact names, and addresses compared as addresses (so `::1` matches `[0:0::1]`)."""
    wanted = {h.strip().lower().strip("[]") for h in allowed if h.strip()}
    if host in wanted:
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    for h in wanted:
        try:
            if ipaddress.ip_address(h) == addr:
                return True
        except ValueError:
            continue
    return False
