"""Every question set in eval/ checked against the bundled corpus, without a model or an index.

The gold titles must name real papers, the keywords must be checkable in the gold abstracts,
and the held-out style sets (questions-b, paraphrase, summaries) must not reuse the dev set's papers.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from paperqa.api import bundled_corpus
from paperqa.evaluate import Question, load_questions
from paperqa.ingest.parse import expand_paths, parse_files
from paperqa.text import normalize_title
from paperqa.types import Paper

from .conftest import ROOT

EVAL = ROOT / "eval"
QUESTION_FILES = sorted(EVAL.glob("*.jsonl"))
DEV = "dev.jsonl"
NEW_SETS = (
    "questions-b.jsonl",
    "paraphrase.jsonl",
    "summaries.jsonl",
    "described.jsonl",
    "followups.jsonl",
    "near-miss.jsonl",
    "which-paper.jsonl",
    "which-paper-b.jsonl",
    "comparisons-c.jsonl",
)

# Defects in a set this test may not fix (dev.jsonl is owned elsewhere). Each entry must still be
# a defect: once the file is corrected, the test asks for the entry to be removed.
KNOWN_DEFECTS: dict[tuple[str, str], str] = {}

# For the paraphrase check: a word is rare when fewer than 2% of the corpus papers contain it.
RARE_DF = 0.02
_STOPWORDS = """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just may
    me might more most must my no nor not now of off on once one only or other our out over own per
    same she should so some such than that the their them then there these they this those three
    through to too two under until up use used using very via was we were what when where which
    while who whom why will with would you your"""
STOPWORDS = frozenset(_STOPWORDS.split())


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[Paper]]:
    """Normalised title -> the parsed corpus papers with that title."""
    out: dict[str, list[Paper]] = {}
    for paper in parse_files(expand_paths([bundled_corpus()])).papers:
        out.setdefault(normalize_title(paper.title), []).append(paper)
    return out


def _file(name: str) -> Path:
    path = EVAL / name
    assert path.is_file(), f"{path} is missing"
    return path


def _text(paper: Paper) -> str:
    return f"{paper.title}\n{paper.abstract}".lower()


def _gold(q: Question, corpus: dict[str, list[Paper]]) -> list[Paper]:
    return [
        corpus[normalize_title(t)][0] for t in q.gold_titles if len(corpus.get(normalize_title(t), [])) == 1
    ]


def _stem(word: str) -> str:
    """Crude suffix stripping: enough to tie 'saves'/'saving'/'save' or 'queries'/'query' together."""
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    for suffix in ("ations", "ation", "ings", "ing", "ed", "ly", "es", "s"):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _content_words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 1 and w not in STOPWORDS}


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_eval_folder_has_the_question_sets() -> None:
    assert {DEV, *NEW_SETS} <= {p.name for p in QUESTION_FILES}


@pytest.mark.parametrize("path", QUESTION_FILES, ids=_ids(QUESTION_FILES))
def test_question_file_loads_with_the_harness_loader(path: Path) -> None:
    questions = load_questions(path)
    assert questions
    for q in questions:
        assert q.turns and all(isinstance(t, str) and t.strip() for t in q.turns), q.id
        if q.type == "followup":
            assert 2 <= len(q.turns) <= 4, q.id


@pytest.mark.parametrize("path", QUESTION_FILES, ids=_ids(QUESTION_FILES))
def test_question_ids_are_unique(path: Path) -> None:
    counts = Counter(q.id for q in load_questions(path))
    dups = [i for i, n in counts.items() if n > 1]
    assert not dups, f"duplicate ids: {dups}"


@pytest.mark.parametrize("path", QUESTION_FILES, ids=_ids(QUESTION_FILES))
def test_every_gold_title_matches_exactly_one_corpus_paper(
    path: Path, corpus: dict[str, list[Paper]]
) -> None:
    bad = [
        (q.id, title, len(corpus.get(normalize_title(title), [])))
        for q in load_questions(path)
        for title in q.gold_titles
        if len(corpus.get(normalize_title(title), [])) != 1
    ]
    assert not bad, f"gold titles not matching exactly one paper (id, title, matches): {bad}"


@pytest.mark.parametrize("path", QUESTION_FILES, ids=_ids(QUESTION_FILES))
def test_every_keyword_appears_in_a_gold_abstract(path: Path, corpus: dict[str, list[Paper]]) -> None:
    missing = [
        (q.id, kw)
        for q in load_questions(path)
        for kw in q.answer_keywords
        if not any(kw.lower() in _text(p) for p in _gold(q, corpus))
    ]
    assert not missing, f"keywords in no gold title+abstract: {missing}"


@pytest.mark.parametrize("path", QUESTION_FILES, ids=_ids(QUESTION_FILES))
def test_no_keyword_is_given_away_by_the_question(path: Path) -> None:
    leaked = [
        (q.id, kw)
        for q in load_questions(path)
        for kw in q.answer_keywords
        if kw.lower() in " ".join(q.turns).lower()
    ]
    assert not leaked, f"keywords already in the question: {leaked}"


@pytest.mark.parametrize("path", QUESTION_FILES, ids=_ids(QUESTION_FILES))
def test_comparison_keywords_follow_the_order_of_gold_titles(
    path: Path, corpus: dict[str, list[Paper]]
) -> None:
    """Keyword i belongs to gold paper i, so a grader can tell which side a fact came from."""
    wrong, fixed = [], []
    for q in load_questions(path):
        if q.type != "comparison" or not q.answer_keywords:
            continue
        gold = _gold(q, corpus)
        ok = len(q.answer_keywords) <= len(gold) and all(
            kw.lower() in _text(gold[i]) for i, kw in enumerate(q.answer_keywords)
        )
        known = (path.name, q.id) in KNOWN_DEFECTS
        if not ok and not known:
            wrong.append((q.id, q.answer_keywords))
        if ok and known:
            fixed.append(q.id)
    assert not wrong, f"comparison keyword i not in gold paper i: {wrong}"
    assert not fixed, f"fixed in the file; remove from KNOWN_DEFECTS: {fixed}"


@pytest.mark.parametrize("path", QUESTION_FILES, ids=_ids(QUESTION_FILES))
def test_unanswerable_questions_have_no_gold_papers_or_keywords(path: Path) -> None:
    bad = [
        q.id
        for q in load_questions(path)
        if q.type == "unanswerable" and (q.gold_titles or q.answer_keywords)
    ]
    assert not bad, f"unanswerable questions with gold papers or keywords: {bad}"
    missing_gold = [q.id for q in load_questions(path) if q.type != "unanswerable" and not q.gold_titles]
    assert not missing_gold, f"answerable questions without gold papers: {missing_gold}"


@pytest.mark.parametrize("name", NEW_SETS)
def test_new_sets_share_no_gold_paper_with_dev(name: str) -> None:
    dev = {normalize_title(t) for q in load_questions(_file(DEV)) for t in q.gold_titles}
    shared = sorted(
        (q.id, t) for q in load_questions(_file(name)) for t in q.gold_titles if normalize_title(t) in dev
    )
    assert not shared, f"{name} reuses dev gold papers: {shared}"


def test_questions_b_has_the_dev_mix_or_more() -> None:
    counts = Counter(q.type for q in load_questions(_file("questions-b.jsonl")))
    wanted = {"factoid": 28, "comparison": 8, "summary": 5, "unanswerable": 4, "followup": 3}
    assert all(counts[t] >= n for t, n in wanted.items()), counts
    assert sum(counts.values()) >= 48


def test_paraphrase_questions_share_no_rare_word_with_their_gold_paper(
    corpus: dict[str, list[Paper]],
) -> None:
    """A paraphrase question names nothing distinctive of its paper: no content word it shares with
    the gold title+abstract is in fewer than 2% of the corpus papers."""
    papers = [ps[0] for ps in corpus.values()]
    df = Counter(w for p in papers for w in _content_words(_text(p)))
    limit = RARE_DF * len(papers)
    questions = load_questions(_file("paraphrase.jsonl"))
    assert len(questions) >= 16 and {q.type for q in questions} == {"factoid"}
    shared = {}
    for q in questions:
        gold_words = set().union(*(_content_words(_text(p)) for p in _gold(q, corpus)))
        rare = sorted(w for w in _content_words(" ".join(q.turns)) & gold_words if df[w] < limit)
        if rare:
            shared[q.id] = rare
    assert not shared, f"rare words shared with the gold paper: {shared}"
