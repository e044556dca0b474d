"""Compose: the answer text a reader sees, built from ranked evidence (no model, no index).

* A lead that answers: the sentence(s) holding the asked-for fact, told in the third person and
  attributed to the paper by name, cited ("In Domino (“Eliminating Communication …”), …").
* Quoted evidence: abstract sentences verbatim, in quotes, cited.
* Comparisons: a lead naming and citing every compared paper, then a table whose first row is
  the question's own aspect, then the generic aspects (the problem, the approach, how it works,
  the data, the results), no sentence twice in one column.

Summaries are written by `summarize`, from the pieces here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..text import drop_leading_link, holds_word, opens_on_pronoun, speaks_first_person, split_sentences
from ..types import Paper, Source
from .evidence import OWN_WORK, Scored, is_background, is_boilerplate, is_question, reports_results

# Longest "short name" (the part of a title before its colon) used to name a paper in a lead.
SHORT_NAME_WORDS = 5
# Words of a title kept when it is quoted inside a lead.
TITLE_WORDS_IN_LEAD = 9
# A "which paper" answer is the paper: its title whole (a title is at most about 25 words).
TITLE_WORDS_WHOLE = 40
# Longest quoted sentence in a table cell / a comparison lead clause, in characters.
CELL_CHARS = 260
LEAD_CLAUSE_CHARS = 400
# The answer row of a comparison table shows a side's best sentence and the runners-up of its
# ranking, up to this many sentences and characters: the asked-for fact is often second or third
# (measured on eval/comparisons-b and -c; see eval/README.md).
ANSWER_CELL_SENTENCES = 3
ANSWER_CELL_CHARS = 640

# "we" and "our" are told by `third_person` ("the authors" / "the authors'", then "they" /
# "their"); the rest word for word.
_PRONOUNS = [
    (re.compile(r"\bours\b"), "theirs"),
    (re.compile(r"\bus\b"), "them"),
    (re.compile(r"\bourselves\b"), "themselves"),
]


# "e.g. ", "et al. ": a full stop that ends no sentence.
_ABBREVIATION_END = re.compile(r"\b(?:e\.g|i\.e|al|cf|vs|etc|approx)\.\s+$", re.I)


def third_person(sentence: str, named: bool = False) -> str:
    """An abstract's first person told as the authors' ('we propose' -> 'the authors propose',
    'our method' -> 'the authors' method'); once the authors are named, a later 'we' is 'they' and
    a later 'our' is 'their' ('the authors show that their method …'): a lifted sentence never
    opens on a 'their' that points nowhere. `named`: a sentence before it named the authors."""
    seen = [named]

    def we(m: re.Match[str]) -> str:
        first, seen[0] = not seen[0], True
        plural = m.group(0).lower() == "we"
        word = ("the authors" if plural else "the authors'") if first else ("they" if plural else "their")
        # capitalised where the abstract did, or where a sentence starts ("… process. we observed …")
        before = m.string[: m.start()]
        starts = re.search(r"(?:^|[.!?]\s+)$", before) is not None and not _ABBREVIATION_END.search(before)
        return word[:1].upper() + word[1:] if m.group(0)[0] in "WO" or starts else word

    sentence = re.sub(r"\b(?:[Ww]e|[Oo]ur)\b", we, sentence)
    for pat, repl in _PRONOUNS:
        sentence = pat.sub(repl, sentence)
    return sentence


def short_name(paper: Paper) -> str | None:
    """'Domino: Eliminating Communication …' -> 'Domino' (None when the title has no short head)."""
    head, sep, _ = paper.title.partition(":")
    head = head.strip()
    if sep and 0 < len(head.split()) <= SHORT_NAME_WORDS and len(head) <= 40:
        return head
    return None


def clip_title(title: str, words: int = TITLE_WORDS_IN_LEAD) -> str:
    parts = title.split()
    return title if len(parts) <= words else " ".join(parts[:words]) + " …"


def paper_label(paper: Paper, words: int = TITLE_WORDS_IN_LEAD) -> str:
    """How a lead names a paper: its short name and the rest of the title, or the title."""
    name = short_name(paper)
    if name is None:
        return f"“{clip_title(paper.title, words)}”"
    rest = paper.title.partition(":")[2].strip()
    return f"{name} (“{clip_title(rest, words)}”)"


# Words that open a sentence in lower case when it continues a clause, whatever the abstract says.
_STARTERS = set(
    "the this these those a an in on to for by with as at from their however specifically moreover "
    "finally furthermore additionally also here then thus therefore experiments extensive results "
    "compared using unlike while when although it its they them our we each both such".split()
)


def _lower_first(sentence: str, context: str = "") -> str:
    """Lower-case a sentence's first letter to continue a clause, unless its first word is a
    name: an acronym, a word with digits, or one `context` (the title, then the abstract) never
    writes in lower case and capitalises where no sentence starts."""
    first = sentence.split(" ", 1)[0]
    if len(first) > 1 and (any(c.isupper() for c in first[1:]) or any(c.isdigit() for c in first)):
        return sentence
    word = first.strip(",;:()")
    if word.lower() in _STARTERS or (word.isalpha() and re.search(r"(?:ing|ly|ed)$", word) and len(word) > 4):
        return sentence[:1].lower() + sentence[1:]
    if word[:1].isupper() and not holds_word(context, word.lower()):
        # "Domino", "Adam": the abstract only ever capitalises it, and not only where a sentence
        # starts ("Experiment results highlight …" is no name), or it opens the title
        capital = r"(?:^|(?<=[\w,;:)]\s)|(?<=[(“\"'‘/]))" + re.escape(word) + r"(?![\w-])"
        if re.search(capital, context):
            return sentence
    return sentence[:1].lower() + sentence[1:]


def _upper_first(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def marker(n: int) -> str:
    return f"[{n}]"


# A lifted sentence opening on a pronoun or a demonstrative ("Their …", "This approach …") points
# back into its abstract: it is told "In <paper>, …" even when it names the paper.
_POINTS_BACK = re.compile(r"\W*(?:their|they|its|it|them|this|these|the authors')(?!\w)", re.I)


def _their_own(text: str, names: Sequence[str]) -> str:
    """'The authors' 8-bit GaLore further reduces …' (from 'Our 8-bit GaLore …') names the method
    it is about: 'The 8-bit GaLore further reduces …' ('Their GaLore …': 'GaLore …'), a sentence
    of its own, not 'In GaLore, their …'."""
    for n in names:
        # only modifiers ("8-bit", "INT4") between: "Their experiments show GaLore …" is not about it.
        # At the start or inside: "a model fine-tuned by the authors' LLaMoCo" -> "… by LLaMoCo".
        own = re.compile(
            r"(?<![\w-])(?P<det>[Tt]he authors'|[Tt]heir) (?P<mods>(?:[\w.]*[\d-][\w.-]* ){0,2})"
            r"(?P<name>" + re.escape(n) + r")(?![\w-])"
        )

        def plain(m: re.Match[str]) -> str:
            if not m.group("mods"):
                return m.group("name")
            return ("The " if m.group("det")[0] == "T" else "the ") + m.group("mods") + m.group("name")

        text = own.sub(plain, text)
    return text


# "In this work, …", "Here, …": the paper speaking of itself, which "In <paper>, …" already says.
_SELF_FRAME = re.compile(
    r"^(?:in (?:this|our|the present) (?:work|paper|study|survey|article|report|note)|here(?:in)?)"
    r"\s*,\s*",
    re.I,
)
# … or inside a sentence, after an opening phrase ("Taking a step towards X, in this work, we …").
_SELF_FRAME_INSIDE = re.compile(
    r",\s*in (?:this|our|the present) (?:work|paper|study|survey|article|report|note)\s*,\s*", re.I
)


def _without_self_frame(sentence: str) -> str:
    """The sentence without the frame in which its paper speaks of itself (see _SELF_FRAME)."""
    return _SELF_FRAME_INSIDE.sub(", ", _SELF_FRAME.sub("", sentence))


def _told(sentence: str, named: bool = False) -> str:
    """An abstract's sentence as a lead tells it: without a leading link ("To this end,") or the
    frame its paper speaks of itself in, in the third person (`named`: the authors were named)."""
    return third_person(_without_self_frame(drop_leading_link(sentence)), named)


# "This work presents …", "This paper delves into …": the paper is the subject.
_SELF_SUBJECT = re.compile(
    r"^(?:this|the present) (?:work|paper|study|survey|article|report)\s+(?=[a-z])", re.I
)


def _about_itself(text: str, label: str) -> str | None:
    """A sentence whose subject is its own paper, told with the paper's label ("This work presents
    X" -> "<label> presents X"); None for any other sentence."""
    m = _SELF_SUBJECT.match(text)
    return f"{label} {text[m.end() :]}" if m else None


# What "our" method a sentence speaks of ("our proposed solution", "our framework").
_OUR_METHOD = re.compile(
    r"\b[Oo]ur ((?:proposed |new |novel )?(?:method|approach|solution|framework|model|algorithm|technique))\b"
)


def _it_named(s: Scored, names: Sequence[str]) -> str:
    """A sentence opening on "It" whose abstract names the method in the sentence before it
    ("… we introduce Grass …. It cuts memory by 40%") is about that method: "Grass cuts …"; after
    "our proposed solution …" it is "the authors' proposed solution". Any other "It" keeps its
    pronoun: abstracts often mean the field's technique ("Self-training is …. It leverages …")."""
    text = drop_leading_link(s.text)  # "Concretely, it improves …"
    if not re.match(r"[Ii]t\s", text) or s.pos == 0:
        return s.text
    before = split_sentences(s.source.paper.abstract)
    if s.pos >= len(before) or before[s.pos] != s.text:
        return s.text
    for n in names:
        if holds_word(before[s.pos - 1], n):
            return n + text[2:]
    # "… our proposed solution mitigates forgetting. Concretely, it improves …": the authors' solution
    own = _OUR_METHOD.search(before[s.pos - 1])
    return f"The authors' {own.group(1)}{text[2:]}" if own else s.text


def attributed(sentence: str, paper: Paper) -> str:
    """The sentence in the third person, attributed to its paper by name (no citation)."""
    name = short_name(paper)
    text = _told(sentence).rstrip(" .")
    text = _their_own(text, [name] if name else [])
    itself = _about_itself(text, paper_label(paper))
    if itself is not None:
        return itself
    # The title goes after the sentence's first use of the name, unless that use is in brackets
    # ("Gradient Low-Rank Projection (GaLore)"): the sentence then opens "In GaLore (“…”), …".
    named = re.compile(r"(?<![\w(])" + re.escape(name) + r"(?!\w)") if name else None
    first = named.search(text) if named else None
    if name and named and first and not _POINTS_BACK.match(text) and first.start() == text.find(name):
        rest = paper.title.partition(":")[2].strip()
        return _upper_first(named.sub(lambda m: f"{m.group(0)} (“{clip_title(rest)}”)", text, count=1))
    return f"In {paper_label(paper)}, {_lower_first(text, f'{paper.title} {paper.abstract}')}"


def extractive_lead(sentences: Sequence[Scored]) -> str:
    """The deterministic lead: the answer-bearing sentence(s) of one paper, attributed, cited."""
    if not sentences:
        return ""
    src = sentences[0].source
    name = short_name(src.paper)
    first = attributed(_it_named(sentences[0], [name] if name else []), src.paper)
    named = "the authors" in first.lower()  # a later sentence's "our" is then "their"
    rest = [_upper_first(_told(s.text, named)).rstrip(" .") for s in sentences[1:]]
    return " ".join([f"{first} {marker(src.n)}.", *(f"{r} {marker(src.n)}." for r in rest)])


def paper_answer(picks: Sequence[Scored], yes_no: bool, sure: bool = True) -> str:
    """'Which paper …?' answered with the paper: its name and whole title, cited, then what it does
    (its best sentence, attributed). Two papers that fit almost equally are both named, and the
    lead says so. `yes_no`: the question asked "Is there a paper …?". Not `sure` (a forced answer
    to a question no paper stands out for, `sides.stands_out`): it is offered as the closest, not
    asserted."""
    named = " and ".join(
        f"{paper_label(s.source.paper, words=TITLE_WORDS_WHOLE)} {marker(s.source.n)}" for s in picks
    )
    if not sure:
        opening = f"No paper in the corpus clearly matches; the closest {'are' if len(picks) > 1 else 'is'} {named}."
    elif len(picks) > 1:
        opening = f"Two papers fit almost equally: {named}."
    else:
        opening = f"{'Yes: the paper is' if yes_no else 'The paper is'} {named}."
    said = [
        f"{attributed(s.text, s.source.paper) if len(picks) > 1 else _upper_first(_told(s.text)).rstrip(' .')} {marker(s.source.n)}."
        for s in picks
    ]
    return " ".join([opening, *said])


def quote(sentence: str) -> str:
    """An abstract sentence verbatim, marked as a quotation."""
    return f"“{sentence.strip()}”"


def evidence_list(items: Sequence[tuple[Source, list[str]]]) -> str:
    """'**Evidence:**' and one quoted, cited line per paper."""
    lines = [
        f"- **{src.paper.title}**: {' '.join(quote(s) for s in sents)} {marker(src.n)}"
        for src, sents in items
    ]
    return "**Evidence:**\n" + "\n".join(lines) if lines else ""


# ---- comparisons ----------------------------------------------------------------------------
ASPECTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Problem",
        re.compile(
            r"\b(challeng|problem|however|costly|expensive|limit|difficult|bottleneck|suffer|"
            r"requires?\b|overhead|lack|unclear|remains)",
            re.I,
        ),
    ),
    (
        "Approach",
        re.compile(
            r"\b(we (propose|introduce|present|develop|design)|our (method|approach|framework)|"
            r"this (paper|work) (proposes|introduces|presents)|is a (novel|new))",
            re.I,
        ),
    ),
    (
        "Data / setting",
        re.compile(
            r"\b(dataset|benchmark|experiments? (on|with)|evaluat\w* on|GPUs?|"
            r"(\d+(\.\d+)?[BMK]) (parameters?|tokens?)|ImageNet|LLaMA|BERT|GPT)",
            re.I,
        ),
    ),
    (
        "Reported results",
        re.compile(
            r"(\d+(\.\d+)?\s?(%|x|×)|\b(outperform|achiev|improv|speedup|"
            r"reduc|faster|accuracy|state-of-the-art))",
            re.I,
        ),
    ),
]


