"""Is the corpus (or the chosen papers) about the question at all? A name the question uses that
no paper mentions, or that only a paper outside the chosen ones introduces, says it is not; the
engine then refuses, saying which name. What a question is about when it does not say: the chosen
papers (`scope_is_subject`), the papers the conversation is on (`conversation_papers`), or the
paper whose title it quotes (`titled_papers`). A terse question is about the paper that holds its
rare terms (`holds_rare_terms`). Whether retrieval found the corpus on the question at all:
`relevance_ok`.

May touch: the retriever's keyword search, text search, term statistics and papers (read only).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from ..text import (
    NameMatcher,
    against,
    name_phrases,
    name_tokens,
    names_no_subject,
    normalize_title,
    points_back,
    title_case,
)
from ..types import Paper, PriorTurn, Source, paper_id_for
from .retrieve import (
    NAME_CANDIDATES_KEYWORD,
    NAME_MAX_OWNERS,
    Filters,
    Retrieval,
    Retriever,
    leans_on_history,
)

# Is an unknown name in the corpus at all? BM25's first papers for the bare name are where it is.
NAME_CHECK_PAPERS = 10
# A capitalised word in mid-sentence this long or longer may be a name ("Medusa", "Mixtral");
# shorter ones ("Is", "AI") are too often ordinary words or covered by the strict names.
LOOSE_NAME_CHARS = 4


def scope_of(filters: Filters | None) -> tuple[str, bool]:
    """('3 selected papers', False) for a question about chosen papers (True: just one);
    ('', False) for the whole corpus."""
    n = len(filters.paper_ids) if filters else 0
    return ("" if not n else "selected paper" if n == 1 else f"{n} selected papers"), n == 1


def missing_name(
    question: str, retriever: Retriever, filters: Filters | None, retrieved: Sequence[Source] = ()
) -> str | None:
    """Why the papers searched cannot be about the question, as a sentence, or None: a name in it
    that no paper in the corpus mentions, or (a question about chosen papers) that only a paper
    outside them introduces ("Compare Domino and …" with Domino not chosen). `retrieved`: the
    papers found for the question."""
    name = _unknown_name(question, retriever, retrieved)
    if name is not None:
        return f"The question names “{name}”, which no paper in the corpus mentions."
    scope, one = scope_of(filters)
    if not filters or not scope:
        return None
    name = _name_outside_scope(question, retriever, filters.paper_ids)
    if name is not None:
        return f"The question names “{name}”, which only a paper outside the {scope} introduces."
    name = _name_not_in_scope(question, retriever, filters.paper_ids)
    if name is not None:
        which = "the selected paper does not mention" if one else f"none of the {scope} mentions"
        return f"The question names “{name}”, which {which}."
    return None


def best_match(title: str, similarity: float, threshold: float) -> str:
    """The most similar passage's numbers, as a refusal states them: its paper, its similarity
    beside the threshold. Said as a passage, not "the best match": the closest papers a refusal
    then lists are ranked by the whole search (keywords too) and may start with another paper."""
    side = "below" if similarity < threshold else "above"
    return (
        f"The most similar passage, in “{title}”, has a similarity of {against(similarity, threshold)}, {side} the "
        f"threshold of {threshold:.2f} (min_relevance)."
    )


def relevance_ok(r: Retrieval, min_relevance: float) -> bool:
    """Does the corpus plausibly cover the question? Decided from retrieval, not from the LLM."""
    return bool(r.sources) and (r.best_dense >= min_relevance or bool(r.named))


# A title quoted in a question ("… the paper 'Instruction Tuning with GPT-4'"): double quotes may
# hold an apostrophe ("Let's Verify Step by Step"), single ones not.
_QUOTED = re.compile(r"[\"“]([^\"“”]{10,300})[\"”]|(?<!\w)['‘]([^'‘’]{10,300}?)['’](?!\w)")
# Papers the catalog's text search is asked for per quoted span (a title after its name's colon).
TITLE_CANDIDATES = 20


def titled_papers(question: str, retriever: Retriever, filters: Filters | None = None) -> list[str]:
    """The papers a question names by their whole title, quoted ("I'm interested in the paper
    'Instruction Tuning with GPT-4'"), or by the title after its name's colon: the question is
    about them, as a follow-up is about the papers of its conversation; within the chosen papers."""
    out: list[str] = []
    catalog = retriever.papers()
    for double, single in _QUOTED.findall(question):
        span = (double or single).strip(" .,;:")
        if len(span.split()) < 3:
            continue
        wanted = normalize_title(span)
        exact = paper_id_for(span)  # a paper's id is its normalised title's
        found = [catalog[exact]] if exact in catalog else retriever.papers_holding(span, TITLE_CANDIDATES)
        for paper in found:
            whole = {normalize_title(paper.title), *map(normalize_title, paper.title.split(": ", 1)[1:])}
            chosen = not (filters and filters.paper_ids) or paper.id in filters.paper_ids
            if wanted in whole and chosen and paper.id not in out:
                out.append(paper.id)
    return out


def scope_is_subject(question: str, filters: Filters | None) -> bool:
    """With papers chosen, a question that points back at them ("What does this paper report about
    memory?", "What do the authors use?") or names no subject of its own ("What are the main
    results?") is about them, however far its words are from their abstracts: the user has
    already said what it is about. Only a name they do not hold refuses it (`missing_name`)."""
    return bool(filters and filters.paper_ids) and (points_back(question) or names_no_subject(question))


def conversation_papers(
    question: str, history: Sequence[str | PriorTurn], filters: Filters | None, retriever: Retriever
) -> list[str]:
    """The papers a follow-up is about: those the previous answer's lead cited, when the question
    leans on it ("Which GPUs did they use?", "What about memory?") and names nothing they do not
    hold (a follow-up that names a new method leaves them); within the chosen papers, if any."""
    last = history[-1] if history else None
    if not isinstance(last, PriorTurn) or not last.papers or not leans_on_history(question, history):
        return []
    papers = [pid for pid in last.papers if not (filters and filters.paper_ids) or pid in filters.paper_ids]
    if papers and _name_not_in_scope(question, retriever, papers) is not None:
        return []
    return papers


def _name_not_in_scope(question: str, retriever: Retriever, paper_ids: Sequence[str]) -> str | None:
    """A name in the question that none of the chosen papers mentions ('ImageNet' asked of a paper
    on federated learning), or None."""
    papers = retriever.papers()
    chosen = [f"{papers[pid].title} {papers[pid].abstract}" for pid in paper_ids if pid in papers]
    for name in name_tokens(question):
        if not any(NameMatcher(form).any_case.search(text) for form in _forms(name) for text in chosen):
            return name
    return None


def _name_outside_scope(question: str, retriever: Retriever, paper_ids: Sequence[str]) -> str | None:
    """A name in the question that none of the chosen papers mentions but another paper owns (as
    exact-name ranking decides: a strict name owned by at most NAME_MAX_OWNERS papers, a capitalised
    word by one), or None."""
    papers = retriever.papers()
    chosen = [f"{papers[pid].title} {papers[pid].abstract}" for pid in paper_ids if pid in papers]
    strict = set(name_tokens(question))
    for name in name_tokens(question, loose=True):
        matcher = NameMatcher(name)
        if any(matcher.any_case.search(text) for text in chosen):
            continue
        found = retriever.keyword_search(name, NAME_CANDIDATES_KEYWORD)
        owners = [pid for pid, _ in found if pid in papers and matcher.owns(papers[pid])]
        if 0 < len(owners) <= (NAME_MAX_OWNERS if name in strict else 1):
            return name
    return None


def _unknown_name(question: str, retriever: Retriever, retrieved: Sequence[Source] = ()) -> str | None:
    """A name in the question that appears nowhere in the corpus ('CRISPR', 'GPT-5', 'Tree of
    Thoughts', 'Medusa') means the corpus is about something else: the first such name, or None.
    Names with digits, inner capitals or hyphens are looked up as they may be written
    (`_forms`); a multi-word name as the whole phrase; a capitalised word in mid-sentence
    ("Medusa") also where the retrieved papers write it with accents ("Sami": "Sámi")."""
    strict = name_tokens(question)
    # In a question typed in Title Case ("How Does GaLore Reduce Memory?") capitals name nothing.
    cased = not title_case(question)
    phrases = name_phrases(question) if cased else []
    words = [
        w
        for w in name_tokens(question, loose=True)
        if cased and w not in strict and len(w) >= LOOSE_NAME_CHARS
    ]
    if not (strict or phrases or words):
        return None
    papers = retriever.papers()
    for name in strict:
        if not any(_in_corpus(form, retriever, papers) for form in _forms(name)):
            return name
    # the retrieved papers' own words, and who wrote them ("the Princeton University paper")
    seen = _folded(
        " ".join(
            f"{s.paper.title} {s.paper.abstract} {' '.join(s.paper.author_names)} {s.paper.organization or ''}"
            for s in retrieved
        )
    )
    for name in [*phrases, *words]:
        # "… of Aligned LLMs" as a title writes it: "… of Aligned Large Language Models"
        spelled = _spelled_out(_folded(name))
        if (
            not _in_corpus(name, retriever, papers)
            and not NameMatcher(_folded(name)).any_case.search(seen)
            and not (spelled and spelled.search(seen))
        ):
            return name
    return None


# An acronym as questions write one ("LLMs", "NMT"): two to six capitals, maybe a plural "s".
_ACRONYM = re.compile(r"^([A-Z]{2,6})s?$")


def _spelled_out(name: str) -> re.Pattern[str] | None:
    """A multi-word name with its acronyms spelled out, as a title may write it ("Continual
    Pre-training of Aligned LLMs": "… Aligned Large Language Models"); None without an acronym."""
    words = name.split()
    if len(words) < 2 or not any(_ACRONYM.match(w) for w in words):
        return None
    parts = []
    for w in words:
        m = _ACRONYM.match(w)
        parts.append(r"[\s-]+".join(rf"{c}\w*" for c in m.group(1)) if m else re.escape(w))
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", re.I)


def _folded(text: str) -> str:
    """Text without accents ("Sámi" -> "Sami"), as a question typed on an English keyboard has it."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _forms(name: str) -> list[str]:
    """The ways a paper may write a name the question uses: as written; without a descriptive
    suffix ("LLaMA-style", "GPT-4-based"); with spaces for hyphens, or as the acronym of its
    words ("hidden-Markov-model": "hidden Markov model", "HMM")."""
    forms = [name]
    if re.search(r"-[a-z]+$", name):
        forms.append(name.rsplit("-", 1)[0])
    words = [w for w in name.split("-") if w]
    if len(words) >= 2:
        forms.append(" ".join(words))
        if all(w.isalpha() for w in words):
            forms.append("".join(w[0] for w in words).upper())
    return forms


def _in_corpus(name: str, retriever: Retriever, papers: Mapping[str, Paper]) -> bool:
    pattern = NameMatcher(name).any_case
    hits = [pid for pid, _ in retriever.keyword_search(name, NAME_CHECK_PAPERS)]
    return any(
        pattern.search(papers[pid].title + " " + papers[pid].abstract) for pid in hits if pid in papers
    )


# A question term this rare (BM25 IDF; in about 5% of papers or fewer) is distinctive: a paper
# that holds the question's distinctive terms is about it, however low the passage similarity.
RARE_TERM_IDF = 3.0
MIN_RARE_TERMS = 2


def holds_rare_terms(question: str, sources: Sequence[Source], lexicon: Retriever) -> bool:
    """The first source's paper holds the question's distinctive terms (all but one of its rare
    ones): the corpus covers it even when the passage similarity is low (a terse question)."""
    if not sources:
        return False
    terms = set(lexicon.content_terms([question])[0])
    rare = {t for t, v in lexicon.idf(terms).items() if v >= RARE_TERM_IDF}
    if len(rare) < MIN_RARE_TERMS:
        return False
    top = sources[0].paper
    held = rare & set(lexicon.content_terms([f"{top.title} {top.abstract}"])[0])
    return len(held) >= len(rare) - 1 and len(held) >= MIN_RARE_TERMS
