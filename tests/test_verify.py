"""`verify`: claims checked against the abstracts they cite, with a fake embedder (fast: no
index, no model), and `answers`, the check that a lead states what was asked."""

from __future__ import annotations

import pytest

from paperqa.answer.question import analyze
from paperqa.answer.verify import (
    Claim,
    Verifier,
    answers,
    echoes_question,
    is_fragment,
    lexical_support,
    only_names_a_paper,
    strip_title_prefix,
)
from paperqa.settings import AnswerSettings
from paperqa.types import Source

from .fakes import FakeEmbedder, source

DOMINO = source(
    1,
    "Domino: Eliminating Communication in LLM Training via Generic Tensor Slicing and Overlapping",
    "Tensor parallelism suffers from heavy communication overhead between GPUs. "
    "Domino hides communication behind computation by slicing tensors into independent pieces. "
    "Domino achieves up to 1.3x speedup over Megatron-LM on DGX-H100 GPUs.",
)
FREEPRM = source(
    2,
    "FreePRM: Training Process Reward Models Without Ground Truth Process Labels",
    "FreePRM trains process reward models without step-level labels. "
    "FreePRM generates pseudo step labels from the correctness of the final outcome. "
    "FreePRM reaches an average F1 score of 53.0% on ProcessBench.",
)
PRIME = source(
    3,
    "Process Reinforcement through Implicit Rewards",
    "Dense process rewards are costly to annotate. "
    "Implicit process rewards improve the SFT model by 15.1% on average across reasoning benchmarks. "
    "The approach needs only outcome labels.",
)
SOURCES = [DOMINO, FREEPRM, PRIME]


def verify(
    text: str, sources: list[Source] = SOURCES, allowed: set[int] | None = None
) -> tuple[list[Claim], list[str]]:
    return Verifier(FakeEmbedder(), AnswerSettings()).verify(text, sources, allowed)


def only_claim(text: str, sources: list[Source] = SOURCES) -> tuple[Claim, list[str]]:
    claims, notes = verify(text, sources)
    assert len(claims) == 1, claims
    return claims[0], notes


# ---- Verifier ----------------------------------------------------------------------------------


def test_a_supported_cited_claim_is_kept_with_its_citation() -> None:
    claim, notes = only_claim(
        "The authors report that Domino achieves up to 1.3x speedup over Megatron-LM [1]."
    )
    assert claim.verdict == "supported" and claim.kept
    assert claim.cited == [1]
    assert claim.text == "The authors report that Domino achieves up to 1.3x speedup over Megatron-LM."
    assert notes == []


def test_a_claim_with_a_number_not_in_the_abstract_is_dropped_naming_the_number() -> None:
    claim, notes = only_claim("Domino achieves up to 2.7x speedup over Megatron-LM [1].")
    assert claim.verdict == "dropped" and not claim.kept
    assert claim.cited == []
    assert len(notes) == 1
    assert "2.7" in notes[0] and "not in the sources" in notes[0]


def test_a_generated_link_is_not_a_claim() -> None:
    claims, notes = verify(
        "Domino: [1.3x Megatron](https://github.com/x/domino) [1]. Domino achieves up to 1.3x speedup [1]."
    )
    assert [c.text for c in claims] == ["Domino achieves up to 1.3x speedup."]
    assert any("link or release note" in n for n in notes)


def test_an_invalid_marker_is_removed_and_noted() -> None:
    claim, notes = only_claim("Domino achieves up to 1.3x speedup over Megatron-LM [9].")
    assert notes == ["removed citation markers to sources that do not exist: [9]"]
    assert "[9]" not in claim.text
    assert claim.cited == [1]  # then cited to the paper that supports it


def test_an_uncited_supported_claim_is_cited_to_the_supporting_source() -> None:
    claim, notes = only_claim(
        "Implicit process rewards improve the SFT model by 15.1% across reasoning benchmarks."
    )
    assert claim.verdict == "supported"
    assert claim.cited == [3]
    assert notes == []


def test_a_claim_citing_the_wrong_paper_is_reattributed_to_the_one_that_supports_it() -> None:
    claim, notes = only_claim(
        "Implicit process rewards improve the SFT model by 15.1% across reasoning benchmarks [1]."
    )
    assert claim.verdict == "reattributed" and claim.kept
    assert claim.cited == [3]
    assert len(notes) == 1 and notes[0].startswith("re-attributed a claim from [1] to [3]")


