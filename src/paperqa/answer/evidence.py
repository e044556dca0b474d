"""Answer-bearing evidence: rank the sentences of the retrieved abstracts for a question.

Papers are ranked by retrieval; this ranks *sentences*, so the answer comes from the sentence
that holds it, in whichever retrieved paper that is. A sentence scores by

* lexical match — the IDF-weighted share of the question's terms it contains (the keyword
  index's own tokenizer, stemmer and IDF), so rare terms ("Megatron-LM") count most;
* meaning — cosine similarity of sentence and question embeddings;
* answer type — a "how much" question needs a quantity the question does not already state,
  a "which method" question a name it does not already contain, a "what is X" question the
  sentence where X's own paper defines it;
* constraints — named conditions from the question ("over Megatron-LM") found in the sentence;
* the paper's retrieval score, as a prior.

Every weight is a named constant below, with its reason; they were set on `eval/dev.jsonl`
and checked on `eval/questions-b.jsonl`.

May touch: only what it is passed (an embedding function and a lexicon: the retriever's, or the fakes in tests); no index, no model of its own.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np

from ..text import (
    NAME_NUMBER,
    NameMatcher,
    holds_word,
    name_tokens,
    negated_parts,
    numbers_of,
    same_word,
    side_ownership,
    spelled_numbers,
    split_sentences,
)
from ..types import Source
from .question import QuestionAnalysis, focus_words

Embed = Callable[[Sequence[str]], np.ndarray]

# Lexical match (IDF-weighted share of question terms, 0..1): the strongest single signal on
# factoid questions, which name the rare terms of the sentence that answers them.
W_LEXICAL = 1.0
# The sentence holds the question's focus ("base models", "learning rate scheduler"): the words
# an answer is stated next to. Share of the focus terms, times this.
W_FOCUS = 0.3
# A quantity stated next to the focus ("154 checkpoints", "a batch size of 32K"): the number
# answers the question rather than describing the paper. Within ATTACH_WORDS words.
W_ATTACHED = 0.3
ATTACH_WORDS = 4
# A name stated next to the focus ("builds on Llama 3.1 base models" for "which base models"):
# the name answers the question rather than naming the paper's own method.
W_ATTACHED_NAME = 0.5
# Background, not the paper's finding: the opening sentence of an abstract (the asked-for fact was
# in it for 4 of 83 factoids over dev, questions-b and the paraphrase slice; 1 in 8 by chance),
# or a sentence that opens on prior work or a contrast ("While the very recent TabPFNv2 …").
W_BACKGROUND = 0.15
_BACKGROUND = re.compile(
    r"^\W*(?:the\s+)?(while|although|though|despite|recent(ly)?|existing|prior|previous(ly)?|traditional(ly)?|"
    r"conventional(ly)?)\b",
    re.I,
)
# A quantity with a unit letter ("500K", "10x", "7B") is a number, not a name.
_QUANTITY_TOKEN = re.compile(r"^[~≈<>]?\d[\d.,]*\s?[A-Za-z%×]{0,2}$")
# A how/why question and a sentence that says how something is done ("we replace … by …",
# "utilizes a delayed Nesterov momentum update"): the mechanism, not the setting. Set on
# questions-b (dev has almost no how/why factoids); dev and the paraphrase slice are unchanged by it.
W_MECHANISM = 0.5
# Cosine similarity (MiniLM, typically 0.2..0.7): carries paraphrased questions.
W_DENSE = 0.6
# The sentence holds what the question asks for (a new quantity / a new name / X's definition).
W_TYPE = 0.35
# A quantity question and a sentence without any quantity: it cannot be the answer.
W_NO_QUANTITY = 0.25
# A name question and a sentence without a name the question lacks: it cannot be the answer
# (a quoted term — ``flip rate'' — counts as a name).
W_NO_NAME = 0.25
# All of the question's named constraints present ("over Megatron-LM", "on ProcessBench").
W_CONSTRAINT = 0.3
# Retrieval prior: a paper at rank r (1-based) adds W_RANK / r to its sentences.
W_RANK = 0.25
# Long sentences match more question words by sheer length: this much is taken off per
# LONG_SENTENCE_WORDS words beyond LONG_SENTENCE_WORDS.
W_LENGTH = 0.1
LONG_SENTENCE_WORDS = 30
# Question word pairs ("one cause", "warm-up stage") found side by side in the sentence: this
# much each, at most W_PHRASE_MAX: a phrase match is stronger evidence than scattered words.
W_PHRASE = 0.1
W_PHRASE_MAX = 0.3
# The sentence's paper holds the question's terms (IDF-weighted share of them in its title and
# abstract): a question describes its paper ("the sparsity-based framework for continual
# learning on edge devices") and asks for one fact of it.
W_PAPER = 0.5
# Weight of a question word that the sentence's paper's title holds, in the sentence's lexical match.
TITLE_TERM_SHARE = 0.5
# "What is X": the paper that owns the name X (title, or defined and used throughout).
W_OWNER = 0.4
# Sentences per source that are embedded (after a lexical pre-ranking): keeps the first token
# fast on a small CPU; abstracts have about 8 sentences. One paper's own answer (a comparison
# side) embeds all of its sentences: there the answer often shares few words with the ask
# ("the teacher creates a Missing-Skill-Profile" for "how does each use skills to choose data").
EMBED_PER_SOURCE = 6

_QUANTITY_WORDS = re.compile(
    r"\b(twice|double[sd]?|half|halv\w+|triple[sd]?|fold|orders? of magnitude|percent|"
    r"hundreds?|thousands?|millions?|billions?|trillions?|"
    r"(two|three|four|five|six|seven|eight|nine|ten|dozens of) [A-Za-z\-]+s)\b",  # "eight GPUs", not "one of"
    re.I,
)
_NAMING = re.compile(
    r"\b(we (define|propose|introduce|present|call|term|name|develop|design|identify)|called|termed|"
    r"dubbed|named|known as|which we call)\b",
    re.I,
)
# How it is done ("uses a voting mechanism", "we leverage … zero-knowledge proofs"). A sentence that
# only names the method ("we propose Federated Rank Learning (FRL)") says what it is, not how it
# works: it answers a definition, not a how-question.
_SOLUTION = re.compile(
    r"\b(we (use|utili[sz]e|leverage|replace|employ|apply|adopt)|"
    r"by (adding|using|replacing|introducing|leveraging|computing|selecting)|"
    r"uses|utili[sz]es?|leverag\w+|employs|relies on|works by|replac\w+ \w+ with|achieved by|based on|"
    r"which (uses|computes|replaces))\b",
    re.I,
)
# A why-question and a sentence that states a cause ("… lowers the effective temperature, and the
# resulting decrease in token diversity makes … unfair"): the reason, not the topic.
_CAUSE = re.compile(
    r"\b(because|due to|owing to|since|as a result|leads? to|led to|caus(?:e|es|ed|ing)|results? in|"
    r"resulting|stems? from|attribut\w* to|makes?|lowers?|explains?)\b",
    re.I,
)
# Words a question uses about a paper that its abstract does not ("the authors" — abstracts say
# "we"): never counted as a term the answer must share.
QUESTION_META_WORDS = ("authors",)
# Links and release notes ("The code is available at https://…") answer nothing.
_RELEASE_NOTE = re.compile(
    r"^\W*github\b|\b(code|codes|weights|checkpoints)\b[^.]{0,40}\b(available|released)\b|"
    r"\b(available|released) (at|on|from)\b|\bproject page\b",
    re.I,
)
# A sentence that reports experiments rather than explaining the method ("Extensive experimental
# results … verify our intuition" too: joined to "we propose RAdam" it told no more of how it works).
_RESULTS = re.compile(
    r"\b(experiment(?:s|al)?|outperforms?|results show|we (show|demonstrate|evaluate)|benchmarks?)\b", re.I
)
_LINK_OR_TAG = re.compile(r"https?://\S+|<[^>]*>")
# A sentence with fewer words than this once links and tags are removed is a link, not a finding.
MIN_WORDS_BESIDE_LINKS = 6


# A sentence that introduces the paper's method ("we propose X", "we tackle this challenge by
# introducing X", "we take a further step … and propose X", "this paper presents X"): it names the
# method, and the next sentence says how it works (comparison sides, a summary's "how" line).
INTRODUCES = re.compile(
    # the subject, a few adverbs at most, then the verb ("we propose", "we also introduced",
    # "this paper presents") ...
    r"\b(?:we|this (?:paper|work))\s+(?:(?:also|further|then|here|now|first|thus|therefore|hence|instead)\s+)*"
    r"(?:propos|introduc|present|develop|design)(?:e|es|s|ing|ed|d)?\b|"
    # ... or the verb after "by" / "and" within 80 characters, about a clause ("we tackle this
    # challenge by introducing X", "we take a further step … and propose X"); never a participle of
    # another's work ("methods that were proposed", "baselines introduced by …", "carefully
    # designed prompts")
    r"\bwe\b[^.;]{0,80}?\b(?:by|and)\s+(?:propos|introduc|present|develop|design)(?:e|es|s|ing)?\b",
    re.I,
)


def reports_results(sentence: str) -> bool:
    """The sentence reports experiments rather than explaining the method."""
    return bool(_RESULTS.search(sentence))


# A sentence that only says where or how the paper tested its method: "We conduct extensive
# experiments on …", "Experiments are performed …", "We incorporate our method into PyTorch and
# evaluate its effectiveness using several graphs …".
_SETUP = re.compile(
    r"^\W*(?:we\s+(?:also\s+)?(?:conduct(?:ed)?|perform(?:ed)?|run|ran|carr(?:y|ied) out)\s+(?:extensive\s+|comprehensive\s+|our\s+)?"
    r"(?:experiments|evaluations?|studies)|(?:extensive\s+|comprehensive\s+)?experiments\s+(?:are|were)\s+"
    r"(?:conducted|performed|run))\b|"
    r"\bevaluat(?:e|es|ed|ing)\s+(?:its|their|our|the)\s+(?:effectiveness|efficacy|performance)\b",
    re.I,
)


def describes_setup(sentence: str) -> bool:
    """The sentence says where the paper ran its experiments, not what its method does."""
    return bool(_SETUP.search(sentence))


# The paper speaking of its own work ("we", "our", "this paper", "the proposed method").
OWN_WORK = re.compile(
    r"\b(?:we|our)\b|\b(?:this|the proposed) (?:paper|work|method|approach|framework|study|model)\b", re.I
)


# Papers whose scene-setting count is kept (a question's sides and sources: a few dozen at most).
SCENES_KEPT = 1024
# A title head of this many words or fewer ("Maestro", "Deep Gradient Compression") is a name an
# abstract uses for the paper's method; a longer one is a phrase.
SCENE_NAME_WORDS = 3


def scene_setting(sentences: Sequence[str], title: str) -> int:
    """How many opening sentences of an abstract set the scene: those before the first that speaks
    of the paper's own work ("we …", "this paper …") or names its method (the title's head, "Maestro"
    of "Maestro: …"). 0 when no sentence does either (nothing to tell apart)."""
    head = title.split(":")[0].strip() if ":" in title else ""
    named = (
        re.compile(r"(?<![\w-])" + re.escape(head) + r"(?![\w-])")
        if 0 < len(head.split()) <= SCENE_NAME_WORDS
        else None
    )
    return next((i for i, x in enumerate(sentences) if OWN_WORK.search(x) or (named and named.search(x))), 0)


@functools.lru_cache(maxsize=SCENES_KEPT)
def scene_of(title: str, abstract: str) -> int:
    """`scene_setting` of a paper, memoised: a side's every candidate sentence asks it."""
    return scene_setting(split_sentences(abstract), title)


