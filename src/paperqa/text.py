"""Language rules, one home for all of them: sentences, citation markers, numbers, terms (the
keyword index's tokenizer and stemmer), method names and who owns them, title keys, word forms and
stop lists. Every stage imports these; nothing here imports the project.

May touch: nothing but the text it is given (bm25s and PyStemmer for terms, loaded on first use).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Container, Sequence
from typing import Any, Protocol

# ---- sentences and citation markers ------------------------------------------------------------
# [1]  [1, 2]  [1-3]  [1][2]  [Source 1]  【1】
_MARKER = re.compile(
    r"[\[【]\s*(?:sources?\s*)?(\d+(?:\s*(?:,|;|-|–|and)\s*(?:sources?\s*)?\d+)*)\s*[\]】]", re.I
)
_NUM = re.compile(r"\d+")
_RANGE = re.compile(r"(\d+)\s*[-–]\s*(\d+)")
_ABBREV = r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bet al\.)(?<!\bvs\.)(?<!\bFig\.)(?<!\bEq\.)(?<!\bNo\.)"
# A sentence ends at . ! ? — also when a closing bracket or quote follows it ("….} Our code …").
# An author's initial before a citation ("(W. Liang et al., 2024)") ends no sentence.
_INITIAL = r"(?:(?<![\s(\[][A-Z]\.)|(?!\s+(?:[A-Z]\.\s+)*[A-Z][\w'-]+\s+et al\b))"
_SENT_SPLIT = re.compile(
    _ABBREV + r"(?:(?<=[.!?])|(?<=[.!?][)\]}\"'”]))" + _INITIAL + r"\s+(?=[A-Z0-9\"'(\[*])"
)


def _numbers_in(group: str) -> list[int]:
    out: list[int] = []
    for m in _RANGE.finditer(group):
        a, b = int(m.group(1)), int(m.group(2))
        if 0 < b - a < 20:
            out.extend(range(a, b + 1))
    group = _RANGE.sub("", group)
    out.extend(int(x) for x in _NUM.findall(group))
    seen: list[int] = []
    for n in out:
        if n not in seen:
            seen.append(n)
    return seen


def marker_numbers(text: str) -> list[int]:
    """Every source number a marker in `text` cites, in order, repeats kept ("[1] … [1, 2]" ->
    [1, 1, 2]): what a citation check counts."""
    return [n for m in _MARKER.finditer(text) for n in _numbers_in(m.group(1))]


def cited_numbers(text: str) -> list[int]:
    """Source numbers cited in `text`, in order of first appearance."""
    return list(dict.fromkeys(marker_numbers(text)))


def replace_markers(text: str, repl: Callable[[int], str]) -> str:
    """Each marker in `text` replaced by `repl(n)` for every number it cites, joined in order
    ("[1, 2]" -> repl(1) + repl(2)): how markers are rewritten, linked or dropped."""
    return _MARKER.sub(lambda m: "".join(repl(n) for n in _numbers_in(m.group(1))), text)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; markers stay with the sentence before them."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    # Move a marker that follows the full stop ("… results. [2]") before it.
    text = re.sub(r"([.!?])\s*((?:\[\d+\])+)", r" \2\1", text)
    return [s.strip() for s in _SENT_SPLIT.split(text) if s.strip()]


def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()


# ---- numbers -----------------------------------------------------------------------------------
_NUMBERISH = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(\s?(?:%|x|×|k|K|M|B|b|T)\b|%)?")
# The number a name ends in ("GPT-4", "LLaMA-2", "ResNet-50"; not a size, "OPT-125M", nor an
# exponent, "1e-5"): part of the name, no amount a sentence states.
NAME_NUMBER = re.compile(r"(?<=[A-Za-z]-)(?<![\d.][eE]-)\d+(?:[.,]\d+)*(?![\w%]|[.,]\d)")


def numbers_of(text: str) -> set[str]:
    """Numeric facts in a text ('53.0', '1.9x', '32K'), marker numbers excluded."""
    out: set[str] = set()
    for m in _NUMBERISH.finditer(strip_markers(text)):
        num = m.group(1).replace(",", "")
        out.add(num.rstrip("0").rstrip(".") if "." in num else num)
    return out


_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
)
_NUMBER_WORDS: dict[str, float] = {w: i for i, w in enumerate(f"{_ONES} seventeen eighteen nineteen".split())}
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORDS |= {w: 10 * i for i, w in enumerate(_TENS, 2)} | {"a": 1, "an": 1, "half": 0.5, "hundred": 100}
# A size written in words: "one and a half billion", "two-and-a-half-billion-parameter", "three
# hundred thousand", "half a million". Only before a scale word: "two papers" states no figure.
_NUMBER_WORD = "(?:" + "|".join(_NUMBER_WORDS) + ")"
_SCALE = r"[\s-]+(hundred|thousand|million|billion|trillion)\b"
_SPELLED_SIZE = re.compile(rf"(?<![\w-]){_NUMBER_WORD}(?:(?:[\s-]+and)?[\s-]+{_NUMBER_WORD})*{_SCALE}", re.I)


def spelled_numbers(text: str) -> set[str]:
    """Sizes a text writes in words, as `numbers_of` reads the same size in digits ('one and a half
    billion' -> '1.5', as '1.5B' -> '1.5'; 'three hundred thousand' -> '300' and '300000'): a
    question that writes a size in words restates the sentence that writes it in digits."""
    out: set[str] = set()
    for m in _SPELLED_SIZE.finditer(text):
        words, value = re.findall(r"[a-z]+", m.group(0).lower())[:-1], 0.0  # the scale word is the unit
        for i, w in enumerate(words):  # "a" is one only first ("a hundred million"), not in "and a half"
            if w == "and" and words[i - 1] != "hundred" and words[i + 1 : i + 3] != ["a", "half"]:
                value = 0.0  # "between two and three billion": the last number is the size
            elif w == "hundred" or w not in ("a", "an") or (i == 0 and words[1:2] in ([], ["hundred"])):
                value = (value or 1) * 100 if w == "hundred" else value + _NUMBER_WORDS.get(w, 0)
        scale = m.group(1).lower()  # "1.5B", "300K"; "three hundred" is 300; "20 thousand" is 20,000 too
        out.add(f"{value * (100 if scale == 'hundred' else 1):g}")
        out |= {f"{value * 1000:g}"} if scale == "thousand" else set()
    return out


def against(value: float, bar: float) -> str:
    """A figure shown beside the bar it is judged against, with as many decimals as it takes not
    to look equal to it (0.4195 against 0.42: "0.4195", not "0.42, below the threshold of 0.42")."""
    for places in (2, 3, 4, 5, 6):
        text = f"{value:.{places}f}"
        if (value < bar) == (float(text) < bar):
            return text
    return f"{value:.6f}"


def unsupported_numbers(claim: str, evidence: str) -> set[str]:
    """Numbers the claim states that the evidence does not contain."""
    return numbers_of(claim) - numbers_of(evidence)


# ---- terms: what BM25, evidence ranking and the verifier match on ---------------------------------
TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # llama-index BM25Retriever's default
_local = threading.local()
_stop_lock = threading.Lock()
_stop_terms: frozenset[str] | None = None


def stemmer() -> Any:
    """PyStemmer's English stemmer (one per thread: a Stemmer object is not thread-safe)."""
    st = getattr(_local, "stemmer", None)
    if st is None:
        import Stemmer

        st = _local.stemmer = Stemmer.Stemmer("english")
    return st


def tokenize(texts: Sequence[str], return_ids: bool) -> Any:
    """bm25s's tokenizer with the package's settings (see `terms`)."""
    import bm25s

    kw = {"stopwords": "en", "token_pattern": TOKEN_PATTERN, "show_progress": False}
    return bm25s.tokenize(list(texts), stemmer=stemmer(), return_ids=return_ids, **kw)


def terms(texts: Sequence[str]) -> list[list[str]]:
    """Each text as BM25 indexes it: words (TOKEN_PATTERN), English stopwords removed, stemmed.

    The one tokenizer of the package: the keyword index, evidence ranking, coverage checks and
    the verifier's word overlap all match words this way."""
    if not texts:
        return []
    return list(tokenize(texts, return_ids=False))


# A two-part compound written with a hyphen ("pre-training", "fine-tuning", "warm-up") is the one
# word other abstracts write closed ("pretraining", "finetuning", "warmup"): the tokenizer reads
# its parts alone, so the two spellings shared no term. In the bundled corpus 68 compounds are
# written both ways ("pre-training" 347 times, "pretraining" 157).
_COMPOUND = re.compile(r"(?<![\w-])([A-Za-z]{2,})-([A-Za-z]{2,})(?![\w-])")


def hyphen_compounds(texts: Sequence[str]) -> set[str]:
    """The closed spelling of every two-part hyphenated compound in the texts ("pretraining")."""
    return {m[1] + m[2] for t in texts for m in _COMPOUND.finditer(t)}


def with_closed_compounds(text: str, closed: Container[str]) -> str:
    """The text with each hyphenated compound whose closed spelling is in `closed` followed by that
    spelling ("pre-training pretraining data"), so that either spelling matches it."""
    return _COMPOUND.sub(lambda m: f"{m[0]} {m[1]}{m[2]}" if m[1] + m[2] in closed else m[0], text)


def content_terms(texts: Sequence[str]) -> list[list[str]]:
    """`terms` without function words ("what", "did", "their"): llama-index's NLTK English stop
    list, stemmed like the terms. What evidence ranking and the verifier match on."""
    global _stop_terms
    if _stop_terms is None:
        from llama_index.core.utils import globals_helper

        with _stop_lock:
            _stop_terms = frozenset(t for ts in terms(sorted(globals_helper.stopwords)) for t in ts)
    stop = _stop_terms
    return [[t for t in ts if t not in stop] for ts in terms(texts)]


# ---- names: method and model names in a question, and the paper that owns one ------------------


class Titled(Protocol):
    """What a name's owner is judged on: a paper's title and abstract."""

    title: str
    abstract: str


_STOP_NAMES = {
    "LLM",
    "LLMS",
    "AI",
    "GPU",
    "GPUS",
    "CPU",
    "CPUS",
    "TPU",
    "TPUS",
    "FLOPS",  # units of compute ("FLOPs", "TFLOPs"), not names
    "TFLOPS",
    "PFLOPS",
    "NLP",
    "RL",
    "SFT",
    "ML",
    "DNN",
    "CNN",
    "RNN",
    "API",
    "I",
    "A",
    "HOW",
    "WHAT",
    "WHICH",
    "DO",
    "DOES",
    "THE",
    "COMPARE",
    "SUMMARIZE",
    "IS",
    "ARE",
}
# Letters of any script ("TÜLU"), digits, and the joiners names use ("DeepSpeed-MoE", "C++").
_TOKEN = re.compile(r"[^\W_][\w^+.\-]*[^\W_]|[^\W_]+\+*")


# A size or count, not a name: "7B", "175B", "4-bit", "3-billion-parameter", "12-million-pair",
# "1.5x", "16GB" (a paper writes it "3 billion parameters" or "3B": no name check can find it).
_SIZE = re.compile(r"\d[\d.,]*(?:[-\s]?(?:[KMBT]|GB|TB|MB|[a-z]+))?(?:-[a-z]+)*")


_OPENER = re.compile(r"(?:^|[.?!:;\n\"“'(]\s*)([A-Z][\w-]*)|\b([A-Z][\w-]*)(?=\s+et\s+al\b)")


def name_tokens(question: str, loose: bool = False) -> list[str]:
    """Tokens that look like method or model names: FreePRM, GRPO, DeepSpeed-MoE, Q-GaLore, 1-bit.

    With `loose`, a capitalised word in mid-sentence ("Domino", "Danish") counts too: it may
    name a paper, which ranking checks against titles before trusting it."""
    names: list[str] = []
    # a word that opens a sentence or clause ("… LoRA. Please explain …", "Regarding X, Quote …")
    # is capitalised for that reason, and "Vaswani et al." names authors: neither is a loose name
    openers = {m.group(1) or m.group(2) for m in _OPENER.finditer(question)}
    for i, tok in enumerate(_TOKEN.findall(question)):
        core = tok.strip(".-")
        if len(core) < 2 or core.upper() in _STOP_NAMES or core in names or _SIZE.fullmatch(core):
            continue
        inner_caps = any(c.isupper() for c in core[1:])
        has_digit = any(c.isdigit() for c in core) and any(c.isalpha() for c in core)
        strict = inner_caps or has_digit or (core.isupper() and len(core) >= 3)
        capitalised = i > 0 and core[0].isupper()
        plain = loose and capitalised and len(core) >= 4 and core not in openers
        if strict or (capitalised and "-" in core) or plain:
            names.append(core)
    return names


# A text with at least this share of capitalised words is in Title Case.
TITLE_CASE_SHARE = 0.6
# A multi-word name: a run of capitalised words after the question's first word ("Segment Anything
# Model", "Tree of Thoughts", "Sparse Mixer Routing"), "of" allowed inside.
_NAME_RUN = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w-]*(?:\s+(?:of\s+)?[A-Z][\w-]*)+")


