"""Hybrid retrieval on the real index finds the gold papers of the development questions."""

from __future__ import annotations

import json

import pytest

from paperqa.answer.question import ask_of
from paperqa.answer.retrieve import Filters, assign_sides, comparison_parts, rewrite_followup
from paperqa.answer.sides import _GONE, _without_sides
from paperqa.answer.styles import classify
from paperqa.text import name_tokens, normalize_title, side_ownership

from .conftest import DEV
from .fakes import paper

QUESTIONS = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
PARAPHRASE = DEV.parent / "paraphrase.jsonl"


def _text(q: dict) -> str:  # type: ignore[type-arg]
    question = q["question"]
    return rewrite_followup(question[1], [question[0]]) if isinstance(question, list) else question


@pytest.mark.parametrize(
    "q", [q for q in QUESTIONS if q["type"] in ("factoid", "comparison", "followup")], ids=lambda q: q["id"]
)
def test_gold_papers_in_top5(app, q) -> None:  # type: ignore[no-untyped-def]
    r = app.retriever.search(_text(q), k=5)
    got = [normalize_title(s.paper.title) for s in r.sources]
    assert len(set(got)) == len(got), "one paper never fills two slots"
    for gold in q["gold_titles"]:
        assert normalize_title(gold) in got


@pytest.mark.parametrize("q", [q for q in QUESTIONS if q["type"] == "factoid"], ids=lambda q: q["id"])
def test_factoid_gold_paper_ranks_first(app, q) -> None:  # type: ignore[no-untyped-def]
    r = app.retriever.search(_text(q), k=5)
    assert normalize_title(r.sources[0].paper.title) == normalize_title(q["gold_titles"][0])


def test_a_common_term_that_looks_like_a_name_does_not_outrank_what_keywords_are_sure_of(app) -> None:  # type: ignore[no-untyped-def]
    """'FLOPs' is owned by several papers; BM25 is confident about the system the question describes."""
    r = app.retriever.search(
        "What Model FLOPs Utilization does the production LLM training system built for more than "
        "10,000 GPUs reach when training a 175B model?",
        k=5,
    )
    assert r.sources[0].paper.title.startswith("MegaScale")


def test_paraphrases_are_found_by_dense_where_keywords_miss(app) -> None:  # type: ignore[no-untyped-def]
    """The paraphrase slice shares no rare word with its papers: the hybrid finds at least 90% of
    them in the top 5, and BM25 alone finds fewer."""
    slice_ = [json.loads(line) for line in PARAPHRASE.read_text().splitlines() if line.strip()]

    def found(mode: str) -> int:
        hits = 0
        for q in slice_:
            got = [
                normalize_title(s.paper.title)
                for s in app.retriever.search(q["question"], k=5, mode=mode).sources
            ]
            hits += normalize_title(q["gold_titles"][0]) in got
        return hits

    hybrid = found("hybrid")
    assert hybrid >= 0.9 * len(slice_)
    assert found("bm25") < hybrid


@pytest.mark.parametrize("name", ["FreePRM", "DeepSpeed-MoE", "MiniCPM", "FedZip"])
def test_exact_names_rank_their_paper_first(app, name: str) -> None:  # type: ignore[no-untyped-def]
    r = app.retriever.search(f"What results does {name} report?", k=5)
    assert name.lower() in r.sources[0].paper.title.lower()
    assert name in r.named


def test_name_and_comparison_parsing() -> None:
    assert name_tokens("How do FreePRM and PRIME differ from Q-GaLore?") == ["FreePRM", "PRIME", "Q-GaLore"]
    assert comparison_parts("Compare Q-GaLore, COAP and Grass as memory-efficient training methods.") == [
        "Q-GaLore",
        "COAP",
        "Grass",
    ]
    assert comparison_parts("What is the F1 of FreePRM?") == []


def test_comparison_sides_listed_after_each_of_or_described_after_a_colon() -> None:
    assert comparison_parts("How does each of Bristle, FRL and zPROBE protect federated learning?") == [
        "Bristle",
        "FRL",
        "zPROBE",
    ]
    assert comparison_parts(
        "What new method does each paper propose: the one arguing that training longer closes the "
        "generalization gap, and the one revisiting LARS?"
    ) == ["arguing that training longer closes the generalization gap", "revisiting LARS"]
    # described sides after "each of", up to the question's verb
    assert comparison_parts(
        "What does each of the NMT data-sorting method, the unpadded BERT work, and the sequence "
        "parallelism system use to avoid padding?"
    ) == ["the NMT data-sorting method", "the unpadded BERT work", "the sequence parallelism system"]
    # "clinical and biomedical" inside a described side joins two words of it, not two sides
    assert comparison_parts(
        "CamemBERT-bio and the study of German clinical and biomedical models both continue pre-training. "
        "Where does each get its text?"
    ) == ["CamemBERT-bio", "the study of German clinical and biomedical models"]
    # … but an "and" after a head noun or a name starts the next side
    assert comparison_parts("How do the GaLore method and gradient checkpointing each save memory?") == [
        "the GaLore method",
        "gradient checkpointing",
    ]
    assert comparison_parts("What do the LoRA paper and adapters each train?") == [
        "the LoRA paper",
        "adapters",
    ]
    assert comparison_parts("How do the original Transformer and recurrent networks each handle order?") == [
        "the original Transformer",
        "recurrent networks",
    ]
    # "each of" a count or a bracketed list is no list of described sides
    assert comparison_parts("What does each of the three papers (GaLore, COAP, Grass) use?") == []
    # one described thing is not a comparison
    assert comparison_parts("What does each worker send: the gradients of its shard?") == []
    assert comparison_parts("How does each of the two methods use memory?") == []