def is_background(sentence: str, pos: int) -> bool:
    """The abstract's opening sentence, or one that opens on prior work or a contrast: background,
    not what the paper does or finds (see W_BACKGROUND)."""
    return pos == 0 or bool(_BACKGROUND.search(sentence))


_QUESTION = re.compile(r"\?[\s”\"')\]]*\.?$")


def is_question(sentence: str) -> bool:
    """A question the abstract asks ("Can RL similarly improve …?", "… planning?”"): it answers
    nothing, so it is never evidence nor a table cell."""
    return bool(_QUESTION.search(sentence))


def is_boilerplate(sentence: str) -> bool:
    """A link or a release note ("The code is available at …"): never evidence."""
    # a release note's links hold dots ("github.com"), which would hide "weights (…) available"
    return bool(_RELEASE_NOTE.search(_LINK_OR_TAG.sub(" ", sentence))) or (
        _LINK_OR_TAG.search(sentence) is not None
        and len(_LINK_OR_TAG.sub(" ", sentence).split()) < MIN_WORDS_BESIDE_LINKS
    )


_WORDS = re.compile(r"[\w.%×\-]+")
_DEFINING = r"(?:,\s*(?:a|an|the)\b|\s*\(|\s+(?:is|are)\s+(?:a|an|the)\b|,\s*which\b)"