def title_case(text: str) -> bool:
    """Most words capitalised ("How Does GaLore Reduce Memory?"): capitals then mark no names."""
    words = re.findall(r"[A-Za-z][\w'-]*", text)
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= TITLE_CASE_SHARE * len(words)


def name_phrases(question: str) -> list[str]:
    """Multi-word names in the question (see _NAME_RUN), longest first: each names one thing,
    which a paper writes as the whole phrase."""
    found = [m.group(0) for m in _NAME_RUN.finditer(question.strip())]
    return sorted(dict.fromkeys(found), key=len, reverse=True)


# A paper owns a name its title holds, or one its abstract says OWNER_MENTIONS times (one fewer when
# it defines it: "… (FreePRM)"): a paper that only cites a method names it once or twice.
OWNER_MENTIONS = 3


class NameMatcher:
    """Does a paper introduce `name` (not just mention it)? Patterns compiled once per name."""

    def __init__(self, name: str) -> None:
        self.name = name
        edge = r"(?<![^\W_])" + re.escape(name) + r"(?![^\W_])"
        self.any_case = re.compile(edge, re.I)
        self.exact = re.compile(edge)
        self.defined = re.compile(r"\(\s*" + re.escape(name) + r"\s*\)")

    def owns(self, paper: Titled) -> bool:
        if self.any_case.search(paper.title):
            return True
        hits = len(self.exact.findall(paper.abstract))
        return hits >= OWNER_MENTIONS or (
            hits >= OWNER_MENTIONS - 1 and self.defined.search(paper.abstract) is not None
        )