_PRIOR_WORK = re.compile(
    r"^\W*(?:common|standard|popular|typical|many|most|several|existing|prior|previous|traditional|"
    r"conventional)\b",
    re.I,
)


# The row that says how each method works: a sentence after the one where the paper first speaks
# of its own work, that is neither background, a problem nor a reported result ("Concretely, at
# each training step, we first virtually optimize the student …", "TFB searches for the largest
# variance …"). The Approach row's pattern finds the sentence that names the method; the answer
# to "how does each …" is often the one after it.
HOW_IT_WORKS = "How it works"
# A sentence stating a result as a number ("by 65.5%", "2.1x", "the 1st place").
_NUMBER_RESULT = re.compile(r"\d+(?:\.\d+)?\s?(?:%|x\b|×)|\b\d+(?:st|nd|rd|th) place\b")

# What the work found or claims, not how it works ("Our analysis reveals …", "To our knowledge, this
# is the first …", "… is a promising approach"), what it releases, and what others do ("The
# current paradigm uses …").
_FINDING = re.compile(
    r"\b(results?|analysis|evaluation|findings?|find|found|reveals?|demonstrat\w*|shows?|showed|knowledge|"
    r"promising|effective(?:ness)?|believe|observed?|surpass\w*|poor|depend\w*|connection|insights?|gains?|"
    r"generali[sz]e|open-source|release|(?:current|existing|prior|previous|conventional) (?:paradigm|methods?|"
    r"approaches|works?))\b",
    re.I,
)
# A sentence says how when it names the means ("by dividing …", "uses …", "replaces … with …") or
# when the method (or "we", "it", "our algorithm") acts in it.
_MEANS = re.compile(
    r"\bby \w+ing\b|\b(?:uses?|used|using|leverag\w+|employs?|adopt\w*|through|via|instead of|replac\w+)\b",
    re.I,
)


