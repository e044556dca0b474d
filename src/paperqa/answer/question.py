"""Question analysis: what a question asks for, read from the question alone (no model).

The answer stage uses it to pick the sentence that *answers* (not just one that is on topic)
and to check that a lead states what was asked:

* kinds — what each asked-for part wants: a quantity ("how much", "what speedup"), a name
  ("which method"), yes/no, a mechanism ("how does … avoid"), a definition ("what is X"), a
  list; a question with two asks ("which method …, and up to what size") has two kinds;
* focus — the thing asked about ("speedup", "batch size", "learning rate scheduler");
* constraints — named conditions the answer must meet ("over Megatron-LM", "on ProcessBench");
* defines — X in "what is X?", answered from the paper that introduces X.

May touch: nothing but the question text (no index, no model).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Literal

from ..text import name_tokens

AnswerKind = Literal["quantity", "name", "yesno", "mechanism", "definition", "list", "other"]

# Head nouns of "what / which <noun phrase>" that ask for a quantity or for a name.
_QUANTITY_NOUNS = set(
    "share size sizes speedup speed-up rate improvement improvements gain gains reduction score scores "
    "accuracy throughput efficiency percentage proportion fraction number compression memory cost "
    "factor ratio error perplexity latency time hours budget f1 bleu length scale overhead saving "
    "savings increase decrease boost parameters tokens count amount margin degree extent utilization mfu "
    "year years period periods date dates month months decade".split()
)
_NAME_NOUNS = set(
    "method methods technique techniques approach metric model models dataset datasets corpus corpora benchmark "
    "benchmarks algorithm architecture framework scheduler optimizer system tool library language "
    "property loss objective format formats strategy component mechanism name task tasks baseline "
    "baselines measure signal principle family families type kind operation procedure schedule".split()
)
# Words that end the noun phrase after "what" / "which": a verb or a preposition follows it.
_PHRASE_END = set(
    "did does do is are was were has have had can could will would should of for on in to by with "
    "over from at than that when between under against across among during used reported achieved "
    "needed required obtained reached".split()
)
_QUANTITY = re.compile(
    r"\b(how (many|much|large|big|fast|far|long|often|small)|by how|to what (extent|degree)|"
    r"up to (what|which|how)|to which sizes?|at what (extra |additional )?(cost|rate|size|scale)|"
    r"(from|to) what( \w+)?\s*\?)",
    re.I,
)
# "What is the speedup of …" reads like "what speedup …": the copula and article are skipped.
_WH_PHRASE = re.compile(r"\b(?:what|which)\s+(?:(?:is|was|are|were)\s+the\s+)?((?:[\w\-]+\s+){0,5})", re.I)
_NAME = re.compile(
    r"^\s*(who|which)\b|\bwhat is the name\b|\bwhat is (it|the method|the model) called\b|\bon which\b", re.I
)
_YESNO = re.compile(r"^\s*(does|do|did|is|are|was|were|can|could|has|have|had|will|would|should)\b", re.I)
_MECHANISM = re.compile(r"\b(how (do|does|did|is|are|can|could)|why|in what way|what (causes|makes))\b", re.I)
# The mechanism asked is a reason ("why do the authors consider … unfair?").
_WHY = re.compile(r"^\s*why\b|\bwhy (?:do|does|did|is|are|was|were|can|would)\b", re.I)
_DEFINE = re.compile(
    r"^\s*what (?:is|are) (?:the )?(?P<x>[^?]{2,120}?)\s*(?:\?|$)|"
    r"^\s*what does (?P<y>\S+(?: \S+)?) (?:do|mean|stand for)\b",
    re.I,
)
# A question that asks for papers, not for a fact in them ("which papers …", "is there work on …").
LISTING = re.compile(
    r"^\s*(which|what) (papers|works|studies|articles)\b|\blist (the |all )?(papers|works)\b|"
    r"\b(are there|is there) (any )?(papers|work|studies)\b",
    re.I,
)
# A question that asks for one paper ("Which paper removes …?", "Is there a paper arguing …?"): its
# answer is the paper, named, and what it does.
_ASKS_PAPER = re.compile(
    r"^\s*(?:(?:which|what)\s+(?:(?!(?:is|are|was|were|the|does|do|did|papers|studies|works)\b)[\w-]+\s+){0,2}?"
    r"(?:paper|study|work|article|publication)\b|"
    r"is there (?:a|any|one)\s+(?:[\w-]+\s+){0,2}?(?:paper|study|article|publication)\b|"
    r"(?:name|find) the (?:paper|study|article)\b)",
    re.I,
)
# Clause boundaries where a second ask starts: "…, and up to what size", "… and how many".
# "…, and how many tokens did it see?" asks again; "… changing how many frames per video and how big
# each picture is …" does not: an indirect question keeps its subject before its verb.
_SECOND_ASK = re.compile(
    r",?\s+and\s+(?=(?:up to |by |at |on |in |to |with |from )?(?:what|which|how|where|when|who|whether|is|does|did)\b)"
    r"(?!how\s+(?!(?:do|does|did|is|are|was|were|can|could|has|have|had|will|would|should)\b)\w+\s+"
    r"(?:each|every|the|its|their)\b)",
    re.I,
)
_CONSTRAINT = re.compile(
    r"\b(?:over|on|against|than|versus|vs\.?|compared (?:with|to)|relative to|from|for|with|in|using)\s+"
    r"(?P<c>(?:the |a |an )?[A-Za-z0-9][\w.\-:+/]*(?:[ -][A-Z0-9][\w.\-:+/]*){0,3})",
)
_LEADING = re.compile(r"^(?:the|a|an)\s+", re.I)
# Words that stand for what a question is about rather than name it ("what does each do …").
_NOT_A_TERM = frozenset({"each", "each one", "it", "they", "this", "that", "these", "those", "both"})


@dataclass
class QuestionAnalysis:
    """What a question asks for (see the module docstring)."""

    text: str
    kinds: list[AnswerKind]
    focus: str = ""
    constraints: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    defines: str | None = None
    clauses: list[str] = field(default_factory=list)  # one per ask ("…, and how many …")
    clause_kinds: list[AnswerKind] = field(default_factory=list)  # the kind of each ask

    @property
    def kind(self) -> AnswerKind:
        return self.kinds[0]

    def wants(self, kind: AnswerKind) -> bool:
        return kind in self.kinds

    @property
    def noun_focus(self) -> str:
        """The focus when it names a thing ('batch size'), not a change ('speed up')."""
        return "" if self.focus.lower() in (*CHANGE_WORDS, "speed up") else self.focus

    @property
    def asks_paper(self) -> bool:
        """A question whose answer is one paper ("Which paper …?", "Is there a paper …?")."""
        return bool(_ASKS_PAPER.search(self.text))

    @property
    def asks_why(self) -> bool:
        """A why-question: its answer is a cause."""
        return bool(_WHY.search(self.text))


def _head_noun(clause: str) -> str:
    """'What average F1 score on ProcessBench …' -> 'score'; '' when no 'what/which' phrase."""
    m = _WH_PHRASE.search(clause)
    if not m:
        return ""
    head = ""
    for word in m.group(1).split():
        if word.lower() in _PHRASE_END:
            break
        head = word.lower()
    return head


def _kind_of(clause: str, first: bool) -> AnswerKind:
    head = _head_noun(clause)
    quantity = _QUANTITY.search(clause)
    # "how does the reward relate to how far the policy has drifted?" asks a relation: the quantity
    # is inside what it asks about
    if quantity and re.search(
        r"\bhow (?:do|does|did|is|are|was|were)\b[^.?!]*$", clause[: quantity.start()], re.I
    ):
        quantity = None
    # "Compare the FLOPs savings …" asks for the amounts, as "what FLOPs savings …" does
    compared = re.match(r"\s*(?:compare|contrast)\s+the\s+", clause, re.I)
    if compared and _head_noun("what " + clause[compared.end() :]) in _QUANTITY_NOUNS:
        return "quantity"
    if quantity or head in _QUANTITY_NOUNS:
        return "quantity"
    if first and LISTING.search(clause):
        return "list"
    if first and _DEFINE.search(clause) and not re.search(r"\b(what is the|what are the)\b", clause, re.I):
        return "definition"
    if (head in _NAME_NOUNS or _NAME.search(clause)) and not _MECHANISM.search(clause):
        return "name"
    if _MECHANISM.search(clause):
        return "mechanism"
    if _YESNO.search(clause):
        return "yesno"
    if re.search(r"\bwhere\b", clause, re.I):
        return "name"  # "where must layer normalization go" asks for a placement, named
    return "other"


# The amount a question asks of a change ("By how much does X speed up Y?") is stated next to a
# word for that change: "4.5x faster", "60% shorter", "improves accuracy by 8.2%". Each verb a
# question uses for a change, and the words an abstract states its amount with (an evidence
# sentence's number attached to any of them answers, `focus_words`).
CHANGE_WORDS = {
    "speed": "speed speedup faster accelerate acceleration quicker",
    "accelerate": "speed speedup faster accelerate acceleration quicker",
    "reduce": "reduce reduction fewer lower smaller shorter saving savings decrease compress",
    "cut": "cut reduce reduction fewer lower smaller shorter saving savings decrease",
    "lower": "lower reduce reduction fewer smaller decrease",
    "shrink": "shrink reduce reduction fewer smaller lower compress",
    "compress": "compress compression smaller fewer reduce reduction",
    "shorten": "shorten shorter reduce reduction fewer faster",
    "save": "save saving savings reduce reduction fewer lower",
    "decrease": "decrease reduce reduction fewer lower smaller",
    "improve": "improve improvement improves higher better gain gains boost increase",
    "increase": "increase higher larger more improve improvement gain gains",
    "raise": "raise higher improve improvement increase gain gains boost",
    "boost": "boost higher improve improvement increase gain gains",
    "grow": "grow grew growth larger increase expand",
}
# A change verb as the question writes it, by its base form ("reduced", "speeds" -> the family).
_CHANGE_OF = {f"{verb}{end}": verb for verb in CHANGE_WORDS for end in ("", "s", "es", "d", "ed")}
# A word before it that makes it no verb ("at lower precision", "the lower bound", "a cut").
_NOT_A_VERB_AFTER = set("a an the at in on of for with to by its their this".split())
# "By how much does <subject> <change> …" (the auxiliary starts an active clause; the passive one
# asks of its subject, below) and "how small a cluster …" (the noun after the article).
_ACTIVE_AMOUNT = re.compile(
    r"\bhow (?:much|many times)\s+(?:does|do|did|can|could|would|will|should)\s+([^?;]+)", re.I
)
_SIZED = re.compile(
    r"\bhow (?:small|large|big|long|short|wide|deep|high|low|fast)\s+(?:a|an)\s+([\w\-]+(?:\s+[\w\-]+)?)",
    re.I,
)


def focus_words(focus: str) -> list[str]:
    """The words an answer may state the focus with: its own, and for a change the words an
    abstract states its amount with (`CHANGE_WORDS`)."""
    words = focus.lower().split()
    change = "speed" if focus.lower() == "speed up" else focus.lower()  # a change is its whole focus
    return words + [w for w in CHANGE_WORDS.get(change, "").split() if w not in words]


def _focus_of(clause: str) -> str:
    """The noun phrase after 'what / which / how many': 'average F1 score', 'learning rate scheduler';
    the noun after 'how small a …' ('cluster'); the change an active 'by how much does …' asks the
    amount of ('speed up', `CHANGE_WORDS`)."""
    sized = _SIZED.search(clause)
    if sized:  # "how small a cluster can …": the noun, not the verb after it
        return " ".join(itertools.takewhile(lambda w: w.lower() not in _PHRASE_END, sized.group(1).split()))
    m = _WH_PHRASE.search(clause) or re.search(r"\bhow (?:many|much)\s+((?:[\w\-]+\s+){0,4})", clause, re.I)
    if not m:
        return ""
    change = _ACTIVE_AMOUNT.search(clause)
    if change and m.re is not _WH_PHRASE:
        words = re.findall(r"[\w-]+", change.group(1).lower())
        verbs = (
            _CHANGE_OF.get(w) for i, w in enumerate(words) if i == 0 or words[i - 1] not in _NOT_A_VERB_AFTER
        )
        verb = next((v for v in verbs if v), "")
        return "speed up" if verb == "speed" else verb
    words = []
    # "by how much was the pretraining data grown": what the quantity is of is the subject after
    # the auxiliary, up to its participle (not "how much faster does …", whose phrase comes first)
    aux = re.match(r"(?:was|were|is|are|has|have|had)\s+", m.group(1), re.I)
    if aux and m.re is not _WH_PHRASE:
        subject = itertools.takewhile(
            lambda w: w.lower() not in _PHRASE_END and not re.fullmatch(r"\w+(?:ed|en|wn)", w, re.I),
            m.group(1)[aux.end() :].split(),
        )
        return _LEADING.sub("", " ".join(subject))
    # "the name of the dataset …", "what kind of extra pretraining …": what is named is the focus
    phrase = re.sub(
        r"^(?:name|names|title|kind|kinds|type|types|sort|sorts|form|forms)\s+of\s+(?:the\s+|a\s+|an\s+)?",
        "",
        m.group(1),
        flags=re.I,
    )
    for word in phrase.split():
        if word.lower() in _PHRASE_END:
            break
        words.append(word)
    return _LEADING.sub("", " ".join(words))


def analyze(question: str) -> QuestionAnalysis:
    """Read what the question asks for. Pure and fast: runs before retrieval."""
    text = re.sub(r"\s+", " ", question).strip()
    clauses = [c for c in _SECOND_ASK.split(text) if c and c.strip()]
    clauses = clauses or [text]  # an empty question is one empty ask
    clause_kinds = [_kind_of(clause, first=i == 0) for i, clause in enumerate(clauses)] or ["other"]
    kinds = list(dict.fromkeys(clause_kinds))
    defines = None
    m = _DEFINE.search(text)
    if kinds[0] == "definition" and m:
        defines = _LEADING.sub("", (m.group("x") or m.group("y") or "").strip(" ?.,"))
        # "Iterative Data Smoothing in reward model training" -> "Iterative Data Smoothing"
        defines = re.split(r"\s+(?:in|for|of|when|during|within|used|as|on)\s+", defines, maxsplit=1)[0]
        # "What does each do with …" defines no term: "each" stands for every compared side
        defines = None if defines.lower() in _NOT_A_TERM else defines
    focus = defines or _focus_of(clauses[0])
    names = name_tokens(text)
    constraints = []
    for cm in _CONSTRAINT.finditer(text):
        c = _LEADING.sub("", cm.group("c")).strip(" ?.,")
        # A constraint is a named condition: it carries a name ("Megatron-LM", "ProcessBench").
        if any(n in c for n in names) and c not in constraints:
            constraints.append(c)
    return QuestionAnalysis(
        text=text,
        kinds=kinds,
        focus=focus,
        constraints=constraints,
        names=names,
        defines=defines,
        clauses=clauses,
        clause_kinds=clause_kinds,
    )


# ---- comparisons: the sides a question names ----------------------------------------------------
CMP_SPLIT = re.compile(
    r"\s*(?:,\s*(?:and\s+)?|\band\b|\bwith\b|\bversus\b|\bvs\.?|\bagainst\b|\bcompared to\b|\bto\b)\s*", re.I
)
CMP_HEAD = re.compile(
    r"^\s*(?:compare|contrast|how do(?:es)?|what (?:is|are) the differences? between|"
    r"differences? between)\s+(?:the\s+)?",
    re.I,
)
# "What … does each paper adopt: the one that …, and the one …?" — sides described after a colon.
_EACH_DESCRIBED = re.compile(r"\beach\b[^:?]*:\s*(.+?)\??\s*$", re.I)
# "How does each of Bristle, FRL and zPROBE …" — named sides after "each of".
_EACH_OF_NAMES = re.compile(
    r"\beach of\s+((?:[A-Z][\w\-]*|[a-z]+[A-Z][\w\-]*)(?:(?:,\s*(?:and\s+)?|\s+and\s+)"
    r"(?:[A-Z][\w\-]*|[a-z]+[A-Z][\w\-]*))+)"
)
# "What does each of the NMT data-sorting method, the unpadded BERT work, and the sequence
# parallelism system use to …" — described sides after "each of", up to the question's verb.
_EACH_OF_DESCRIBED = re.compile(
    r"\beach of\s+(the\s(?![\d]|two\b|three\b|four\b|five\b)[^()]+?,[^()]+?\band\s[^()]+?)\s+"
    r"(?:use|rely|do|need|require|train|learn|propose|apply|choose|decide|measure|evaluate|avoid|reduce|"
    r"handle|address|achieve|make|get|pick|select|treat|define|organi[sz]e|find|claim|compare|combine)"
    r"(?![\w-])",
    re.I,
)
# "X, Y and Z all rely on …", "How do X and Y each use …": the sides are the subject before a
# distributive word (both / all / each), up to the first sentence end outside quotation marks.
_DISTRIBUTIVE = re.compile(
    r"^\s*(?:(?:how|what|which|by how|in what|to what)\b[^,:]*?\b(?:do|does|did)\s+)?(?P<list>.+?)\s+"
    r"(?:(?:are|were|have|had)\s+)?(?:both|all|each)\b(?!\s+of\b)(?!\s+[a-z]+\s+(?:is|are|was|were)\b)",
    re.I,
)
# A preposition before "both / all / each": it opens a noun phrase ("trained on both …").
_BEFORE_A_PHRASE = re.compile(
    r"\b(?:on|in|for|to|of|from|with|at|into|across|over|under|between|among|during|via)$", re.I
)
# "… produced by ptt5-v2 and by DeBERTinha", "according to RAdam and according to …": one
# preposition repeated before each side.
_REPEATED_PREP = re.compile(
    r"\b(?P<p>by|according to|in|from|for)\s+(?P<a>[^,;:?]+?),?\s+and\s+(?P=p)\s+(?P<b>[^,;:?]+)", re.I
)
# A described side's opening words, which name no paper ("the one that", "the study").
_SIDE_OPENING = re.compile(
    r"^(?:the\s+)?(?:(?:one|ones|study|paper|work|method|approach)\s+(?:that|which|who)|one|ones)\s+", re.I
)
# Quoted text ("Don't Stop Pretraining?") may hold sentence ends; it is one span.
_QUOTED_SPAN = re.compile(r"“[^”]*”|\"[^\"]*\"|(?<!\w)'[^']*'(?!\w)")


# A described side opens with one of these ("the study of …", "a method that …").
_DETERMINER = frozenset({"the", "a", "an", "this", "that", "its", "their"})
# Words that end a described side's noun phrase ("the GaLore method and gradient checkpointing"):
# an "and" after one of them starts the next side.
_HEAD_NOUNS = frozenset(
    """method methods paper papers work works study studies model models system systems approach
    approaches framework frameworks network networks technique techniques algorithm algorithms
    baseline baselines dataset datasets benchmark benchmarks variant variants architecture
    architectures optimizer optimizers recipe recipes pipeline pipelines""".split()
)


def _split_and(text: str) -> list[str]:
    """Split on ' and ', except inside a title-case name ('Large Content and Behavior Models') or
    inside a described side, where a lower-case word follows ('the study of German clinical and
    biomedical models': a new side opens with a determiner or a name)."""
    words = text.split(" ")
    parts: list[list[str]] = [[]]
    for i, w in enumerate(words):
        inside_name = (
            0 < i < len(words) - 1
            and i >= 2
            and words[i - 1][:1].isupper()
            and words[i - 2][:1].isupper()
            and not words[i - 2].endswith(",")
            and words[i + 1][:1].isupper()
        )
        nxt = words[i + 1] if i + 1 < len(words) else ""
        prev = parts[-1][-1] if parts[-1] else ""
        inside_description = (
            bool(parts[-1])
            and parts[-1][0].lower() in _DETERMINER
            # "clinical and biomedical": two modifiers of one head, not a head ("method and …")
            and prev.isalpha()
            and prev.islower()
            and prev not in _HEAD_NOUNS
            and nxt[:1].islower()
            and nxt.lower() not in _DETERMINER
            and not name_tokens(nxt)
        )
        if w == "and" and parts[-1] and not inside_name and not inside_description:
            parts.append([])
        else:
            parts[-1].append(w)
    return [" ".join(p).strip(" .,") for p in parts if " ".join(p).strip(" .,")]


def split_sides(listing: str) -> list[str]:
    """'A, B, and C' / 'A, B and C' / 'A and B' / 'A; B' -> the sides. An Oxford ', and' or a ';'
    splits first, then commas (unless a piece holds its own 'and': 'recognition, recall and
    retention' is one side), then a plain 'and'. Quoted text is never split."""
    quoted: list[str] = []

    def hide(m: re.Match[str]) -> str:
        quoted.append(m.group(0))
        return f"\x00{len(quoted) - 1}\x00"

    text = _QUOTED_SPAN.sub(hide, listing.strip(" .,?"))
    if re.search(r",\s*and\s+|;", text):  # "A, B, and C" / "A; B"
        parts = [p.strip(" .,") for p in re.split(r",\s*and\s+|;\s*", text) if p.strip(" .,")]
        head = [p.strip() for p in re.split(r",\s*", parts[0]) if p.strip()]
        if len(head) >= 2 and not any(re.search(r"\band\b", h) for h in head):
            parts = head + parts[1:]
    else:  # "A, B and C" / "A and B"
        pieces = [p.strip() for p in re.split(r",\s*", text) if p.strip()]
        if len(pieces) >= 2 and not any(re.search(r"\band\b", h) for h in pieces[:-1]):
            parts = pieces[:-1] + _split_and(pieces[-1])
        else:
            parts = _split_and(text)
    return [re.sub(r"\x00(\d+)\x00", lambda m: quoted[int(m.group(1))], p) for p in parts]


def _sentence_of(question: str) -> str:
    """The question's first sentence (quoted spans kept whole: "Don't Stop Pretraining?")."""
    masked = _QUOTED_SPAN.sub(lambda m: "x" * len(m.group(0)), question)
    end = re.search(r"[.?!](?:\s|$)", masked)
    return question[: end.start()] if end else question


# "…, GaLore or COAP?": a choice between two named candidates.
EITHER = re.compile(r",\s*(\S+(?:\s\S+){0,3})\s+or\s+(\S+(?:\s\S+){0,3}?)\s*\?\s*$")


# A side is named, described or a method at work ("the study of …", "GaLore", "re-warming …"); a
# part read from a description that opens on a question word or a preposition and names nothing
# ("In controlled experiments where …, which uneven split …", "… after pretraining in which …") is
# no side ("Compare how GaLore and …" still reads "how GaLore" as one).
_NOT_A_SIDE = re.compile(
    r"(?:which|what|where|when|why|who|whose|in|for|after|before|during|with|without|on|at|by|from|"
    r"then|so|to)(?![\w-])",  # "in-context learning" and "on-policy …" are sides
    re.I,
)


def comparison_parts(question: str) -> list[str]:
    """The sides a comparison names, in the question's order (empty when it names fewer than two):
    'each of X, Y and Z'; 'each …: the one that …, and the one …'; 'each of the X method, the Y
    work and the Z system <verb> …'; 'by X and by Y'; 'X and Y both /
    all / each …'; 'Compare X with Y', 'How do X and Y differ'. Parts of a description ("… on
    both languages", "… generates both pieces and words") that are no sides (_NOT_A_SIDE) leave
    fewer than two: no comparison."""
    parts = _parts(question)
    sides = [p for p in parts if name_tokens(p) or not _NOT_A_SIDE.match(p.strip())]  # "how GaLore" is one
    return parts if len(sides) >= 2 else []


def _parts(question: str) -> list[str]:
    listed = _EACH_OF_NAMES.search(question)
    if listed:
        return [p.strip() for p in re.split(r",\s*(?:and\s+)?|\s+and\s+", listed.group(1)) if p.strip()]
    described = _EACH_DESCRIBED.search(question) or _EACH_OF_DESCRIBED.search(question)
    if described:
        sides = [_SIDE_OPENING.sub("", p).strip(" .,") for p in split_sides(described.group(1))]
        sides = [s for s in sides if len(s) > 1]
        if 2 <= len(sides) <= 5:
            return sides
    either = EITHER.search(question)
    if either and all(name_tokens(side, loose=True) for side in either.groups()):
        return [side.strip(" .,") for side in either.groups()]  # "Which … more, GaLore or COAP?"
    repeated = _REPEATED_PREP.search(question)
    if repeated:
        return [repeated.group("a").strip(" .,"), repeated.group("b").strip(" .,")]
    subject = _DISTRIBUTIVE.match(_sentence_of(question))
    # "X and Y both …" distributes over its subject; "… RL on both success and failure" is a phrase
    if (
        subject
        and re.search(r",|\band\b", subject.group("list"))
        and not _BEFORE_A_PHRASE.search(subject.group("list"))
    ):
        sides = [s for s in split_sides(subject.group("list")) if len(s) > 1]
        if 2 <= len(sides) <= 5:
            return sides
    if not CMP_HEAD.search(question) and not re.search(r"\b(versus|vs\.?|differ|compare)\b", question, re.I):
        return []
    body = CMP_HEAD.sub("", question)
    # "Compare the two studies of X: A versus B" — the sides are in the segment with a separator.
    for segment in re.split(r"[?:;]", body):
        if re.search(r"\b(versus|vs\.?|with|and|against|compared to)\b|,", segment, re.I):
            body = segment
            break
    body = re.split(r"\b(?:differ|in the way|as|for|when|which|according)\b", body, maxsplit=1, flags=re.I)[0]
    parts = [p.strip(" .,") for p in CMP_SPLIT.split(body) if p and len(p.strip(" .,")) > 2]
    return parts if 2 <= len(parts) <= 5 else []


_ASKS = re.compile(
    r"^\W*(?:what|which|how|why|where|when|who|whom|whose|is|are|does|do|did|can|compare)\b", re.I
)


def ask_of(question: str) -> str:
    """The part of a question that asks: its last asking sentence ('X and Y both add a phase …. What
    kind of extra pretraining does each one recommend?' -> the second), and of that, the part
    before a colon that lists the sides ('Which recipe does each recommend: A, and B?')."""
    masked = _QUOTED_SPAN.sub(lambda m: "x" * len(m.group(0)), question)
    bounds = [0] + [m.end() for m in re.finditer(r"[.?!](?=\s+[A-Z])", masked)] + [len(question)]
    sentences = [question[a:b].strip() for a, b in itertools.pairwise(bounds) if question[a:b].strip()]
    asking = [s for s in sentences if _ASKS.search(s) or s.endswith("?")]
    ask = asking[-1] if asking else question
    if _EACH_DESCRIBED.search(ask):
        ask = ask.split(":", 1)[0]
    # "Compare how A and B arrange the data: what ordering does each use?" -> the question after
    # the colon, which asks without the sides
    after = ask.split(":", 1)[1].strip() if ":" in ask else ""
    if _ASKS.search(after) and re.search(r"\beach\b", after, re.I):
        ask = after
    return ask.strip()


# ---- a request's topic ------------------------------------------------------------------------
# The instruction a request opens with ("Summarize", "Give an overview of", "List").
INSTRUCTION = r"^\s*(?:please\s+)?(?:summari[sz]e|give (?:me )?an overview of|describe|list|tell me)\s+"
_FRAMING = re.compile(
    INSTRUCTION
    + r"(?:(?:what|how|the|which)\s+)?(?:(?:approaches|techniques|methods|findings)\s+(?:in\s+)?)?"
    r"(?:(?:these|the|all)\s+)?(?:abstracts?|papers?|works?|studies)?\s*"
    r"(?:(?:report|say|use|propose|describe)\s+)?(?:(?:about|on|for|to)\s+)?",
    re.I,
)


def focus_query(question: str) -> str:
    """Drop instruction framing ('Summarize what these abstracts report about …') so retrieval
    sees the topic; the full question still goes to the LLM."""
    focused = _FRAMING.sub("", question).strip()
    return focused if len(focused.split()) >= 2 else question