# ---- titles -----------------------------------------------------------------------------------
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_title(title: str) -> str:
    """Lower-case, non-word characters removed: the key used to deduplicate papers
    and to match gold titles in the eval sets."""
    return _NON_WORD.sub("", title.lower())


# ---- the paper a question's side names ----------------------------------------------------------
# How strongly a paper owns a name a side offers (higher wins): its title's head (before ':', '?' or
# '!') is the name; the title starts with it; holds it whole; its abstract owns it (`NameMatcher.owns`).
# A name with its title's punctuation ("Don't Stop Pretraining?") is one step more exact than the head.
OWN_EXACT, OWN_HEAD, OWN_TITLE_START, OWN_IN_TITLE, OWN_ABSTRACT = 5, 4, 3, 2, 1
_SIDE_QUOTED = re.compile(r"“([^”]+)”|\"([^\"]+)\"|(?<!\w)'([^']+)'(?!\w)")


def side_names(side: str) -> list[str]:
    """The names a comparison side offers: quoted titles, parenthesised names ("(Dynamic Sparse
    No Training)", "(STAT)"), method names, and the side itself without those and without a
    possessive ("RATIONALYST's rationale annotations" -> "RATIONALYST rationale annotations")."""
    quoted = [next(g for g in m.groups() if g) for m in _SIDE_QUOTED.finditer(side)]
    bracketed = [b.strip() for b in re.findall(r"\(([^()]{2,80})\)", side)]
    bare = re.sub(r"\([^()]*\)", " ", side)
    bare = re.sub(r"(?<=\w)['’]s\b", "", bare)
    bare = re.sub(r"^\s*the\s+", "", re.sub(r"\s+", " ", bare).strip(), flags=re.I)
    names = [*quoted, *bracketed, *name_tokens(bare), bare, *_initials(bare)]
    return [n for n in dict.fromkeys(x.strip() for x in names) if len(normalize_title(n)) >= 2]


