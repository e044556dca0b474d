"""MCP behind a login, without a server: which `Authorization` headers log a request in, and what
the middleware lets through to Gradio (the real server is driven in test_mcp.py)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from pydantic import SecretStr

from paperqa.settings import UISettings
from paperqa_ui.mcp_auth import MCPLogin, authenticated_user, client_headers

UI = UISettings(username="alice", password=SecretStr("secret"), mcp_token=SecretStr("tok-123"))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_the_login_or_the_mcp_token_authenticates_and_nothing_else_does() -> None:
    assert authenticated_user(basic("alice", "secret"), UI) == "alice"
    assert authenticated_user("Bearer tok-123", UI) == "alice"
    assert authenticated_user("bearer  tok-123 ", UI) == "alice"
    for header in (
        None,
        "",
        basic("alice", "wrong"),
        basic("bob", "secret"),
        "Basic not-base64!",
        "Bearer tok-12",
        "Bearer ",
        "Token tok-123",
        "Bearer secret",  # the password is not a token
    ):
        assert authenticated_user(header, UI) is None, header
    no_token = UISettings(username="alice", password=SecretStr("secret"))
    assert authenticated_user("Bearer ", no_token) is None
    assert authenticated_user("Bearer x", no_token, ("x",)) == "alice"  # the server's own client


class GradioApp:
    """What the middleware reads off Gradio's app: its logins and its cookie name."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.cookie_id = "cid"
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


MIDDLEWARE: dict[int, MCPLogin] = {}


def call(app: GradioApp, path: str, headers: dict[str, str]) -> int:
    """One request through the middleware (one per app, as in the server)."""
    middleware = MIDDLEWARE.setdefault(id(app), MCPLogin(app, UI, loopback_token="loop"))
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "path": path,
        "app": app,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(middleware(scope, None, send))
    return int(sent[0]["status"])


def test_mcp_requests_without_credentials_get_401_and_reach_nothing() -> None:
    app = GradioApp()
    for headers in ({}, {"Authorization": basic("alice", "nope")}, {"Cookie": "access-token-cid=forged"}):
        assert call(app, "/gradio_api/mcp/", headers) == 401
        assert call(app, "/gradio_api/mcp/sse", headers) == 401
    assert app.seen == [] and app.tokens == {}
    # Other routes keep Gradio's own login (the browser's form and cookie): passed through.
    assert call(app, "/config", {}) == 200
    assert app.tokens == {}


def test_an_authenticated_request_is_logged_in_for_gradio_as_the_user() -> None:
    app = GradioApp()
    assert call(app, "/gradio_api/mcp/", {"Authorization": "Bearer tok-123", "Cookie": "a=b"}) == 200
    assert call(app, "/gradio_api/queue/join", client_headers("loop")) == 200
    (token,) = app.tokens
    assert app.tokens[token] == "alice"
    for scope in app.seen:
        cookies = [v.decode() for k, v in scope["headers"] if k == b"cookie"]
        assert len(cookies) == 1 and f"access-token-cid={token}" in cookies[0]
    assert "a=b" in next(v.decode() for k, v in app.seen[0]["headers"] if k == b"cookie")


def test_an_mcp_request_waits_until_the_servers_own_client_is_logged_in(monkeypatch: Any) -> None:
    import threading

    from paperqa_ui import mcp_auth

    app = GradioApp()
    ready = threading.Event()
    middleware = MCPLogin(app, UI, loopback_token="loop", ready=ready)
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))

    def request(path: str) -> None:
        scope = {"type": "http", "path": path, "app": app, "headers": [(b"authorization", b"Bearer tok-123")]}
        asyncio.run(middleware(scope, None, send))

    # Gradio's own routes (the client being logged in uses them) are not held.
    request("/config")
    assert statuses == [200]
    threading.Timer(0.3, ready.set).start()
    request("/gradio_api/mcp/")  # held until `ready`, then through
    assert statuses == [200, 200] and ready.is_set()
    monkeypatch.setattr(mcp_auth, "READY_TIMEOUT_S", 0.1)
    late = MCPLogin(app, UI, loopback_token="loop", ready=threading.Event())
    scope = {
        "type": "http",
        "path": "/gradio_api/mcp/",
        "app": app,
        "headers": [(b"authorization", b"Bearer tok-123")],
    }
    asyncio.run(late(scope, None, send))
    assert statuses[-1] == 503  # never ready: a clear "starting", not a hang


def test_the_mcp_credentials_log_in_mcp_requests_only() -> None:
    app = GradioApp()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = MCPLogin(app, UI, loopback_token="loop")
    for path in ("/gradio_api/queue/join", "/gradio_api/call/ask", "/config"):
        scope = {"type": "http", "path": path, "app": app, "headers": [(b"authorization", b"Bearer tok-123")]}
        asyncio.run(middleware(scope, None, send))
    assert app.tokens == {}  # Gradio's own login still decides there
    assert all(not any(k == b"cookie" for k, _ in s["headers"]) for s in app.seen)
    # A 401 challenges with Bearer: a browser shows no password prompt for it.
    asyncio.run(
        middleware({"type": "http", "path": "/gradio_api/mcp/", "app": app, "headers": []}, None, send)
    )
    start = next(m for m in reversed(sent) if m["type"] == "http.response.start")
    assert start["status"] == 401 and dict(start["headers"])[b"www-authenticate"].startswith(b"Bearer")