class Lexicon(Protocol):
    """The keyword index's text analysis: one tokenizer for the whole package."""

    def content_terms(self, texts: Sequence[str]) -> list[list[str]]: ...

    def idf(self, terms: Iterable[str]) -> dict[str, float]: ...


@dataclass
class Scored:
    """One abstract sentence, scored for a question."""

    source: Source
    pos: int  # position in its abstract
    text: str
    score: float = 0.0
    numbers: set[str] = field(default_factory=set)  # quantities the question does not state
    names: list[str] = field(default_factory=list)  # names the question does not contain
    terms: set[str] = field(default_factory=set)


# A quoted term (``flip rate'', "flip rate", “flip rate”); single quotes are apostrophes too often.
_QUOTED = re.compile(r"(?:``|\"|“)([^`\"”]{3,40})(?:''|\"|”)")


def _restates(name: str, question: str, q_names: Sequence[str]) -> bool:
    """A name that only restates the question: an acronym of its words ('FFNs' for 'feed-forward
    networks', 'ReFT' for 'Reinforced Fine-Tuning') or part of a name it already has. A name
    that starts in lower case ('veRL', 'word2vec') is never read as an acronym."""
    if any(name.lower() in n.lower() for n in q_names):
        return True
    letters = "".join(c for c in name if c.isupper())
    if not name[:1].isupper() or not 2 <= len(letters) <= 6:  # "veRL" is a name, not "RL" again
        return False
    initials = "".join(w[0] for w in re.findall(r"[A-Za-z]+", question)).upper()
    return letters in initials


