"""Questions about chosen papers in the real chat app (headless Chromium): tick papers in the
Corpus tab, "Ask about these", a comparison that cites only them; and the button under a
refusal that answers from the closest papers anyway."""

from __future__ import annotations

import pytest

from . import test_ui

pytestmark = [pytest.mark.slow, pytest.mark.browser]
server = test_ui.server  # the app on a copy of the indexed corpus (module-scoped: one per module)
browser = test_ui.browser

CHOSEN = (
    "Domino: Eliminating Communication in LLM Training",
    "MegaScale: Scaling Large Language Model Training",
    "Data-Centric and Heterogeneity-Adaptive Sequence Parallelism",
)


def _tick(page, search: str, title: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#corpus-search textarea", search)
    box = page.locator("#corpus-select label", has_text=title)
    box.wait_for(timeout=30_000)
    box.click()
    page.wait_for_function(
        "t => [...document.querySelectorAll('#corpus-select label')].some("
        "l => l.innerText.includes(t) && l.querySelector('input').checked)",
        arg=title,
        timeout=10_000,
    )


def test_a_comparison_about_ticked_papers_cites_only_them(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.get_by_role("tab", name="Corpus").click()
    for search, title in zip(("Domino", "MegaScale", "Sequence Parallelism"), CHOSEN, strict=True):
        _tick(page, search, title)
    page.click("#ask-about")
    page.wait_for_function("document.querySelector('#scope')?.innerText.includes('Scope: 3 papers')")
    assert page.locator("#clear-scope").is_visible()  # the × that clears it
    test_ui.ask(page, "Compare how these papers reduce the cost of communication in distributed LLM training")
    answer = page.locator("#chat [data-testid=bot]").last
    cited = {a.get_attribute("title") for a in answer.locator("a.pqa-cite").all()}
    assert cited, answer.inner_text()
    assert all(any(t.startswith(c) for c in CHOSEN) for t in cited), cited
    panel = page.inner_text("#sources")
    assert sum(c in panel for c in CHOSEN) >= 2 and panel.count("[") <= 3  # only the chosen papers
    test_ui.shot(page, "scoped-comparison")
    page.click("#clear-scope")
    page.wait_for_function(
        "!document.querySelector('#scope') || !document.querySelector('#scope').innerText.includes('Scope')"
    )
    page.close()


def test_the_button_under_a_refusal_answers_anyway_marked_forced(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.fill("#question textarea", "How do emperor penguins keep warm during the polar winter?")
    page.click("#ask")
    page.wait_for_selector("#force-answer", state="visible", timeout=120_000)  # a refusal cites nothing
    refusal = page.locator("#chat [data-testid=bot]").last.inner_text()
    assert "does not cover this question" in refusal and "(min_relevance)" in refusal
    assert "The most similar passage, in" in refusal and "has a similarity of" in refusal
    force = page.locator("#force-answer")
    assert force.is_visible() and force.inner_text() == "Answer from the closest papers anyway"
    n = page.locator("#chat .pqa-cite").count()
    force.click()
    page.wait_for_function(
        f"document.querySelectorAll('#chat .pqa-cite').length > {n} "
        "|| document.querySelector('#chat').innerText.includes('⚠️')",
        timeout=180_000,
    )
    forced = page.locator("#chat [data-testid=bot]").last.inner_text()
    assert forced.startswith("Forced answer:") and "closest papers anyway" in forced
    assert not force.is_visible()
    test_ui.shot(page, "forced-answer")
    page.close()


def test_ask_about_two_ticked_papers_answers_what_these_papers_report(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server)
    page.get_by_role("tab", name="Corpus").click()
    chosen = ("COAP: Memory-Efficient Training", "FRUGAL: Memory-Efficient Optimization")
    for search, title in zip(("COAP", "FRUGAL"), chosen, strict=True):
        _tick(page, search, title)
    page.click("#ask-about")
    page.wait_for_function("document.querySelector('#scope')?.innerText.includes('Scope: 2 papers')")
    tabs = [t.strip() for t in page.get_by_role("tab").all_inner_texts()]
    assert tabs == ["Chat", "Corpus"], tabs  # the chat tab is shown, and no tab is added
    assert page.get_by_role("tab", name="Chat").get_attribute("aria-selected") == "true"
    test_ui.ask(page, "What do these papers report about memory savings?")
    answer = page.locator("#chat [data-testid=bot]").last
    text = answer.inner_text()
    assert "do not cover this question" not in text, text
    cited = {a.get_attribute("title") for a in answer.locator("a.pqa-cite").all()}
    assert cited and all(any(t.startswith(c) for c in chosen) for t in cited), cited
    page.close()