def names_means(sentence: str) -> bool:
    """The sentence names how something is done ("by dividing …", "we adopt …", "uses …")."""
    return bool(_MEANS.search(sentence))


# Fewer words than this is a fragment of a sentence split at an abbreviation ("Building on … (W.").
MIN_HOW_WORDS = 8


def how_it_works(paper: Paper) -> list[str]:
    """The abstract's sentences that show its own method at work (see HOW_IT_WORKS), in order."""
    sentences = split_sentences(paper.abstract)
    first_own = next((i for i, x in enumerate(sentences) if OWN_WORK.search(x)), len(sentences))
    problem = dict(ASPECTS)["Problem"]
    results = dict(ASPECTS)["Reported results"]
    name = short_name(paper)
    # "we" anywhere, "It …"/"Our algorithm …" as the subject, or the method's own name
    actor = re.compile(
        r"\bwe\b|^(?:[^,]{0,80},\s*)?(?:it|our \w+)\s"
        + (rf"|(?<![\w-]){re.escape(name)}(?![\w-])" if name else ""),
        re.I,
    )
    return [
        x
        for i, x in enumerate(sentences)
        if i > first_own
        and len(x.split()) >= MIN_HOW_WORDS
        and not is_question(x)
        and x.count(")") <= x.count("(")  # not the tail of a sentence split inside a parenthesis
        and (_MEANS.search(x) or actor.search(x))
        and not (is_background(x, i) or is_boilerplate(x) or _PRIOR_WORK.match(x) or problem.search(x))
        # a result or a finding
        and not (reports_results(x) or _NUMBER_RESULT.search(x) or _FINDING.search(x))
        # a result word, unless the paper says what it does in it ("we reduce … by …")
        and not (results.search(x) and not OWN_WORK.search(x))
    ]


