"""The real chat app on loopback, driven by headless Chromium (Playwright) and gradio_client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, corpus_home: Path) -> Iterator[str]:
    import shutil

    home = tmp_path_factory.mktemp("ui") / "home"
    shutil.copytree(corpus_home, home)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERQA_")}
    env["PAPERQA_HOME"] = str(home)
    log = open(tmp_path_factory.mktemp("log") / "serve.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "paperqa"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except Exception:
                if proc.poll() is not None:
                    pytest.fail("paperqa serve exited: " + Path(log.name).read_text())
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield b
        b.close()


def test_chat_streams_a_cited_answer_and_shows_sources(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.fill("#question textarea", "What speedup over Megatron-LM does Domino report?")
    page.click("#ask")
    page.wait_for_selector("#chat .pqa-cite", timeout=120_000)
    answer = page.inner_text("#chat")
    assert "1.3x" in answer and "References" in answer
    cite = page.locator("#chat .pqa-cite").first
    assert cite.get_attribute("title").startswith("Domino")
    assert "Domino" in page.inner_text("#sources")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    # A follow-up in the same conversation keeps the topic.
    page.fill("#question textarea", "What GPUs was it measured on?")
    page.click("#ask")
    page.wait_for_function("document.querySelectorAll('#chat .pqa-cite').length >= 2", timeout=120_000)
    assert "Domino" in page.inner_text("#sources")
    page.click("#new-chat")
    page.wait_for_function("!document.querySelector('#chat .pqa-cite')", timeout=10_000)
    page.close()


def test_api_ask_returns_the_cli_json(server: str) -> None:
    from gradio_client import Client

    out = Client(server, verbose=False).predict(
        "Which learning rate scheduler did MiniCPM introduce?", api_name="/ask"
    )
    assert {"question", "answer", "refused", "citations", "sources", "timings"} <= out.keys()
    assert not out["refused"] and "WSD" in out["answer"]
    assert {c["n"] for c in out["citations"]} <= {s["n"] for s in out["sources"]}