def test_a_claim_that_restates_another_source_more_closely_moves_to_it() -> None:
    general = source(1, "Survey", "Gradient compression reduces communication in distributed training.")
    specific = source(
        2,
        "Deep Gradient Compression",
        "Deep gradient compression reduces communication bandwidth in distributed training by 99%.",
    )
    claim, _ = only_claim(
        "Deep gradient compression reduces communication bandwidth in distributed training [1].",
        [general, specific],
    )
    assert claim.verdict == "reattributed"
    assert claim.cited == [2]


def test_a_claim_putting_one_papers_name_on_another_papers_finding_is_dropped() -> None:
    # PRIME's finding, told of FreePRM (a name only paper 2 has), citing PRIME.
    claim, notes = only_claim("FreePRM improves the SFT model by 15.1% across reasoning benchmarks [3].")
    assert claim.verdict == "dropped"
    assert claim.cited == []
    assert "it gives FreePRM a finding of [3], which does not mention FreePRM" in notes[0]


def test_the_same_finding_with_the_right_name_is_kept() -> None:
    claim, _ = only_claim(
        "Implicit process rewards improve the SFT model by 15.1% across reasoning benchmarks [3]."
    )
    assert claim.verdict == "supported" and claim.cited == [3]


def test_an_echo_of_the_question_is_dropped() -> None:
    claims, notes = verify(
        "Question: What speedup does Domino achieve over Megatron-LM? "
        "Domino achieves up to 1.3x speedup over Megatron-LM [1]."
    )
    assert [c.verdict for c in claims] == ["dropped", "supported"]
    assert notes == [
        "dropped a sentence that only restates the question: "
        "'Question: What speedup does Domino achieve over Megatron-LM?'"
    ]


def test_a_bare_title_is_dropped() -> None:
    claim, notes = only_claim(f"{DOMINO.paper.title} [1].")
    assert claim.verdict == "dropped"
    assert notes[0].startswith("dropped a sentence that only names a paper")


def test_a_name_and_its_description_without_a_verb_is_dropped() -> None:
    claim, notes = only_claim(
        "FreePRM, a method that generates pseudo step labels from the final outcome [2]."
    )
    assert claim.verdict == "dropped" and notes[0].startswith("dropped a fragment with no verb")
    # the description closed by a comma, its verb after it: a sentence
    claim, _ = only_claim("FreePRM, a reward model, generates pseudo step labels from the final outcome [2].")
    assert claim.verdict == "supported"
    assert not is_fragment("However, the method hides communication.")  # a connective, not a name
    assert not is_fragment("BERT, the GPT series and T5 are transformer models.")  # a list
    assert is_fragment("Mamba-2, a model that replaces attention with state spaces.")
    assert not is_fragment("In Domino, the authors hide communication behind computation.")


def test_a_title_prefix_is_stripped_and_the_claim_checked() -> None:
    claim, _ = only_claim(
        f"{FREEPRM.paper.title}: FreePRM trains process reward models without step-level labels [2]."
    )
    assert claim.verdict == "supported" and claim.cited == [2]
    assert claim.text == "FreePRM trains process reward models without step-level labels."


def test_a_claim_the_sources_do_not_support_is_dropped_with_its_reason() -> None:
    claim, notes = only_claim("Quantum annealing schedules accelerate protein folding simulations [2].")
    assert claim.verdict == "dropped"
    assert "not supported by the sources" in notes[0]


def test_a_claim_may_only_cite_an_allowed_source() -> None:
    text = "Implicit process rewards improve the SFT model by 15.1% across reasoning benchmarks [3]."
    assert verify(text)[0][0].kept
    claims, _ = verify(text, allowed={1, 2})
    assert claims[0].verdict == "dropped"


def test_a_claim_citing_two_supporting_papers_keeps_both() -> None:
    claims, _ = verify(
        "Process reward models are trained without step-level labels, needing only outcome labels [2][3]."
    )
    assert claims[0].verdict == "supported"
    assert claims[0].cited == [2, 3]


