"""The operator decides where the server's credentials go: a chat or API user picks a backend the
operator offers, a typed URL (only when allowed, only to allowed hosts) never gets the server's
key, and a GGUF choice names a file of the models folder, with one error for every bad one.

A loopback listener stands in for any OpenAI-compatible server and records what reaches it."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from paperqa.api import PaperQA
from paperqa.backends import (
    CUSTOM_SERVER,
    EMBEDDED,
    GGUF_FILE,
    SERVER_DEFAULT,
    LLMChoice,
    backend_names,
    check_url,
    gguf_files,
    model_file,
    resolve,
)
from paperqa.errors import ConfigError
from paperqa.settings import BackendSettings, LLMSettings, Settings, UISettings
from paperqa_ui.app import PaperQAUI
from paperqa_ui.prefs import DEFAULT_PREFS

SERVER_KEY = "sk-server-secret"


class Listener:
    """An OpenAI-compatible chat server on loopback that records each request's headers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                listener.requests.append({k.lower(): v for k, v in self.headers.items()})
                self.rfile.read(int(self.headers.get("content-length") or 0))
                chunk = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "m",
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": "OK"}}],
                }
                body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keys(self) -> list[str]:
        return [r.get("authorization", "") for r in self.requests]


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.server.shutdown()


class ServerApp:
    """What `PaperQAUI` calls for the connection test, with PaperQA's own `check_llm`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def check_llm(self, llm_settings: LLMSettings | None = None) -> str:
        return PaperQA.check_llm(self, llm_settings)  # type: ignore[arg-type]

    def most_upvoted(self, limit: int) -> list[Any]:
        return []


def serving(**ui: Any) -> Settings:
    """A server whose own LLM is the embedded model and whose OpenAI key is set (as
    `OPENAI_API_KEY=sk-… paperqa serve`)."""
    return Settings(llm=LLMSettings(api_key=SecretStr(SERVER_KEY)), ui=UISettings(**ui))


def sidebar(**choice: Any) -> list[Any]:
    return list({**DEFAULT_PREFS, **choice}.values())


def test_a_typed_url_is_refused_and_called_never_when_the_operator_did_not_allow_it(
    listener: Listener,
) -> None:
    ui = PaperQAUI(ServerApp(serving()))  # type: ignore[arg-type]
    shown = ui.test_connection(*sidebar(backend=CUSTOM_SERVER, base_url=listener.url, model="m"))
    assert "not offered by this server" in shown and "server default" in shown
    # The old backend names saved in a browser are refused the same way.
    shown = ui.test_connection(*sidebar(backend="openai-compatible", base_url=listener.url, model="m"))
    assert "not offered by this server" in shown
    assert listener.requests == []


def test_an_allowed_typed_url_gets_the_users_key_or_none_never_the_servers(listener: Listener) -> None:
    ui = PaperQAUI(ServerApp(serving(allow_custom_server=True)))  # type: ignore[arg-type]
    shown = ui.test_connection(*sidebar(backend=CUSTOM_SERVER, base_url=listener.url, model="m"))
    assert shown.startswith("✅") and "replied 'OK'" in shown
    shown = ui.test_connection(
        *sidebar(backend=CUSTOM_SERVER, base_url=listener.url, model="m", api_key="users-own")
    )
    assert shown.startswith("✅")
    assert listener.keys() == ["Bearer not-needed", "Bearer users-own"]
    assert not any(SERVER_KEY in json.dumps(r) for r in listener.requests)


def test_a_typed_url_outside_the_allowed_hosts_is_refused_before_any_request(listener: Listener) -> None:
    ui = PaperQAUI(ServerApp(serving(allow_custom_server=True, allowed_hosts=["localhost"])))  # type: ignore[arg-type]
    for url in (listener.url, "http://10.0.0.7/v1", "http://169.254.169.254/latest", "file:///etc/passwd"):
        shown = ui.test_connection(*sidebar(backend=CUSTOM_SERVER, base_url=url, model="m"))
        assert "⚠️" in shown and ("may not call" in shown or "not an http(s) URL" in shown), shown
    assert listener.requests == []


def test_the_servers_key_goes_only_to_backends_the_operator_configured_with_it(listener: Listener) -> None:
    listed = [
        BackendSettings(name="lab", provider="openai-compatible", base_url=listener.url, model="m"),
        BackendSettings(
            name="keyed",
            provider="openai-compatible",
            base_url=listener.url,
            model="m",
            api_key=SecretStr("lab-key"),
        ),
    ]
    ui = PaperQAUI(ServerApp(serving(backends=listed)))  # type: ignore[arg-type]
    assert ui.test_connection(*sidebar(backend="lab")).startswith("✅")
    assert ui.test_connection(*sidebar(backend="keyed")).startswith("✅")
    # A listed backend's URL cannot be replaced from the browser.
    assert ui.test_connection(*sidebar(backend="lab", base_url="http://127.0.0.1:9/v1")).startswith("✅")
    assert listener.keys() == ["Bearer not-needed", "Bearer lab-key", "Bearer not-needed"]
    # The server's own LLM gets the server's key: the operator configured both.
    own = Settings(llm=LLMSettings(base_url=listener.url, model="m", api_key=SecretStr(SERVER_KEY)))
    assert PaperQAUI(ServerApp(own)).test_connection(*sidebar()).startswith("✅")  # type: ignore[arg-type]
    assert listener.keys()[-1] == f"Bearer {SERVER_KEY}"


def test_openai_without_a_url_of_its_own_is_the_only_listed_backend_given_the_servers_key() -> None:
    settings = serving(
        backends=[
            BackendSettings(name="gpt", provider="openai", model="gpt-4o-mini"),
            BackendSettings(name="proxy", provider="openai", base_url="http://127.0.0.1:9/v1"),
        ]
    )
    gpt = resolve(LLMChoice(backend="gpt"), settings)
    proxy = resolve(LLMChoice(backend="proxy"), settings)
    assert gpt is not None and gpt.api_key is not None and gpt.api_key.get_secret_value() == SERVER_KEY
    assert proxy is not None and proxy.api_key is None


def test_the_backends_offered_are_the_operators() -> None:
    assert backend_names(Settings()) == [SERVER_DEFAULT]
    settings = Settings(
        llm=LLMSettings(base_url="http://127.0.0.1:11434/v1", model="m"),
        ui=UISettings(
            backends=[BackendSettings(name="lab", provider="embedded")],
            models_dir=Path("/nonexistent"),
            allow_custom_server=True,
        ),
    )
    assert backend_names(settings) == [SERVER_DEFAULT, EMBEDDED, "lab", GGUF_FILE, CUSTOM_SERVER]
    embedded = resolve(LLMChoice(backend=EMBEDDED), settings)
    assert embedded is not None and embedded.resolved_provider() == "embedded" and embedded.api_key is None
    with pytest.raises(ConfigError, match="'nope' is not offered"):
        resolve(LLMChoice(backend="nope"), settings)


def test_a_gguf_choice_is_a_file_of_the_models_folder_with_one_error_for_any_other(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "small.gguf").write_bytes(b"GGUF\x03\x00\x00\x00rest")
    (models / "fake.gguf").write_bytes(b"not a model")
    (models / "notes.txt").write_text("x")
    secret = tmp_path / "secret.gguf"
    secret.write_bytes(b"GGUF")
    (models / "link.gguf").symlink_to(secret)
    settings = Settings(ui=UISettings(models_dir=models))
    assert gguf_files(settings) == ["small.gguf"]  # only what can be picked is listed
    chosen = resolve(LLMChoice(backend=GGUF_FILE, gguf_file="small.gguf"), settings)
    assert (
        chosen is not None
        and chosen.provider == "gguf"
        and chosen.gguf_path == (models / "small.gguf").resolve()
    )
    messages = set()
    for name in (
        "missing.gguf",
        "fake.gguf",
        "link.gguf",
        "../secret.gguf",
        str(secret),
        "/etc/passwd",
        "small.gguf\x00.txt",
        "notes.txt",
        "",
    ):
        with pytest.raises(ConfigError) as err:
            model_file(name, models)
        messages.add(err.value.message.replace(f"'{name}'", "'NAME'"))
    assert messages == {"no usable GGUF file named 'NAME' in the server's models folder"}
    # Without a models folder there is no GGUF choice at all.
    with pytest.raises(ConfigError, match="not offered"):
        resolve(LLMChoice(backend=GGUF_FILE, gguf_file="small.gguf"), Settings())


def test_only_http_urls_on_allowed_hosts_pass_and_addresses_compare_as_addresses() -> None:
    loop = ["127.0.0.1", "localhost", "::1"]
    assert check_url(" http://127.0.0.1:11434/v1 ", loop) == "http://127.0.0.1:11434/v1"
    assert check_url("HTTPS://LOCALHOST/v1", loop) == "HTTPS://LOCALHOST/v1"
    assert check_url("http://[0:0::1]:8000/v1", loop) == "http://[0:0::1]:8000/v1"
    bad = [
        "http://127.0.0.1.nip.io/v1",
        "http://2130706433/v1",  # 127.0.0.1 as one number: not how the allow-list names it
        "http://localhost@10.0.0.1/v1",
        "http://user:pw@127.0.0.1/v1",
        "gopher://127.0.0.1/",
        "javascript:alert(1)",
        "http://127.0.0.1:99999/v1",
        "",
    ]
    for url in bad:
        with pytest.raises(ConfigError):
            check_url(url, loop)


def test_the_operator_lists_backends_and_hosts_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PAPERQA_UI__BACKENDS",
        '[{"name": "ollama", "provider": "openai-compatible", "base_url": "http://127.0.0.1:11434/v1", '
        '"model": "llama3.2", "api_key": "k"}]',
    )
    monkeypatch.setenv("PAPERQA_UI__ALLOWED_HOSTS", '["localhost"]')
    monkeypatch.setenv("PAPERQA_UI__ALLOW_CUSTOM_SERVER", "true")
    settings = Settings()
    assert backend_names(settings) == [SERVER_DEFAULT, "ollama", CUSTOM_SERVER]
    chosen = resolve(LLMChoice(backend="ollama"), settings)
    assert chosen is not None and chosen.model == "llama3.2" and chosen.api_key is not None
    assert settings.ui.allowed_hosts == ["localhost"]


def test_a_typed_url_carries_no_query_or_fragment_and_errors_show_no_secret() -> None:
    from paperqa.answer.llm import shown_url

    for url in ("http://127.0.0.1:8000/api/admin?x=", "http://127.0.0.1:8000/v1#x", "http://127.0.0.1/v1?"):
        with pytest.raises(ConfigError, match="query or a fragment"):
            check_url(url, ["127.0.0.1"])
    assert (
        shown_url("https://user:pw@llm.example.org:8443/v1?key=secret#x") == "https://llm.example.org:8443/v1"
    )
    assert shown_url("http://[::1]:8000/v1") == "http://[::1]:8000/v1"
    assert shown_url("api.openai.com") == "api.openai.com"