def answer_parts(sentence: str, question: str) -> tuple[set[str], list[str]]:
    """The quantities and names a sentence states that the question does not (a quoted term —
    ``flip rate'' — is a name too)."""
    q_numbers = numbers_of(question) | spelled_numbers(question)
    q_lower = question.lower()
    # "we use GPT-4 to generate …" states no amount: the number a name ends in is the name's
    numbers = {n for n in numbers_of(NAME_NUMBER.sub("", sentence)) if n not in q_numbers}
    # Loose names count: a capitalised word in mid-sentence ("Cauchy losses") names something.
    candidates = name_tokens(sentence, loose=True) + [m.group(1).strip() for m in _QUOTED.finditer(sentence)]
    q_names = name_tokens(question)
    names = [
        n
        for n in candidates
        if n.lower() not in q_lower and not _restates(n, question, q_names) and not _QUANTITY_TOKEN.match(n)
    ]
    return numbers, names


def rank_sentences(
    q: QuestionAnalysis,
    qvec: np.ndarray,
    sources: Sequence[Source],
    embed: Embed,
    lexicon: Lexicon,
    skip: Callable[[str], bool] = lambda s: False,
    embed_per_source: int = EMBED_PER_SOURCE,
) -> list[Scored]:
    """Every usable sentence of the sources, best first (see the module docstring).

    `skip` marks sentences never to use (text in a paper that addresses the model);
    `embed_per_source` how many of each paper's sentences are embedded (see EMBED_PER_SOURCE)."""
    cands, scene = _candidates(sources, skip)
    if not cands:
        return []
    meta = set(lexicon.content_terms([" ".join(QUESTION_META_WORDS)])[0])
    # what it asks without or in place of ("trained without a warm-up stage") an answer may say so too
    q_negated = set().union(*_negated_terms(lexicon, [q.text])[0])
    q_seq = [t for t in lexicon.content_terms([q.text])[0] if t not in meta]
    qterms = set(q_seq)
    q_pairs = set(itertools.pairwise(q_seq))
    all_terms = lexicon.content_terms([c.text for c in cands])
    idf = lexicon.idf(qterms)
    q_mass = sum(idf.values()) or 1.0
    rank_of = {s.n: i + 1 for i, s in enumerate(sources)}
    focus_terms = set(lexicon.content_terms([q.focus])[0]) if q.focus else set()
    # a change's words ("speed up": "faster", "speedup") hold the focus as its own do
    stated_by = set(lexicon.content_terms([" ".join(focus_words(q.focus))])[0]) if q.focus else set()
    owner = NameMatcher(q.defines) if q.defines else None
    # "What is GaLore?": the name's own paper ("GaLore: …") answers, not one whose title only
    # holds the name ("Q-GaLore: Quantized GaLore …"); the same tiers that resolve comparison sides.
    tiers = {s.n: side_ownership(q.defines, s.paper) for s in sources} if q.defines else {}
    strongest = max(tiers.values(), default=0)
    constraints = [re.compile(re.escape(c), re.I) for c in q.constraints]

    # The question's words that a paper's title holds pick the paper (W_PAPER) more than the
    # sentence: within that paper they count TITLE_TERM_SHARE, so the rest ("cope with stale worker
    # gradients") chooses among its sentences.
    weight_in: dict[int, dict[str, float]] = {}
    for src, title in zip(sources, lexicon.content_terms([s.paper.title for s in sources]), strict=True):
        held_by_title = set(title)
        weight_in[src.n] = {
            t: idf.get(t, 0.0) * (TITLE_TERM_SHARE if t in held_by_title else 1.0) for t in qterms
        }
    mass_in = {n: sum(w.values()) or 1.0 for n, w in weight_in.items()}
    paper_terms = lexicon.content_terms([f"{src.paper.title} {src.paper.abstract}" for src in sources])
    paper_cov = {
        src.n: sum(idf.get(t, 0.0) for t in qterms & set(terms)) / q_mass
        for src, terms in zip(sources, paper_terms, strict=True)
    }
    spelled = acronym_terms(cands, lexicon)
    # a sentence that says it does not do X ("will not change the architecture") does not state X
    for c, terms, (negated, instead) in zip(
        cands, all_terms, _negated_terms(lexicon, [c.text for c in cands]), strict=True
    ):
        c.terms = set(terms) - ((negated | instead) - q_negated)
        c.terms |= spelled[c.source.n].get(c.text, set())
        pairs = len(q_pairs & set(itertools.pairwise(terms)))
        c.numbers, c.names = answer_parts(c.text, q.text)
        # The paper's own title names ("CoNTACT: …") are in every lead through its attribution;
        # a "which model" question asks for another name.
        c.names = [n for n in c.names if n.lower() not in c.source.paper.title.lower()]
        weight = weight_in[c.source.n]
        lexical = sum(weight[t] for t in qterms & c.terms) / mass_in[c.source.n]
        bonus = min(W_PHRASE_MAX, W_PHRASE * pairs)
        if focus_terms:
            bonus += W_FOCUS * min(1.0, len(stated_by & c.terms) / len(focus_terms))
        says_how = (q.wants("mechanism") and _SOLUTION.search(c.text)) or (
            q.wants("definition") and (_SOLUTION.search(c.text) or INTRODUCES.search(c.text))
        )
        if says_how or (q.asks_why and _CAUSE.search(c.text)):
            bonus += W_MECHANISM
        bonus += _answer_type_bonus(c, q)
        if is_background(c.text, c.pos) or c.pos < scene[c.source.n]:
            bonus -= W_BACKGROUND
        if owner is not None:
            defining = re.compile(re.escape(owner.name) + _DEFINING, re.I)
            bonus += W_TYPE if defining.search(c.text) else 0.0
            own = tiers[c.source.n] == strongest > 0 or (not strongest and owner.owns(c.source.paper))
            bonus += W_OWNER if own else 0.0
        if constraints:
            bonus += W_CONSTRAINT * sum(bool(p.search(c.text)) for p in constraints) / len(constraints)
        prior = W_RANK / rank_of[c.source.n]
        words = len(c.text.split())
        length = W_LENGTH * max(0, words - LONG_SENTENCE_WORDS) / LONG_SENTENCE_WORDS
        c.score = W_LEXICAL * lexical + W_PAPER * paper_cov[c.source.n] + bonus + prior - length

    _add_meaning(cands, qvec, embed, embed_per_source)
    return sorted(cands, key=lambda c: (-c.score, c.source.n, c.pos))