def test_every_sentence_becomes_a_claim_in_order() -> None:
    claims, _ = verify(
        "Domino hides communication behind computation by slicing tensors [1]. "
        "FreePRM reaches an average F1 score of 53.0% on ProcessBench [2]."
    )
    assert [(c.verdict, c.cited) for c in claims] == [("supported", [1]), ("supported", [2])]


def test_empty_text_gives_no_claims() -> None:
    assert verify("") == ([], [])


# ---- named checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "echo"),
    [
        ("Question: what does Domino do", True),
        ("Answer: Domino hides communication", True),
        ("Source 2 is about reward models", True),
        ("What speedup does Domino achieve?", True),
        ("Domino hides communication behind computation.", False),
    ],
)
def test_echoes_question(sentence: str, echo: bool) -> None:
    assert echoes_question(sentence) is echo


def test_strip_title_prefix_keeps_only_the_claim() -> None:
    titles = [DOMINO.paper.title, FREEPRM.paper.title]
    body = f"{DOMINO.paper.title}: Domino hides communication behind computation."
    assert strip_title_prefix(body, titles) == "Domino hides communication behind computation."
    assert strip_title_prefix(DOMINO.paper.title, titles) == DOMINO.paper.title  # nothing after it
    assert strip_title_prefix("Domino hides communication.", titles) == "Domino hides communication."


def test_a_title_cut_at_a_word_before_a_colon_is_stripped_like_a_whole_one() -> None:
    titles = [DOMINO.paper.title]
    body = "Domino: Eliminating Communication in LLM Training: Domino hides communication behind computation."
    assert strip_title_prefix(body, titles) == "Domino hides communication behind computation."
    # cut inside a word of the title, it is not the title
    assert (
        strip_title_prefix("Domino: Eliminating Communic: it hides.", titles)
        == "Domino: Eliminating Communic: it hides."
    )


def test_a_sentence_using_a_citation_as_its_subject_is_dropped() -> None:
    claim, _ = only_claim(
        "Domino hides communication behind computation, while [3] is focused on implicit process rewards [1]."
    )
    assert claim.verdict == "dropped" and "citation as its subject" in claim.reason
    kept, _ = only_claim("Domino hides communication behind computation by slicing tensors [1].")
    assert kept.verdict != "dropped"


def test_only_names_a_paper_is_true_for_a_title_or_part_of_one() -> None:
    titles = [DOMINO.paper.title]
    assert only_names_a_paper(DOMINO.paper.title, titles)
    assert only_names_a_paper("Generic Tensor Slicing and Overlapping", titles)
    assert not only_names_a_paper("Domino hides communication behind computation.", titles)
    # a heading in a title's case, a title the model made up, is no claim either
    assert only_names_a_paper("Lifelong Pretraining: Continuous Learning of Large Language Models.", titles)
    assert not only_names_a_paper("Lifelong Pretraining adapts language models to new corpora.", titles)
    assert not only_names_a_paper("", titles)


def test_lexical_support_is_the_share_of_claim_words_in_the_source() -> None:
    src = "Quantized optimizers reduce memory during training."
    assert lexical_support("Quantization reduces memory.", src) == 1.0  # six-letter prefixes match
    assert lexical_support("Quantization reduces memory of reward models [2].", src) == pytest.approx(3 / 4)
    assert lexical_support("Protein folding simulations.", src) == 0.0
    assert lexical_support("It is.", src) == 0.0


# ---- answers: does a lead state what was asked -------------------------------------------------

SPEEDUP = "Domino achieves up to 1.3x speedup over Megatron-LM on DGX-H100 GPUs."


def test_a_lead_without_the_quantity_does_not_answer_a_quantity_question() -> None:
    q = analyze("What speedup over Megatron-LM does Domino achieve?")
    lead = "In Domino, the authors achieve a speedup over Megatron-LM on DGX-H100 GPUs [1]."
    assert not answers(lead, q, [SPEEDUP])


def test_a_lead_stating_the_quantity_answers_a_quantity_question() -> None:
    q = analyze("What speedup over Megatron-LM does Domino achieve?")
    assert answers("Domino reaches up to 1.3x speedup over Megatron-LM [1].", q, [SPEEDUP])


