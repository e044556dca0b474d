"""`question.analyze`: what a question asks for, read from the question alone (fast, no model)."""

from __future__ import annotations

import pytest

from paperqa.answer.question import analyze, focus_words
from paperqa.text import name_phrases, name_tokens, names_no_subject, points_back, title_case

# question, the kind of each ask (clause_kinds)
KINDS = [
    ("What speedup over Megatron-LM is reported for Domino when training Llama models?", ["quantity"]),
    ("How many new training runs were added to the Pythia model suite?", ["quantity"]),
    ("By how much does FlashAttention-2 improve throughput on A100 GPUs?", ["quantity"]),
    ("Up to what batch size was ResNet-50 trained without loss in accuracy?", ["quantity"]),
    # "rate" is a quantity noun, but the head of the phrase is "scheduler": a name.
    ("Which learning rate scheduler did MiniCPM introduce for continuous training?", ["name"]),
    ("Which metric is defined to monitor the stability of 2:4 sparse training?", ["name"]),
    ("What is the name of the optimizer proposed for memory-efficient training?", ["name"]),
    ("Where must layer normalization be placed so that a Transformer trains without warm-up?", ["name"]),
    (
        "Which method lets LLaMA pretraining run on a single consumer GPU, and up to what model size "
        "does it scale?",
        ["name", "quantity"],
    ),
    (
        "How many parameters does the finance model have, and how many tokens are in its dataset?",
        ["quantity", "quantity"],
    ),
    ("What is GaLore?", ["definition"]),
    ("What does RLHF stand for?", ["definition"]),
    ("Does SmolLM2 outperform Qwen2.5-1.5B on reasoning benchmarks?", ["yesno"]),
    ("Is DPO better than PPO on summarization?", ["yesno"]),
    ("How does Domino cope with the communication overhead of tensor parallelism?", ["mechanism"]),
    ("Why does post-LN training diverge without warm-up?", ["mechanism"]),
    ("How do FreePRM and PRIME each avoid the need for expensive step labels?", ["mechanism"]),
    ("Which papers study parameter-efficient fine-tuning?", ["list"]),
    ("What domain corpus does each of the adapted models pretrain on?", ["name"]),  # a corpus is named
    # "for each model of the suite" is one ask, not two.
    ("How many training tokens were used for each model of the suite?", ["quantity"]),
]


@pytest.mark.parametrize(("question", "clause_kinds"), KINDS)
def test_each_ask_gets_the_kind_of_answer_it_wants(question: str, clause_kinds: list[str]) -> None:
    q = analyze(question)
    assert q.clause_kinds == clause_kinds
    assert len(q.clauses) == len(clause_kinds)
    assert q.kinds == list(dict.fromkeys(clause_kinds))
    assert q.kind == clause_kinds[0]


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        ("What speedup over Megatron-LM is reported for Domino?", "speedup"),
        (
            "Which learning rate scheduler did MiniCPM introduce for continuous training?",
            "learning rate scheduler",
        ),
        ("What average F1 score on ProcessBench does the reward model reach?", "average F1 score"),
        ("How many training tokens were used for each model of the suite?", "training tokens"),
        # what a "kind of" asks for is its noun; "each" names no term a paper defines
        ("What kind of extra pretraining does each one recommend?", "extra pretraining"),
        ("Which type of optimizer does it use?", "optimizer"),
        ("What does each do with the low-rank matrices learned for earlier tasks?", ""),
    ],
)
def test_focus_is_the_noun_phrase_asked_about(question: str, focus: str) -> None:
    assert analyze(question).focus == focus


def test_a_named_condition_of_the_question_is_a_constraint() -> None:
    q = analyze("What speedup over Megatron-LM is reported by tensor slicing on DGX-H100 GPUs?")
    assert "Megatron-LM" in q.constraints
    assert "DGX-H100 GPUs" in q.constraints


def test_a_condition_without_a_name_is_not_a_constraint() -> None:
    q = analyze("How many training tokens were used for each model of the suite?")
    assert q.constraints == []


def test_rate_inside_a_name_question_does_not_make_it_a_quantity_question() -> None:
    q = analyze("Which learning rate scheduler did MiniCPM introduce to support continuous training?")
    assert q.wants("name")
    assert not q.wants("quantity")