# The table's generic rows, in order; `None`: the row picks by position (see how_it_works).
_TABLE_ROWS: list[tuple[str, re.Pattern[str] | None]] = [*ASPECTS[:2], (HOW_IT_WORKS, None), *ASPECTS[2:]]


def is_approach(sentence: str, pos: int) -> bool:
    """The sentence states the paper's own approach ("we propose …", "our method …"): neither its
    background or prior work, nor a result ("Our approach reduces memory by up to 65.5% …")."""
    return bool(
        dict(ASPECTS)["Approach"].search(sentence)
        and not (
            is_background(sentence, pos) or _PRIOR_WORK.match(sentence) or _NUMBER_RESULT.search(sentence)
        )
    )


def states_contribution(sentence: str) -> bool:
    """The sentence says what the paper does or finds (its approach or a reported result)."""
    return any(pat.search(sentence) for name, pat in ASPECTS if name in ("Approach", "Reported results"))


_ASPECT_TAIL = re.compile(
    r"\b(?:as|in terms of|regarding|with respect to)\s+(?P<a>[\w\-]+(?:\s+[\w\-]+){0,5})\s*[.?!]?\s*$", re.I
)


def aspect_label(question: str, focus: str = "") -> str:
    """The table's first row label: the question's focus ('robust loss'), else the noun phrase it
    compares the sides as ('… as memory-efficient training methods'); '' when it states neither."""
    m = _ASPECT_TAIL.search(question.strip())
    # "which training data a language model should see": the label ends where the next clause opens
    # ("memory footprint of the optimizer states" keeps its object)
    focus = re.sub(
        r"(?<!\bof)(?<!\bfor)(?<!\bin)(?<!\bon)(?<!\bto)(?<!\bby)(?<!\bwith)(?<!\bfrom)(?<!\bat)"
        r"\s+(?:a|an|the|this|these|those|its|their|each|our)\s.*$",
        "",
        focus,
    )
    return focus or (m.group("a") if m else "")