def _initials(phrase: str) -> list[str]:
    """'layer-wise adaptive rate scaling' -> ['LARS']: a described method is often its acronym."""
    words = phrase.split()
    if not 3 <= len(words) <= 6 or words[0].lower() in ("the", "a", "an"):
        return []
    return ["".join(w[0] for w in words).upper()]


def side_ownership(side: str, paper: Titled) -> int:
    """How strongly `paper` is the paper a comparison side names (0: not at all); see OWN_*."""
    title = paper.title.strip()
    head = re.split(r"[:?!]", title, maxsplit=1)[0].strip()
    acronyms = set(_initials(re.sub(r"^\s*the\s+", "", side, flags=re.I)))
    strict = set(name_tokens(side)) | acronyms
    words = re.sub(r"\([^()]*\)", " ", side).split()
    # A name is whole unless it is one word of a capitalised run ("Fine-Tuning" of "Negative-aware
    # Fine-Tuning"): "FP8" in "the study of FP8" names the paper, "Fine-Tuning" there does not.
    fragments = {
        w.strip(",.")
        for i, w in enumerate(words)
        if any(0 <= j < len(words) and words[j][:1].isupper() for j in (i - 1, i + 1))
    }
    names = side_names(side)
    whole = {n for n in names if n not in fragments}
    best = 0
    for name in names:
        if name in acronyms:  # a guessed acronym only counts where an abstract defines and uses it
            best = max(best, OWN_ABSTRACT if NameMatcher(name).owns(paper) and name not in paper.title else 0)
            continue
        key = normalize_title(name)
        edge = r"(?![\w-])"
        if title.lower().startswith(name.lower()) and re.match(re.escape(name) + edge, title, re.I):
            exact = name[-1:] in "?!:"
            tier = OWN_EXACT if exact else (OWN_HEAD if normalize_title(head) == key else OWN_TITLE_START)
        elif normalize_title(head) == key:
            tier = OWN_HEAD
        elif re.search(r"(?<![\w-])" + re.escape(name) + edge, title, re.I) and (
            name in whole or name not in strict
        ):  # "Fine-Tuning" of "Negative-aware Fine-Tuning" is not a name of its own
            tier = OWN_IN_TITLE
        elif name in strict and name in whole and NameMatcher(name).owns(paper):
            tier = OWN_ABSTRACT
        else:
            tier = 0
        best = max(best, tier)
    return best