def test_a_quantity_inside_what_a_how_question_asks_about_does_not_make_it_a_quantity_question() -> None:
    q = analyze("How does the reward relate to how far the policy has drifted from its initial state?")
    assert q.wants("mechanism") and not q.wants("quantity")
    # the quantity is the ask itself, or in a sentence of its own after a "why"
    assert analyze("By how much does the reward grow as the policy drifts?").wants("quantity")
    assert analyze("One paper explains why a subspace suffices. How many parameters did it need?").wants(
        "quantity"
    )


def test_the_focus_of_a_passive_quantity_question_is_its_subject() -> None:
    assert analyze("By how much was the pretraining data grown for the new model family?").focus == (
        "pretraining data"
    )
    assert analyze("How much has the loss decreased after tuning?").focus == "loss"  # not its participle
    # an active one asks the amount of its change: the change is the focus, not the subject
    assert analyze("How much does the new objective cut the training time?").focus == "cut"
    assert analyze("How much GPU memory can be spared?").focus == "GPU memory"


def test_two_asks_are_split_into_two_clauses_with_their_own_kinds() -> None:
    q = analyze(
        "Which method trains high-rank networks through low-rank updates, and up to what model size "
        "was it used for transformer pre-training?"
    )
    assert q.clauses == [
        "Which method trains high-rank networks through low-rank updates",
        "up to what model size was it used for transformer pre-training?",
    ]
    assert q.kinds == ["name", "quantity"]
    assert q.wants("quantity") and q.wants("name")


@pytest.mark.parametrize(
    "question",
    [
        "What was the peak learning rate for each model of the Pythia suite and its tokenizer?",
        "How many training tokens were used for each model of the suite?",
        "Compare the optimizers used by GaLore and LoRA for each model size.",
    ],
)
def test_and_or_each_without_a_new_question_word_is_one_ask(question: str) -> None:
    assert len(analyze(question).clauses) == 1


@pytest.mark.parametrize(
    ("question", "defines"),
    [
        ("What is GaLore?", "GaLore"),
        ("What is Iterative Data Smoothing in reward model training for RLHF?", "Iterative Data Smoothing"),
        ("What are LoRA adapters?", "LoRA adapters"),
        ("What does RLHF stand for?", "RLHF"),
    ],
)
def test_what_is_x_defines_x_without_its_trailing_context(question: str, defines: str) -> None:
    q = analyze(question)
    assert q.kind == "definition"
    assert q.defines == defines
    assert q.focus == defines


@pytest.mark.parametrize(
    "question",
    [
        "What is the name of the optimizer proposed for memory-efficient training?",
        "What speedup over Megatron-LM is reported for Domino?",
        "How does Domino cope with the communication overhead of tensor parallelism?",
    ],
)
def test_only_what_is_x_questions_define_something(question: str) -> None:
    assert analyze(question).defines is None


def test_whitespace_is_normalised_in_the_analysed_text() -> None:
    q = analyze("  What is\n GaLore?  ")
    assert q.text == "What is GaLore?"
    assert q.defines == "GaLore"


def test_names_of_the_question_are_collected() -> None:
    q = analyze("Does SmolLM2 outperform Qwen2.5-1.5B on reasoning benchmarks?")
    assert q.names == ["SmolLM2", "Qwen2.5-1.5B"]


@pytest.mark.parametrize(
    "question",
    [
        "What is the speedup of Domino over Megatron-LM?",
        "What was the peak learning rate of the Pythia models?",
        "What is the batch size used to train ResNet-50?",
        "Which period of Wikidata does the benchmark cover?",  # dates are numbers
        "In which year was the corpus collected?",
    ],
)
def test_what_is_the_quantity_noun_asks_for_a_quantity(question: str) -> None:
    assert analyze(question).kind == "quantity"


def test_the_name_of_a_thing_asks_for_a_name_with_that_thing_as_focus() -> None:
    q = analyze("What is the name of the dataset that paper introduces?")
    assert q.kind == "name" and q.focus == "dataset"


def test_an_empty_question_is_one_ask_of_no_particular_kind() -> None:
    q = analyze("")
    assert q.clauses == [""] and q.kinds == ["other"]


