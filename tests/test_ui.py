"""The real chat app on loopback, driven by headless Chromium (Playwright) and gradio_client."""

from __future__ import annotations

import concurrent.futures
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, free_port, wait_http
from .test_backends import Listener

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SERVER_KEY = "sk-server-secret"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _serve(
    home: Path, log: Path, env_extra: dict[str, str] | None = None, *args: str
) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERQA_")}
    env["PAPERQA_HOME"] = str(home)
    env.update(env_extra or {})
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "paperqa"), "serve", "--port", str(port), *args],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    wait_http(proc, url, "paperqa serve (log: " + str(log) + ")")
    return proc, url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, corpus_home: Path) -> Iterator[str]:
    base = tmp_path_factory.mktemp("ui")
    shutil.copytree(corpus_home, base / "home")
    # The operator lets users type a server URL (loopback only, by default); the server has a key.
    offered = {"PAPERQA_UI__ALLOW_CUSTOM_SERVER": "true", "OPENAI_API_KEY": SERVER_KEY}
    proc, url = _serve(base / "home", base / "serve.log", offered)
    try:
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
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def ask(page, question: str, n_cites_before: int = 0) -> None:  # type: ignore[no-untyped-def]
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        f"document.querySelectorAll('#chat .pqa-cite').length > {n_cites_before} "
        "|| document.querySelector('#chat').innerText.includes('⚠️')",
        timeout=120_000,
    )