# "supervised fine-tuning (SFT)": an abbreviation the abstract defines (its capitals are the initials
# of the words before the bracket).
_DEFINED = re.compile(r"((?:[\w]+[\s-]+){1,6}?)\(([A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*?)s?\)")


_NAMES_ITS_OWN = re.compile(r"\b(?:propos\w*|introduc\w*|call(?:ed|s)?|named|dubbed)\b", re.I)


def acronym_terms(cands: Sequence[Scored], lexicon: Lexicon) -> dict[int, dict[str, set[str]]]:
    """The terms each sentence states through an abbreviation its abstract defines: 'SFT improves
    pass@1' says 'supervised fine-tuning' where the abstract wrote 'supervised fine-tuning (SFT)'."""
    defined: dict[int, dict[str, str]] = {}
    for c in cands:
        if c.source.n not in defined:
            found = {}
            abstract = c.source.paper.abstract
            for m in _DEFINED.finditer(abstract):
                long, short = m.group(1), m.group(2)
                # the paper's own method ("we propose … (SPDCL)") names the paper, not what it does
                before = re.split(r"[.!?]\s", abstract[: m.start(2)])[-1]
                if holds_word(c.source.paper.title, short) or _NAMES_ITS_OWN.search(before):
                    continue
                caps = re.sub(r"[^A-Z]", "", short)
                words = re.split(r"[\s-]+", long.strip())[-len(caps) :]
                if len(words) == len(caps) and "".join(w[0] for w in words).upper() == caps:
                    found[short] = " ".join(words)
            defined[c.source.n] = found
    wanted = [
        (c, long)
        for c in cands
        for short, long in defined[c.source.n].items()
        if holds_word(c.text, short) or holds_word(c.text, short + "s")  # "LLMs" for "(LLMs)"
    ]
    out: dict[int, dict[str, set[str]]] = {c.source.n: {} for c in cands}
    for (c, _), terms in zip(wanted, lexicon.content_terms([long for _, long in wanted]), strict=True):
        out[c.source.n].setdefault(c.text, set()).update(terms)
    return out