@pytest.mark.parametrize(
    "question",
    ["Which papers study parameter-efficient fine-tuning?", "Is there any work on federated reranking?"],
)
def test_a_listing_question_is_one_rule_for_its_kind_and_its_style(question: str) -> None:
    from paperqa.answer.styles import classify

    assert analyze(question).kinds == ["list"]
    assert classify(question) == "listing"


def test_a_why_question_is_read_as_asking_for_a_cause() -> None:
    assert analyze("Why do the authors consider earlier comparisons unfair?").asks_why
    assert not analyze("How does FRL protect federated learning?").asks_why


@pytest.mark.parametrize(
    "question",
    [
        "What does this paper report about memory?",
        "What do these papers report about memory savings?",
        "Which GPUs did the authors use?",
        "How does it scale?",
        "Which datasets do they train on?",
    ],
)
def test_a_question_that_points_back_at_papers_in_view(question: str) -> None:
    assert points_back(question)


@pytest.mark.parametrize(
    "question",
    ["How does GaLore reduce memory?", "What is the throughput of FlashAttention-2 on A100 GPUs?"],
)
def test_a_question_with_its_own_subject_does_not_point_back(question: str) -> None:
    assert not points_back(question) and not names_no_subject(question)


def test_a_question_any_paper_could_be_asked_names_no_subject() -> None:
    assert names_no_subject("What are the main results?")
    assert names_no_subject("Which datasets are used?")
    assert not names_no_subject("Which datasets are used for speech recognition?")


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Which paper removes the re-encoding of a shared prompt?", True),
        ("Is there a paper arguing that one network path is enough?", True),
        ("Which recent study proposes a curriculum?", True),
        ("Which papers study learning-rate warm-up?", False),
        ("What is the paper about?", False),
        ("Which method does the paper propose?", False),
    ],
)
def test_a_question_asking_for_one_paper_is_told_apart(question: str, asks: bool) -> None:
    assert analyze(question).asks_paper is asks


def test_a_name_is_looked_for_as_a_paper_may_write_it() -> None:
    from paperqa.answer.coverage import _forms

    assert {"hidden Markov model", "HMM"} <= set(_forms("hidden-Markov-model"))
    assert _forms("LLaMA-style")[:2] == ["LLaMA-style", "LLaMA"]
    assert _forms("FreePRM") == ["FreePRM"]


def test_a_size_is_not_a_name_however_it_is_written() -> None:
    question = (
        "Does the 3-billion-parameter model on 12-million-pair data beat a 7B one at 4-bit, as GPT-3 did?"
    )
    assert name_tokens(question) == ["GPT-3"]


def test_a_multi_word_name_is_read_as_one_phrase() -> None:
    assert name_phrases("What success rate does Tree of Thoughts reach on the Game of 24?") == [
        "Tree of Thoughts"
    ]
    assert name_phrases("Which paper uses Sparse Mixer Routing for experts?") == ["Sparse Mixer Routing"]
    assert name_phrases("What is GaLore?") == []


def test_a_question_in_title_case_is_told_apart() -> None:
    assert title_case("How Does GaLore Reduce Memory?")
    assert not title_case("How does the Segment Anything Model count its masks?")


@pytest.mark.parametrize(
    "question",
    [
        "I am reading about LoRA. Please explain how it reduces memory.",
        "How does speech pre-training work in BLSP? Briefly.",
        "What did Vaswani et al. propose about attention?",
    ],
)
def test_a_word_capitalised_for_where_it_stands_is_not_a_name(question: str) -> None:
    strict = name_tokens(question)
    assert [w for w in name_tokens(question, loose=True) if w not in strict] == []


def test_an_expletive_it_does_not_point_back() -> None:
    assert not points_back("Is it possible to speed up decoding with several heads?")
    assert points_back("How big is it?")


def test_a_figure_beside_its_bar_never_looks_equal_to_it() -> None:
    from paperqa.text import against

    assert against(0.35, 0.42) == "0.35"
    assert against(0.4195, 0.42) == "0.419"  # "0.42, below the threshold of 0.42" would read wrong
    assert against(0.42, 0.42) == "0.42"
    assert against(0.41999, 0.42) == "0.41999"


def test_compare_the_savings_asks_for_amounts_as_what_savings_does() -> None:
    q = analyze("Compare the pre-training FLOPs savings over a dense baseline that MoMa and Mamba report.")
    assert q.kinds[0] == "quantity"
    assert analyze("Compare the FP4 training framework with the FP8 study.").kinds[0] != "quantity"


