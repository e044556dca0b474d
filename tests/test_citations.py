"""Citation marker logic (pure text) and prompt files."""

from __future__ import annotations

import pytest

from paperqa import prompts
from paperqa.answer.citations import sanitize, sanitize_partial
from paperqa.errors import PaperQAError
from paperqa.text import cited_numbers, numbers_of, split_sentences, unsupported_numbers


def test_marker_forms_are_all_recognised() -> None:
    assert cited_numbers("a [1] b [2, 3] c [Source 4] d [1-3] e [7]") == [1, 2, 3, 4, 7]


def test_invented_markers_are_removed_and_reported() -> None:
    text, removed = sanitize("X is 53.0% [1][7]. Y [1, 9] and Z [Source 2].", {1, 2})
    assert text == "X is 53.0% [1]. Y [1] and Z [2]."
    assert removed == [7, 9]


def test_streaming_hides_half_typed_markers() -> None:
    assert sanitize_partial("abc [1] def [1", {1}) == "abc [1] def"
    assert sanitize_partial("abc [3] def", {1}) == "abc def"


def test_sentences_keep_their_markers() -> None:
    assert split_sentences("A is 53.0% on B. [1] It beats e.g. C by 2% [2]. D vs. E [1].") == [
        "A is 53.0% on B [1].",
        "It beats e.g. C by 2% [2].",
        "D vs. E [1].",
    ]


def test_an_authors_initial_before_a_citation_ends_no_sentence() -> None:
    text = "We propose M. Building on MoT (W. Liang et al., 2024), M adds sparsity. We use A. Then B. Smith et al. agree."
    assert split_sentences(text) == [
        "We propose M.",
        "Building on MoT (W. Liang et al., 2024), M adds sparsity.",
        "We use A.",  # a capital letter that ends a sentence still ends it
        "Then B. Smith et al. agree.",  # ambiguous: read as the initial of Smith
    ]
    assert split_sentences("It works. Liang et al. agree.") == ["It works.", "Liang et al. agree."]


def test_numbers_must_come_from_the_evidence() -> None:
    assert {"1.9", "53", "32"} <= numbers_of("1.9x, 53.0% F1, 32K batch [3]")
    assert "3" not in numbers_of("see [3]")
    assert unsupported_numbers("gets 54% [1]", "gets 53.0% here") == {"54"}
    assert unsupported_numbers("gets 53% [1]", "gets 53.0% here") == set()


def test_the_verifier_reads_the_number_a_name_ends_in() -> None:
    # a claim naming another model version than its source states a number the source lacks
    assert unsupported_numbers("GPT-4 reaches 80% [1]", "GPT-3.5 reaches 80%") == {"4"}
    assert unsupported_numbers("a learning rate of 1e-5 [1]", "a learning rate of 1e-4") == {"5"}


def test_prompts_load_by_name_and_validate_placeholders(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert "{sources}" in prompts.load("answer")
    out = prompts.render("answer", sources="[1] T: s", question="Q?", instructions="Be brief.")
    assert "[1] T: s" in out and "Q?" in out
    with pytest.raises(PaperQAError, match="without"):
        prompts.render("answer", sources="x")
    (tmp_path / "answer.txt").write_text("{question} only")
    monkeypatch.setattr(prompts, "prompts_dir", lambda: tmp_path)
    prompts.load.cache_clear()
    try:
        with pytest.raises(PaperQAError, match="lacks placeholders"):
            prompts.load("answer")
    finally:
        prompts.load.cache_clear()


def test_marker_numbers_keep_every_citation_and_cited_numbers_each_source_once() -> None:
    from paperqa.text import cited_numbers, marker_numbers

    text = "A [1]. B [2, 3]. C [1]. D [4-5]."
    assert marker_numbers(text) == [1, 2, 3, 1, 4, 5]
    assert cited_numbers(text) == [1, 2, 3, 4, 5]


def test_replace_markers_rewrites_each_cited_number_in_order() -> None:
    from paperqa.text import replace_markers

    text = "A [1]. B [2, 3]. C [Source 4]. D [5-6] and 【7】."
    assert replace_markers(text, lambda n: f"<{n}>") == "A <1>. B <2><3>. C <4>. D <5><6> and <7>."
    drop_nine = replace_markers("kept [2] dropped [9]", lambda n: "" if n == 9 else f"[{n}]")
    assert drop_nine == "kept [2] dropped "
