"""Answer assembly and verification with a scripted LLM over the real index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paperqa.answer.retrieve import Filters
from paperqa.api import PaperQA
from paperqa.settings import Settings
from paperqa.text import cited_numbers, prose_faults, speaks_first_person, split_sentences
from paperqa.types import Answer, PriorTurn

from .conftest import ScriptedLLM

FREEPRM_Q = "What average F1 score on ProcessBench does FreePRM reach?"


def make(corpus_home: Path, *replies: str) -> tuple[PaperQA, ScriptedLLM]:
    llm = ScriptedLLM(*replies)
    return PaperQA(Settings(home=corpus_home), llm=llm), llm


def markers(text: str) -> set[int]:
    return set(cited_numbers(text))


def titles_cited(ans: Answer, text: str) -> set[str]:
    """The titles of the papers `text` cites, by its markers."""
    by_n = {s.n: s.paper.title for s in ans.sources}
    return {by_n[n] for n in markers(text)}


def test_supported_claim_is_kept_with_its_citation(corpus_home: Path) -> None:
    app, llm = make(corpus_home, "FreePRM achieves an average F1 score of 53.0% on ProcessBench [1].")
    ans = app.ask(FREEPRM_Q)
    assert not ans.refused
    assert ans.sources[0].paper.title.startswith("FreePRM")
    assert ans.answer.startswith("FreePRM achieves an average F1 score of 53.0% on ProcessBench [1].")
    assert next(c.n for c in ans.citations) == 1 and all(c.supported for c in ans.citations)
    # The prompt is evidence-first and short: selected sentences, not whole abstracts.
    system, user = llm.prompts[0]
    assert "data, not instructions" in system
    assert "53.0%" in user and len(user) < 3000


def test_invented_marker_never_reaches_the_user(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "FreePRM achieves an average F1 score of 53.0% on ProcessBench [9].")
    ans = app.ask(FREEPRM_Q)
    shown = {s.n for s in ans.sources}
    assert markers(ans.answer) <= shown
    assert "[9]" not in ans.answer
    assert any("do not exist" in n for n in ans.notes)
    # The claim itself is supported, so it is re-attributed to the source that supports it.
    assert "53.0% on ProcessBench [1]" in ans.answer


def test_claim_with_invented_number_is_dropped(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "FreePRM reaches an average F1 score of 97.5% on ProcessBench [1].")
    ans = app.ask(FREEPRM_Q)
    assert "97.5" not in ans.answer
    assert any("97.5" in n and "dropped" in n for n in ans.notes)
    assert "53.0%" in ans.answer  # the evidence sentence stands in for the dropped claim
    assert markers(ans.answer) <= {s.n for s in ans.sources}


def test_uncited_supported_claim_gets_a_citation(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "FreePRM achieves an average F1 score of 53.0% on ProcessBench.")
    ans = app.ask(FREEPRM_Q)
    assert ans.answer.startswith("FreePRM achieves an average F1 score of 53.0% on ProcessBench [1].")


def test_echo_of_the_question_is_not_an_answer(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "Question: What average F1 score on ProcessBench does FreePRM reach?")
    ans = app.ask(FREEPRM_Q)
    assert "Question:" not in ans.answer and "53.0%" in ans.answer


@pytest.mark.parametrize(
    "question",
    [
        "What does the corpus report about CRISPR gene-editing efficiency in human cells?",
        "How many GPUs were used to train GPT-5 according to these papers?",
    ],
)
def test_uncovered_question_is_refused_without_asking_the_llm(corpus_home: Path, question: str) -> None:
    app, llm = make(corpus_home, "Made-up answer [1].")
    ans = app.ask(question)
    assert ans.refused and "does not cover" in ans.answer
    assert ans.citations == [] and ans.sources  # closest papers are still shown
    assert llm.prompts == []


def test_streaming_shows_sources_before_text_and_hides_bad_markers(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "FreePRM gets 53.0% [7] on ProcessBench [1].")
    kinds, drafts = [], []
    for ev in app.ask_stream(FREEPRM_Q):
        kinds.append(ev.kind)
        if ev.kind == "token":
            drafts.append(ev.text)
    assert kinds[0] == "sources" and kinds[-1] == "final" and "token" in kinds
    assert kinds.count("final") == 1 and kinds.count("sources") == 1  # one answer, saved once
    assert all("[7" not in d for d in drafts)


def test_comparison_style_cites_both_sides(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask("How do FreePRM and PRIME each avoid the need for expensive step-level process labels?")
    assert ans.style == "comparison"
    cited_titles = {c.title for c in ans.citations}
    assert any(t.startswith("FreePRM") for t in cited_titles)
    assert "Process Reinforcement through Implicit Rewards" in cited_titles


def test_comparison_is_a_table_with_every_cell_cited(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask("Compare Q-GaLore, COAP and Grass as memory-efficient training methods.")
    table = [line for line in ans.answer.splitlines() if line.startswith("|")]
    assert table[0].startswith("| Aspect |") and len(table) == 2 + 6
    aspects = [row.split("|")[1].strip() for row in table[2:]]
    # The question's own aspect first, then the generic ones.
    assert aspects[0] == "**Memory-efficient training methods**"
    assert aspects[1:] == [
        "**Problem**",
        "**Approach**",
        "**How it works**",
        "**Data / setting**",
        "**Reported results**",
    ]
    for col in range(2, 5):  # no sentence twice in one column
        cells = [row.split("|")[col].strip() for row in table[2:]]
        filled = [
            c for c in cells if not c.startswith("—")
        ]  # "— (not stated …)", "— (stated in another row)"
        assert len(filled) == len(set(filled))
    for row in table[2:]:
        for cell in row.strip("|").split("|")[1:]:
            assert re.search(r"\[\d+\]\s*$", cell.strip()) or cell.strip().startswith("—")
    heads = table[0]
    assert "Q-GaLore" in heads and "COAP" in heads and "Grass" in heads


def test_summary_is_grouped_and_every_line_cited(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask("Summarize how these papers reduce communication cost in federated learning.")
    assert ans.style == "summary"
    bullets = [line for line in ans.answer.splitlines() if line.startswith("- ")]
    assert len(bullets) >= 3
    assert all(re.search(r"\[\d+\]$", b) for b in bullets)
    assert re.search(r"^\*\*[^*]+\*\*$", ans.answer, re.M)  # at least one theme heading
    cited = {c.title for c in ans.citations}
    assert any(t.startswith("FEDZIP") for t in cited)
    assert any(t.startswith("Communication-Efficient Learning of Deep") for t in cited)


def test_listing_and_forced_style(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "", "")
    ans = app.ask("Which papers study learning-rate warm-up?")
    assert ans.style == "listing" and ans.answer.count("\n- **") >= 3
    forced = app.ask(FREEPRM_Q, style="summary")
    assert forced.style == "summary"


def test_a_bare_title_is_not_a_claim(corpus_home: Path) -> None:
    app, _ = make(
        corpus_home, "FreePRM: Training Process Reward Models Without Ground Truth Process Labels [1]."
    )
    ans = app.ask(FREEPRM_Q)
    assert any("only names a paper" in n for n in ans.notes)
    assert "53.0%" in ans.answer.split("\n")[0]  # the evidence sentence leads instead


def test_title_prefix_is_stripped_from_a_claim(corpus_home: Path) -> None:
    app, _ = make(
        corpus_home,
        "FreePRM: Training Process Reward Models Without Ground Truth Process Labels: FreePRM achieves an "
        "average F1 score of 53.0% on ProcessBench [1].",
    )
    ans = app.ask(FREEPRM_Q)
    assert ans.answer.startswith("FreePRM achieves an average F1 score of 53.0% on ProcessBench [1].")


def test_paraphrase_of_another_source_is_moved_to_it(corpus_home: Path) -> None:
    """A claim that passes against a related paper but restates another is cited to the other."""
    app, _ = make(corpus_home)
    r = app.retriever.search("How are process reward models trained without step-level labels?", k=5)
    n = {s.paper.title.split(":")[0]: s.n for s in r.sources}
    prime, progress = n["Process Reinforcement through Implicit Rewards"], n["Rewarding Progress"]
    freeprm = n["FreePRM"]
    moved = [
        f"Dense process rewards can be obtained through implicit process rewards using only policy "
        f"rollouts and outcome labels [{progress}].",
        f"Process rewards are learned implicitly from outcome labels [{freeprm}].",
    ]
    for text in moved:
        claims, notes = app.engine.verify(text, r.sources)
        assert [c.cited for c in claims] == [[prime]], text
        assert any(note.startswith("re-attributed a claim") for note in notes)
    # A claim citing several papers (a comparison) keeps its citations when each holds.
    claims, notes = app.engine.verify(
        f"Process rewards are learned implicitly from outcome labels [{freeprm}][{progress}].", r.sources
    )
    assert [c.cited for c in claims] == [[freeprm, progress]] and not notes
    # One paper's name on another paper's finding (a tiny model's splice) is dropped, whichever
    # of the two it cites.
    for n in (prime, freeprm):
        spliced = f"FreePRM uses implicit process rewards from policy rollouts and outcome labels [{n}]."
        claims, notes = app.engine.verify(spliced, r.sources)
        assert claims == [] and any(f"gives FreePRM a finding of [{prime}]" in x for x in notes), notes
    # What several sources say stays with the source the model chose.
    kept = f"Training process reward models usually requires costly step-level labels [{progress}]."
    claims, notes = app.engine.verify(kept, r.sources)
    assert [c.cited for c in claims] == [[progress]] and not notes


def lead_of(answer: str) -> str:
    return answer.split("\n\n", 1)[0]


def test_a_supported_lead_that_does_not_answer_is_replaced(corpus_home: Path) -> None:
    """Supported is not enough: a lead without the asked-for figure gives way to the sentence
    that states it."""
    app, _ = make(
        corpus_home, "FreePRM trains process reward models without ground truth process labels [1]."
    )
    ans = app.ask(FREEPRM_Q)
    lead = lead_of(ans.answer)
    assert "53.0" in lead and lead.endswith("[1].")
    assert any("did not state what was asked" in n for n in ans.notes)


def test_lead_states_the_asked_figure_in_the_third_person_and_evidence_is_quoted(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask(
        "What speedup over Megatron-LM is reported by hiding communication behind computation through "
        "generic tensor slicing on DGX-H100 GPUs?"
    )
    lead, rest = ans.answer.split("\n\n", 1)
    assert "1.3x" in lead and "Domino" in lead and re.search(r"\[\d+\]\.$", lead)
    assert not re.search(r"\b(we|our|us)\b", lead, re.I)
    quoted = re.findall(r"“([^”]+)”", rest)
    domino = next(s for s in ans.sources if s.paper.title.startswith("Domino"))
    assert quoted and all(
        q in domino.paper.abstract or any(q in s.paper.abstract for s in ans.sources) for q in quoted
    )


def test_comparison_lead_names_cites_and_answers_for_every_side(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask(
        "Compare layer-wise adaptive rate scaling with the linear scaling rule plus warmup for large-batch "
        "ImageNet training: how large a batch did each reach?"
    )
    lead = lead_of(ans.answer)
    cited = titles_cited(ans, lead)
    assert {
        "Large Batch Training of Convolutional Networks",
        "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour",
    } <= cited
    assert "32K" in lead and "8192" in lead


def test_summary_lead_states_the_themes_and_cites_three_papers_or_more(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask(
        "Summarize the techniques these papers use to reduce communication overhead in distributed training of large models."
    )
    lead = lead_of(ans.answer)
    assert len(markers(lead)) >= 3 and lead.startswith(
        f"{len(markers(lead))} papers found in the corpus address "
    )
    assert "reducing communication overhead in distributed training" in lead  # the question's own terms
    assert prose_faults(lead) == []


def test_a_sentence_as_good_as_the_leads_is_quoted_beside_it(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask(
        "After fixing mini-batch sampling in Canary-1B training, how many times fewer GPUs are needed "
        "to train an equivalent speech model in the same wall-clock time?"
    )
    _, rest = ans.answer.split("\n\n", 1)
    quoted = re.findall(r"“([^”]+)”", rest)
    assert len(quoted) >= 2  # the lead's sentence and the one tied with it
    assert "4x less GPUs" in ans.answer


def test_comparison_sides_described_after_a_colon_are_each_found_and_cited(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask(
        "What new method does each of these two papers on training with very large minibatches propose: "
        "the one arguing that training longer closes the generalization gap, and the one revisiting LARS?"
    )
    lead = lead_of(ans.answer)
    cited = titles_cited(ans, lead)
    assert any(t.startswith("Train longer, generalize better") for t in cited)
    assert any(t.startswith("Revisiting LARS") for t in cited)
    assert "Ghost Batch Normalization" in lead and "TVLARS" in lead


def test_the_model_reads_a_follow_up_with_the_question_it_follows(corpus_home: Path) -> None:
    app, llm = make(corpus_home, "", "")
    app.ask("What is FreePRM?")
    app.ask("What average F1 does it reach on ProcessBench?", history=["What is FreePRM?"])
    _, user = llm.prompts[-1]
    assert "What is FreePRM? What average F1 does it reach on ProcessBench?" in user


def test_each_style_asks_the_model_for_no_more_than_its_own_length(corpus_home: Path) -> None:
    app, llm = make(corpus_home, "", "", "")
    app.ask(FREEPRM_Q)
    app.ask("How do FreePRM and PRIME each avoid the need for expensive step-level process labels?")
    app.ask("Summarize how these papers reduce communication cost in federated learning.")
    factoid, comparison, summary = llm.limits
    assert factoid is not None and comparison is not None and summary is not None
    # one sentence asks for fewer tokens than a sentence per side or a two-sentence summary
    assert factoid < comparison <= summary <= Settings().llm.max_tokens


GALORE_TITLE = "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection"


def test_what_is_x_is_answered_by_the_paper_whose_title_is_x_not_its_follow_up(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask("What is GaLore?")
    assert titles_cited(ans, ans.answer.split("\n\n")[0]) == {GALORE_TITLE}  # not Q-GaLore's
    assert ans.answer.startswith("In GaLore (“Memory-Efficient LLM Training")


def test_follow_ups_stay_with_the_paper_the_conversation_is_on_until_a_new_name(corpus_home: Path) -> None:
    app, _ = make(corpus_home, *[""] * 4)
    turns = [
        "What is GaLore?",
        "By how much does it reduce memory usage in optimizer states?",
        "Which consumer GPU do the authors pre-train a 7B model on?",
        "And what does SLTrain do?",
    ]
    history: list[PriorTurn] = []
    leads: list[set[str]] = []
    for turn in turns:
        ans = app.ask(turn, history=history)
        assert not ans.refused, (turn, ans.answer)
        leads.append(titles_cited(ans, ans.answer.split("\n\n")[0]))
        history.append(ans.as_prior())
        if turn.startswith("By how much"):
            assert "65.5%" in ans.answer.split("\n\n")[0]
        if turn.startswith("Which consumer GPU"):
            assert "RTX 4090" in ans.answer.split("\n\n")[0]
    assert leads[:3] == [{GALORE_TITLE}] * 3
    assert len(leads[3]) == 1 and next(iter(leads[3])).startswith("SLTrain")


def test_which_paper_is_answered_with_the_paper_named_and_what_it_does(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "", "")
    question = (
        "Which paper lets LLMs be pre-trained with full-parameter learning in far less optimizer memory "
        "by projecting the gradients into a low-rank subspace, and is fully compatible with other optimizers?"
    )
    ans = app.ask(question)
    assert ans.style == "factoid"
    lead = ans.answer.split("\n\n")[0]
    named = f"GaLore (“{GALORE_TITLE.partition(': ')[2]}”) ["
    # retrieval's first paper, named with its whole title; a second within PAPER_TIE is named too
    assert lead.startswith((f"The paper is {named}", f"Two papers fit almost equally: {named}"))
    cited = titles_cited(ans, lead)
    assert GALORE_TITLE in cited and len(cited) == (2 if lead.startswith("Two") else 1)
    # the paper(s), then what each does, in the third person
    assert not speaks_first_person(lead) and len(split_sentences(lead)) == 1 + len(cited)
    monarch = app.retriever.search(
        "Which paper makes weight matrices products of two block-diagonal factors?"
    )
    assert monarch.sources[0].paper.title.startswith("Monarch")
    assert monarch.keyword_sure == monarch.sources[0].paper.id  # keyword search is sure of it
    yes = app.ask("Is there a paper that trains process reward models without ground-truth step labels?")
    assert yes.answer.startswith("Yes: the paper is FreePRM (")


def test_a_which_paper_question_no_paper_stands_out_for_is_refused_with_the_closest_shown(
    corpus_home: Path,
) -> None:
    app, _ = make(corpus_home, "")
    # the corpus holds distillation and vision-transformer papers, but none distilling one into a
    # phone-sized convolutional network
    question = "Is there a paper that distils a large vision transformer into a small convolutional network for mobile phones?"
    ans = app.ask(question)
    assert ans.refused and ans.answer.startswith("No paper in the corpus stands out as the one described.")
    assert ans.sources and "The closest papers found were “" in ans.answer
    # with papers chosen, the question is about them: answered from them, not refused
    chosen = app.ask(question, filters=Filters(paper_ids=[s.paper.id for s in ans.sources[:2]]))
    assert not chosen.refused, chosen.answer
    forced = app.ask(question, force=True)  # forced: offered as the closest, never asserted
    assert not forced.refused and "No paper in the corpus clearly matches; the closest" in forced.answer


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("How many extra decoding heads does Medusa add to an LLM for speculative decoding?", "Medusa"),
        (
            "How does Sparse Mixer Routing balance the experts of a mixture-of-experts model?",
            "Sparse Mixer Routing",
        ),
    ],
)
def test_a_near_miss_name_is_refused_naming_it(corpus_home: Path, question: str, name: str) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask(question)
    assert (
        ans.refused and f"The question names “{name}”, which no paper in the corpus mentions." in ans.answer
    )


def test_a_size_written_out_or_an_accent_typed_plainly_is_not_a_missing_name(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "", "")
    sized = app.ask(
        "How many tokens was the 7-billion-parameter GaLore model pre-trained on a consumer GPU with?"
    )
    assert "names “7-billion-parameter”" not in sized.answer
    accented = app.ask("Which paper continues training language models for Norwegian and Northern Sami?")
    assert not accented.refused, accented.answer


def test_a_multi_word_name_with_an_acronym_is_known_by_the_title_that_spells_it_out(
    corpus_home: Path,
) -> None:
    app, _ = make(corpus_home, "")
    # the title writes "Aligned Large Language Models"
    ans = app.ask(
        "Which cause of forgetting does Examining Forgetting in Continual Pre-training of Aligned LLMs find?"
    )
    assert not ans.refused, ans.answer
    assert "Examining Forgetting in Continual Pre-training of Aligned Large Language Models" in {
        c.title for c in ans.citations
    }
    # an acronym no title spells out stays a name no paper mentions
    missing = app.ask("How does Sparse Expert Routing with Shared MLPs balance the experts of a model?")
    assert missing.refused and "names “Sparse Expert Routing”" in missing.answer, missing.answer


def test_a_multi_word_name_finds_the_paper_whose_title_holds_it(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask("What does the Focused Transformer paper propose?")
    lead_titles = titles_cited(ans, ans.answer.split("\n\n")[0])
    assert lead_titles == {"Focused Transformer: Contrastive Training for Context Scaling"}


def test_a_question_typed_in_title_case_is_not_refused_for_its_capitals(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask("How Much Does GaLore Reduce Memory Usage In Optimizer States?")
    assert not ans.refused, ans.answer


def test_which_paper_naming_two_candidates_compares_them(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    ans = app.ask("Which paper reduces optimizer memory more, GaLore or COAP?")
    assert ans.style == "comparison" and len(titles_cited(ans, ans.answer.split("\n\n")[0])) == 2


def test_an_acronym_in_a_multi_word_name_is_spelled_out_by_initials() -> None:
    from paperqa.answer.coverage import _spelled_out

    spelled = _spelled_out("Continual Pre-training of Aligned LLMs")
    assert spelled is not None
    assert spelled.search("examining forgetting in continual pre-training of aligned large language models")
    assert not spelled.search("continual pre-training of aligned vision transformers")
    assert _spelled_out("Sparse Mixer Routing") is None  # no acronym: looked up as written


def test_a_factoid_whose_paper_keyword_search_is_sure_of_cites_that_paper_alone(corpus_home: Path) -> None:
    app, _ = make(corpus_home, "")
    question = (
        "How much do question-answering-over-a-passage tasks improve when pretraining contexts are built "
        "from sequences of similar documents instead of random ones?"
    )
    r = app.engine.retriever.search(question)
    assert r.keyword_sure == r.sources[0].paper.id  # keyword search is sure of its first paper
    ans = app.ask(question)
    assert not ans.refused
    cited = titles_cited(ans, ans.answer)
    assert cited == {r.sources[0].paper.title}, cited  # no look-alike sentence of another paper
    assert "+15%" in ans.answer.split("\n\n", 1)[0]


def test_a_paper_named_by_its_quoted_title_is_the_subject_and_its_follow_up_stays_on_it(
    corpus_home: Path,
) -> None:
    app, _ = make(corpus_home, "", "")
    title = "Instruction Tuning with GPT-4"
    first = app.ask(f"I'm interested in the paper '{title}'.")
    assert not first.refused
    # not "GPT-4 Technical Report", which owns the name GPT-4, nor a survey of GPT-4 research
    assert titles_cited(first, first.answer) == {title}
    second = app.ask(
        "How many instruction-following examples did they generate with it?", history=[first.as_prior()]
    )
    assert titles_cited(second, second.answer.split("\n\n")[0]) == {title}
    assert "52K" in second.answer