def test_units_of_compute_are_not_names() -> None:
    assert name_tokens("pre-training FLOPs savings on TPUs that MoMa reports") == ["MoMa"]


def test_a_size_written_in_words_reads_as_the_same_size_in_digits() -> None:
    from paperqa.text import numbers_of, spelled_numbers

    assert spelled_numbers("a model of about one and a half billion parameters") == numbers_of("a 1.5B model")
    assert spelled_numbers("a roughly two-and-a-half-billion-parameter base model") == {"2.5"}
    assert spelled_numbers("seven billion parameters") == numbers_of("7 billion parameters")
    assert "20000" in spelled_numbers("twenty thousand GPUs")
    assert spelled_numbers("two papers report one method") == set()  # no size without a scale word
    assert "5" not in spelled_numbers("twenty-five million tokens")  # no part of a compound number
    assert spelled_numbers("one hundred million tokens") == {"100"}
    # a compound number is read whole: "three hundred thousand" is 300K, not 100K
    assert spelled_numbers("three hundred thousand examples") == {"300", "300000"}
    assert spelled_numbers("three hundred and fifty million parameters") == {"350"}
    assert spelled_numbers("seventy billion parameters") == {"70"}
    assert spelled_numbers("half a million GPU hours") == {"0.5"}
    assert spelled_numbers("a hundred million tokens") == {"100"}
    assert spelled_numbers("a million tokens") == {"1"}
    # two numbers joined by "and" are two numbers: the one before the scale word is the size
    assert spelled_numbers("between two and three billion parameters") == {"3"}


def test_a_sentence_restating_the_questions_size_in_digits_states_no_new_figure() -> None:
    from paperqa.answer.evidence import answer_parts

    numbers, _ = answer_parts(
        "We pretrain 1.5B models that match it with 33% less data.",
        "How much less data does a model of one and a half billion parameters need?",
    )
    assert numbers == {"33"}


def test_an_active_amount_question_asks_the_amount_of_its_change() -> None:
    q = analyze("By how much does the schedule speed up a popular two-pathway video network?")
    assert q.focus == "speed up" and q.wants("quantity")
    # the words an abstract states the amount with: "4.5x faster", "a 3x speedup"
    assert {"faster", "speedup"} <= set(focus_words(q.focus))
    assert analyze("By how much did its solution improve average Hits@10 over baselines?").focus == "improve"
    assert analyze("By how much can it compress language models?").focus == "compress"
    # a change is no thing a comparison's table row is about
    assert analyze("By how much do GaLore and SLTrain each reduce memory?").noun_focus == ""
    assert analyze("What speedup does it report?").noun_focus == "speedup"
    # no change verb: nothing is made up
    assert analyze("How much does X cost to train?").focus == ""


def test_how_large_a_thing_asks_the_size_of_that_thing() -> None:
    assert analyze("On how small a cluster can it train the largest GPT-3?").focus == "cluster"
    assert analyze("How large a batch did they use?").focus == "batch"
    assert analyze("How large an improvement did it get?").focus == "improvement"


def test_an_indirect_question_inside_the_subject_is_no_second_ask() -> None:
    q = analyze(
        "By how much does changing how many frames per video and how big each picture is speed up training?"
    )
    assert len(q.clauses) == 1 and q.focus == "speed up"
    assert len(analyze("Which method does it use, and how many tokens did it see?").clauses) == 2
    # a direct second question keeps its auxiliary: it is a second ask
    assert len(analyze("Which optimizer does it use, and how does the schedule change?").clauses) == 2
    assert len(analyze("Which optimizer does it use, and how did its accuracy change?").clauses) == 2


def test_a_change_is_read_only_where_it_is_the_verb() -> None:
    # "at lower precision" is no change asked about; inflected verbs read as their base
    assert analyze("How much does the model cost to train at lower precision?").focus == ""
    assert analyze("By how much would pruning have reduced the cost?").focus == "reduce"
    assert analyze("By how much does X reduce, on average, the memory?").focus == "reduce"
    # a noun focus is never widened to a change's words, and keeps its table label
    assert focus_words("training speed") == ["training", "speed"]
    assert analyze("What lower bound do X and Y each prove?").noun_focus == "lower bound"
