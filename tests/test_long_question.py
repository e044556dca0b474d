"""A question longer than the model can read is refused up front, with a message saying what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperqa.answer.llm import PROMPT_RESERVE_TOKENS, count_tokens, make_llm, question_token_limit
from paperqa.api import PaperQA
from paperqa.errors import PaperQAError
from paperqa.settings import LLMSettings, Settings

from .conftest import ScriptedLLM, run_cli

FREEPRM_Q = "What average F1 score on ProcessBench does FreePRM reach?"
LONG_Q = ("What average F1 score on ProcessBench does FreePRM reach? " * 700)[:36_000]


def no_answer_stage(*args: object, **kw: object) -> None:
    raise AssertionError("retrieval and generation must not start for a question that does not fit")


def test_a_question_too_long_for_the_model_is_refused_before_any_work(tmp_path: Path) -> None:
    llm = ScriptedLLM("never used")
    app = PaperQA(Settings(home=tmp_path), llm=llm)
    app.engine.answer_stream = no_answer_stage  # type: ignore[method-assign]
    with pytest.raises(PaperQAError) as info:
        list(app.ask_stream(LONG_Q))
    err = info.value
    limit = 2048 - 160 - PROMPT_RESERVE_TOKENS
    assert question_token_limit(app.settings.llm) == limit
    # How long the question is, the limit and why, and what to do about it.
    assert "9,000 tokens (36,000 characters)" in err.message
    assert f"at most {limit:,} fit" in err.message and "context window of 2,048" in err.message
    assert err.hint is not None and "shorten the question" in err.hint
    assert "PAPERQA_LLM__CONTEXT_WINDOW" in err.hint
    assert llm.prompts == []  # the model was never called


def test_the_limit_follows_the_context_window_setting(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, llm=LLMSettings(context_window=16_384))
    app = PaperQA(settings, llm=ScriptedLLM())
    # It fits now, so the question goes on (and meets the empty index).
    with pytest.raises(PaperQAError, match="the index is empty"):
        list(app.ask_stream(LONG_Q))


def test_servers_get_a_default_context_window_and_an_estimate() -> None:
    assert LLMSettings(base_url="http://127.0.0.1:9/v1").resolved_context_window() == 4096
    assert LLMSettings(provider="openai").resolved_context_window() == 128_000
    assert LLMSettings().resolved_context_window() == 2048
    assert count_tokens(ScriptedLLM(), "x" * 400) == 100  # no tokenizer: 4 characters a token


def test_a_follow_up_is_measured_with_the_question_it_is_joined_to(tmp_path: Path) -> None:
    app = PaperQA(Settings(home=tmp_path), llm=ScriptedLLM())
    previous = ("Which papers report on reward models " * 150)[:5499] + "?"  # 1,375 tokens: fits
    with pytest.raises(PaperQAError, match="the index is empty"):
        list(app.ask_stream(previous))
    with pytest.raises(PaperQAError, match="the question with the one it follows up on is too long"):
        list(app.ask_stream("And how does it score?", history=[previous]))


def test_a_normal_question_is_still_answered(corpus_home: Path) -> None:
    llm = ScriptedLLM("FreePRM achieves an average F1 score of 53.0% on ProcessBench [1].")
    ans = PaperQA(Settings(home=corpus_home), llm=llm).ask(FREEPRM_Q)
    assert not ans.refused and "53.0%" in ans.answer
    assert len(llm.prompts) == 1


@pytest.mark.slow
def test_the_embedded_model_counts_with_its_own_tokenizer_and_a_question_at_the_limit_runs(
    corpus_home: Path,
) -> None:
    settings = Settings(home=corpus_home)
    model = make_llm(settings.llm)
    assert count_tokens(model, "FreePRM") < len("FreePRM") / 4 + 2
    # The longest question that passes still leaves llama.cpp room for the prompt and the answer.
    limit = question_token_limit(settings.llm)
    question = FREEPRM_Q
    while count_tokens(model, question + " " + FREEPRM_Q) <= limit:
        question += " " + FREEPRM_Q
    assert limit - 20 < count_tokens(model, question) <= limit
    ans = PaperQA(settings).ask(question)
    assert not ans.refused and ans.timings["generate_s"] > 0


@pytest.mark.slow
def test_cli_prints_one_error_line_for_a_question_too_long(home_copy: Path) -> None:
    res = run_cli("ask", LONG_Q, home=home_copy)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr and res.stdout == ""
    lines = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, res.stderr
    assert "question is too long for the model" in lines[0] and "at most 1,376 fit" in lines[0]
    assert "shorten the question" in lines[0]


@pytest.mark.slow
def test_the_embedded_model_writes_no_more_than_the_style_or_the_operator_allows() -> None:
    story = "Write a long story about a fox, at least ten sentences."
    model = make_llm(LLMSettings(max_tokens=12))
    short = "".join(model.stream("You are a writer.", story, max_tokens=4))
    capped = "".join(model.stream("You are a writer.", story, max_tokens=500))
    assert 0 < count_tokens(model, short) <= 5  # a piece may merge two tokens' text
    assert count_tokens(model, short) < count_tokens(model, capped) <= 13
    # the shared llama.cpp model takes the next call's own limit, not the last one's
    again = "".join(make_llm(LLMSettings(max_tokens=40)).stream("You are a writer.", story))
    assert count_tokens(model, again) > 13
