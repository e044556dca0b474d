"""The answer styles: which one a question gets (`classify`, rules that need no model) and
everything that differs between them (`STYLES`: what the model is asked to write, how many sources
are shown, whether the model is called at all).

May touch: nothing (rules over the question's text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..types import Style
from .question import EITHER, LISTING, analyze, comparison_parts

# "each" compares only as a subject ("how large a batch did each reach", "each of these",
# "X and Y each"), not in "for each model of the suite".
# "both" and "the two" compare when they are of papers ("what do both papers report"); inside a
# description ("on both languages", "a combination of the two techniques") they compare nothing,
# and sides named with "both" are found by _names_sides. "and how big each …" is a description.
_COMPARISON = re.compile(
    r"\b(compare|contrast|versus|vs\.?|differ|difference|differences)\b|\bcomparison\s+(?:of|between)\b|"
    r"\bin comparison\b|\b(?:both|the two)\s+(?:of\s+)?(?:(?:these|those|the)\s+)?(?:[\w-]+\s+)?"
    r"(?:papers|studies|works|articles)\b|"
    r"\b(did|do|does|has|have|is|are|was|were|can) each\b|\beach of (these|the|them|those)\b|"
    r"\band\s+(?!how\b)[\w\-]+(\s+[\w\-]+)?\s+each\b",
    re.I,
)
# "approaches" and "techniques" ask for a summary ("Which techniques do these papers use …"), not
# when a described paper combines "the two techniques".
_SUMMARY = re.compile(
    r"\b(summari[sz]e|summary|overview|survey|what do these)\b|(?<!\btwo )\b(?:approaches|techniques)\b",
    re.I,
)
# A summary asked for in so many words ("Summarize …", "Can you summarize …", "Give an overview of
# …", "what do these …"): a summary even when it names two papers.
_ASKS_SUMMARY = re.compile(
    r"\bsummari[sz]e\b|\b(?:give|provide|write)\s+(?:me\s+)?(?:an?\s+)?(?:\w+\s+)?(?:summary|overview|survey)\b|"
    r"\boverview of\b|\bwhat do these\b",
    re.I,
)


@dataclass(frozen=True)
class StyleRule:
    """Everything that differs between answer styles, in one place."""

    instructions: str  # what the model is asked to write
    shown: int  # most sources shown with the answer
    generate: bool  # whether the model is called at all
    # Most tokens the model writes (under the operator's `llm.max_tokens`): what the instructions
    # ask for plus its citation markers. More only costs time: the embedded model writes about 85
    # tokens/s on 2 CPU cores after a prefill of about 1.2 s, and its text is checked and shown
    # after the extractive lead, so a rambling tail is both slow and dropped by the verifier.
    tokens: int = 160


STYLES: dict[str, StyleRule] = {
    "factoid": StyleRule(
        "Answer in one sentence that states the exact number or name asked for, citing its source.",
        2,
        True,
        64,  # one sentence of up to ~40 words and a marker
    ),
    "comparison": StyleRule(
        "In one sentence, state how the papers differ on what is asked, citing each source.",
        4,
        True,
        80,  # one sentence naming two or three sides, a marker each
    ),
    "summary": StyleRule(
        "In two sentences, summarise what the sources report, citing each.",
        6,
        True,
        80,  # two sentences with several markers each
    ),
    "listing": StyleRule("Name the papers that match, one short sentence each, citing each.", 8, False),
}


# A question that names two or more sides compares them when it asks of each ("X and Y both …",
# "X, Y and Z all …") or names each by its own preposition ("produced by X and by Y").
_DISTRIBUTES = re.compile(r"\b(both|all|each|respectively)\b|\b(by|according to)\b.+\band\s+\2\b", re.I)


# A question about several papers at once ("what do these papers propose", "papers that train …
# report", "benchmarking studies report") asks for what they say together: a summary.
_ABOUT_PAPERS = re.compile(
    r"\b(?:these|such)\s+(?:[\w-]+\s+){0,3}?(?:papers|studies|works|surveys|guides|abstracts)\b|"
    r"\b(?:papers|studies|works)\s+that\b|\b(?:[\w-]+\s+)?studies\s+(?:report|find|show|say)\b",
    re.I,
)


def _names_sides(question: str) -> bool:
    return bool(_DISTRIBUTES.search(question)) and len(comparison_parts(question)) >= 2


def classify(question: str) -> Style:
    """Rules that work without a model: the embedded LLM is too weak to route reliably."""
    if LISTING.search(question):
        return "listing"
    # "The survey of … and the Summary of ChatGPT … both …; which step does each name?" compares
    # the two papers it names: a question that names its sides asks for a summary only in so many
    # words (a summary word inside a side's name, "techniques" of each side, ask none)
    if _SUMMARY.search(question) and not (_names_sides(question) and not _ASKS_SUMMARY.search(question)):
        return "summary"
    # "Which paper … both sparse and dense training?" asks for one paper; "Which paper reduces memory
    # more, GaLore or COAP?" still compares the two it names
    named_pair = bool(EITHER.search(question)) and len(comparison_parts(question)) == 2
    if analyze(question).asks_paper and not named_pair:
        return "factoid"
    if _COMPARISON.search(question) or _names_sides(question) or named_pair:
        return "comparison"
    if _ABOUT_PAPERS.search(question):
        return "summary"
    return "factoid"