def test_chat_cites_opens_paper_and_follows_up(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    ask(page, "What speedup over Megatron-LM does Domino report?")
    answer = page.inner_text("#chat")
    assert "1.3x" in answer and "References" in answer
    cite = page.locator("#chat a.pqa-cite").first
    assert cite.get_attribute("title").startswith("Domino")
    assert "Domino" in page.inner_text("#sources")
    # Clicking the citation opens that paper's abstract, with the supporting sentence highlighted.
    target = cite.get_attribute("href")[1:]
    cite.click()
    details = page.locator(f"#{target}")
    # The click opens the details from a script: wait for it, not a fixed moment.
    page.wait_for_function("id => document.getElementById(id).open", arg=target, timeout=10_000)
    assert "Megatron-LM" in details.inner_text()
    assert details.locator("mark").count() >= 1
    shot(page, "chat")
    # A follow-up keeps the topic; export buttons appear for the answer.
    n = page.locator("#chat a.pqa-cite").count()
    ask(page, "What GPUs was it measured on?", n)
    assert "DGX-H100" in page.inner_text("#chat").split("What GPUs was it measured on?")[1]
    assert page.locator("#export-md").is_visible() and page.locator("#export-bib").is_visible()
    with page.expect_download() as dl:
        page.click("#export-bib")
    bib = Path(dl.value.path()).read_text()
    assert bib.startswith("@misc{") and "Domino" in bib
    page.click("#new-chat")
    page.wait_for_function("!document.querySelector('#chat .pqa-cite')", timeout=10_000)
    page.close()


def test_phone_width_and_dark_mode(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = ctx.new_page()
    page.goto(server + "?__theme=dark")
    ask(page, "Which learning rate scheduler did MiniCPM introduce?")
    assert "WSD" in page.inner_text("#chat")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # no sideways scrolling on a phone
    shot(page, "phone-dark")
    ctx.close()


def test_corpus_tab_upload_and_browse(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.get_by_role("tab", name="Corpus").click()
    page.wait_for_selector("#corpus-count")
    page.wait_for_function("document.querySelector('#corpus-count').innerText.includes('550 papers')")
    upload = tmp_path / "new.jsonl"
    upload.write_text(
        '{"id": "2501.00001", "title": "Zebra Routing for Sparse Mixture Models", "abstract": '
        '"We introduce Zebra Routing, a striped router for sparse mixture-of-experts models. It balances '
        'expert load without auxiliary losses and trains 1.4x faster than top-2 routing on our benchmarks.", '
        '"update_date": "2025-01-02"}\n{"title": "Broken"}\n'
    )
    page.set_input_files("#upload input[type=file]", str(upload))
    page.click("#ingest")
    page.wait_for_function(
        "document.querySelector('#ingest-result').innerText.includes('added')", timeout=120_000
    )
    result = page.inner_text("#ingest-result")
    assert "1 added" in result and "new.jsonl:2" in result and "no abstract" in result
    page.fill("#corpus-search textarea", "Zebra")
    page.wait_for_function("document.querySelector('#corpus-count').innerText.startsWith('1 papers')")
    page.locator("#corpus-table").get_by_text("Zebra Routing for Sparse Mixture Models").locator(
        "visible=true"
    ).first.click()
    page.wait_for_function("document.querySelector('#paper-view').innerText.includes('striped router')")
    shot(page, "corpus")
    # The new paper is immediately answerable.
    page.get_by_role("tab", name="Chat").click()
    ask(page, "How much faster does Zebra Routing train than top-2 routing?")
    assert "1.4x" in page.inner_text("#chat")
    page.close()


@pytest.fixture()
def pixel_server() -> Iterator[tuple[int, list[str]]]:
    """A web server on loopback that records every request: an image a page shows is fetched here."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv.server_address[1], hits
    finally:
        srv.shutdown()
        srv.server_close()


def test_html_in_an_abstract_is_shown_as_text_not_rendered(  # type: ignore[no-untyped-def]
    server: str, browser, tmp_path: Path, pixel_server: tuple[int, list[str]]
) -> None:
    port, hits = pixel_server
    img = f'<img src="http://127.0.0.1:{port}/pixel.png">'
    abstract = (
        f"We present Quokka Decoding {img}, a speculative sampling scheme for small language models "
        "that needs no draft model. Quokka Decoding generates text <b>2.7x faster</b> than greedy "
        "decoding on our benchmarks. It keeps the same output as greedy decoding."
    )
    upload = tmp_path / "html.jsonl"
    record = {"id": "2501.00002", "title": "Quokka Decoding: Speculative Sampling Without a Draft Model"}
    upload.write_text(json.dumps({**record, "abstract": abstract, "update_date": "2025-01-03"}) + "\n")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.get_by_role("tab", name="Corpus").click()
    page.set_input_files("#upload input[type=file]", str(upload))
    page.click("#ingest")
    page.wait_for_function(
        "document.querySelector('#ingest-result').innerText.includes('added')", timeout=120_000
    )
    page.get_by_role("tab", name="Chat").click()
    ask(page, "How much faster than greedy decoding does Quokka Decoding generate text?")
    answer = page.locator("#chat [data-testid=bot]").last
    # The sentence quoted from the abstract keeps its tags as text.
    assert "generates text <b>2.7x faster</b> than greedy" in answer.inner_text()
    assert answer.locator("b", has_text="2.7x faster").count() == 0
    # So does the abstract shown for the cited paper: no image, nothing fetched.
    details = answer.locator("details.pqa-paper", has_text="Quokka Decoding").first
    details.locator("summary").click()
    assert details.evaluate("el => el.open") is True
    assert f"We present Quokka Decoding {img}, a speculative" in details.inner_text()
    assert page.locator("#chat img, #sources img").count() == 0
    page.wait_for_timeout(1000)
    shot(page, "html-as-text")
    assert hits == []
    page.close()


def test_a_question_too_long_for_the_model_is_explained_in_the_chat(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    ask(page, ("What average F1 score on ProcessBench does FreePRM reach? " * 700)[:36_000])
    text = page.locator("#chat [data-testid=bot]").last.inner_text()
    assert "the question is too long for the model" in text and "at most 1,376 fit" in text
    assert "shorten the question" in text and "Traceback" not in text
    assert "FreePRM" not in page.inner_text("#sources")  # nothing was retrieved
    page.close()


def test_broken_llm_setting_gives_a_readable_error(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.locator("button[aria-label*='sidebar' i], .sidebar-toggle, button.toggle-button").first.click()
    page.get_by_role("radio", name="custom server").check()
    # A typed URL: the server calls it only on an allowed host, and never with its own key.
    listener = Listener()
    page.fill("#base-url textarea, #base-url input", listener.url)
    page.fill("#model textarea, #model input", "m")
    page.click("#test-connection")
    page.wait_for_function("document.querySelector('#test-result').innerText.includes('✅')", timeout=90_000)
    page.fill("#base-url textarea, #base-url input", "http://10.1.2.3/v1")
    page.click("#test-connection")
    page.wait_for_function(
        "document.querySelector('#test-result').innerText.includes('may not call')", timeout=90_000
    )
    listener.server.shutdown()
    assert listener.keys() == ["Bearer not-needed"] and SERVER_KEY not in str(listener.requests)
    page.fill("#base-url textarea, #base-url input", "http://127.0.0.1:9/v1")
    page.fill("#model textarea, #model input", "nothing")
    page.click("#test-connection")
    page.wait_for_function(
        "document.querySelector('#test-result').innerText.includes('cannot reach')", timeout=90_000
    )
    assert "cannot reach the LLM server" in page.inner_text("#test-result")
    ask(page, "What F1 score does FreePRM reach on ProcessBench?")
    text = page.inner_text("#chat")
    assert "cannot reach the LLM server at http://127.0.0.1:9/v1" in text and "Traceback" not in text
    assert "FreePRM" in page.inner_text("#sources")  # the sources are still there
    # Settings are saved in this browser: a reload keeps them.
    page.reload()
    page.wait_for_function(
        "[...document.querySelectorAll('#base-url textarea, #base-url input')].some(e => e.value.includes('127.0.0.1:9'))",
        timeout=20_000,
    )
    shot(page, "error")
    page.close()


def test_api_ask_returns_the_cli_json(server: str) -> None:
    from gradio_client import Client

    client = Client(server, verbose=False)
    out = client.predict("Which learning rate scheduler did MiniCPM introduce?", api_name="/ask")
    assert {"question", "answer", "refused", "citations", "sources", "timings"} <= out.keys()
    assert not out["refused"] and "WSD" in out["answer"]
    assert {c["n"] for c in out["citations"]} <= {s["n"] for s in out["sources"]}


def test_ten_concurrent_clients_get_their_own_answers(server: str) -> None:
    from gradio_client import Client

    questions = {
        "What speedup over Megatron-LM does Domino report?": "Domino",
        "Which learning rate scheduler did MiniCPM introduce?": "MiniCPM",
        "What average F1 score on ProcessBench does FreePRM reach?": "FreePRM",
        "What compression rate does FedZip reach on model updates?": "FEDZIP",
        "Which paper trains an open Danish large language model?": "SnakModel",
    }
    jobs = list(questions.items()) * 2

    def run(item: tuple[str, str]) -> tuple[str, str, dict]:  # type: ignore[type-arg]
        q, expect = item
        return q, expect, Client(server, verbose=False).predict(q, api_name="/ask")

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(run, jobs))
    assert len(results) == 10
    for q, expect, out in results:
        assert out["question"] == q
        assert expect.lower() in out["sources"][0]["title"].lower()
        assert re.search(r"\[\d+\]", out["answer"])


def test_remote_bind_without_auth_is_refused(tmp_path: Path, corpus_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERQA_")}
    env["PAPERQA_HOME"] = str(corpus_home)
    res = subprocess.run(
        [
            str(Path(sys.executable).parent / "paperqa"),
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "refusing to serve on 0.0.0.0 without a password" in res.stderr


def test_oversize_upload_is_refused_by_the_server(server: str) -> None:
    import httpx

    big = b"x" * (26 * 2**20)  # the default limit is 25 MB
    r = httpx.post(f"{server}gradio_api/upload", files={"files": ("big.jsonl", big)}, timeout=120)
    assert r.status_code == 413 and "maximum allowed size" in r.text