def _cell(text: str, limit: int = CELL_CHARS) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "…"


def side_label(paper: Paper, offered: str = "") -> str:
    """How a comparison names a side: the paper's short name, else the name the question used for
    it ("NFT"), else its title, quoted and clipped."""
    return short_name(paper) or offered or f"“{clip_title(paper.title, 6)}”"


def side_sentence(side: Scored, label: str, aliases: Sequence[str] = ()) -> str:
    """A side's answer as a sentence of its own, third person, about the side by name: the
    sentence itself when its first clause names the side (by its label or another name it goes by:
    the question's "ChartAssistant" for a title's "ChartAssisstant"), else 'In <side>, …'."""
    names = [n for n in (label.strip("“”"), *aliases) if n]
    text = _cell(_told(_it_named(side, names)).rstrip(" ."), LEAD_CLAUSE_CHARS).replace("\\|", "|")
    text = _their_own(text, names)
    itself = _about_itself(text, label)
    if itself is not None:
        return itself
    # named in its first clause: "The facts are triples; indeed, WikiFactDiff was built …" is
    # about the side only after the semicolon, and reads "In WikiFactDiff, the facts are …"
    first_clause = re.split(r";\s", text, maxsplit=1)[0]
    named = any(holds_word(first_clause, n, any_case=True) for n in names)
    if not _POINTS_BACK.match(text) and named:
        return _upper_first(text)
    context = f"{side.source.paper.title} {side.source.paper.abstract}"
    return f"In {label}, {_lower_first(text, context)}"


