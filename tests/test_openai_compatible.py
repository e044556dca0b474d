"""The OpenAI-compatible path against a real llama.cpp server on loopback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperqa.answer.llm import embedded_model_path, make_llm
from paperqa.settings import LLMSettings

from .conftest import free_port, run_cli, serving

pytestmark = pytest.mark.slow
KEY = "test-key-123"


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(embedded_model_path()),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--api_key",
            KEY,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    with serving(proc, f"{url}/models", "llama_cpp.server", {"Authorization": f"Bearer {KEY}"}):
        yield url


def test_ask_through_openai_compatible_server(home_copy: Path, llama_server: str) -> None:
    env = {
        "PAPERQA_LLM__BASE_URL": llama_server,
        "PAPERQA_LLM__MODEL": "smollm2",
        "PAPERQA_LLM__API_KEY": KEY,
    }
    res = run_cli(
        "ask",
        "--json",
        "Which metric monitors the stability of 2:4 sparse training?",
        home=home_copy,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    shown = {int(n) for n in re.findall(r"\[(\d+)\]", out["answer"])}
    assert shown and shown <= {s["n"] for s in out["sources"]}
    assert out["timings"]["generate_s"] > 0
    assert "flip rate" in out["answer"].lower()
    check = run_cli("check", home=home_copy, env=env)
    assert check.returncode == 0 and "openai-compatible · smollm2" in check.stdout


def test_wrong_key_is_reported_plainly(home_copy: Path, llama_server: str) -> None:
    env = {
        "PAPERQA_LLM__BASE_URL": llama_server,
        "PAPERQA_LLM__MODEL": "smollm2",
        "PAPERQA_LLM__API_KEY": "wrong",
    }
    res = run_cli("check", home=home_copy, env=env)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "rejected the API key" in res.stderr and "OPENAI_API_KEY" in res.stderr
    assert "wrong" not in res.stderr  # never echo secrets


def test_a_server_model_writes_no_more_than_the_style_or_the_operator_allows(llama_server: str) -> None:
    settings = LLMSettings(
        provider="openai-compatible", base_url=llama_server, model="smollm2", api_key=KEY, max_tokens=12
    )
    chat = make_llm(settings)
    story = "Write a long story about a fox, at least ten sentences."
    short = "".join(chat.stream("You are a writer.", story, max_tokens=4))
    capped = "".join(chat.stream("You are a writer.", story, max_tokens=500))
    assert 0 < len(short.split()) <= 4
    # the operator's 12 wins over a style's 500: about 12 tokens, far from a ten-sentence story
    assert len(short) < len(capped) and len(capped.split()) <= 12
