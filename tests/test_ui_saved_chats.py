"""Saved chats in the real app, driven by headless Chromium: a chat of two questions survives a
restart of `paperqa serve` and reopens with both answers and their citation links working."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .test_ui import _serve, ask, browser, shot

__all__ = ["browser"]  # the Chromium fixture, shared with test_ui
pytestmark = [pytest.mark.slow, pytest.mark.browser]
DOMINO = "What speedup over Megatron-LM does Domino report?"
FOLLOW_UP = "What GPUs was it measured on?"


@contextmanager
def serving(home: Path, log: Path) -> Iterator[str]:
    """`paperqa serve` on `home` for the block, stopped (and its store released) after it."""
    proc: subprocess.Popen[bytes]
    proc, url = _serve(home, log)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_chat_survives_a_restart_and_reopens_with_working_citations(  # type: ignore[no-untyped-def]
    tmp_path: Path, corpus_home: Path, browser
) -> None:
    home = tmp_path / "home"
    shutil.copytree(corpus_home, home)
    with serving(home, tmp_path / "serve-1.log") as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        ask(page, DOMINO)
        ask(page, FOLLOW_UP, page.locator("#chat a.pqa-cite").count())
        page.get_by_text("Saved chats").click()
        page.locator("#saved-chats label", has_text="2 questions").wait_for(timeout=20_000)
        page.close()
    with serving(home, tmp_path / "serve-2.log") as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.get_by_text("Saved chats").click()
        page.locator("#saved-chats label", has_text=DOMINO).click()
        page.wait_for_function(
            f"document.querySelector('#chat').innerText.includes({FOLLOW_UP!r})", timeout=20_000
        )
        first, second = page.inner_text("#chat").split(FOLLOW_UP)
        assert DOMINO in first and "1.3x" in first and "DGX-H100" in second
        assert "Domino" in page.inner_text("#sources")
        # Each answer's citations still open that answer's cited paper, once the reopened chat's
        # last update (its export button) is in: an update after the click would redraw it closed.
        page.locator("#export-chat").wait_for(state="visible", timeout=20_000)
        for answer in (
            page.locator("#chat [data-testid=bot]").first,
            page.locator("#chat [data-testid=bot]").last,
        ):
            cite = answer.locator("a.pqa-cite").first
            assert cite.get_attribute("title").startswith("Domino")
            cite.click()
            target = cite.get_attribute("href")[1:]
            # The click opens the source's details from a script: wait for it, not a fixed moment.
            page.wait_for_function("id => document.getElementById(id).open", arg=target, timeout=10_000)
            assert "Megatron-LM" in page.locator(f"#{target}").inner_text()
        assert page.locator("#export-chat").is_visible()
        with page.expect_download() as dl:
            page.click("#export-chat")
        exported = Path(dl.value.path()).read_text()
        assert exported.startswith(f"# {DOMINO}") and f"## {FOLLOW_UP}" in exported
        shot(page, "saved-chat")
        page.click("#delete-chat")
        page.wait_for_function("!document.querySelector('#chat .pqa-cite')", timeout=10_000)
        page.locator("#saved-chats label", has_text=DOMINO).wait_for(state="detached", timeout=10_000)
        page.close()