def _candidates(
    sources: Sequence[Source], skip: Callable[[str], bool]
) -> tuple[list[Scored], dict[int, int]]:
    """The sources' usable sentences, and how many opening sentences of each set the scene
    (`scene_setting`), by source number."""
    cands: list[Scored] = []
    scene: dict[int, int] = {}
    for src in sources:
        scene[src.n] = scene_of(src.paper.title, src.paper.abstract)  # kept for the sides too
        for pos, sent in enumerate(split_sentences(src.paper.abstract)):
            if not skip(sent) and len(sent) > 15 and not is_boilerplate(sent) and not is_question(sent):
                cands.append(Scored(src, pos, sent))
    return cands, scene


def _negated_terms(lexicon: Lexicon, texts: Sequence[str]) -> list[tuple[set[str], set[str]]]:
    """Each text's terms that it uses only where it says what is not done, and only where it names
    an alternative (`text.negated_parts`). Most sentences do neither: only the others are tokenized."""
    parts = [negated_parts(t) for t in texts]
    out: list[tuple[set[str], set[str]]] = [(set(), set()) for _ in texts]
    hit = [i for i, p in enumerate(parts) if p[0] or p[1]]
    if hit:
        negated, instead, rest = (lexicon.content_terms([parts[i][k] for i in hit]) for k in range(3))
        for i, n, a, r in zip(hit, negated, instead, rest, strict=True):
            out[i] = (set(n) - set(r), set(a) - set(r) - set(n))
    return out


