"""Comparison sides: each compared paper's own answer, one factoid question per side; and the
paper a "which paper …?" question asks for (`paper_picks`), by the same own-answer ranking, and
whether that paper stands out from its neighbours at all (`stands_out`).

Retrieval resolves every side the question names to the paper that owns its name
(`retrieve.assign_sides`); this module asks each of those papers the question's ask — the clause
that names the side, or the ask without the sentence saying what the sides share and without any
side's name — and ranks that paper's sentences for it with the factoid machinery
(`evidence.rank_sentences`). A side's own answer is what its paper does: a sentence in its own
voice or naming it, more so one that puts its method forward, that stands alone: never the scene
its abstract sets before it speaks of its own work, a sentence that leans on the one before it
("In this way, …", "we apply this idea …"), one that only says where the paper ran its experiments
or describes another's "recently proposed" method (`own_answer_value`). The best sentence is the side's clause in
the lead and its cell in the table; the runners-up join it in the cell, and the table's other rows
pick among their kind of sentence by the same ranking.

May touch: the retriever's embedding and term statistics (through `Retriever`), and the pure
stages it is passed; never the store itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..text import (
    OWN_IN_TITLE,
    NameMatcher,
    against,
    drop_leading_link,
    holds_word,
    name_tokens,
    normalize_title,
    side_ownership,
)
from ..types import Paper, Source
from . import compose
from .evidence import (
    INTRODUCES,
    OWN_WORK,
    Embed,
    Scored,
    describes_setup,
    rank_sentences,
    reports_results,
    scene_of,
)
from .question import QuestionAnalysis, analyze, ask_of
from .retrieve import Retrieval, Retriever
from .verify import looks_like_instruction

# A side of more words than this (read from a "Compare …" sentence) may hold the question's ask.
LONG_SIDE_WORDS = 6
# Most sides a comparison table shows.
MAX_SIDES = 5
# A side's paper has all its sentences embedded (see evidence.EMBED_PER_SOURCE).
ALL_SENTENCES = 1000


def compared_sides(
    q: QuestionAnalysis,
    search_text: str,
    r: Retrieval,
    ranked: list[Scored],
    retriever: Retriever,
    embed: Embed,
) -> tuple[list[Scored], dict[int, list[Scored]]]:
    """Each compared paper's best sentence for its own question, in the question's order, and the
    rest of each one's sentences in that ranking, runner-up first (by source number). The papers
    are the sides retrieval resolved; when the question names fewer than two, the papers whose
    sentences answer it best complete them."""
    resolved = len(r.focus) >= 2 and len(r.focus) == len(r.sub_queries)
    ids = list(r.focus) if resolved else _unresolved_sides(q, r, ranked)
    by_id = {s.paper.id: s for s in r.sources}
    out: list[Scored] = []
    more: dict[int, list[Scored]] = {}
    for i, pid in enumerate(ids[:MAX_SIDES]):
        if pid not in by_id:
            continue
        # unresolved sides: the ask without the sentence saying what the sides share
        own = side_question(q, search_text, r.sub_queries, i, retriever) if resolved else ask_of(search_text)
        side_q = analyze(own)
        side_q.kinds = q.kinds if len(q.clauses) < 2 else side_q.kinds
        best = rank_sentences(
            side_q,
            retriever.embed_query(own),
            [by_id[pid]],
            embed,
            retriever,
            skip=looks_like_instruction,
            embed_per_source=ALL_SENTENCES,
        )
        offered = offered_name(r.sub_queries[i], by_id[pid]) if resolved else ""
        best = sorted(best, key=lambda x: -own_answer_value(x, side_q, offered))
        pick = best[0] if best else next((s for s in ranked if s.source.paper.id == pid), None)
        if pick is not None and INTRODUCES.search(pick.text):
            # "we introduce X, a …" names the method; the next sentence says how it works
            after = next(
                (
                    b
                    for b in best
                    if b.pos == pick.pos + 1
                    and not reports_results(b.text)
                    and len(pick.text) + len(b.text) < compose.LEAD_CLAUSE_CHARS  # never cut mid-lead
                ),
                None,
            )
            if after is not None:
                best.remove(after)
                pick = Scored(
                    pick.source, pick.pos, f"{pick.text} {after.text}", pick.score, terms=pick.terms
                )
        if pick is not None:
            out.append(pick)
            # the side's cell shows its runners-up too; the table's other rows pick by the same ranking
            more[pick.source.n] = best[1:]
    return out, more


# A side's answer is what its own paper does, said by the paper ("we use …", "<Name> leverages …"):
# such a sentence gains W_SIDE_OWN over one about the field's problem ("… heavily relies on …"),
# which loses as much; a quantity question's sentence without a number gains nothing. Set on
# eval/comparisons-b.jsonl (sides whose keyword is in their lead sentence: 36 -> 42 of 75).
W_SIDE_OWN = 0.5
_PROBLEM = re.compile(
    r"\b(challeng\w*|problem|however|costly|expensive|suffer\w*|heavily relies|bottleneck|limitation\w*|"
    r"difficult)\b",
    re.I,
)


# A sentence that puts forward the paper's own method ("we propose coCondenser, which adds …") states
# its contribution: asked what each side does, uses or changes, it answers before a finding or a
# setting of the same paper (a name or a quantity question still wants its name or number). Set on
# the side check (each side's first sentence holds its keyword): comparisons-b 49 -> 51 of 75,
# comparisons-c 31 -> 35 of 60, questions-b 13 -> 12 of 17; with name questions too, 50 / 36 / 10.
W_SIDE_PROPOSES = 0.3
# What a paper hopes, aims at or checks, not what it does or finds ("We believe our formulation
# will inspire future studies", "we aim to investigate …", "to verify the effectiveness …, we …"):
# such a sentence does not gain W_SIDE_OWN for its "we" or its name. Read off eval/comparisons-c.jsonl's
# answers (after its first run); on comparisons-b, dev and questions-b it moves no side.
_OUTLOOK = re.compile(
    r"\b(?:believe|hope|will (?:inspire|facilitate|benefit|serve|aid|help|open)|"
    r"future (?:work|studies|research|directions?)|aims? to (?:investigate|study|explore|understand)|"
    r"try to verify|extensively evaluate|to verify the effectiveness)\b",
    re.I,
)


# A sentence that opens on what the abstract's previous sentence said ("This simple change …",
# "These results …", "Such methods …"): lifted out alone, it says nothing a reader can place.
# ("This paper …", "This work …" name the paper itself and stand alone.)
_POINTS_BACK_OPENING = re.compile(
    # ("This is why we propose X" says what the paper does, alone: the lead drops "This is why")
    r"^\W*(?:this|these|those|such|the above)\s+(?!(?:paper|work|study|article|report|survey|thesis)\b|is why\s+we\b)|"
    # "In this way, we improve the pseudo-labels": how is in the sentence before
    r"^\W*(?:in this way|by doing so|in doing so|doing so|thereby)\b",
    re.I,
)
# Another's work a paper takes as given ("the recently proposed Condenser architecture"): a sentence
# about it is the paper's setting, not its own answer. (A citation, "(Yang et al., 2022)", is not
# enough: papers cite what they combine into their own method.)
_BUILDS_ON = re.compile(
    r"\b(?:recently|previously|originally)\s+(?:proposed|introduced|developed|published)\b", re.I
)
# An outcome its experiments or results "show" ("Results consistently show that … NFT improves over
# …"): narrower than `evidence.reports_results` on purpose ("we show that warmup can improve
# stability" answers what a paper recommends; the broader rule lost a side, see eval/README.md).
_REPORTS_OUTCOME = re.compile(
    r"\b(?:experiments?|results?|evaluations?)\s+(?:\w+\s+)?(?:show|demonstrate|indicate|reveal|confirm)|"
    r"\boutperform(?:s|ed|ing)?\b",
    re.I,
)
# A question about the data, corpus, benchmarks or experiments: there the setting is the answer
# (`evidence.describes_setup` tells a sentence that only gives the setting).
_ASKS_SETUP = re.compile(
    r"\b(?:data(?:set)?s?|corpus|corpora|benchmarks?|evaluat\w*|experiment\w*|test\w*)\b", re.I
)
# What the previous sentences said, taken up in the sentence's first clause ("we apply this idea to
# …", "we test this hypothesis"): it does not stand alone either ("We propose X, addressing these
# challenges through …" does).
_TAKES_UP = re.compile(
    r"\b(?:this|these|such|the above)\s+(?:idea|observation|insight|finding|intuition|principle|concept|"
    r"hypothes[ie]s|phenomen(?:on|a)|problem|issue|challenge|gap|limitation)s?\b",
    re.I,
)


def own_answer_value(s: Scored, q: QuestionAnalysis, offered: str = "") -> float:
    """A sentence's score as its paper's own answer (a comparison side's, or what the paper a
    "which paper" question asks for does): see W_SIDE_OWN. `offered` is the name the question
    gives the side ("coCondenser" for a paper whose title has no short name)."""
    # "We use the recently proposed Condenser architecture": what the paper builds on is not its answer
    own = bool(OWN_WORK.search(s.text)) and not _BUILDS_ON.search(s.text)
    names = [n for n in (compose.short_name(s.source.paper), offered) if n]
    named = any(holds_word(s.text, n) for n in names)
    value = s.score
    if (own or named) and not (q.wants("quantity") and not s.numbers):
        value += W_SIDE_OWN
    # the field's problem, or a sentence that sets the scene before the paper speaks of its own work
    # ("Alternatively, factorization methods have been leveraged …"): not the paper's own answer
    scene = s.pos < scene_of(s.source.paper.title, s.source.paper.abstract)
    if (_PROBLEM.search(s.text) or scene) and not own and not named:
        value -= W_SIDE_OWN
    if (own or named) and _OUTLOOK.search(s.text):  # its "we" earns it nothing
        value -= W_SIDE_OWN
    # "This simple change stabilizes …": a side's answer must stand alone, and it points back
    lifted = drop_leading_link(s.text)
    takes_up = _TAKES_UP.search(lifted.split(",", 1)[0]) and not INTRODUCES.search(
        s.text
    )  # "by introducing X" stands
    if (_POINTS_BACK_OPENING.match(s.text) or takes_up) and not named:
        value -= W_SIDE_OWN
    asks_setup = _ASKS_SETUP.search(q.text) is not None
    # "We conduct experiments on 7B and 32B models": where the paper tested, not what it does
    if describes_setup(lifted) and not asks_setup and not INTRODUCES.search(s.text):
        value -= W_SIDE_OWN
    # asked how each works, a sentence that reports how well it did is not how it works
    if q.wants("mechanism") and _REPORTS_OUTCOME.search(s.text) and not asks_setup:
        value -= W_SIDE_OWN / 2
    if INTRODUCES.search(s.text) and not (q.wants("quantity") or q.wants("name")):
        value += W_SIDE_PROPOSES
    return value


def _unresolved_sides(q: QuestionAnalysis, r: Retrieval, ranked: list[Scored]) -> list[str]:
    """Sides when the question names fewer than two: the named ones, the holders of the names it
    uses ("according to RAdam"), then the papers whose sentences answer best (two at least)."""
    ids = list(r.focus)
    text_of = {s.paper.id: f"{s.paper.title} {s.paper.abstract}" for s in r.sources}
    for name in q.names:
        pattern = NameMatcher(name).any_case
        if any(pattern.search(text_of.get(pid, "")) for pid in ids):
            continue
        holder = next((s.paper.id for s in r.sources if pattern.search(text_of[s.paper.id])), None)
        if holder is not None:
            ids.append(holder)
    for s in ranked:
        if len(ids) >= max(2, len(r.sub_queries)):
            break
        if s.source.paper.id not in ids:
            ids.append(s.source.paper.id)
    return ids


def side_question(
    q: QuestionAnalysis, search_text: str, parts: Sequence[str], i: int, retriever: Retriever
) -> str:
    """Side i's own factoid question. When the question asks each side something else, the ask
    (clause) whose words are the side's; else the question's ask alone, without the sentence that
    says what the sides share ("X and Y both learn each task through low-rank updates.") and
    without any side's name: within one paper, those words find the sentences that introduce it,
    not the one that answers."""
    if len(q.clauses) >= 2:
        side_terms = set(retriever.content_terms([parts[i]])[0])
        others = set().union(*(retriever.content_terms([p])[0] for j, p in enumerate(parts) if j != i))
        held = [len(side_terms & set(t)) - len(others & set(t)) for t in retriever.content_terms(q.clauses)]
        if max(held) > 0:
            search_text = q.clauses[held.index(max(held))]
    ask = ask_of(search_text)
    # "Compare how X and Y reduce memory" asks each side "how does X reduce memory"
    ask = re.sub(
        r"^\s*(?:compare|contrast)\s+(how|what|which|why|where|when)\b", r"\1 does each", ask, flags=re.I
    )
    for part in sorted(parts, key=len, reverse=True):
        # A long side read from "Compare the FLOPs savings … that MoMa …" holds the ask itself:
        # only its names go.
        names = name_tokens(part) if len(part.split()) > LONG_SIDE_WORDS else []
        for words in names or [part]:
            ask = re.sub(r"(?<![\w-])" + re.escape(words) + r"(?![\w-])", _GONE, ask, flags=re.I)
    ask = _without_sides(ask)
    return ask if len(ask.split()) >= 3 else search_text


_GONE = "\x01"  # where a side's name stood in the ask


def _without_sides(ask: str) -> str:
    """The ask read without the sides' names: the connectives they stood between go with them
    ("How do , and each decide …" -> "How does each decide …", "each of , and use" -> "each use"),
    and a lone side left as an object is "each" ("… produced by X and by Y?" -> "… produced by each?")."""
    joiner = r"(?:\s*,|\s+(?:and|or|both|by|of|from|in))*\s*"
    ask = re.sub(_GONE + r"(?:" + joiner + _GONE + r")+", _GONE, ask)  # "X, Y and Z" -> one gap
    ask = re.sub(r"\beach(?:\s+one)?\s+of\s*" + _GONE, "each", ask, flags=re.I)
    ask = re.sub(_GONE + r"(?:\s+(?:both|all))?\s+(?=each\b)", " ", ask)
    if not re.search(r"\beach\b", ask, re.I):  # "… produced by X and by Y?" -> "… produced by each?"
        ask = re.sub(
            r"\b(by|of|from|for|with|in|does|do|did)\s*" + _GONE, r"\1 each ", ask, count=1, flags=re.I
        )
    ask = ask.replace(_GONE, " ")
    ask = re.sub(r"\b(how|what|which|why|where|when)\s+do\s+each\b", r"\1 does each", ask, flags=re.I)
    return re.sub(r"\s+([?.,])", r"\1", re.sub(r"\s+", " ", ask)).strip()


def offered_name(side: str, source: Source) -> str:
    """The name a question gives a side that its paper owns ("NFT" for "Negative-aware
    Fine-Tuning (NFT)"; a name its title starts with, or its abstract's), or ''."""
    text = f"{source.paper.title} {source.paper.abstract}"
    # the name the question puts in brackets ("Training-Free Bayesianization (TFB)") is its name
    for bracketed in re.findall(r"\(([^()]{2,20})\)", side):
        if " " not in bracketed.strip() and NameMatcher(bracketed.strip()).any_case.search(text):
            return bracketed.strip()
    if normalize_title(side.strip(" “”\"'")) == normalize_title(source.paper.title):
        return ""  # named by its whole title ("Non-Autoregressive …"): so is its label
    # A name the title holds only in passing ("… a LoRA Adapter …", "… of the Unpadded BERT
    # Model") is what the paper works with, not what it is called, unless the paper gives it as
    # its own ("Sensitive Neuron Dropout (SeND)", "we propose PagedAttention"): else its title.
    paper = source.paper
    return next(
        (
            n
            for n in name_tokens(side)
            if NameMatcher(n).owns(paper)
            and (side_ownership(n, paper) != OWN_IN_TITLE or _gives_as_its_own(n, paper))
        ),
        "",
    )


def _gives_as_its_own(name: str, paper: Paper) -> bool:
    """The paper's title brackets the name, or its abstract proposes it by name (an abstract's
    "Low-Rank Adaptation (LoRA)" only spells out a method it uses)."""
    if NameMatcher(name).defined.search(paper.title):
        return True
    own = (
        r"\b(?:propos|introduc|present|call|nam|dub)\w*\s+(?:[\w-]+\s+){0,2}?"
        + re.escape(name)
        + r"(?![\w-])"
    )
    return re.search(own, paper.abstract, re.I) is not None


def side_labels(sides: Sequence[Scored], r: Retrieval) -> tuple[list[str], list[list[str]]]:
    """How the lead names each side (`compose.side_label`), with the name the question used; and
    that name as an alias of each (a title may spell it otherwise)."""
    part_of = dict(zip(r.focus, r.sub_queries, strict=False))
    offered = [offered_name(part_of.get(s.source.paper.id, ""), s.source) for s in sides]
    labels = [compose.side_label(s.source.paper, o) for s, o in zip(sides, offered, strict=True)]
    return labels, [[o] if o else [] for o in offered]


# "Which paper …?" names two papers when the second's retrieval score is within 5% of the first's.
# On the which-paper questions of eval/described.jsonl (12) the gold paper is retrieval's first in
# every case, leading by 9% or more (fused score ratios 0.82-0.91 at the closest): a closer race is
# one the ranking cannot call, so the reader sees both.
PAPER_TIE = 0.95


def paper_picks(ranked: Sequence[Scored], sources: Sequence[Source], q: QuestionAnalysis) -> list[Scored]:
    """ "Which paper …?": the paper retrieval ranks first, by the sentence that best states its own
    contribution in the question's terms (`own_answer_value`); and the second too when retrieval
    scores it within PAPER_TIE of the first."""
    tied = len(sources) > 1 and sources[1].score >= PAPER_TIE * sources[0].score
    picks = []
    for src in sources[: 2 if tied else 1]:
        mine = [s for s in ranked if s.source.n == src.n]
        if mine:
            picks.append(max(mine, key=lambda s: own_answer_value(s, q)))
    return picks


# A "which paper" match stands out when keyword search is confident of it (its BM25 score clears
# the next paper's by `keyword_confident_gap`, as for the keyword pin) and either its best passage is
# as close as the corpus gate asks (`min_relevance`), or it mentions every name of the question that
# retrieval matched to a paper (`Retrieval.named`), or it holds the question's rare terms
# (`coverage.holds_rare_terms`); or when its passage alone is as close as a quoted source must be
# (`min_source_relevance`). Else the closest papers are neighbours, not the answer.


def stands_out(r: Retrieval, min_relevance: float, min_similarity: float, holds_terms: bool = False) -> bool:
    """Is retrieval's first paper clearly the one a "which paper …?" question describes? Keyword
    search is confident of it and its passage clears `min_relevance`, or it mentions the question's
    matched names, or it holds the question's rare terms (`holds_terms`); or its passage alone
    clears `min_similarity`."""
    if not r.sources:
        return False
    top = r.sources[0]
    text = f"{top.paper.title} {top.paper.abstract}"
    holds_names = bool(r.named) and all(NameMatcher(n).any_case.search(text) for n in r.named)
    backed = top.dense >= min_relevance or holds_names or holds_terms
    return top.dense >= min_similarity or (r.keyword_sure == top.paper.id and backed)


def no_paper_stands_out(r: Retrieval, min_relevance: float, min_similarity: float) -> str:
    """Why a "which paper …?" question is refused when no paper stands out (`stands_out`), in the
    first paper's numbers."""
    top = r.sources[0]
    sure = (
        "keyword search is confident of it"
        if r.keyword_sure == top.paper.id
        else "keyword search is not sure of it"
    )
    return (
        f"The first found, “{top.paper.title}”, has a passage similarity of "
        f"{against(top.dense, min_similarity)} and {sure}; a clear match has {min_similarity:.2f} (min_source_relevance), or keyword search's "
        f"confidence with {min_relevance:.2f} (min_relevance) or the question's names."
    )