def test_a_lead_must_state_every_new_quantity_when_there_are_few() -> None:
    q = analyze("How much SRAM and Flash memory does the training framework need?")
    evidence = ["The framework trains networks with only 256KB of SRAM and 1MB of Flash."]
    assert not answers("It needs 256KB of SRAM [1].", q, evidence)
    assert answers("It needs 256KB of SRAM and 1MB of Flash [1].", q, evidence)


def test_a_lead_without_the_name_does_not_answer_a_name_question() -> None:
    q = analyze("Which learning rate scheduler did MiniCPM introduce for continuous training?")
    evidence = ["MiniCPM introduces the WSD scheduler, which decays the learning rate in a final stage."]
    # Most of the evidence's words, but not the name.
    assert not answers(
        "MiniCPM introduces a scheduler which decays the learning rate in a final stage [1].", q, evidence
    )
    assert answers(
        "MiniCPM introduces the WSD scheduler, which decays the rate in a final stage [1].", q, evidence
    )


def test_a_mechanism_lead_sharing_most_of_the_evidence_words_answers() -> None:
    q = analyze("How does Domino cope with the communication overhead of tensor parallelism?")
    evidence = ["Domino hides communication behind computation by slicing tensors into independent pieces."]
    assert answers(
        "Domino hides communication behind computation, slicing tensors into pieces [1].", q, evidence
    )
    assert not answers(
        "Domino copes with the communication overhead of tensor parallelism well [1].", q, evidence
    )


def test_restating_the_question_never_answers_it() -> None:
    q = analyze("What speedup over Megatron-LM does Domino achieve?")
    assert not answers("What speedup over Megatron-LM does Domino achieve with 1.3x?", q, [SPEEDUP])


def test_a_lead_needs_the_quantities_next_to_what_was_asked_not_every_number_of_the_sentence() -> None:
    q = analyze("What average F1 score on ProcessBench does FreePRM reach?")
    evidence = [
        "FreePRM achieves an average F1 score of 53.0% on ProcessBench, outperforming "
        "fully supervised PRM trained on Math-Shepherd by +24.1%."
    ]
    assert answers("FreePRM reaches an average F1 score of 53.0% on ProcessBench [1].", q, evidence)
    assert not answers("FreePRM outperforms supervised PRMs by +24.1% [1].", q, evidence)
    both = analyze("How much SRAM and Flash memory does the framework need?")
    sram = ["The framework trains within 256KB of SRAM and 1MB of Flash."]
    assert not answers("The framework needs 256KB of SRAM [1].", both, sram)
    assert answers("It needs 256KB of SRAM and 1MB of Flash [1].", both, sram)


def test_a_negation_or_contrast_no_cited_abstract_states_is_dropped() -> None:
    claim, notes = only_claim(
        "Domino hides communication and does not require a specific dataset to train [1]."
    )
    assert claim.verdict == "dropped" and "negation" in notes[0]
    claim, notes = only_claim("Unlike Megatron-LM, Domino instead trains on one GPU [1].")
    assert claim.verdict == "dropped" and "contrast" in notes[0]


def test_a_negation_the_cited_abstract_states_stands() -> None:
    claim, _ = only_claim("FreePRM trains process reward models without step-level labels [2].")
    assert claim.verdict == "supported" and claim.cited == [2]


def test_a_title_repeated_as_the_prompt_cut_it_is_stripped_from_the_claim() -> None:
    from paperqa.answer.verify import strip_title_prefix

    titles = ["Deep Gradient Compression: Reducing the Communication Bandwidth for Distributed Training"]
    cut = "Deep Gradient Compression: Reducing the Communication …: In this paper, 99.9% of it is redundant"
    assert strip_title_prefix(cut, titles) == "In this paper, 99.9% of it is redundant"
    named = "Deep Gradient Compression: the authors find that 99.9% of it is redundant"
    assert strip_title_prefix(named, titles) == "The authors find that 99.9% of it is redundant"
    # a claim that only starts with the paper's name keeps it
    assert (
        strip_title_prefix("Deep Gradient Compression cuts 99.9% of it", titles)
        == "Deep Gradient Compression cuts 99.9% of it"
    )


def test_a_claim_that_only_says_released_or_available_is_still_a_claim() -> None:
    claims, _ = verify("Domino makes 1.3x faster training available on DGX-H100 GPUs [1].")
    assert len(claims) == 1 and claims[0].text.startswith("Domino makes")