# ---- word forms and stop lists ------------------------------------------------------------------
def same_word(a: str, b: str) -> bool:
    """'loss' / 'losses', 'model' / 'models': the same first letters, as far as the shorter goes
    (at most five)."""
    n = min(5, len(a), len(b))
    return n >= 3 and a[:n] == b[:n]


# Words that never start, end or sit inside a key phrase of a summary's theme.
PHRASE_STOP = set(
    [
        *"a an the of for and or in on to with by from via as at is are be we our this that these "
        "those its their it which while than into over under using based new novel large "
        "language models model llm llms paper approach method methods framework training train "
        "trained propose proposed show results achieve achieves significant significantly "
        "existing different various however also can such both more most less several two three "
        "one first study work task tasks".split(),
        # function words and verbs: a theme is named by what the papers share, not how they say it
        *"have has had been being was were through before after across amid towards toward during "
        "within without between among upon about against make makes making enable enables allow allows "
        "lead leads present presents introduce introduces demonstrate demonstrates shows each other all "
        "any some many much very further still then when where how what who them they there here "
        "not only well".split(),
    ]
)


# ---- sentences lifted out of their abstract ------------------------------------------------------
# An opening that points back to the abstract's previous sentence ("To address this issue,",
# "Furthermore,", "In this work,"): it dangles once the sentence stands alone, so it is dropped.
# A list number an abstract sentence may open on: "(3)", "(iv)".
_LIST_NUMBER = r"\((?:\d{1,2}|[ivx]{1,4})\)"
_LEADING_LINK = re.compile(
    r"^(?:(?:furthermore|moreover|meanwhile|additionally|in addition|to this end|however|thus|therefore|"
    r"consequently|besides|hence|as a result|specifically|finally|in particular|in contrast|"
    r"in this (?:paper|work|study|article|report)|here|as a remedy|for instance|for example|"
    r"(?:to|in order to) (?:address|solve|tackle|overcome|mitigate|fill|bridge|close|remedy|alleviate) "
    r"(?:this|these|that|those|such|the above|both)(?: [\w-]+){0,3}|"
    r"inspired by (?:this|these|that)(?: [\w-]+){0,2}|motivated by (?:this|these)(?: [\w-]+){0,2}|"
    r"based on (?:this|these) (?:[\w-]+ ){0,2}[\w-]+|through further experiments|on these scenarios|"
    r"on top of (?:it|this|that)|in this way|from (?:this|these|that)|in this regard|to that end|overall|further|also|first|second|third|then|next|[a-z]+-wise|[a-z]+ly|"
    r"based on (?:our|their) [\w-]+(?: [\w-]+)?),\s*|(?:(?:this|that) is why|in this (?:paper|work|study|article))\s+(?=we\b)|\((?:\d+|[ivx]{1,4})\)\s*(?:[\w-]+\s+){0,3}[\w-]+:\s*|"
    rf"{_LIST_NUMBER}\s+(?!(?:and|or)\b))+",
    re.I,
)


