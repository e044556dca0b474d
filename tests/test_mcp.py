"""`paperqa serve --mcp` on loopback, driven by the `mcp` package's own client (streamable HTTP,
the transport Gradio serves at /gradio_api/mcp/): list the tools, call ask, check its citations."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import free_port, serving

pytestmark = pytest.mark.slow
QUESTION = "What speedup over Megatron-LM does Domino report?"
# An answer from the embedded model on two shared cores: generous, as in the CLI tests.
CALL_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory: pytest.TempPathFactory, corpus_home: Path) -> Iterator[str]:
    base = tmp_path_factory.mktemp("mcp")
    shutil.copytree(corpus_home, base / "home")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERQA_")}
    env["PAPERQA_HOME"] = str(base / "home")
    log = base / "serve.log"
    exe = Path(sys.executable).parent / "paperqa"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(exe), "serve", "--mcp", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    with serving(proc, f"http://127.0.0.1:{port}/", f"paperqa serve --mcp (log: {log})"):
        yield f"http://127.0.0.1:{port}/gradio_api/mcp/"


async def _session(url: str, question: str) -> tuple[list[Any], Any]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    client = streamablehttp_client(url, sse_read_timeout=CALL_TIMEOUT_S)
    async with client as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
        ask = next(t for t in tools if t.name == "ask_json")
        result = await asyncio.wait_for(session.call_tool(ask.name, {"question": question}), CALL_TIMEOUT_S)
        return tools, result


def test_an_mcp_client_lists_the_ask_tool_and_gets_a_cited_answer(mcp_url: str) -> None:
    tools, result = asyncio.run(_session(mcp_url, QUESTION))
    assert {"ask", "ask_json"} <= {t.name for t in tools}
    ask = next(t for t in tools if t.name == "ask_json")
    assert "citations" in (ask.description or "") and "question" in json.dumps(ask.inputSchema)
    assert not result.isError, result.content
    text = next(c.text for c in result.content if c.type == "text")
    out = json.loads(text)
    assert out["question"] == QUESTION and not out["refused"], out
    sources = {s["n"]: s for s in out["sources"]}
    assert out["citations"] and {c["n"] for c in out["citations"]} <= sources.keys()
    for c in out["citations"]:  # each citation points at the source it names
        assert (sources[c["n"]]["paper_id"], sources[c["n"]]["title"]) == (c["paper_id"], c["title"])
    assert sources[1]["title"].startswith("Domino") and "1.3x" in out["answer"]


# ---- with a login ------------------------------------------------------------------------------------

LOGIN = {
    "PAPERQA_UI__USERNAME": "alice",
    "PAPERQA_UI__PASSWORD": "s3cret",
    "PAPERQA_UI__MCP_TOKEN": "tok-mcp-1",
}
UNCOVERED = "What is the boiling point of tungsten at sea level?"


@pytest.fixture(scope="module")
def mcp_login_url(tmp_path_factory: pytest.TempPathFactory, corpus_home: Path) -> Iterator[str]:
    base = tmp_path_factory.mktemp("mcp-login")
    shutil.copytree(corpus_home, base / "home")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERQA_")}
    env.update({"PAPERQA_HOME": str(base / "home"), **LOGIN})
    log = base / "serve.log"
    exe = Path(sys.executable).parent / "paperqa"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(exe), "serve", "--mcp", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    with serving(
        proc, f"http://127.0.0.1:{port}/", f"paperqa serve --mcp with a login (log: {log})"
    ):  # the login page
        yield f"http://127.0.0.1:{port}/gradio_api/mcp/"


async def _call(url: str, headers: dict[str, str] | None, question: str) -> tuple[set[str], dict[str, Any]]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    client = streamablehttp_client(url, headers=headers, sse_read_timeout=CALL_TIMEOUT_S)
    async with client as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name for t in (await session.list_tools()).tools}
        result = await asyncio.wait_for(session.call_tool("ask_json", {"question": question}), CALL_TIMEOUT_S)
        assert not result.isError, result.content
        return tools, json.loads(next(c.text for c in result.content if c.type == "text"))


def test_with_a_login_mcp_lists_nothing_without_credentials(mcp_login_url: str) -> None:
    import httpx

    for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic YWxpY2U6bm9wZQ=="}):
        with pytest.raises(BaseException) as err:  # the client raises inside its task group
            asyncio.run(_call(mcp_login_url, headers, UNCOVERED))
        assert "401" in repr(err.value) or any(
            isinstance(e, httpx.HTTPStatusError) for e in getattr(err.value, "exceptions", [])
        ), repr(err.value)
    plain = httpx.post(mcp_login_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=30)
    assert plain.status_code == 401 and "Authorization" in plain.json()["hint"]


def test_with_a_login_mcp_tools_answer_with_the_login_or_the_token(mcp_login_url: str) -> None:
    basic = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    tools, out = asyncio.run(_call(mcp_login_url, {"Authorization": basic}, "\u200b"))
    assert {"ask", "ask_json"} <= tools and out == {
        "question": "\u200b",
        "error": "the question is empty — type a question about the papers",
    }
    _, out = asyncio.run(_call(mcp_login_url, {"Authorization": "Bearer tok-mcp-1"}, UNCOVERED))
    assert out["question"] == UNCOVERED and out["refused"] and "error" not in out, out
