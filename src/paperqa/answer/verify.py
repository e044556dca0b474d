"""Verify: split generated text into claims and check each against the abstracts it cites.

A claim is kept only when the paper it cites supports it: close in meaning to one of the
abstract's sentences (embeddings), using the abstract's words, stating no number the abstract
lacks, and giving no paper a name that only another paper has. A supported claim that cites the
wrong paper (or none) is cited to the paper that supports it; an unsupported one is dropped,
and the reason is noted. `answers` is the separate check that a lead states what was asked.

Each check is a named function; `Verifier.verify` applies them in order.

May touch: only the sources and the embedding function it is given (no index, no model of its own).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..settings import AnswerSettings
from ..text import (
    NameMatcher,
    cited_numbers,
    content_terms,
    name_tokens,
    normalize_title,
    numbers_of,
    split_sentences,
    strip_markers,
    title_case,
    unsupported_numbers,
)
from ..types import Source
from .citations import sanitize
from .evidence import Embed, attached_numbers, is_boilerplate
from .question import QuestionAnalysis

Verdict = Literal["supported", "reattributed", "dropped"]

# Share of a claim's content words the cited abstract must contain: a tiny model that invents a
# term ("quantum quantization") fails it even when the topic matches.
MIN_LEXICAL_SUPPORT = 0.5
# A supported claim moves to another source only when that source holds at least this many more of
# its content words than the cited one, or every word of it and more than the cited one: one word
# more, of a claim both only partly hold, is chance (both say "costly labels" alike).
ATTRIBUTION_WORDS = 2
# Content words of three letters or more: two-letter stems ("rl", "lm") are too often shared by chance.
MIN_WORD = 3
# Words every abstract and every answer about one uses: sharing them shows no support.
GENERIC_WORDS = (
    "paper papers study work report reports reported method methods model models use used using could"
)
# Texts whose content words are remembered: the abstracts and claims of a session's answers.
CONTENT_WORDS_KEPT = 4096
# A lead with no answer term (mechanism / yes-no questions) answers when it carries at least
# this share of the best evidence sentence's words that the question does not already have.
MIN_ANSWER_OVERLAP = 0.5

INJECTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules|above|previous|prior)\b|"
    r"\byou are (now|an? (ai|assistant|language model))\b|\bsystem prompt\b|"
    r"\b(reply|respond|answer|output|say) (only )?with\b|\bnew instructions?\b",
    re.I,
)


@dataclass
class Claim:
    """One sentence of generated text and what verification made of it."""

    text: str  # the sentence, markers removed
    cited: list[int]  # the sources it cites once verified (the model's, or the supporting one)
    verdict: Verdict
    reason: str = ""

    @property
    def kept(self) -> bool:
        return self.verdict != "dropped"


def looks_like_instruction(sentence: str) -> bool:
    """Text in a paper that addresses the model rather than the reader."""
    return bool(INJECTION.search(sentence))


@functools.lru_cache(maxsize=CONTENT_WORDS_KEPT)
def content_words(text: str) -> frozenset[str]:
    """The text's content terms (`text.content_terms`: the package's one tokenizer, stemmed)
    that are words: they start with a letter and have MIN_WORD letters or more (numbers are
    checked on their own, by `unsupported_numbers`). Memoised: a claim is checked against the
    same abstracts again and again (support, re-attribution, every style's checks)."""
    generic = _generic_words()
    return frozenset(
        t for t in content_terms([text])[0] if t[0].isalpha() and len(t) >= MIN_WORD and t not in generic
    )


@functools.lru_cache(maxsize=1)
def _generic_words() -> frozenset[str]:
    return frozenset(content_terms([GENERIC_WORDS])[0])


def lexical_support(claim: str, source: str) -> float:
    """Share of the claim's content words that the source contains (as stems: 'trained' matches
    'training')."""
    words = content_words(strip_markers(claim))
    if not words:
        return 0.0
    return len(words & content_words(source)) / len(words)


def echoes_question(sentence: str) -> bool:
    """'Question: …', 'Answer: …', a question mark: the model restating the prompt."""
    s = sentence.strip().lower()
    return s.startswith(("question:", "answer:", "source", "the source number")) or s.endswith("?")


_LINK = re.compile(r"https?://|www\.|\]\(")
# A claim's opening shared with a title this long or longer, then a colon, is the title repeated.
TITLE_PREFIX_CHARS = 12


def strip_title_prefix(body: str, titles: Iterable[str]) -> str:
    """'Domino: Eliminating …: Domino achieves …' -> 'Domino achieves …': a claim that opens with
    its paper's title, whole or as the prompt cut it ("Deep Gradient Compression: Reducing the
    Communication …:"), followed by a colon or the like."""
    for title in titles:
        if body.lower().startswith(title.lower()) and len(body) > len(title) + 12:
            return body[len(title) :].lstrip(" :;,.-")
        n = next(
            (i for i, (a, b) in enumerate(zip(body.lower(), title.lower(), strict=False)) if a != b),
            min(len(body), len(title)),
        )
        # "… Preventing Attention: The study …": the title cut at a word, with or without its clip mark
        at_word = n >= len(title) or not title[n].isalnum()
        cut = re.match(r"\s*(?:…|\.\.\.)\s*[:;,.-]\s*", body[n:]) or (
            re.match(r"\s*:\s+", body[n:]) if at_word else None
        )
        if n >= TITLE_PREFIX_CHARS and (cut or body[:n].rstrip().endswith(":")):
            rest = body[n + (cut.end() if cut else 0) :].lstrip(" :;,.-")
            if len(rest) > 12:
                return rest[:1].upper() + rest[1:]
    return body


# A citation marker standing where a name should ("…, while [1] is focused on …", "[2] uses …"):
# without its marker the sentence has a hole for a subject.
_MARKER_AS_NOUN = re.compile(
    r"(?:^|\b(?:while|whereas|and|but|than|unlike|both|that)\s+)"
    r"\[\d+\](?:\s*\[\d+\])*\s+(?!and\b|or\b)[a-z]",
    re.I,
)


def marker_as_noun(sentence: str) -> bool:
    """Does the sentence use a citation marker as a word of its own ("while [1] is focused …")?"""
    return _MARKER_AS_NOUN.search(sentence.strip()) is not None


def only_names_a_paper(body: str, titles: Iterable[str]) -> bool:
    """A bare title (or part of one) is not a claim; nor is a heading in a title's case ("Lifelong
    Pretraining: Continuous Learning of Large Language Models"), a title the model made up."""
    key = normalize_title(body)
    return bool(key) and (any(key in normalize_title(t) for t in titles) or title_case(body.rstrip(". ")))


# A name and a description of it, and no verb ("RAdam, a new variant of Adam that introduces a term
# to rectify …"): a fragment, not a sentence a reader can check. The name has a capital or digit
# inside it (RAdam, GaLore, Mamba-2), so "However, the …" and "In GaLore, the …" are not read as one;
# the description ends in a relative clause ("BERT, the GPT series and T5 are …" is a list), and a
# second comma closes it before its verb ("GaLore, a strategy that …, reduces …").
_NAME_AND_DESCRIPTION = re.compile(
    r"^\W*[A-Z](?=[\w.-]*[A-Z0-9])[\w.-]*,\s+(?:a|an|the)\s[^,;]*?\b(?:that|which|who)\b[^,;]*$"
)


def is_fragment(body: str) -> bool:
    """The generated sentence is a name and its description with no verb of its own."""
    return _NAME_AND_DESCRIPTION.match(body.strip().rstrip(". ")) is not None


# A negation or a contrast is a claim of its own ("… does not require a dataset", "unlike X, Y
# instead uses …"): it stands only where a cited abstract says one of the same kind about the
# same thing, in one sentence holding at least CUE_SUPPORT of the words the claim says it of.
CUES = {
    "negation": re.compile(r"\b(?:not|no|never|without|neither|nor|cannot|lacks?)\b|n't\b", re.I),
    "contrast": re.compile(
        r"\b(?:unlike|instead|whereas|in contrast|rather than|as opposed to|on the other hand)\b", re.I
    ),
}
CUE_SUPPORT = 0.5
CUE_SCOPE_WORDS = 6


def unstated_cue(claim: str, abstracts: Sequence[str]) -> str:
    """'negation' / 'contrast' when the claim asserts one that no abstract states of the same
    thing (see CUES); '' when it asserts none or one is stated."""
    for kind, cue in CUES.items():
        m = cue.search(claim)
        if m is None:
            continue
        scope = content_words(" ".join(claim[m.end() :].split()[:CUE_SCOPE_WORDS]))
        if not scope:
            continue
        need = max(1, round(CUE_SUPPORT * len(scope)))
        stated = any(
            cue.search(sent) and len(scope & content_words(sent)) >= need
            for text in abstracts
            for sent in split_sentences(text)
        )
        if not stated:
            return kind
    return ""


def answers(text: str, q: QuestionAnalysis, evidence: Sequence[str]) -> bool:
    """Does `text` state what the question asks, as the answering evidence sentences do?

    For a quantity question it must state, from each evidence sentence, every new quantity
    stated next to the question's focus (else one new quantity); for a
    name question a new name from each evidence sentence that has one; otherwise (how / why /
    yes-no) most of the evidence's own words. Restating the question never answers it."""
    if echoes_question(text):
        return False
    q_lower = q.text.lower()
    body = strip_markers(text)
    best = " ".join(evidence)
    if q.wants("quantity"):
        stated = numbers_of(body)
        for sentence in evidence:
            wanted = numbers_of(sentence) - numbers_of(q.text)
            # The quantities next to what was asked ("256KB SRAM and 1MB Flash") are all needed;
            # otherwise one of the sentence's new quantities is.
            needed = attached_numbers(sentence, wanted, q.focus)
            if (needed and not needed <= stated) or (wanted and not wanted & stated):
                return False
    if q.wants("name") or q.wants("definition"):
        said = {n.lower() for n in name_tokens(body)}
        for sentence in evidence:
            wanted_names = {n.lower() for n in name_tokens(sentence) if n.lower() not in q_lower}
            if wanted_names and not wanted_names & said:
                return False
    new_words = content_words(best) - content_words(q.text)
    if not new_words:
        return True
    share = len(new_words & content_words(body)) / len(new_words)
    return share >= MIN_ANSWER_OVERLAP or (
        q.wants("quantity") and bool(numbers_of(body) - numbers_of(q.text))
    )


class Verifier:
    """Checks generated claims against the sources' abstracts (see the module docstring)."""

    def __init__(self, embed: Embed, settings: AnswerSettings) -> None:
        self.embed = embed
        self.settings = settings

    def verify(
        self, text: str, sources: list[Source], allowed: set[int] | None = None
    ) -> tuple[list[Claim], list[str]]:
        """Every sentence of `text` as a Claim, and notes on what was changed and why.

        `allowed`: the sources a claim may cite (a comparison's compared papers)."""
        notes: list[str] = []
        valid = {s.n for s in sources}
        clean, removed = sanitize(text, valid)
        if removed:
            notes.append(f"removed citation markers to sources that do not exist: {sorted(set(removed))}")
        sentences = [s for s in split_sentences(clean) if len(strip_markers(s)) > 12]
        # a link, or a release note pointing at one ("code is available at https://…")
        links = [s for s in sentences if _LINK.search(s) and is_boilerplate(strip_markers(s))]
        notes += [f"dropped a link or release note, not a claim: {s[:80]!r}" for s in links]
        sentences = [s for s in sentences if s not in links]
        if not sentences:
            return [], notes
        ctx = _Context(self, sources, sentences, allowed)
        claims = [ctx.check(i, sent) for i, sent in enumerate(sentences)]
        notes += [c.reason for c in claims if c.reason]
        return claims, notes


class _Context:
    """What verifying one answer needs: abstracts, their sentences and similarities."""

    def __init__(
        self, verifier: Verifier, sources: list[Source], sentences: list[str], allowed: set[int] | None
    ) -> None:
        self.settings = verifier.settings
        self.sources = sources
        self.allowed = allowed
        self.valid = {s.n for s in sources}
        self.text_of = {s.n: s.paper.title + " " + s.paper.abstract for s in sources}
        self.titles = [s.paper.title for s in sources]
        abstract_sents = {
            s.n: [x for x in split_sentences(s.paper.abstract) if not looks_like_instruction(x)]
            or [s.paper.title]
            for s in sources
        }
        self.flat = [(n, sent) for n, sents in abstract_sents.items() for sent in sents]
        claim_vecs = verifier.embed([strip_markers(s) for s in sentences])
        evid_vecs = verifier.embed([sent for _, sent in self.flat])
        self.sim = claim_vecs @ evid_vecs.T  # claims x abstract sentences

    def best_by_source(self, i: int) -> dict[int, float]:
        best: dict[int, float] = {}
        for j, (n, _) in enumerate(self.flat):
            best[n] = max(best.get(n, -1.0), float(self.sim[i, j]))
        return best

    def own_names(self, body: str) -> list[NameMatcher]:
        """Names that identify one source (FreePRM, CamemBERT): a claim using one must cite a
        paper that contains it. A tiny model glues one paper's name onto another's finding."""
        out = []
        for name in name_tokens(body):
            matcher = NameMatcher(name)
            if sum(matcher.owns(s.paper) for s in self.sources) == 1:
                out.append(matcher)
        return out

    def names_ok(self, ns: list[int], names: list[NameMatcher]) -> bool:
        text = " ".join(self.text_of[n] for n in ns)
        return all(m.any_case.search(text) for m in names)

    def supports(self, n: int, body: str, best: dict[int, float], names: list[NameMatcher] | None) -> bool:
        """Source n supports the claim: meaning, words, numbers (and names, when given)."""
        return (
            best.get(n, 0.0) >= self.settings.min_support
            and lexical_support(body, self.text_of[n]) >= MIN_LEXICAL_SUPPORT
            and not unsupported_numbers(body, self.text_of[n])
            and (not self.allowed or n in self.allowed)
            and (names is None or self.names_ok([n], names))
        )

    def restates_other(self, m: int, content: int | None, body: str, best: dict[int, float]) -> bool:
        """The claim passes against m but restates another source more closely."""
        if content is None or content == m:
            return False
        margin = best[content] - best[m]
        words = content_words(strip_markers(body))
        held = len(words & content_words(self.text_of[content]))
        lead = held - len(words & content_words(self.text_of[m]))
        closer = lead >= ATTRIBUTION_WORDS or (lead >= 1 and held == len(words))
        return margin > self.settings.attribution_margin and closer

    def check(self, i: int, sent: str) -> Claim:
        body = strip_markers(sent)
        cited = [n for n in cited_numbers(sent) if n in self.valid]
        unstated = unstated_cue(body, [self.text_of[n] for n in (cited or list(self.text_of))])
        if unstated:
            return Claim(
                body,
                [],
                "dropped",
                f"dropped a claim whose {unstated} no cited abstract states: {body[:80]!r}",
            )
        if marker_as_noun(sent):
            return Claim(
                body, [], "dropped", f"dropped a sentence that uses a citation as its subject: {body[:80]!r}"
            )
        if echoes_question(body):
            return Claim(
                body, [], "dropped", f"dropped a sentence that only restates the question: {body[:80]!r}"
            )
        body = strip_title_prefix(body, self.titles)
        if only_names_a_paper(body, self.titles):
            return Claim(body, [], "dropped", f"dropped a sentence that only names a paper: {body[:80]!r}")
        if is_fragment(body):
            return Claim(body, [], "dropped", f"dropped a fragment with no verb: {body[:80]!r}")
        best = self.best_by_source(i)
        names = self.own_names(body)
        # The source whose content the claim matches best, names aside (None: no source).
        ranked = sorted(best, key=lambda n: -best[n])
        content = next((n for n in ranked if self.supports(n, body, best, None)), None)
        if len(cited) > 1:  # a comparison: the cited papers together must hold its names
            good = [n for n in cited if self.supports(n, body, best, None)]
            if good and self.names_ok(good, names):
                return Claim(body, good, "supported")
        elif (
            cited
            and self.supports(cited[0], body, best, names)
            and not self.restates_other(cited[0], content, body, best)
        ):
            return Claim(body, cited, "supported")
        # Uncited, its citation does not hold, or it restates another paper: cite the source
        # that supports it, unless the claim pins one paper's name on another's finding.
        alt = next((n for n in ranked if self.supports(n, body, best, names)), None)
        if alt is not None and not self.restates_other(alt, content, body, best):
            why = f"re-attributed a claim from {cited} to [{alt}]: {body[:80]!r}" if cited else ""
            return Claim(body, [alt], "reattributed" if cited else "supported", why)
        missing_numbers = unsupported_numbers(body, " ".join(s.paper.abstract for s in self.sources))
        reason = (
            f"numbers {sorted(missing_numbers)} not in the sources"
            if missing_numbers
            else "not supported by the sources"
        )
        missing = [m.name for m in names if content and not m.any_case.search(self.text_of[content])]
        if not missing_numbers and content is not None and missing:
            named = ", ".join(missing)
            reason = f"it gives {named} a finding of [{content}], which does not mention {named}"
        return Claim(body, [], "dropped", f"dropped an unsupported claim ({reason}): {body[:80]!r}")