# An opening phrase that leans on what the abstract said before ("Building on these observations,",
# "To answer these questions,", "Among these components,", "In light of this,"): a preposition,
# an infinitive or a participle, then "this / these / those / such" within a few words, before the
# main clause (its subject: "we", "our", "the", a capitalised name). "Training such models,
# however, …" is the subject itself, and stays; so do a contrast ("Despite these gains, …") and
# examples ("In tasks such as translation, …"), which carry meaning.
_POINTING_PHRASE = re.compile(
    r"^(?:(?:to|in|on|for|with|by|from|through|among|under|given|following|after|towards?|upon|"
    r"beyond|[a-z]+ing|[a-z]+ed)\s+(?:[\w-]+\s+){0,4}?(?:this|these|those|such(?!\s+as\b))\b(?:\s+[\w-]+){0,3}|"
    r"(?:based|building|drawing|relying)\s+(?:on|upon)\s+(?:the|our)\s+(?:analysis|analyses|findings|"
    r"observations?|insights?|investigation|results)),\s*"
    r"(?=we\b|our\b|the\b|(?-i:[A-Z]))",
    re.I,
)


def drop_leading_link(sentence: str) -> str:
    """'To address this issue, we first utilize …' -> 'we first utilize …' (see _LEADING_LINK and
    _POINTING_PHRASE)."""
    return _POINTING_PHRASE.sub("", _LEADING_LINK.sub("", sentence.strip(), count=1), count=1)


# ---- prose a researcher would write -------------------------------------------------------------
# A question word pasted after "On" ("On do these papers say …", "Compared on what does each …").
# "based on how many pairs …", "focuses on what is lost" are English: the fault is a question's
# "do" after it, or an auxiliary straight after "on".
_ON_QUESTION = re.compile(
    r"\bon (?:do|does|did|is|are|was|were|(?:what|which|how|why|when|where|who) (?:do|does|did))\b", re.I
)
# A connective left dangling after the lead's opening phrase ("In “X”, furthermore, …").
_OPENING_CONNECTIVE = re.compile(
    r"^[^.!?]{0,200}?,\s*(?:furthermore|moreover|additionally|in addition|to this end|however|thus|"
    r"therefore|consequently|besides|this motivates|as a result|hence)\b",
    re.I,
)
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
_FIRST_PERSON = re.compile(r"\b(?:we|our|ours|us|ourselves)\b", re.I)
# A comparison lead's template opening, the question's words pasted in ("Compared on pruning — X …").
_TEMPLATE_OPENING = re.compile(r"^\W*compared\b[^.;:]{0,120}?\s[—–-]\s", re.I)
# A lead that opens on a pronoun has nothing for it to point back to ("Their 8-bit GaLore …").
_OPENING_PRONOUN = re.compile(r"^\W*(?:their|they|its|it|them)\b", re.I)
# A list number lifted from the abstract with its sentence ("(3) HiFT can save …").
_OPENING_LIST_NUMBER = re.compile(rf"^\s*{_LIST_NUMBER}\s", re.I)


def speaks_first_person(text: str) -> bool:
    """'we', 'our', 'us' … outside a name: "US" (the country) is not the authors."""
    return any(m.group(0) != "US" for m in _FIRST_PERSON.finditer(text))


def opens_on_pronoun(text: str) -> bool:
    """The text opens on a pronoun that needs something before it ("Their 8-bit GaLore …")."""
    return _OPENING_PRONOUN.search(text) is not None


def prose_faults(text: str) -> list[str]:
    """What makes a generated lead read as a template rather than a researcher's sentence: a
    question word pasted after "On", a template opening ("Compared on … —"), a connective dangling
    after the opening phrase, the first person outside quotation marks, an opening pronoun or list
    number. Quoted evidence is the papers' own words: never a fault."""
    faults = []
    unquoted = _QUOTED.sub(" ", strip_markers(text))
    if _ON_QUESTION.search(unquoted):
        faults.append("a question pasted after 'On'")
    if _TEMPLATE_OPENING.search(unquoted):
        faults.append("a template opening ('Compared on … —')")
    if _OPENING_CONNECTIVE.search(unquoted) or _POINTING_PHRASE.match(
        re.sub(r"^In [^,]{1,160}, ", "", unquoted)
    ):
        faults.append("a dangling connective at the start")
    if speaks_first_person(unquoted):
        faults.append("the first person outside quotes")
    if opens_on_pronoun(unquoted):
        faults.append("a pronoun with nothing before it")
    if _OPENING_LIST_NUMBER.search(unquoted):
        faults.append("a list number at the start")
    return faults