def comparison_lead(
    sides: Sequence[Scored], labels: Sequence[str], aliases: Sequence[Sequence[str]] = ()
) -> str:
    """One sentence per compared side, in the question's order: the side's answer to what was
    asked, about the side by name, cited. `aliases`: other names each side goes by."""
    other = list(aliases) or [()] * len(sides)
    return " ".join(
        f"{side_sentence(s, label, more)} {marker(s.source.n)}."
        for s, label, more in zip(sides, labels, other, strict=True)
    )


def comparison_table(
    sources: Sequence[Source],
    best: dict[int, Scored],
    aspect: str,
    more: Mapping[int, Sequence[Scored]] | None = None,
) -> str:
    """One row per aspect, one column per paper; every cell an abstract sentence, cited. The
    first row is the question's own aspect (each paper's best sentence for the question, and its
    runners-up, see ANSWER_CELL_SENTENCES); `more`: the rest of each paper's sentences in that ranking, best first, by which
    every other row picks among the sentences of its kind (the one nearest the question)."""
    header = (
        "| Aspect | "
        + " | ".join(f"{marker(s.n)} {_cell(s.paper.title.split(':')[0])}" for s in sources)
        + " |"
    )
    rows = [header, "|---|" + "---|" * len(sources)]
    used: dict[int, set[str]] = {s.n: set() for s in sources}
    # each paper's sentences by their place in the question's ranking, for every row below
    rank = {s.n: {x.text: i for i, x in enumerate((more or {}).get(s.n, ()))} for s in sources}
    label = _upper_first(aspect) if aspect else "Answer to the question"
    cells = []
    for s in sources:
        b = best.get(s.n)
        if b is None:
            cells.append("— (not stated in the abstract)")
            continue
        used[s.n].update([b.text, *split_sentences(b.text)])  # a pick may join two sentences
        shown, length = [b], len(_cell(b.text))
        for x in (more or {}).get(s.n, ()):
            if len(shown) == ANSWER_CELL_SENTENCES:
                break
            if x.text in used[s.n] or length + len(_cell(x.text)) > ANSWER_CELL_CHARS:
                continue  # shown already (half of a joined pick), or too long: the next may fit
            used[s.n].add(x.text)
            shown.append(x)
            length += len(_cell(x.text))
        # in the abstract's order
        cells.append(" ".join(_cell(x.text) for x in sorted(shown, key=lambda x: x.pos)) + f" {marker(s.n)}")
    rows.append(f"| **{_cell(label, 80)}** | " + " | ".join(cells) + " |")
    # results are picked before data (a result names its data too: "… by 65.5% on LLaMA 7B with
    # C4"), then every row is shown in the table's order
    filled: dict[str, str] = {}
    for name, pat in sorted(_TABLE_ROWS, key=lambda r: r[0] == "Data / setting"):
        cells = []
        for s in sources:
            sentences = list(enumerate(split_sentences(s.paper.abstract)))
            # what the paper does: never its background or prior work ("Common approaches, such as …")
            own = name == "Reported results"
            position = {x: i for i, x in sentences}
            candidates = [*s.evidence, *(x for _, x in sentences)]
            if pat is None:
                sents = how_it_works(s.paper)
            elif name == "Approach":
                sents = [x for x in candidates if is_approach(x, position.get(x, 1))]
            else:
                sents = [
                    x
                    for x in candidates
                    if pat.search(x)
                    and not (own and (is_background(x, position.get(x, 1)) or _PRIOR_WORK.match(x)))
                ]
            sents = [x for x in sents if not is_question(x)]  # a question the abstract asks answers nothing
            if name == "Problem":  # "our methods yield up to 7.5%, whereas SFT gives limited gains": a result
                sents = [x for x in sents if not (_NUMBER_RESULT.search(x) and OWN_WORK.search(x))]
            # of the row's sentences, the one the question's ranking puts first (the rest: in order)
            order = rank[s.n]
            sents.sort(key=lambda x: order.get(x, len(order)))
            pick = next((x for x in sents if x not in used[s.n]), None)
            if pick is None:  # the abstract may state it in a sentence this column already shows
                cells.append("— (stated in another row)" if sents else "— (not stated in the abstract)")
                continue
            used[s.n].add(pick)
            cells.append(f"{_cell(pick)} {marker(s.n)}")
        # a row with no sentence in any column says nothing the table does not already show
        if any(not c.startswith("—") for c in cells):
            filled[name] = f"| **{name}** | " + " | ".join(cells) + " |"
    return "\n".join(rows + [filled[name] for name, _ in _TABLE_ROWS if name in filled])