def _answer_type_bonus(c: Scored, q: QuestionAnalysis) -> float:
    """Does the sentence hold what kind of thing is asked (a quantity, a name), attached to the
    question's focus? With two asks ("up to how many samples …, and which model …") a sentence
    that answers either one counts (the lead adds a sentence for the other ask)."""
    by_kind: list[float] = []
    if q.wants("quantity"):
        has_quantity = bool(c.numbers) or bool(_QUANTITY_WORDS.search(c.text))
        by_kind.append(W_TYPE if c.numbers else (0.0 if has_quantity else -W_NO_QUANTITY))
        if c.numbers and attached_numbers(c.text, c.numbers, q.focus):
            by_kind[-1] += W_ATTACHED
    if q.wants("name"):
        by_kind.append(W_TYPE if c.names else -W_NO_NAME)
        if c.names and attached_names(c.text, c.names, q.focus):
            by_kind[-1] += W_ATTACHED_NAME
    if _ASKS_RELATION.search(q.text) and _STATES_RELATION.search(c.text):
        by_kind.append(W_TYPE)
    return max(by_kind, default=0.0)


# "How does the reward relate to how far the policy has drifted?" is answered by a sentence that
# states a relation ("a roughly linear relation between the RL reward and the square root of …"),
# not by one that only shares the topic.
_ASKS_RELATION = re.compile(
    r"\brelat(?:e|es|ed|ion|ionship)\s+(?:to|between|with)\b|\bcorrelat\w*|\bscales? with\b", re.I
)
_STATES_RELATION = re.compile(
    r"\b(?:relation(?:ship)?s? (?:between|of|with)|correlat\w*|proportional|scales? (?:with|as)|power[- ]law|"
    r"(?:grows?|scales?|increases?|decreases?|varies) (?:linearly|logarithmically|quadratically|inversely)|"
    r"(?:linear|logarithmic|quadratic|inverse) (?:relation|dependence|function)|square root of)\b",
    re.I,
)


def _add_meaning(cands: list[Scored], qvec: np.ndarray, embed: Embed, per_source: int) -> None:
    """Meaning: only the lexically best few of each source are embedded (speed), and their
    similarity to the question is added; the rest fall behind every embedded sentence."""
    by_source: dict[int, list[Scored]] = {}
    for c in cands:
        by_source.setdefault(c.source.n, []).append(c)
    embedded = [c for group in by_source.values() for c in sorted(group, key=lambda c: -c.score)[:per_source]]
    sims = embed([c.text for c in embedded]) @ qvec
    for c, sim in zip(embedded, sims, strict=True):
        c.score += W_DENSE * float(sim)
    kept = {id(c) for c in embedded}
    for c in cands:
        if id(c) not in kept:
            c.score -= 1.0  # never embedded: behind every embedded sentence


def _near_focus(text: str, focus: str, holds: Callable[[str], bool]) -> bool:
    """Is a word for which `holds` is true within ATTACH_WORDS words of a focus word?"""
    stated_by = re.findall(r"[a-z]{3,}", " ".join(focus_words(focus)))
    if not stated_by:
        return False
    words = _WORDS.findall(text)
    at_focus = [i for i, w in enumerate(words) if any(same_word(w.lower(), f) for f in stated_by)]
    return any(abs(i - j) <= ATTACH_WORDS for i, w in enumerate(words) if holds(w) for j in at_focus)


def _states_number(number: str, word: str) -> bool:
    return number in numbers_of(word)


def _states_name(name: str, word: str) -> bool:
    return name in word or word in name.split()  # "Llama 3.1" is stated by its word "Llama"


def attached_numbers(text: str, numbers: set[str], focus: str) -> set[str]:
    """The numbers stated within ATTACH_WORDS words of a focus word ('154 checkpoints')."""
    return {n for n in numbers if _near_focus(text, focus, partial(_states_number, n))}


def attached_names(text: str, names: Sequence[str], focus: str) -> list[str]:
    """The names stated within ATTACH_WORDS words of a focus word ('Llama 3.1 base models')."""
    return [n for n in names if _near_focus(text, focus, partial(_states_name, n))]


def covers(s: Scored, q: QuestionAnalysis) -> set[str]:
    """Which of the question's answer kinds the sentence can answer."""
    got: set[str] = set()
    if s.numbers or _QUANTITY_WORDS.search(s.text):
        got.add("quantity")
    if s.names or _NAMING.search(s.text):
        got.add("name")
    return got | ({k for k in q.kinds if k not in ("quantity", "name")})