def test_followup_rewrite_carries_the_topic() -> None:
    assert rewrite_followup(
        "How many Danish words was it pre-trained on?", ["Which paper trains a Danish LLM?"]
    ).startswith("Which paper trains a Danish LLM?")
    assert rewrite_followup("What is the F1 score of FreePRM on ProcessBench?", ["x"]) == (
        "What is the F1 score of FreePRM on ProcessBench?"
    )


def test_filters_restrict_pages_and_dates(app) -> None:  # type: ignore[no-untyped-def]
    page = "002_0e3d0914205f9d43.txt"
    r = app.retriever.search("layer normalization warm-up", k=5, filters=Filters(pages=[page]))
    assert r.sources and all(page in s.paper.pages for s in r.sources)
    r = app.retriever.search("ranking", k=5, filters=Filters(date_from="2025-01-01"))
    assert r.sources and all(s.paper.date and s.paper.date >= "2025-01-01" for s in r.sources)


def test_broad_filters_give_the_same_papers_without_an_id_list(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A filter that keeps most papers is applied after a larger nearest-neighbour query
    (an `$in` list of tens of thousands of ids is slow at scale); results must not change."""
    question = "ranking with large language models"
    flt = Filters(date_from="2024-01-01")
    pre = app.retriever.search(question, k=8, filters=flt)
    monkeypatch.setattr(type(app.index), "PREFILTER_MAX", 0)
    post = app.retriever.search(question, k=8, filters=flt)
    assert [s.paper.id for s in post.sources] == [s.paper.id for s in pre.sources]
    assert all(s.paper.date and s.paper.date >= "2024-01-01" for s in post.sources)
    vec = app.index.embed_query(question)
    allowed = {p.id for p in app.papers() if p.date and p.date >= "2025-06-01"}
    assert 0 < len(allowed) < 550
    hits = app.index.dense_search(vec, 10, allowed)  # the 7 papers since June 2025 have 14 chunks
    assert len(hits) == 10 and all(h.paper_id in allowed for h in hits)
    assert set(app.index.dense_papers(vec, 20, allowed)) <= allowed


def test_summary_search_is_diverse(app) -> None:  # type: ignore[no-untyped-def]
    r = app.retriever.search("reducing communication cost in federated learning", k=8, diverse=True)
    assert len({s.paper.id for s in r.sources}) == 8


def test_every_paper_a_summary_search_lists_has_its_best_passage_and_similarity_to_the_question(app) -> None:  # type: ignore[no-untyped-def]
    """Papers that relevance feedback or BM25 bring in have no dense hit of their own: their chunks
    are scored against the question, so a summary can quote each one (and its similarity is real)."""
    question = "Summarize how these papers reduce communication cost in federated learning."
    r = app.retriever.search(question, k=10, diverse=True)
    qvec = app.index.embed_query(r.query)
    for s in r.sources:
        assert s.chunks, s.paper.title
        assert s.dense == max(h.score for h in s.chunks)
        best = max(float(vec @ qvec) for _text, vec in app.index.chunks_of([s.paper.id])[s.paper.id])
        assert abs(s.dense - best) < 1e-3, s.paper.title


def test_sides_found_only_by_keywords_do_not_break_a_comparison(app) -> None:  # type: ignore[no-untyped-def]
    """At scale a compared side can be found by BM25 alone, with no dense chunk among the
    candidates (this crashed the 10k-paper benchmark)."""
    from paperqa.answer.retrieve import Retriever

    class KeywordOnly:
        def __init__(self, index) -> None:  # type: ignore[no-untyped-def]
            self._index = index

        def dense_search(self, *a, **k):  # type: ignore[no-untyped-def]
            return []

        def dense_papers(self, *a, **k):  # type: ignore[no-untyped-def]
            return {}

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(self._index, name)

    r = Retriever(KeywordOnly(app.index), app.settings.retrieval).search(  # type: ignore[arg-type]
        "Compare Q-GaLore, COAP and Grass as memory-efficient training methods.", k=5
    )
    assert r.sub_queries and r.sources
    assert all(s.dense == 0.0 and s.chunks == [] for s in r.sources)
    assert {"Q-GaLore", "COAP", "Grass"} <= {s.paper.title.split(":")[0] for s in r.sources}


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        (
            "How do Skill-it and Skill-Targeted Adaptive Training (STAT) each use skills?",
            ["Skill-it", "Skill-Targeted Adaptive Training (STAT)"],
        ),
        (
            "Aquila2, AquilaMoE and Aquila-Med all come out of one family. What is each built with?",
            ["Aquila2", "AquilaMoE", "Aquila-Med"],
        ),
        (
            "The 'LLaVA finds free lunch' paper and Large Content and Behavior Models (LCBMs) both train LLMs.",
            ["The 'LLaVA finds free lunch' paper", "Large Content and Behavior Models (LCBMs)"],
        ),
        ("How large are the models produced by ptt5-v2 and by DeBERTinha?", ["ptt5-v2", "DeBERTinha"]),
        (
            "What does each compare: the study of recognition, recall and retention of memories, and SORT?",
            ["the study of recognition, recall and retention of memories", "SORT"],
        ),
        (
            "What gain does each report: D4, benchmark-targeted ranking (BETR), and text pruning?",
            ["D4", "benchmark-targeted ranking (BETR)", "text pruning"],
        ),
        ("By how much do GaLore and SLTrain each reduce memory?", ["GaLore", "SLTrain"]),
        ("Which papers use both data and model parallelism", []),
    ],
)
def test_comparison_sides_are_read_from_the_ways_people_list_them(question: str, sides: list[str]) -> None:
    assert comparison_parts(question) == sides


def test_a_side_is_the_paper_that_owns_its_name_not_one_that_mentions_it() -> None:
    galore = paper(
        "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection", "We propose GaLore."
    )
    q_galore = paper(
        "Q-GaLore: Quantized GaLore with INT4 Projection", "GaLore GaLore GaLore reduces memory."
    )
    assert side_ownership("GaLore", galore) > side_ownership("GaLore", q_galore) > 0
    # a title written with its punctuation is the more exact owner
    dsp = paper("Don't Stop Pretraining: Adapt Language Models to Domains and Tasks", "x")
    dsp2 = paper("Don't Stop Pretraining? Make Prompt-based Fine-tuning Powerful Learner", "x")
    later = 'the later paper asking "Don\'t Stop Pretraining?"'
    assert side_ownership(later, dsp2) > side_ownership(later, dsp)
    # one word of a capitalised name is not the name
    reft = paper("ReFT: Reasoning with Reinforced Fine-Tuning", "x")
    assert side_ownership("Negative-aware Fine-Tuning (NFT)", reft) == 0


def test_sides_get_distinct_papers_and_a_side_named_twice_is_merged() -> None:
    # both sides own paper a equally well; b owns the second side better: a -> 1st, b -> 2nd
    assert assign_sides([[("a", 4.5), ("b", 4.0)], [("a", 4.0), ("b", 5.0)]]) == ["a", "b"]
    # the second "side" is a piece of the first one's name: its owner is taken, so it is dropped
    assert assign_sides([[("lcbm", 3.5)], [("lcbm", 2.5), ("other", 0.5)]]) == ["lcbm", None]


def test_a_sides_question_is_the_ask_without_the_shared_context() -> None:
    q = "X and Y both add a pretraining phase. What kind of extra pretraining does each one recommend?"
    assert ask_of(q) == "What kind of extra pretraining does each one recommend?"
    assert (
        ask_of("Which recipe does each recommend: the study of A, and B?")
        == "Which recipe does each recommend"
    )
    # the question after a colon asks without the sides ("Compare how A and B arrange …")
    assert (
        ask_of("Compare how DELT and the curriculum paper arrange the data: what ordering does each use?")
        == "what ordering does each use?"
    )


@pytest.mark.parametrize(
    ("ask", "expected"),
    [
        ("What does each of {0}, {0}, and {0} use to avoid padding?", "What does each use to avoid padding?"),
        ("How do {0} and {0} each decide on the rank?", "How does each decide on the rank?"),
        (
            "How large are the models produced by {0} and by {0}?",
            "How large are the models produced by each?",
        ),
        (
            "Which optimizer does each of {0} and {0} report outperforming?",
            "Which optimizer does each report outperforming?",
        ),
        # a name inside a long side goes without leaving an "each" in mid-phrase
        (
            "Compare the pre-training {0} savings that {0} report.",
            "Compare the pre-training savings that report.",
        ),
    ],
)
def test_a_sides_question_reads_without_the_sides_names(ask: str, expected: str) -> None:
    assert _without_sides(ask.format(_GONE)) == expected


@pytest.mark.parametrize(
    "question",
    [
        "How do Skill-it and Skill-Targeted Adaptive Training (STAT) each use skills?",
        "Adv-RM, FLORAL and the adversarial method all rely on adversarial training. What is perturbed?",
        "How large are the models produced by ptt5-v2 and by DeBERTinha?",
        # a summary word inside a side's name asks for no summary
        "The GPT-4 Technical Report and the Summary of ChatGPT Research both describe post-training. "
        "Which step does each name?",
        "The survey of multi-task learning by task relatedness and the survey of MTL through the ML "
        "lifecycle both review MTL. How does each organise its review?",
    ],
)
def test_a_question_that_names_its_sides_is_a_comparison(question: str) -> None:
    assert classify(question) == "comparison"


def test_a_summary_asked_for_in_so_many_words_stays_a_summary_whatever_it_names() -> None:
    assert classify("Summarize what GaLore and COAP both report about memory.") == "summary"
    assert classify("Briefly summarize what GaLore and COAP both report about memory.") == "summary"
    assert classify("Can you summarize what GaLore and COAP each report?") == "summary"
    assert classify("Give an overview of how GaLore and COAP each save memory.") == "summary"
    # the techniques of two named papers are compared
    assert classify("What approaches do GaLore and COAP each take?") == "comparison"


@pytest.mark.parametrize(
    "question",
    [
        # "both" and "the two" inside a description compare nothing
        "In experiments where a model learns two identical copies of a language, which uneven split of "
        "the data beat a balanced split on both languages?",
        "What accuracy does the 3B member of a family of backbones reach frozen, after pretraining in "
        "which a decoder generates both picture pieces and words?",
        "A quantization method freezes conflicting gradients. By how much do its low-bit models beat a "
        "direct combination of the two techniques on PACS?",
        "By how much does changing how many frames per video and how big each picture is speed up training?",
        "What accuracy does the classic image classifier that researchers treat as their point of "
        "comparison reach when retrained?",
        # "both" after a preposition opens a noun phrase, it does not distribute over the subject
        "A framework teaches LLMs to explain their code, using fine-tuning and then RL on both success "
        "and failure trajectories. By up to how much did the supervised stage raise pass@1?",
        "Is there a paper on a platform whose aggregators on one machine pass updates to each other "
        "through shared memory?",
    ],
)
def test_a_described_paper_is_one_factoid_however_its_description_reads(question: str) -> None:
    from paperqa.answer.question import comparison_parts

    assert classify(question) == "factoid"
    assert comparison_parts(question) == []  # nor does retrieval read sides into it


def test_compare_how_x_and_y_still_names_two_sides() -> None:
    from paperqa.answer.question import comparison_parts

    question = "Compare how GaLore and SLTrain reduce memory during pretraining."
    assert classify(question) == "comparison"
    assert len(comparison_parts(question)) == 2


def test_hyphenated_sides_and_a_comparison_asked_for_in_words_still_compare() -> None:
    from paperqa.answer.question import comparison_parts

    assert comparison_parts("Compare in-context learning and fine-tuning for classification.") == [
        "in-context learning",
        "fine-tuning",
    ]
    assert len(comparison_parts("Compare on-policy distillation and off-policy distillation.")) == 2
    assert len(comparison_parts("Compare how pretraining and fine-tuning affect calibration.")) == 2
    assert classify("Provide a comparison of LoRA and full fine-tuning on memory.") == "comparison"
    assert classify("What do both of these papers report about memory?") == "comparison"
    assert classify("Describe the approaches used for long-context training.") == "summary"


def test_both_and_the_two_compare_when_they_are_of_papers() -> None:
    assert classify("What do both papers report about memory?") == "comparison"
    assert classify("How do the two studies explain warm-up?") == "comparison"
    assert classify("Which techniques do these papers use to compress gradients?") == "summary"


def test_a_question_names_its_first_paper_unless_only_as_a_baseline() -> None:
    from paperqa.answer.retrieve import Retrieval
    from paperqa.types import Source

    from .fakes import paper

    galore = Source(n=1, paper=paper("GaLore: Low-Rank Projection", "x"), score=1.0)
    other = Source(n=2, paper=paper("Q-GaLore: Quantized GaLore", "y"), score=0.5)

    def retrieval(query: str, sources: list[Source]) -> Retrieval:
        return Retrieval(query, sources, 0.6, ["GaLore"], focus=[galore.paper.id])

    assert retrieval("How much memory does GaLore save?", [galore, other]).names_first
    assert not retrieval(
        "How much memory does the 8-bit optimizer save over GaLore?", [galore, other]
    ).names_first
    assert not retrieval("How much memory does GaLore save?", [other, galore]).names_first  # not first