def _without_prompt_title(text: str, cited: Sequence[Paper]) -> str:
    """A model sentence that copied the prompt's "<title>: " before the evidence ("Qwen2.5-Math
    Technical Report: Towards Mathematical Expert …: Qwen2.5-Math-Instruct supports …") keeps the
    evidence only: the title opens it (its first words, the model may change one after them) and
    ends at the prompt's clip mark, or whole, before the colon."""
    for paper in cited:
        if not text.lower().startswith(" ".join(paper.title.split()[:3]).lower()):
            continue
        clipped = re.match(r"^[^…]{0,300}…\s*:\s+", text)
        if clipped:
            return text[clipped.end() :]
        if text.lower().startswith(paper.title.lower() + ":"):
            return text[len(paper.title) + 1 :].lstrip()
    return text


def model_claim(text: str, cited: Sequence[Paper]) -> str:
    """A model sentence copied in the first person ("we first utilize …") or opening on a dangling
    link or pronoun is told about the paper it cites, by name (`attributed`); the prompt's
    title before it is dropped (`_without_prompt_title`)."""
    text = _without_prompt_title(text, cited)
    link_free = drop_leading_link(text)
    if cited and (speaks_first_person(link_free) or link_free != text or opens_on_pronoun(link_free)):
        return attributed(link_free, cited[0])
    return text