# ---- questions that point back ------------------------------------------------------------------
# A question about papers in view (the chosen ones, the conversation's), not about a subject it
# names: "this paper", "these papers", "the authors", "that method", "it", "they".
_POINTS_BACK = re.compile(
    r"\b(?:this|these|those|that|the|both|each)\s+(?:selected\s+|chosen\s+)?(?:papers?|works?|stud(?:y|ies)|"
    r"articles?|authors?|methods?|approach(?:es)?|techniques?|frameworks?|systems?|models?|algorithms?)\b|"
    # "it" unless an expletive ("Is it possible to …", "it is known that …")
    r"\b(?:its|they|them|their)\b|\bit\b(?!\s+(?:(?:is|was|be)\s+)?(?:possible|true|known|shown|feasible|"
    r"necessary|common|hard|easy|better|worth)\b)",
    re.I,
)
# Words a question may hold and still name no subject of its own ("What are the main results?",
# "Which datasets are used?"): question words, auxiliaries and what one asks of any paper.
_NO_SUBJECT = set(
    "what which who whom whose how why when where is are was were do does did can could would should "
    "will has have had the a an of in on for to from by with about and or any main key overall their "
    "its it they them this these those that there paper papers work study authors method approach report "
    "reports reported say says said show shows found find findings finds result results propose proposes "
    "proposed contribution contributions use uses used using evaluate evaluated evaluation dataset datasets "
    "limitation limitations claim claims conclude conclusion conclusions tell me summarise summarize "
    "describe explain give list".split()
)


def points_back(question: str) -> bool:
    """The question refers to papers in view ("What does this paper report?", "Which GPUs did they use?")."""
    return _POINTS_BACK.search(question) is not None


def names_no_subject(question: str) -> bool:
    """Every word of the question is one any paper could be asked ("What are the main results?")."""
    words = re.findall(r"[A-Za-z][\w'-]*", question.lower())
    return bool(words) and all(w in _NO_SUBJECT for w in words)


def gerund(verb: str) -> str:
    """'reduce' -> 'reducing', 'put' -> 'putting', 'train' -> 'training', 'see' -> 'seeing'."""
    v = verb.lower()
    if v.endswith("e") and not v.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    # one syllable ending consonant-vowel-consonant doubles its last letter ("put", "cut", "set")
    if re.fullmatch(r"[^aeiou]*[aeiou][bdgklmnprt]", v):
        return verb + verb[-1] + "ing"
    return verb + "ing"


def holds_word(text: str, word: str, any_case: bool = False) -> bool:
    """Does `text` hold `word` whole: not inside a longer word, nor joined to one by a hyphen
    ("Q-GaLore" does not hold "GaLore")."""
    pattern = r"(?<![\w-])" + re.escape(word) + r"(?![\w-])"
    return re.search(pattern, text, re.I if any_case else 0) is not None


# What is not done ("will not change …", "eliminates the reliance on …", "without a warm-up stage") or done
# instead ("unlike existing methods", "in place of …"): eight words on ("unlike …" to its comma; not "not only").
_SCOPE = r"(?:(?:\s+|\s*,\s*)[\w-]+){1,8}"
_NOT = r"\b(?:not|no|never|without|nor|eliminat\w+ (?:the )?(?:need|reliance|dependence) (?:for|on))(?!\s+only\b)"
_NEGATION = re.compile(_NOT + _SCOPE, re.I)
_ALTERNATIVE = re.compile(
    r"\bunlike(?:\s+[\w-]+){1,6}|\b(?:rather than|instead of|in place of)" + _SCOPE, re.I
)


def negated_parts(text: str) -> tuple[str, str, str]:
    """The text's negated stretches, its stretches naming an alternative, and the rest."""
    alternatives = " ".join(_ALTERNATIVE.findall(text))
    text = _ALTERNATIVE.sub(" ", text)
    return " ".join(_NEGATION.findall(text)), alternatives, _NEGATION.sub(" ", text)
