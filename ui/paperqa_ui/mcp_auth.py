"""MCP behind the UI's login: a client authenticates each request, or sees nothing.

Gradio's login is a browser form that sets a cookie; an MCP client has no form to fill. With a
login, every request to the MCP endpoint must carry `Authorization: Basic <user:password>` (the
UI's login) or `Authorization: Bearer <PAPERQA_UI__MCP_TOKEN>`; without either it gets 401, tools
unlisted. An authenticated request is logged in for Gradio as that user, so the tool call it
makes (Gradio runs queued tools through its own client, over loopback) passes Gradio's checks.

May touch: the HTTP requests passing through (their headers), and Gradio's table of logins.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import secrets
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from paperqa.settings import UISettings

MCP_PATH = "/gradio_api/mcp"
# Longest an MCP request waits for the server's own MCP client at start-up (it is made in seconds).
READY_TIMEOUT_S = 60.0
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _bearer(header: str | None) -> str:
    """The token of a `Bearer` header ("" for any other)."""
    scheme, _, value = (header or "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def authenticated_user(header: str | None, ui: UISettings, extra_tokens: tuple[str, ...] = ()) -> str | None:
    """Who an `Authorization` header authenticates as: the login for `Basic user:password`, or
    the login's user for `Bearer <mcp_token>` (or a token in `extra_tokens`); None otherwise."""
    if not header or not ui.username or not ui.password:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        ok = bool(sep) and _same(user, ui.username) and _same(password, ui.password.get_secret_value())
        return ui.username if ok else None
    if _bearer(header):
        tokens = [*extra_tokens, *([ui.mcp_token.get_secret_value()] if ui.mcp_token else [])]
        if any(_same(value, t) for t in tokens if t):
            return ui.username
    return None


class MCPLogin:
    """ASGI middleware in front of Gradio's app (passed as `app_kwargs={"middleware": …}`)."""

    def __init__(
        self, app: ASGIApp, ui: UISettings, loopback_token: str, ready: threading.Event | None = None
    ) -> None:
        self.app = app
        self.ui = ui
        self.loopback_token = loopback_token  # what this server's own MCP client sends (`client_headers`)
        # Set once the server's own MCP client is logged in (`serve`): a tool call that came
        # earlier would make Gradio build that client without credentials, for good.
        self.ready = ready
        self._sessions: dict[str, str] = {}  # user -> the Gradio login token made for them

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        header = headers.get("authorization")
        user = authenticated_user(header, self.ui, (self.loopback_token,))
        is_mcp = scope.get("path", "").startswith(MCP_PATH)
        if user is None and is_mcp:
            await _unauthorized(send)
            return
        # The MCP credentials log in MCP requests only (and this server's own MCP client, which
        # runs the tools through Gradio's routes); every other route keeps Gradio's own login.
        if user is not None and (is_mcp or _same(_bearer(header), self.loopback_token)):
            self._log_in(scope, user)
        if is_mcp and not await self._wait_ready():
            await _respond(
                send, 503, {"error": "the MCP server is starting", "hint": "retry in a few seconds"}
            )
            return
        await self.app(scope, receive, send)

    async def _wait_ready(self) -> bool:
        """Whether the server's own MCP client is ready, waiting up to READY_TIMEOUT_S for it."""
        if self.ready is None or self.ready.is_set():
            return True
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.ready.wait, READY_TIMEOUT_S)

    def _log_in(self, scope: Scope, user: str) -> None:
        """Add Gradio's login cookie for `user` to this request (a token made once per user)."""
        gradio_app = scope.get("app")
        tokens = getattr(gradio_app, "tokens", None)
        cookie_id = getattr(gradio_app, "cookie_id", None)
        if tokens is None or cookie_id is None:
            return
        token = self._sessions.get(user)
        if token is None or tokens.get(token) != user:
            token = secrets.token_urlsafe(24)
            tokens[token] = user
            self._sessions[user] = token
        cookie = f"access-token-{cookie_id}={token}".encode("latin-1")
        rest = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"cookie"]
        old = [v for k, v in scope.get("headers", []) if k.lower() == b"cookie"]
        scope["headers"] = [*rest, (b"cookie", b"; ".join([*old, cookie]))]


async def _unauthorized(send: Any) -> None:
    hint = (
        "send 'Authorization: Basic <base64 of user:password>' (the UI's login) or "
        "'Authorization: Bearer <PAPERQA_UI__MCP_TOKEN>'"
    )
    # A Bearer challenge: a browser shows no password prompt (and so keeps no password to send
    # with other sites' requests); MCP clients send their credentials up front.
    challenge = [(b"www-authenticate", b'Bearer realm="PaperQA MCP"')]
    await _respond(send, 401, {"error": "authentication required", "hint": hint}, challenge)


async def _respond(
    send: Any, status: int, payload: dict[str, str], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


def loopback_token() -> str:
    """A token, new each start, that only this server's own MCP client knows."""
    return secrets.token_urlsafe(32)


def client_headers(token: str) -> dict[str, str]:
    """The headers of the client Gradio's MCP server runs queued tools through."""
    return {"x-gradio-user": "mcp", "Authorization": f"Bearer {token}"}
