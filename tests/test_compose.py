"""`compose`: the answer text built from evidence (pure text: no model, no index)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from paperqa.answer.compose import (
    attributed,
    comparison_lead,
    comparison_table,
    extractive_lead,
    how_it_works,
    short_name,
    side_label,
    third_person,
)
from paperqa.answer.evidence import Scored
from paperqa.answer.summarize import (
    held_threads,
    key_phrases,
    on_topic,
    summary_lead,
    summary_papers,
    theme_labels,
)
from paperqa.text import drop_leading_link, prose_faults, split_sentences
from paperqa.types import Paper, Source

from .fakes import paper, source

DOMINO_TITLE = "Domino: Eliminating Communication in LLM Training via Generic Tensor Slicing and Overlapping"
DOMINO = paper(DOMINO_TITLE, "Domino hides communication behind computation.")
NO_COLON = paper("Scaling Laws for Neural Language Models", "Loss scales as a power law.")


def scored(src: Source, text: str, pos: int = 0) -> Scored:
    return Scored(src, pos, text)


# ---- third person, names, attribution ----------------------------------------------------------


def test_third_person_tells_the_first_person_as_the_authors() -> None:
    assert third_person("We propose X and our method beats theirs") == (
        "The authors propose X and their method beats theirs"
    )


def test_third_person_names_the_authors_once_then_says_they() -> None:
    assert third_person("We show that we can induce 75% sparsity, which we call SPDF.") == (
        "The authors show that they can induce 75% sparsity, which they call SPDF."
    )
    assert third_person("We show it. We also find more.") == "The authors show it. They also find more."


def test_third_person_starts_a_sentence_with_a_capital_even_where_the_abstract_did_not() -> None:
    assert third_person("To study it, we measured the loss. we observed a drop.") == (
        "To study it, the authors measured the loss. They observed a drop."
    )
    assert third_person("Tricks, e.g. we clip the loss.") == "Tricks, e.g. the authors clip the loss."


def test_third_person_changes_whole_words_only() -> None:
    assert (
        third_person("Our weights help us; the gain is ours.")
        == "The authors' weights help them; the gain is theirs."
    )
    assert third_person("Westward, a user tours Ourense.") == "Westward, a user tours Ourense."


def test_short_name_is_the_head_of_a_title_before_its_colon() -> None:
    assert short_name(DOMINO) == "Domino"
    assert short_name(NO_COLON) is None


def test_a_long_head_is_not_a_short_name() -> None:
    assert short_name(paper("On the Many Ways Large Models Are Trained: A Survey", "x")) is None


def test_attributed_names_the_title_after_the_short_name_when_the_sentence_uses_it() -> None:
    out = attributed("Domino hides communication behind computation.", DOMINO)
    assert out.startswith("Domino (“Eliminating Communication in LLM Training")
    assert out.endswith(") hides communication behind computation")
    assert out.count("Domino") == 1


def test_attributed_prefixes_in_paper_when_the_sentence_does_not_name_it() -> None:
    out = attributed("We propose a generic tensor slicing scheme.", DOMINO)
    assert out.startswith("In Domino (“Eliminating Communication")
    assert out.endswith("”), the authors propose a generic tensor slicing scheme")


def test_attributed_uses_the_quoted_title_without_a_short_name_and_keeps_an_acronyms_case() -> None:
    assert attributed("GPU clusters train the models.", NO_COLON) == (
        "In “Scaling Laws for Neural Language Models”, GPU clusters train the models"
    )


def test_extractive_lead_ends_with_the_sources_marker() -> None:
    src = Source(n=3, paper=DOMINO, score=1.0)
    lead = extractive_lead(
        [scored(src, "We slice tensors.", 0), scored(src, "Our method is 1.3x faster.", 2)]
    )
    assert lead.endswith("[3].")
    assert lead.count("[3]") == 2  # every sentence cited
    assert "In Domino (“" in lead and "Their method is 1.3x faster [3]." in lead
    assert extractive_lead([]) == ""


# ---- comparisons -------------------------------------------------------------------------------


A = source(
    1,
    "LoRA-X: Low-Rank Training",
    # One sentence matches every generic aspect; each aspect also has a sentence of its own.
    "However, training is costly, so we propose LoRA-X, which reduces memory by 65% on LLaMA. "
    "Full fine-tuning remains expensive for large models. "
    "We introduce low-rank adapters with a shared basis. "
    "Experiments on the GLUE benchmark cover eight tasks. "
    "LoRA-X outperforms full fine-tuning by 2.1 points.",
)
B = source(
    2,
    "Grass: Structured Sparse Gradients",
    "However, optimizer memory limits training, and we propose Grass to cut it by 40% on LLaMA.",
)


def table_columns(table: str) -> tuple[list[str], list[list[str]]]:
    """Row labels and, per paper, the cells of each row (header and rule left out)."""
    rows = [[c.strip() for c in r.strip().strip("|").split(" | ")] for r in table.splitlines()[2:]]
    labels = [r[0].strip("* ") for r in rows]
    return labels, [[r[i + 1] for r in rows] for i in range(len(rows[0]) - 1)]


def test_comparison_table_starts_with_the_questions_aspect() -> None:
    best = {1: scored(A, "LoRA-X outperforms full fine-tuning by 2.1 points.", 4)}
    table = comparison_table([A, B], best, "how much memory did each save")
    labels, columns = table_columns(table)
    # neither abstract shows its method at work, and both results are shown above: a row with no
    # sentence in any column is left out
    assert labels == ["How much memory did each save", "Problem", "Approach", "Data / setting"]
    assert columns[0][0] == "LoRA-X outperforms full fine-tuning by 2.1 points. [1]"
    assert columns[1][0] == "— (not stated in the abstract)"  # no best sentence for B
    assert table.splitlines()[0] == "| Aspect | [1] LoRA-X | [2] Grass |"


def test_how_it_works_is_the_method_at_work_after_the_paper_names_it() -> None:
    abstract = (
        "Pseudo-labels are noisy. "  # background: before the paper speaks of its own work
        "Existing methods use a momentum teacher for the labels. "
        "We propose FST, a future-self-training framework. "  # names the method
        "Concretely, at each step we first virtually optimize the student with its future state. "
        "However, this doubles the cost of every training step. "  # a problem
        "Experiments on Cityscapes show gains of 2.1 mIoU. "  # a result
        "Our analysis reveals that the student learns faster this way. "  # a finding
        "The code is available at https://github.com/x/fst for everyone to use. "  # a release note
        "FST caches the student's gradients without applying them to its weights. "  # the method acts
        "Pseudo-labels of the future student are then used for training the present one."  # by "used"
    )
    assert how_it_works(paper("FST: Learning from Future", abstract)) == [
        "Concretely, at each step we first virtually optimize the student with its future state.",
        "FST caches the student's gradients without applying them to its weights.",
        "Pseudo-labels of the future student are then used for training the present one.",
    ]
    # an abstract that never speaks of its own work has no sentence for the row
    assert how_it_works(paper("Noise", "Pseudo-labels are noisy. Teachers help students a lot here.")) == []


def test_comparison_table_says_how_each_method_works_below_its_approach() -> None:
    c = source(
        3,
        "FST: Learning from Future",
        "Pseudo-labels are noisy. We propose FST, a future-self-training framework. "
        "FST caches the student's gradients without applying them to its weights. Experiments show gains of 2.1 mIoU.",
    )
    table = comparison_table([c, B], {}, "")
    labels, columns = table_columns(table)
    row = labels.index("How it works")
    assert labels[row - 1] == "Approach"
    assert columns[0][row - 1] == "We propose FST, a future-self-training framework. [3]"
    assert columns[0][row] == "FST caches the student's gradients without applying them to its weights. [3]"
    assert columns[1][row] == "— (not stated in the abstract)"  # B's one sentence is its claim


def test_comparison_table_never_repeats_a_sentence_in_one_column() -> None:
    best = {
        1: scored(
            A, "However, training is costly, so we propose LoRA-X, which reduces memory by 65% on LLaMA."
        ),
        2: scored(B, B.paper.abstract),
    }
    labels, columns = table_columns(comparison_table([A, B], best, ""))
    for cells in columns:
        stated = [c for c in cells if not c.startswith("—")]
        assert len(stated) == len(set(stated)), cells
    # A's every row is filled from its other sentences (none of them shows its method at work, and
    # the row is left out); B's one sentence is used once.
    assert "How it works" not in labels
    assert not [label for label, c in zip(labels, columns[0], strict=True) if c.startswith("—")]
    assert sum(not c.startswith("—") for c in columns[1]) == 1


def test_comparison_table_rows_pick_the_sentence_of_their_kind_the_questions_ranking_puts_first() -> None:
    c = source(
        3,
        "SkillRank: Training on Skills",
        "Data selection matters for language models. Skill orders are poorly understood. "
        "We propose SkillRank, a skills framework. "
        "SkillRank first samples the training data uniformly over all sources. "
        "SkillRank then orders the skill sets by how much each one helps the next. "
        "SkillRank improves accuracy by 2 points. "
        "SkillRank reduces the loss on a target skill by 13.6%.",
    )
    ranked = [scored(c, s, i) for i, s in enumerate(split_sentences(c.paper.abstract))]

    def cells(more: dict[int, list[Scored]] | None) -> dict[str, str]:
        labels, columns = table_columns(comparison_table([c], {3: ranked[2]}, "", more))
        return dict(zip(labels, columns[0], strict=True))

    # the question's ranking of the paper's other sentences, best first (the first two join the
    # best in the answer row)
    by_question = cells({3: [ranked[0], ranked[1], ranked[4], ranked[6], ranked[3], ranked[5]]})
    assert by_question["Answer to the question"] == (
        "Data selection matters for language models. Skill orders are poorly understood. "
        "We propose SkillRank, a skills framework. [3]"
    )
    # each row takes the sentence of its kind that the ranking puts first
    assert by_question["How it works"] == (
        "SkillRank then orders the skill sets by how much each one helps the next. [3]"
    )
    assert by_question["Reported results"] == "SkillRank reduces the loss on a target skill by 13.6%. [3]"
    # without a ranking, the abstract's first of each kind
    in_order = cells(None)
    assert (
        in_order["How it works"]
        == "SkillRank first samples the training data uniformly over all sources. [3]"
    )
    assert in_order["Reported results"] == "SkillRank improves accuracy by 2 points. [3]"


def test_the_papers_own_result_is_never_its_problem() -> None:
    c = source(
        5,
        "STAT: Skill-Targeted Training",
        "Fine-tuning data is picked uniformly. We propose STAT, which reweights data by "
        "missing skills. Our methods yield improvements of up to 7.5% on MATH, whereas SFT gives only limited gains.",
    )
    labels, columns = table_columns(comparison_table([c], {}, ""))
    assert "7.5%" in columns[0][labels.index("Reported results")]
    assert "7.5%" not in dict(zip(labels, columns[0], strict=True)).get("Problem", "")


def test_the_answer_row_shows_the_sides_runners_up_while_the_cell_stays_short() -> None:
    from paperqa.answer.compose import ANSWER_CELL_CHARS

    def long(what: str) -> str:
        return f"SkillRank {what} " + "by how much each skill helps the next one " * 8 + "."

    c = source(
        4,
        "SkillRank: Training on Skills",
        f"We propose SkillRank. SkillRank samples data by skill. SkillRank finds ordered skill sets. "
        f"{long('orders skills')} {long('weights sources')} {long('prunes data')}",
    )
    ranked = [scored(c, s, i) for i, s in enumerate(split_sentences(c.paper.abstract))]

    def answer(best: Scored, more: list[Scored]) -> str:
        labels, columns = table_columns(comparison_table([c], {4: best}, "", {4: more}))
        return dict(zip(labels, columns[0], strict=True))["Answer to the question"]

    shown = answer(ranked[0], ranked[1:])
    assert "samples data by skill" in shown and "ordered skill sets" in shown  # second and third
    assert "orders skills" not in shown  # never a fourth
    # a runner-up the column already shows (half of a joined pick) is passed over, not the end
    joined = scored(c, f"{ranked[0].text} {ranked[1].text}", 0)
    shown = answer(joined, ranked[1:])
    assert "ordered skill sets" in shown and "orders skills" in shown
    # long sentences: the third would make the cell too long to read
    shown = answer(ranked[3], [ranked[4], ranked[5], ranked[1]])
    assert "orders skills" in shown and "weights sources" in shown and "prunes data" not in shown
    assert len(shown) <= ANSWER_CELL_CHARS


def test_a_row_whose_sentence_the_column_already_shows_says_so_not_that_the_abstract_lacks_it() -> None:
    c = source(
        3,
        "SLTrain: Sparse plus Low-Rank",
        "Pretraining needs memory. We propose SLTrain, a sum of low-rank and sparse weights. "
        "SLTrain learns the low-rank part by factorization and fixes the sparse support at random.",
    )
    intro, how = split_sentences(c.paper.abstract)[1:]
    joined = scored(c, f"{intro} {how}", 1)  # a side's answer that joins how its method works
    other = source(
        4,
        "FST: Learning from Future",
        "Pretraining is slow. We propose FST, a framework. "
        "Concretely, at each step we first virtually optimize the student. "
        "Experiments on the GLUE benchmark cover eight tasks.",
    )
    labels, columns = table_columns(comparison_table([c, other], {3: joined}, ""))
    cells = dict(zip(labels, columns[0], strict=True))
    assert cells["Approach"] == cells["How it works"] == "— (stated in another row)"
    assert cells["Data / setting"] == "— (not stated in the abstract)"


def test_comparison_table_uses_the_generic_label_without_an_aspect() -> None:
    labels, _ = table_columns(comparison_table([A], {}, ""))
    assert labels[0] == "Answer to the question"


def test_comparison_lead_states_each_sides_answer_as_a_sentence_about_it_by_name() -> None:
    lead = comparison_lead(
        [scored(A, "To this end, we reach a batch of 32K."), scored(B, "Grass reaches a batch of 8K.")],
        ["LoRA-X", "Grass"],
    )
    # one sentence per side, third person, no dangling connective, each cited
    assert lead == "In LoRA-X, the authors reach a batch of 32K [1]. Grass reaches a batch of 8K [2]."
    assert prose_faults(lead) == []


def test_a_sentence_about_their_own_named_method_is_about_the_method() -> None:
    lead = comparison_lead([scored(B, "Our 8-bit Grass further reduces memory by 40%.")], ["Grass"])
    assert lead == "The 8-bit Grass further reduces memory by 40% [2]."
    # "their approach" names nothing: the side is named first
    lead = comparison_lead([scored(B, "Our approach reduces memory by 40%.")], ["Grass"])
    assert lead == "In Grass, the authors' approach reduces memory by 40% [2]."
    assert attributed("Our 8-bit Grass cuts memory.", B.paper).startswith("The 8-bit Grass (“Structured")


def test_comparison_lead_keeps_the_case_of_a_paper_name_opening_a_clause() -> None:
    domino = Source(n=1, paper=DOMINO, score=1.0)
    lead = comparison_lead([scored(domino, "Domino hides communication behind computation.")], ["Domino"])
    assert lead == "Domino hides communication behind computation [1]."


def test_a_side_named_by_another_of_its_names_is_not_introduced_again() -> None:
    # a title that spells the name otherwise ("ChartAssisstant"): the question's spelling names it too
    sentence = scored(A, "ChartAssistant leverages ChartSFT, a dataset of chart tasks.")
    assert comparison_lead([sentence], ["ChartAssisstant"], [["ChartAssistant"]]) == (
        "ChartAssistant leverages ChartSFT, a dataset of chart tasks [1]."
    )
    assert comparison_lead([sentence], ["ChartAssisstant"]).startswith("In ChartAssisstant, ChartAssistant")


def test_comparison_lead_names_a_side_that_opens_on_a_pronoun() -> None:
    lead = comparison_lead([scored(A, "Our experiments show LoRA-X is 2x faster.")], ["LoRA-X"])
    assert lead.startswith("In LoRA-X, the authors' experiments show")


def test_side_label_is_the_short_name_else_the_questions_name_else_the_title() -> None:
    assert side_label(A.paper) == "LoRA-X"
    untitled = paper("Bridging Supervised Learning and Reinforcement Learning", "x")
    assert side_label(untitled, "NFT") == "NFT"
    assert side_label(untitled) == "“Bridging Supervised Learning and Reinforcement Learning”"


def test_attributed_keeps_the_case_of_a_name_opening_the_sentence() -> None:
    adam = paper("On the Convergence of Adam and Beyond", "Adam fails to converge on a convex problem.")
    out = attributed("Adam fails to converge on a convex problem.", adam)
    assert out == "In “On the Convergence of Adam and Beyond”, Adam fails to converge on a convex problem"


# ---- summaries ---------------------------------------------------------------------------------


STOPS = {"the", "of", "for", "and", "to", "we", "our", "a", "with", "propose", "models"}


def test_key_phrases_are_multi_word_runs_without_stop_words() -> None:
    phrases = key_phrases(
        "We propose low-rank gradient projection to reduce the communication overhead of large "
        "language models, memory savings, gradient projection."
    )
    assert "low-rank gradient projection" in phrases
    assert "communication overhead" in phrases
    assert all(len(p.split()) >= 2 for p in phrases)
    assert not any(w in STOPS for p in phrases for w in p.split())
    assert "savings gradient" not in phrases  # punctuation ends a run
    assert "overhead large" not in phrases


def test_theme_labels_name_each_group_by_what_its_titles_share_and_others_lack() -> None:
    compression = [
        source(1, "Deep Gradient Compression", "Gradient compression cuts communication bandwidth."),
        source(2, "Sparse Gradient Compression", "Top-k gradient compression sends few values."),
    ]
    warmup = [
        source(3, "On Warm-up", "Learning rate warmup stabilises adaptive optimizers."),
        source(4, "RAdam", "Learning rate warmup reduces variance of adaptive optimizers."),
    ]
    lone = [source(5, "Domino: Tensor Slicing", "Domino slices tensors.")]
    # warm-up papers share a phrase only their abstracts use; a lone paper shares nothing
    assert theme_labels([compression, warmup, lone]) == ["gradient compression", None, None]


def test_a_thread_is_said_only_of_the_papers_that_hold_its_phrase() -> None:
    speech = [
        source(1, "The USYD-JD Speech Translation System for IWSLT", "Our speech translation system …"),
        source(
            2, "The University of Helsinki submissions to the WMT19 news task", "We trained transformers."
        ),
        source(3, "Efficient yet Competitive Speech Translation: FBK@IWSLT2022", "Speech translation …"),
    ]
    (label,) = theme_labels([speech])
    assert label == "speech translation"
    groups, labels = held_threads([speech], [label])
    assert [[s.n for s in g] for g in groups] == [[1, 3], [2]]
    assert labels == ["speech translation", None]
    lead = summary_lead("translation quality", groups, labels)
    thread, alone = lead.split("work on speech translation")
    assert "[1]" in thread and "[3]" in thread and "[2]" not in thread
    assert "[2] reports its own findings" in alone
    # a group without a thread stays as it is
    assert held_threads([speech], [None]) == ([speech], [None])


def test_a_theme_that_only_repeats_a_hyphenated_topic_names_nothing() -> None:
    tuning = [
        source(1, "Instruction Tuning Data Selection", "We select instruction tuning data by quality."),
        source(2, "Pruning Instruction Tuning Data", "We prune instruction tuning data by diversity."),
    ]
    assert theme_labels([tuning], topic="picking subsets of instruction-tuning data") == [None]
    assert theme_labels([tuning], topic="picking subsets of training data") == ["instruction tuning data"]


def test_a_theme_that_adds_only_a_generic_head_noun_to_the_topic_names_nothing() -> None:
    robust = [
        source(1, "FRL: Federated Rank Learning", "Federated learning with rankings resists poisoning."),
        source(
            2, "Bristle: Decentralized Federated Learning", "Federated learning among peers resists attacks."
        ),
    ]
    assert theme_labels([robust], topic="keeping federated training robust") == [None]
    assert theme_labels([robust], topic="keeping distributed training robust") == ["federated learning"]


def test_summary_lead_names_the_common_thread_and_cites_every_paper() -> None:
    groups = [
        [
            source(1, "Deep Gradient Compression: Reducing Bandwidth", "x"),
            source(2, "Top-k Sparsification for Distributed SGD Training", "x"),
        ],
        [source(3, "RAdam: Variance of the Adaptive Learning Rate", "x")],
    ]
    lead = summary_lead("communication", groups, ["gradient compression", None], "Approach")
    assert re.findall(r"\[(\d+)\]", lead) == ["1", "2", "3"]
    assert lead == (
        "3 papers found in the corpus address communication: Deep Gradient Compression (“Reducing Bandwidth”) "
        "[1] and “Top-k Sparsification for Distributed SGD Training” [2] work on gradient compression; and "
        "RAdam (“Variance of the Adaptive Learning Rate”) [3] takes its own approach."
    )
    assert prose_faults(lead) == []


def test_summary_lead_without_a_shared_thread() -> None:
    groups = [[source(4, "GaLore: Low-Rank Projection", "x")], [source(5, "Grass: Sparse Projection", "x")]]
    lead = summary_lead("memory", groups, [None, None], "Approach")
    assert lead == (
        "2 papers found in the corpus address memory, each with its own approach: GaLore (“Low-Rank Projection”) "
        "[4] and Grass (“Sparse Projection”) [5]."
    )
    # asked what they report, each brings its findings, not an approach
    reported = summary_lead("memory", groups, [None, None])  # no facet asked: what each reports
    assert reported.startswith("2 papers found in the corpus address memory, each with its own findings: ")
    mixed = summary_lead(
        "memory",
        [*groups, [source(6, "Q-GaLore: INT4 Projection", "x")]],
        ["projection", None, None],
        "Problem",
    )
    assert mixed.endswith("[5] and Q-GaLore (“INT4 Projection”) [6] each name their own problems.")


def test_a_sides_answer_is_not_the_scene_its_abstract_sets_before_it_speaks_of_its_own_work() -> None:
    from paperqa.answer.question import analyze
    from paperqa.answer.sides import own_answer_value

    maestro = source(
        3,
        "Maestro: Trainable Low-Rank Layers",
        "Large models are costly to train. "
        "Alternatively, factorization methods have been leveraged to train low-rank layers. "
        "In this work, we propose Maestro, a framework for trainable low-rank layers. "
        "The low-rank structure is built into training through ordered dropout.",
    )
    q = analyze("How does each obtain the low-rank layers it trains?")
    scene, mechanism = (
        scored(maestro, maestro.paper.abstract.split(". ")[1], 1),
        scored(maestro, "The low-rank structure is built into training through ordered dropout.", 3),
    )
    scene.score = mechanism.score = 1.0
    # prior work the abstract describes is not Maestro's answer; what follows its "we propose" is
    assert own_answer_value(scene, q) < own_answer_value(mechanism, q) == 1.0


def test_a_sides_answer_stands_alone_not_on_what_the_sentence_before_it_said() -> None:
    from paperqa.answer.question import analyze
    from paperqa.answer.sides import own_answer_value

    q = analyze("What does each change to keep low-precision training stable?")
    back = scored(A, "This simple change stabilizes the training process, confirming our analysis.")
    alone = scored(A, "We modify flash attention so that its rounding errors are unbiased.")
    itself = scored(A, "This paper changes flash attention so that rounding errors are unbiased.")
    back.score = alone.score = itself.score = 1.0
    assert own_answer_value(back, q) < own_answer_value(alone, q)
    assert own_answer_value(back, q) < own_answer_value(itself, q)  # "this paper" is the paper


def test_why_a_paper_does_something_is_dropped_and_what_it_does_stands_alone() -> None:
    from paperqa.answer.question import analyze
    from paperqa.answer.sides import own_answer_value

    q = analyze("Where does each get its pre-training text?")
    why = scored(A, "This is why we propose a new French biomedical dataset for continued pre-training.")
    plain = scored(A, "We propose a new French biomedical dataset for continued pre-training.")
    back = scored(A, "This is why the model fails on biomedical text.")  # no "we": it points back
    why.score = plain.score = back.score = 1.0
    assert own_answer_value(why, q) == own_answer_value(plain, q) > own_answer_value(back, q)
    assert (
        drop_leading_link(why.text)
        == "we propose a new French biomedical dataset for continued pre-training."
    )
    assert drop_leading_link("In this article we study the rank.") == "we study the rank."
    assert drop_leading_link("Meanwhile, SPDCL reorders data.") == "SPDCL reorders data."


def test_a_sides_answer_never_leans_on_what_came_before_or_on_where_it_was_tested() -> None:
    from paperqa.answer.question import analyze
    from paperqa.answer.sides import own_answer_value

    q = analyze("How does each limit the damage done by wrong pseudo-labels?")
    how = scored(A, "Concretely, we update the teacher with a virtual future student.")
    for text in (
        "In this way, we manage to improve the quality of pseudo-labels.",  # how is in the sentence before
        "In this work, we apply this idea to the training of answer rankers.",  # which idea?
        "We conduct experiments on 7B and 32B models in reasoning tasks.",  # where, not how
        "We conducted extensive experiments on 7B models in reasoning tasks.",
        "By doing so, we manage to keep the pseudo-labels clean.",
        "Results consistently show that the method improves over self-training baselines.",  # an outcome
        "We use the recently proposed Condenser architecture for pseudo-labels.",  # another's work
    ):
        other = scored(A, text)
        other.score = how.score = 1.0
        assert own_answer_value(other, q) < own_answer_value(how, q), text
    # a proposal whose later clause takes up "these challenges" still stands alone, as does one
    # that introduces its method while taking up the challenge
    for text in (
        "We propose Aquila-Med, a medical LLM, addressing these challenges through pre-training.",
        "We tackle this challenge by introducing Cuttlefish, which corrects the pseudo-labels.",
    ):
        proposal = scored(A, text)
        proposal.score = 1.0
        assert own_answer_value(proposal, q) >= own_answer_value(how, q), text
    # asked where each was tested, the setting is the answer
    where = analyze("On which benchmarks does each report experiments?")
    setup = scored(A, "We conduct experiments on 7B and 32B models in reasoning tasks.")
    setup.score = 1.0
    assert own_answer_value(setup, where) == own_answer_value(how, where)


def test_a_sides_answer_is_the_method_it_puts_forward_before_what_it_observes() -> None:
    from paperqa.answer.question import analyze
    from paperqa.answer.sides import own_answer_value

    proposal = scored(A, "On top of it, we propose coCondenser, which adds a corpus-level contrastive loss.")
    finding = scored(A, "We observe that the passage embedding space is not well warmed up.")
    proposal.score = finding.score = 1.0
    changes = analyze("What does each change in the pre-training?")
    assert own_answer_value(proposal, changes) > own_answer_value(finding, changes)
    # in the past tense too; another's method "recently proposed" is not the paper's proposal
    proposed = scored(A, "We proposed SPDCL, which evaluates sample difficulty by linguistic character.")
    used = scored(A, "We use the recently proposed Condenser architecture for pre-training.")
    proposed.score = used.score = 1.0
    assert own_answer_value(proposed, changes) > own_answer_value(used, changes)
    # a participle of what others did, or of what the paper studies, proposes nothing
    for text in (
        "We study how representations develop during pre-training.",
        "We show that carefully designed prompts change the pre-training.",
        "We evaluate on baselines introduced by earlier work.",
    ):
        other = scored(A, text)
        other.score = 1.0
        assert own_answer_value(other, changes) < own_answer_value(proposed, changes)
    # a name or a number is asked for: the proposal earns nothing for being one
    for asked in ("Which loss does each add?", "How many GPUs does each use?"):
        q = analyze(asked)
        assert own_answer_value(proposal, q) == own_answer_value(finding, q)


def test_a_sides_answer_is_its_papers_own_claim_not_the_fields_problem() -> None:
    from paperqa.answer.question import analyze
    from paperqa.answer.sides import own_answer_value

    q = analyze("How does each limit the damage done by wrong pseudo-labels?")
    problem = scored(A, "The effectiveness of self-training heavily relies on the accuracy of pseudo-labels.")
    claim = scored(A, "We re-weight noisy pseudo-labels with a meta-learned weight.")
    problem.score = claim.score = 1.0
    assert own_answer_value(claim, q) > own_answer_value(problem, q)
    # a quantity question's own claim without a number gains nothing
    many = analyze("How much data does each collect?")
    assert own_answer_value(claim, many) == claim.score
    # what the paper hopes or aims at is not what it does, "we" or not
    outlook = scored(A, "We believe our formulation will inspire future studies of pseudo-labels.")
    aim = scored(A, "We aim to investigate how pseudo-labels can be made reliable.")
    outlook.score = aim.score = 1.0
    assert own_answer_value(outlook, q) < own_answer_value(claim, q)
    assert own_answer_value(aim, q) < own_answer_value(claim, q)


def test_a_side_that_introduces_its_method_goes_on_to_say_how_it_works() -> None:
    from paperqa.answer.evidence import reports_results

    assert reports_results("Experiments show LoRA-X outperforms full fine-tuning.")
    assert reports_results("Extensive experimental results on GLUE verify our intuition.")
    assert not reports_results("LoRA-X shares one basis across layers.")


@pytest.mark.parametrize(
    ("question", "focus", "label"),
    [
        (
            "Compare Q-GaLore, COAP and Grass as memory-efficient training methods.",
            "",
            "memory-efficient training methods",
        ),
        ("Which robust loss does each paper adopt: A, and B?", "robust loss", "robust loss"),
        ("What does each one make sparse or prune and regrow?", "", ""),
        (  # the label ends where the question's next clause opens
            "How does each decide which training data a model should see?",
            "training data a model",
            "training data",
        ),
    ],
)
def test_the_tables_first_row_is_labelled_by_what_the_question_compares(
    question: str, focus: str, label: str
) -> None:
    from paperqa.answer.compose import aspect_label

    assert aspect_label(question, focus) == label


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        (
            "how these papers reduce communication cost in federated learning",
            "reducing communication cost in federated learning",
        ),
        (
            "What approaches do these papers take to choosing which examples to label, and what do they find",
            "choosing which examples to label",
        ),
        (
            "What do papers that train networks to sort numbers report about generalizing beyond training",
            "generalizing beyond training",
        ),
        (
            "Which properties of pretraining data do these surveys say matter most",
            "properties of pretraining data",
        ),
        (
            "What results do benchmarking studies report when they put many algorithms side by side",
            "putting many algorithms side by side",
        ),
        (  # the methods the question names are the topic, not only what they are for
            "post-training quantization methods these papers propose for large language models",
            "post-training quantization methods for large language models",
        ),
        (  # one sentence of the question, never two
            "These papers all study low-rank training of large models. What results do they report",
            "low-rank training of large models",
        ),
        (  # a pronoun with no action to read stays unnamed
            "What do they report",
            "the question's topic",
        ),
        (  # the things asked for name the topic; what they are for qualifies it
            "What alternatives to backpropagation do these papers propose for training deep networks, and why",
            "alternatives to backpropagation for training deep networks",
        ),
        (  # "techniques" names only the kind of answer
            "Which techniques do these papers use to make Bayesian inference affordable",
            "making Bayesian inference affordable",
        ),
        (  # examples without a comma are part of the phrase
            "how these papers make scene representations such as radiance fields more compact",
            "making scene representations such as radiance fields more compact",
        ),
        (  # a list goes on to its last item
            "how these papers change a model's vocabulary, tokenizer or embedding layer for a new language",
            "changing a model's vocabulary, tokenizer or embedding layer for a new language",
        ),
    ],
)
def test_a_summary_topic_is_the_questions_own_phrase(question: str, topic: str) -> None:
    from paperqa.answer.summarize import topic_phrase

    assert topic_phrase(question) == topic


def test_a_summary_topic_keeps_the_verb_of_how_the_papers_act() -> None:
    from paperqa.answer.summarize import topic_of

    question = "Summarize how these papers use unlabeled audio, through continued pre-training, to improve recognition, mostly for rare languages."
    assert (
        topic_of(question) == "using unlabeled audio, through continued pre-training, to improve recognition"
    )


def test_a_side_is_called_by_the_name_the_question_brackets() -> None:
    from paperqa.answer.sides import offered_name

    tfb = source(
        1,
        "Training-Free Bayesianization for Low-Rank Adapters",
        "We propose Training-Free Bayesianization (TFB).",
    )
    assert offered_name("Training-Free Bayesianization (TFB)", tfb) == "TFB"


def test_a_side_is_never_called_by_a_name_its_title_only_mentions() -> None:
    """'the study of how much knowledge fits into a LoRA adapter' is not called 'LoRA' (the paper
    works with LoRA; its lead clause would read as LoRA's), while a title's own head name is."""
    from paperqa.answer.compose import side_sentence
    from paperqa.answer.sides import offered_name

    adapter = source(
        1,
        "How Much Knowledge Can You Pack into a LoRA Adapter without Harming LLM?",
        "The authors fine-tuned a model using LoRA with varying amounts of new knowledge.",
    )
    assert offered_name("the study of how much knowledge fits into a LoRA adapter", adapter) == ""
    galore = source(
        2, "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection", "We propose GaLore."
    )
    assert offered_name("GaLore", galore) == "GaLore"
    send = source(
        4,
        "Hallucination Detox: Sensitive Neuron Dropout (SeND) for Large Language Model Training",
        "We introduce SeND, which drops neurons with high variance.",
    )
    assert offered_name("SeND", send) == "SeND"  # its own name, bracketed in its title
    paged = source(
        5,
        "Efficient Memory Management for Large Language Model Serving with PagedAttention",
        "We propose PagedAttention, an attention algorithm. PagedAttention stores keys in blocks.",
    )
    assert offered_name("PagedAttention", paged) == "PagedAttention"  # proposed by name
    nat = source(3, "Non-Autoregressive Neural Machine Translation", "We introduce a model.")
    assert offered_name("Non-Autoregressive Neural Machine Translation", nat) == ""  # its title is its name
    clause = side_sentence(scored(adapter, adapter.paper.abstract), "“How Much Knowledge Can You Pack …”")
    assert clause.startswith("In “How Much Knowledge Can You Pack …”, the authors fine-tuned")


def test_an_enumerator_or_a_possessive_opening_is_dropped_from_a_lifted_sentence() -> None:
    from paperqa.text import drop_leading_link

    assert drop_leading_link("(2) Training Pipeline: we apply one stage.") == "we apply one stage."
    assert (
        drop_leading_link("(3) HiFT can save more than 60% GPU memory.")
        == "HiFT can save more than 60% GPU memory."
    )
    assert drop_leading_link("(ii) we release the code.") == "we release the code."
    assert drop_leading_link("(1) and (2) are complementary.") == "(1) and (2) are complementary."
    assert drop_leading_link("(IV) Training: we fine-tune.") == "we fine-tune."
    assert drop_leading_link("Then, we lower the bit width to INT7.") == "we lower the bit width to INT7."
    assert drop_leading_link("Based on our TFUP, we propose TFUP-T.") == "we propose TFUP-T."
    assert (
        drop_leading_link("From this, we find that aligning data helps.")
        == "we find that aligning data helps."
    )


def test_an_opening_phrase_that_leans_on_the_previous_sentence_is_dropped() -> None:
    from paperqa.text import drop_leading_link, prose_faults

    leaning = "Building on these observations, we introduce an easy-to-hard learning scheme."
    assert drop_leading_link(leaning) == "we introduce an easy-to-hard learning scheme."
    assert drop_leading_link("Leveraging these insights, Q-GaLore updates the subspace.") == (
        "Q-GaLore updates the subspace."
    )
    assert drop_leading_link("To answer these questions, we release Pythia.") == "we release Pythia."
    assert drop_leading_link("Based on the analysis, we propose HFTT.") == "we propose HFTT."
    assert drop_leading_link("Building on our findings, we train X.") == "we train X."
    # a subject that happens to hold "such" stays, and so do a contrast and examples: they carry meaning
    for kept in (
        "Training such models, however, is costly.",
        "Despite these gains, the method lags.",
        "In tasks such as translation, the model improves.",
        "Based on the transformer architecture, the model scales.",
    ):
        assert drop_leading_link(kept) == kept
    # a lead that keeps such an opening is flagged
    assert prose_faults(
        "In “Denoising Curricula”, building on these observations, the authors propose X [1]."
    )
    assert prose_faults("In “Denoising Curricula”, the authors propose X [1].") == []


def test_prior_work_is_never_a_papers_reported_result() -> None:
    prior = source(
        7,
        "GaLore: Low-Rank Projection",
        "Training LLMs is costly. Common memory-reduction approaches, such as LoRA, reduce trainable "
        "parameters by 80%. GaLore cuts optimizer memory by 65.5%.",
    )
    labels, columns = table_columns(comparison_table([prior], {}, ""))
    results = columns[0][labels.index("Reported results")]
    assert "Common memory-reduction" not in results and "65.5%" in results


def test_a_summary_of_one_paper_says_so_in_the_singular() -> None:
    lead = summary_lead("memory", [[source(4, "GaLore: Low-Rank Projection", "x")]], [None])
    assert lead == "One paper found in the corpus addresses memory: GaLore (“Low-Rank Projection”) [4]."


def test_a_which_paper_answer_names_the_paper_or_offers_the_closest_when_unsure() -> None:
    from paperqa.answer.compose import paper_answer

    src = Source(n=1, paper=Paper(id="p", title="Monarch: Structured Matrices", abstract="x"), score=1.0)
    pick = Scored(src, 0, "We propose Monarch, a class of matrices.", 1.0)
    assert paper_answer([pick], yes_no=False).startswith("The paper is Monarch (“Structured Matrices”) [1].")
    assert paper_answer([pick], yes_no=True).startswith("Yes: the paper is Monarch")
    unsure = paper_answer([pick], yes_no=True, sure=False)
    assert unsure.startswith("No paper in the corpus clearly matches; the closest is Monarch")
    assert unsure.endswith("The authors propose Monarch, a class of matrices [1].")


def test_a_which_paper_match_stands_out_by_keyword_confidence_or_by_closeness() -> None:
    from paperqa.answer.retrieve import Retrieval
    from paperqa.answer.sides import stands_out

    def found(dense: float, keyword_sure: bool, named: tuple[str, ...] = ()) -> Retrieval:
        top = source(1, "A", "We compare GPT-4 and Claude 3 on regression.").model_copy(
            update={"dense": dense}
        )
        other = source(2, "B", "y", score=0.9).model_copy(update={"dense": 0.3})
        sure = top.paper.id if keyword_sure else None
        return Retrieval(
            query="q", sources=[top, other], best_dense=dense, named=list(named), keyword_sure=sure
        )

    assert stands_out(found(0.5, keyword_sure=False), 0.42, 0.5)  # close enough on meaning alone
    assert stands_out(found(0.45, keyword_sure=True), 0.42, 0.5)  # keyword search singles it out
    assert not stands_out(found(0.40, keyword_sure=True), 0.42, 0.5)  # ... but its passage is too far
    assert stands_out(
        found(0.40, keyword_sure=True, named=("GPT-4", "Claude")), 0.42, 0.5
    )  # it holds the names
    assert not stands_out(found(0.40, keyword_sure=False, named=("GPT-4",)), 0.42, 0.5)  # names alone: no
    assert stands_out(found(0.30, keyword_sure=True), 0.42, 0.5, holds_terms=True)  # its rare terms
    assert not stands_out(found(0.49, keyword_sure=False), 0.42, 0.5)  # a neighbour
    assert not stands_out(Retrieval(query="q", sources=[], best_dense=0.0, named=[]), 0.42, 0.5)


def test_a_summarys_lines_answer_the_facet_the_question_asks_of_every_paper() -> None:
    from paperqa.answer.summarize import paper_sentences, summary_facet

    vega = source(
        1,
        "Vega-MT: The JD Explore Academy Translation System",
        "We describe our WMT 2022 submission. We participated in all high-resource tracks of the task. "
        "Also, we adopt data augmentation strategies such as cycle translation for monolingual data. "
        "We got the 1st place on Zh-En, improving BLEU by 2.1 points.",
    )
    ranked = [  # the ranking prefers the tracks; the question asks for techniques
        scored(vega, "We participated in all high-resource tracks of the task.", 1),
        scored(vega, "We got the 1st place on Zh-En, improving BLEU by 2.1 points.", 3),
        scored(
            vega,
            "Also, we adopt data augmentation strategies such as cycle translation for monolingual data.",
            2,
        ),
    ]
    for score, sc in zip((3.0, 2.0, 1.0), ranked, strict=True):
        sc.score = score
    techniques = "Which techniques do these submission papers credit for their translation quality?"
    assert summary_facet(techniques) == ("Approach", "How each paper does it")
    assert paper_sentences([vega], ranked, techniques)[1].startswith("Also, we adopt data augmentation")
    results = "What results do these submission papers report?"
    assert summary_facet(results) == ("Reported results", "What each paper reports")
    assert paper_sentences([vega], ranked, results)[1].startswith("We got the 1st place")
    assert summary_facet("Summarize these submission papers.") is None


def test_a_summary_line_on_how_a_paper_does_it_is_never_a_result_it_reports() -> None:
    from paperqa.answer.summarize import paper_sentences

    result = "We show that our approach performs better than the current state-of-the-art methods."
    how = "We introduce a framework LearnAct that creates actions as Python functions."
    paper_ = source(1, "LearnAct: Action Learning", f"Agents act in open environments. {how} {result}")
    ranked = [scored(paper_, result, 2), scored(paper_, how, 1)]
    ranked[0].score, ranked[1].score = 2.0, 1.0  # the ranking prefers the result
    line = paper_sentences([paper_], ranked, "Give an overview of how these papers improve LLM agents.")[1]
    assert line == how


def test_a_summary_line_on_how_a_paper_does_it_is_its_method_not_its_test_bed_or_background() -> None:
    from paperqa.answer.summarize import paper_sentences

    opening = "Distributed optimization methods such as DiLoCo have been shown to be effective at scale."
    develops = (
        "This paper develops the IGLU method that caches intermediate computations at various GCN layers "
        "thus enabling lazy updates that significantly reduce the compute cost of descent."
    )
    setup = "We incorporate our method into PyTorch and evaluate its effectiveness using several graphs."
    bound = (
        "IGLU introduces bounded bias into the gradients but nevertheless converges to a first-order "
        "saddle point under standard assumptions such as objective smoothness."
    )
    iglu = source(
        1, "IGLU: Efficient GCN Training via Lazy Updates", f"GCNs scale poorly. {develops} {setup} {bound}"
    )
    ranked = [scored(iglu, setup, 2), scored(iglu, bound, 3), scored(iglu, develops, 1)]
    for score, sc in zip((3.0, 2.0, 1.0), ranked, strict=True):
        sc.score = score  # the ranking prefers the test bed, then a property
    how = "Summarize the techniques these papers use to make training GCNs on large graphs cheaper."
    assert paper_sentences([iglu], ranked, how)[1] == develops
    both = "We propose IGLU, a method that caches computations, and evaluate its performance on graphs."
    ranked[2] = scored(iglu, both, 1)  # putting the method forward, with its test bed: still its method
    ranked[2].score = 1.0
    assert paper_sentences([iglu], ranked, how)[1] == both
    # a paper with no sentence for the facet: what it does, before the field's background
    investigate = "In this paper, we investigate overlapping communication with computation in DiLoCo."
    eager = source(2, "Eager Updates For Overlapped Communication", f"{opening} {investigate}")
    ranked = [scored(eager, opening, 0), scored(eager, investigate, 1)]
    ranked[0].score, ranked[1].score = 2.0, 1.0
    assert paper_sentences([eager], ranked, "Summarize how these papers cut communication.")[2] == investigate


def test_a_word_the_abstract_capitalises_only_where_sentences_start_is_no_name() -> None:
    from paperqa.answer.compose import _lower_first

    context = "Examining Forgetting in Pre-training Recent work is scarce. Experiment results highlight it."
    assert _lower_first("Experiment results highlight it", context) == "experiment results highlight it"
    # a name the abstract writes after a bracket or only where a sentence starts, but in the title
    assert _lower_first("Lion keeps only momentum", "T: x. We find an optimizer (Lion). Lion is fast.") == (
        "Lion keeps only momentum"
    )
    assert (
        _lower_first("Domino hides it", "Domino: Eliminating Communication Domino hides it.")
        == "Domino hides it"
    )


def test_their_own_method_without_a_modifier_is_named_plainly() -> None:
    lead = comparison_lead([scored(B, "Our Grass further reduces memory by 40%.")], ["Grass"])
    assert lead == "Grass further reduces memory by 40% [2]."
    # inside the sentence too: "their Grass" had no "the authors" before it to point back to
    lead = comparison_lead([scored(B, "A model tuned by our Grass and our 8-bit Grass wins.")], ["Grass"])
    assert lead == "A model tuned by Grass and the 8-bit Grass wins [2]."
    # "their" before anything else stays theirs
    lead = comparison_lead([scored(B, "A model tuned by our method and Grass wins.")], ["Grass"])
    assert lead == "A model tuned by the authors' method and Grass wins [2]."


def test_a_comparisons_approach_is_never_a_result_and_results_come_before_data() -> None:
    galore = source(
        3,
        "GaLore: Low-Rank Projection",
        "Training LLMs is memory-hungry. In this work, we propose GaLore, a projection of gradients. "
        "Our approach reduces memory by up to 65.5% for pre-training LLaMA 7B on the C4 dataset. "
        "Experiments pre-train a 7B model on the C4 dataset with consumer GPUs.",
    )
    labels, columns = table_columns(comparison_table([galore], {}, ""))
    cells = dict(zip(labels, columns[0], strict=True))
    assert cells["Approach"].startswith("In this work, we propose GaLore")
    assert cells["Reported results"].startswith("Our approach reduces memory by up to 65.5%")
    assert cells["Data / setting"].startswith("Experiments pre-train a 7B model on the C4 dataset")


def test_a_question_the_abstract_asks_is_no_table_cell() -> None:
    asks = source(
        4, "X: Routing", "We propose X. Can we use sparse attention via routing to make it cheaper?"
    )
    _, columns = table_columns(comparison_table([asks], {}, ""))
    assert not any("Can we use" in c for c in columns[0])


def test_a_summary_facet_is_the_one_the_question_names_first() -> None:
    from paperqa.answer.summarize import paper_sentences, summary_facet

    assert summary_facet("Which techniques do these papers propose to overcome the limitations of LoRA?") == (
        "Approach",
        "How each paper does it",
    )
    assert summary_facet("Which open problems do these papers address, and with which techniques?") == (
        "Problem",
        "The problem each paper names",
    )
    # a problem is often stated where the abstract opens
    opening = source(
        5, "Y: Sharding", "Memory limits training of large models. We propose Y, which shards activations."
    )
    ranked = [
        scored(opening, "We propose Y, which shards activations.", 1),
        scored(opening, "Memory limits training of large models.", 0),
    ]
    ranked[0].score, ranked[1].score = 2.0, 1.0
    line = paper_sentences([opening], ranked, "Which open problems do these papers address?")[5]
    assert line == "Memory limits training of large models."


def test_a_sentence_about_its_own_paper_has_the_paper_as_its_subject() -> None:
    # "In this survey, …" under "In Grass, …" says the paper twice; "This work …" is the paper
    lead = comparison_lead([scored(B, "In this survey, we review recent advances.")], ["Grass"])
    assert lead == "In Grass, the authors review recent advances [2]."
    lead = comparison_lead([scored(B, "This work presents an empirical study of local SGD.")], ["Grass"])
    assert lead == "Grass presents an empirical study of local SGD [2]."
    assert attributed("This paper delves into these issues.", B.paper).startswith("Grass (“Structured")
    assert attributed("In our work, we study forgetting.", B.paper).endswith("the authors study forgetting")
    framed = "Taking a step towards efficiency, in this work, we examine warm-up."
    assert attributed(framed, B.paper).endswith(
        "taking a step towards efficiency, the authors examine warm-up"
    )
    # "our" with no "we" before it is the authors', never a "their" that points nowhere
    assert attributed("Our method is 2x faster.", B.paper).endswith("the authors' method is 2x faster")


def test_a_model_sentence_that_copied_the_prompts_title_keeps_the_evidence_only() -> None:
    from paperqa.answer.compose import model_claim

    qwen = paper("Qwen2.5-Math Technical Report: Toward Mathematical Expert Model via Self-Improvement", "x")
    copied = (
        "Qwen2.5-Math Technical Report: Towards Mathematical Expert …: Qwen2.5-Math-Instruct supports TIR"
    )
    assert model_claim(copied, [qwen]) == "Qwen2.5-Math-Instruct supports TIR"
    short = paper("Grass: Structured Sparse Gradients", "x")
    assert (
        model_claim("Grass: Structured Sparse Gradients: Grass cuts memory", [short]) == "Grass cuts memory"
    )
    # a sentence that only starts with the paper's name is the model's own
    assert model_claim("Grass cuts memory by 40%", [short]) == "Grass cuts memory by 40%"


def test_a_which_paper_answer_tells_its_sentence_without_the_papers_frame() -> None:
    from paperqa.answer.compose import paper_answer

    monarch = source(1, "Monarch: Structured Matrices", "In our study, we focus on multilingual settings.")
    pick = Scored(monarch, 0, "In our study, we focus on multilingual settings.")
    assert paper_answer([pick], yes_no=True).endswith("[1]. The authors focus on multilingual settings [1].")


def test_a_side_named_only_after_a_semicolon_is_named_first() -> None:
    text = "The facts are stored as triples; indeed, Grass was built from two dumps."
    lead = comparison_lead([scored(B, text)], ["Grass"])
    assert lead == "In Grass, the facts are stored as triples; indeed, Grass was built from two dumps [2]."


def test_it_is_the_method_when_the_sentence_before_names_it() -> None:
    from paperqa.answer.compose import extractive_lead

    grass = source(
        2, "Grass: Structured Sparse Gradients", "We introduce Grass, a sparse method. It cuts memory by 40%."
    )
    it = scored(grass, "It cuts memory by 40%.", pos=1)
    assert comparison_lead([it], ["Grass"]) == "Grass cuts memory by 40% [2]."
    assert extractive_lead([it]).startswith("Grass (“Structured Sparse Gradients”) cuts memory by 40% [2].")
    # after "our proposed solution …" (and a leading link), it is the authors' solution
    solution = source(
        2, "Grass: Structured Sparse Gradients", "Our proposed solution helps. Concretely, it cuts memory."
    )
    assert comparison_lead([scored(solution, "Concretely, it cuts memory.", pos=1)], ["Grass"]) == (
        "In Grass, the authors' proposed solution cuts memory [2]."
    )
    # "it" after a sentence about the field keeps its pronoun, told "In <side>, …"
    field = source(
        2, "Grass: Structured Sparse Gradients", "Self-training is a technique. It uses pseudo-labels."
    )
    assert comparison_lead([scored(field, "It uses pseudo-labels.", pos=1)], ["Grass"]) == (
        "In Grass, it uses pseudo-labels [2]."
    )


def _pool(*scores: tuple[float, float]) -> list[Source]:
    return [
        Source(n=i + 1, paper=paper(f"Paper {i + 1}", "x"), score=score, dense=dense)
        for i, (score, dense) in enumerate(scores)
    ]


def test_a_summary_keeps_the_papers_near_the_best_three_not_a_fixed_count() -> None:
    pool = _pool((1.0, 0.7), (0.9, 0.7), (0.8, 0.7), (0.75, 0.7), (0.3, 0.7))
    kept = on_topic(pool, cut=0.8, most=6)
    assert [s.paper.title for s in kept] == ["Paper 1", "Paper 2", "Paper 3", "Paper 4"]
    assert [s.n for s in kept] == [1, 2, 3, 4]


def test_a_paper_with_one_sentence_squarely_on_the_topic_joins_a_summary() -> None:
    pool = _pool((1.0, 0.7), (0.95, 0.7), (0.9, 0.7), (0.6, 0.45))
    closest = {1: 0.6, 2: 0.6, 3: 0.6, 4: 0.75}
    assert len(on_topic(pool, cut=0.8, most=6)) == 3  # its fused score alone is below the cut
    kept = on_topic(pool, cut=0.8, most=6, closest=closest, floor=0.5, sentence_floor=0.55)
    assert "Paper 4" in [s.paper.title for s in kept]  # its passage (0.45) is below the floor


def test_a_summary_leaves_out_a_paper_neither_whose_passage_nor_whose_sentence_is_close() -> None:
    pool = _pool((1.0, 0.7), (0.95, 0.4), (0.9, 0.7))
    closest = {1: 0.6, 2: 0.5, 3: 0.6}
    kept = on_topic(pool, cut=0.8, most=6, closest=closest, floor=0.5, sentence_floor=0.55)
    assert [s.paper.title for s in kept] == ["Paper 1", "Paper 3"]
    assert [s.n for s in kept] == [1, 2]


def test_a_summarys_papers_are_judged_by_their_sentence_nearest_the_question_too() -> None:
    on_it, off_it = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    texts = {"Sorting networks generalize.": on_it, "Images are classified.": off_it}
    pool = [
        Source(n=1, paper=paper("A", "Sorting networks generalize."), score=1.0, dense=0.7),
        Source(n=2, paper=paper("B", "Sorting networks generalize."), score=0.95, dense=0.7),
        Source(n=3, paper=paper("C", "Sorting networks generalize."), score=0.9, dense=0.7),
        Source(
            n=4, paper=paper("D", "Images are classified. Sorting networks generalize."), score=0.7, dense=0.4
        ),
        Source(n=5, paper=paper("E", "Images are classified."), score=0.7, dense=0.4),
    ]
    seen: list[str] = []

    def embed(batch: list[str]) -> np.ndarray:
        seen.extend(batch)
        return np.stack([texts[t] for t in batch])

    kept = summary_papers(pool, on_it, embed, floor=0.5)
    assert [s.paper.title for s in kept] == ["A", "B", "C", "D"]  # D's second sentence is on it
    assert len(seen) == 6  # one call for every sentence of the pool's best-scored papers
