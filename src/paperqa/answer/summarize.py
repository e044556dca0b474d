"""Summarize: a summary's papers and the text a reader sees (no model, no index): which retrieved
papers are on the topic (`on_topic`), the topic phrase in the question's own terms, the themes
the papers share (named by key phrases), the lead citing every paper, and each paper's line,
chosen for what the question asks of every paper (its facet: a technique, a result, the data, a
problem).

May touch: nothing (pure text and choices over the sources and ranked sentences it is given;
sentence vectors only through the `embed` it is given).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from ..text import PHRASE_STOP, gerund, split_sentences
from ..types import Source
from .compose import ASPECTS, how_it_works, is_approach, marker, names_means, paper_label, states_contribution
from .evidence import INTRODUCES, Embed, Scored, describes_setup, is_background, reports_results
from .question import INSTRUCTION, focus_query

# A summary searches this many papers (diversely) and keeps those whose fused score plus their
# sentence nearest the topic (cosine) clears SUMMARY_CUT times the mean of the best three, at most
# SUMMARY_MOST, then the floors below: a topic has as many papers as it has, up to six. The
# sentence was added and the cut set on the summaries of eval/dev.jsonl, questions-b, summaries and
# summaries-b (tuned on all four; the pool simulated with each rule): kept papers on topic / gold
# papers kept, fused score alone at 0.7 -> with the sentence at 0.8, 0.67 / 0.62 -> 0.75 / 0.79,
# 1.00 / 0.83 both ways, 0.69 / 0.67 -> 0.67 / 0.67, 0.66 / 0.59 -> 0.71 / 0.64. Cuts of 0.76-0.82
# give within 0.05 of these.
SUMMARY_POOL = 20
SUMMARY_CUT = 0.8
SUMMARY_MOST = 6
# Papers of the pool whose sentences are embedded for that cut, best fused score first: about 8
# sentences each, the cost of the cut (20 papers' sentences added 1.4 s to a summary's first token
# on this machine); a paper below the tenth was never kept with all 20 embedded.
SUMMARY_SENTENCE_PAPERS = 10
# Besides the first, a summary shows a paper whose best passage clears min_source_relevance, as
# every answer does, or whose nearest sentence to the topic clears this: one sentence squarely on
# the topic makes a paper part of it. Set with the cut above (same four sets, tuned on all): gold
# papers shown 0.59 -> 0.67 over the four, on-topic share of the shown 0.83 -> 0.85 (0.5: 0.83 /
# 0.67; passages alone, as before: 0.85 / 0.61).
SUMMARY_SENTENCE_FLOOR = 0.55
# Words of each title a summary lead quotes (it names several papers in one sentence).
SUMMARY_TITLE_WORDS = 7
# A sentence that names techniques ("two novel pre-train approaches, i.e. …") answers "which
# techniques …" as well as one that names the means ("we adopt …").
_TECHNIQUES = re.compile(r"\b(?:approaches|methods|techniques|strategies)\b", re.I)


_PHRASE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")


def key_phrases(text: str) -> list[str]:
    """Candidate key phrases of a text: runs of two or three content words (no stop word, no
    punctuation in between), lower-cased; 'low-rank gradient projection', 'communication overhead'."""
    out: list[str] = []
    for chunk in re.split(r"[^\w\s\-]", text):
        words = _PHRASE_WORD.findall(chunk)
        run: list[str] = []
        for w in [*words, ""]:
            if w and w.lower() not in PHRASE_STOP and len(w) > 2 and not w.lower().endswith("ly"):
                run.append(w.lower())
                continue
            for size in (3, 2):
                out += [" ".join(run[i : i + size]) for i in range(len(run) - size + 1)]
            run = []
    return out


# The field's generic head nouns: a phrase that adds only these to the topic's words repeats it.
_GENERIC_HEADS = frozenset("learning network system algorithm technique data".split())


def theme_labels(groups: Sequence[Sequence[Source]], topic: str = "") -> list[str | None]:
    """Name each group by the key phrase most of its papers share and the other groups lack; a
    phrase that only repeats the question's topic ("federated learning") names nothing. None for a
    group with no phrase two of its papers share (a lone paper, or papers alike only in vectors)."""
    # "instruction-tuning" in the topic is "instruction tuning" in a phrase too
    topic_words = {p.lower().rstrip("s") for w in _PHRASE_WORD.findall(topic) for p in (w, *w.split("-"))}
    phrases = [[set(key_phrases(s.paper.title + ". " + s.paper.abstract)) for s in g] for g in groups]
    labels = []
    for gi, group in enumerate(groups):
        mine: Counter[str] = Counter(p for ps in phrases[gi] for p in ps)
        others: Counter[str] = Counter(p for gj, g in enumerate(phrases) if gj != gi for ps in g for p in ps)
        title_phrases = {p for s in group for p in key_phrases(s.paper.title)}

        def echoes(p: str) -> bool:  # "federated learning" for "… federated training …" too
            rest = {w.rstrip("s") for w in p.split()} - _GENERIC_HEADS
            return bool(rest) and rest <= topic_words

        def value(
            p: str, mine: Counter[str] = mine, others: Counter[str] = others, tp: set[str] = title_phrases
        ) -> float:
            echo = 0.2 if echoes(p) else 1.0
            return (mine[p] - 0.5 * others[p]) * (1.5 if p in tp else 1.0) * (1 + 0.2 * p.count(" ")) * echo

        ranked = sorted(mine, key=lambda p: (-value(p), p))
        # a thread is what two papers or more share: a lone paper's phrase names nothing common
        # ... and a title names it: a phrase only abstracts share ("recent years") is their idiom
        shared = [p for p in ranked if mine[p] >= 2 and p in title_phrases and not echoes(p)]
        labels.append(shared[0] if shared and len(group) >= 2 else None)
    return labels


# What a summary question asks of every paper, by the words that ask it (the one the question uses
# first, see summary_facet), with the table row whose sentences answer it and the heading of the
# papers' lines:
# "which techniques do these papers credit …" -> each paper's method, not its headline result.
_FACETS: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(
            r"\b(?:open problems?|challenges|limitations|drawbacks|shortcomings|weaknesses|problems? (?:do|does|did))\b",
            re.I,
        ),
        "Problem",
        "The problem each paper names",
    ),
    (
        re.compile(r"\b(?:datasets?|benchmarks?|corpora|what data)\b", re.I),
        "Data / setting",
        "The data each paper uses",
    ),
    (
        re.compile(
            r"\b(?:results?|findings?|how (?:much|well)|gains|speedups?|(?:report|show|find|say)\s+about)\b",
            re.I,
        ),
        "Reported results",
        "What each paper reports",
    ),
    (
        re.compile(
            r"\b(?:techniques?|methods?|approach(?:es)?|alternatives?|strateg(?:y|ies)|mechanisms?|how)\b",
            re.I,
        ),
        "Approach",
        "How each paper does it",
    ),
]


def summary_facet(question: str) -> tuple[str, str] | None:
    """The facet a summary asks of every paper (see _FACETS): its row and its heading, or None.
    The facet word the question uses first is the one it asks ("which techniques … overcome the
    limitations of LoRA": techniques, not problems)."""
    found = [(m.start(), row, heading) for pat, row, heading in _FACETS if (m := pat.search(question))]
    return min(found)[1:] if found else None


def paper_sentences(sources: Sequence[Source], ranked: Sequence[Scored], question: str) -> dict[int, str]:
    """Each paper's line in a summary or listing, by source number: its best-ranked sentence that
    answers the question's facet (a technique: the paper's approach or how it works; a result; its
    data; a problem), else the best that says what the paper does or finds, else its evidence."""
    facet = summary_facet(question)
    row = facet[0] if facet else None
    pattern = dict(ASPECTS)[row] if row else None
    hows = {s.n: set(how_it_works(s.paper)) for s in sources} if row == "Approach" else {}

    def answers_facet(sc: Scored) -> int:
        """2: answers it and, for a technique, names the means ("we adopt …", "two approaches,
        i.e. …"); 1: answers it; 0: does not."""
        if pattern is None:
            return 0
        if row == "Approach":
            # "We show that our approach performs better …" reports a result, not how it is done;
            # "we incorporate our method into PyTorch and evaluate its effectiveness …" the setting
            if (reports_results(sc.text) or describes_setup(sc.text)) and not INTRODUCES.search(sc.text):
                return 0
            # "This paper develops the IGLU method that caches …", "we address these limitations by
            # introducing MobileQuant, that …": the paper putting its method forward states it
            if (
                sc.text in hows.get(sc.source.n, ())
                or is_approach(sc.text, sc.pos)
                or INTRODUCES.search(sc.text)
            ):
                return 1 + bool(names_means(sc.text) or _TECHNIQUES.search(sc.text))
            return 0
        if row == "Problem":  # a problem is often stated where the abstract opens
            return int(bool(pattern.search(sc.text)))
        return int(bool(pattern.search(sc.text)) and not is_background(sc.text, sc.pos))

    best = {s.n: s.evidence[0] for s in sources if s.evidence}
    # a paper with no sentence for the facet still gets one that says what it does, not background
    # ("In this paper, we investigate techniques to … by overlapping …", not the abstract's opening
    # "Distributed optimization methods such as DiLoCo have been shown to …")
    for sc in sorted(
        ranked,
        key=lambda sc: (
            answers_facet(sc),
            states_contribution(sc.text),
            not is_background(sc.text, sc.pos),
            sc.score,
        ),
    ):
        best[sc.source.n] = sc.text  # the last is the best
    return best


def summary_papers(sources: Sequence[Source], qvec: np.ndarray, embed: Embed, floor: float) -> list[Source]:
    """A summary's papers among the pool a search returned (`on_topic` with this module's cut and
    floors), each judged also by its sentence nearest the search's query vector `qvec`: the
    sentences of the SUMMARY_SENTENCE_PAPERS best-scored sources, embedded in one call (`embed`
    memoises, so the kept papers' sentences are not embedded again for the answer)."""
    near = sorted(sources, key=lambda s: -s.score)[:SUMMARY_SENTENCE_PAPERS]
    per = [(src.n, split_sentences(src.paper.abstract)) for src in near]
    flat = [t for _, sentences in per for t in sentences]
    sims = embed(flat) @ qvec if flat else np.zeros(0)
    closest: dict[int, float] = {}
    at = 0
    for n, sentences in per:
        if sentences:
            closest[n] = float(np.max(sims[at : at + len(sentences)]))
        at += len(sentences)
    return on_topic(
        sources,
        SUMMARY_CUT,
        SUMMARY_MOST,
        closest=closest,
        floor=floor,
        sentence_floor=SUMMARY_SENTENCE_FLOOR,
    )


def on_topic(
    sources: Sequence[Source],
    cut: float,
    most: int,
    least: int = 3,
    closest: Mapping[int, float] | None = None,
    floor: float = 0.0,
    sentence_floor: float = 1.0,
) -> list[Source]:
    """A summary's papers: every source whose fused score (capped at 1: a boost says "first", not
    "how relevant") plus `closest[n]` (its sentence nearest the topic, by cosine; 0 when not
    given) clears `cut` times the mean of the best three, at most `most`, at least `least`; of
    those, beside the first, each whose best passage clears `floor` or whose nearest sentence
    clears `sentence_floor`; best first, renumbered 1..

    The sentence counts because a paper's fused score and passage are of a chunk or the whole
    abstract: a paper whose one sentence is squarely on the topic (a method's paper that applies
    it to the topic) is on it even when the rest of its abstract is about something else."""
    closest = closest or {}
    scores = [min(s.score, 1.0) + closest.get(s.n, 0.0) for s in sources]
    # best first, retrieval's first paper too: pinned first, it cost summaries-b's precision 0.88 -> 0.81
    order = sorted(range(len(sources)), key=lambda i: -scores[i])
    best = [scores[i] for i in order[:3]]
    ref = sum(best) / len(best) if best else 0.0
    kept = [i for i in order if scores[i] >= cut * ref][:most]
    if len(kept) < least:
        kept = order[:least]
    shown = [
        sources[i]
        for j, i in enumerate(kept)
        if j == 0 or sources[i].dense >= floor or closest.get(sources[i].n, 0.0) >= sentence_floor
    ]
    return [s.model_copy(update={"n": i + 1}) for i, s in enumerate(shown)]


# What a paper of no shared thread brings, by the facet the question asks (see _FACETS): its own
# approach, findings, problems or data ("… each with its own findings:" for "what do they report").
_OWN_FACET = {
    "Approach": ("approach", "takes its own approach", "each take their own approach"),
    "Reported results": ("findings", "reports its own findings", "each report their own findings"),
    "Problem": ("problems", "names its own problems", "each name their own problems"),
    "Data / setting": ("data", "uses its own data", "each use their own data"),
}


def held_threads(
    groups: Sequence[Sequence[Source]], labels: Sequence[str | None]
) -> tuple[list[list[Source]], list[str | None]]:
    """A thread is said only of the papers that hold its phrase: a group's papers alike in vectors
    but not in words ("… submissions to the WMT19 news translation task" beside two speech
    translation systems) leave its thread for a group of their own, unnamed."""
    out_groups: list[list[Source]] = []
    out_labels: list[str | None] = []
    for group, label in zip(groups, labels, strict=True):
        held = [s for s in group if label and label in key_phrases(f"{s.paper.title}. {s.paper.abstract}")]
        rest = [s for s in group if s not in held]
        for part, name in ((held, label), (rest, None)):
            if part:
                out_groups.append(part)
                out_labels.append(name)
    return out_groups, out_labels


def summary_lead(
    topic: str, groups: Sequence[Sequence[Source]], labels: Sequence[str | None], facet: str | None = None
) -> str:
    """One sentence in the question's terms, citing every paper: 'N papers found in the corpus address
    <topic>: A [1] and B [2] work on <label>, and C [3] and D [4] each take their own approach.'
    `facet`: the row the question asks of every paper (`summary_facet`), which says what a paper of
    no shared thread brings of its own (none asked: what it reports)."""
    n = sum(len(g) for g in groups)
    noun, one, several = _OWN_FACET[facet if facet in _OWN_FACET else "Reported results"]

    def names(group: Sequence[Source]) -> str:
        # the paper's name with the rest of its title: what it does, in its own words
        return _and_list([f"{paper_label(s.paper, SUMMARY_TITLE_WORDS)} {marker(s.n)}" for s in group])

    threads = [f"{names(g)} work on {label}" for label, g in zip(labels, groups, strict=True) if label]
    alone = [s for label, g in zip(labels, groups, strict=True) if not label for s in g]
    head = f"{n} papers found in the corpus address {topic or 'the question'}"
    if n == 1:
        return f"One paper found in the corpus addresses {topic or 'the question'}: {names(alone)}."
    if not threads:
        return f"{head}, each with its own {noun}: {names(alone)}."
    if alone:
        own = one if len(alone) == 1 else several
        threads.append(f"{names(alone)} {own}")
    joined = threads[0] if len(threads) == 1 else "; ".join(threads[:-1]) + "; and " + threads[-1]
    return f"{head}: {joined}."


def _and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def topic_of(question: str) -> str:
    """The topic phrase of a summary question (see topic_phrase): retrieval's focus of it, except
    that "how these papers use …" keeps its verb ("using untranscribed audio …")."""
    asked = re.sub(INSTRUCTION, "", question, flags=re.I).strip().rstrip("?. ")
    return topic_phrase(asked if re.match(r"how\s", asked, re.I) else focus_query(question).rstrip("?. "))


def topic_phrase(focused: str) -> str:
    """'how these papers reduce communication cost in federated learning' -> the topic phrase
    ('reducing communication cost in federated learning'): the question's framing ('what
    approaches do these papers take to', 'what do papers that … report about') is dropped, and the
    phrase ends at its first clause."""
    asked = _ASKED_HEAD.match(focused)
    short = re.match(r"^(?:what|which)\s+(.+?)\s+(?:do|does|did)\s+(?:these|the|such)\b", focused, re.I)
    # "post-training quantization methods these papers propose for LLMs": the methods are the topic
    named = _TOPIC_HEAD.match(focused)
    # "how these papers use untranscribed audio …": the verb is the topic's ("using …"), not framing
    # ("how these papers describe / show / report …" is framing still)
    acts = re.match(
        r"^how\s+(?:these|the|such)\s+(?:papers|studies|works|abstracts)\s+([a-z]+)\s", focused, re.I
    )
    acts = acts if acts and acts.group(1).lower() not in _FRAMING_VERBS else None
    t = (
        f"{named.group('head')} {named.group('rest')}"
        if named
        else focused.strip()
        if acts
        else _TOPIC_FRAMING.sub("", focused).strip()
    )
    if (
        short and len(t.split()) < 3 and len(short.group(1).split()) >= 2
    ):  # "which properties of … do these …"
        t = short.group(1)
    elif asked and _names_its_topic(asked.group("head")):
        # "What alternatives to backpropagation do these papers propose for training deep networks":
        # the alternatives are the topic, and what they are for qualifies it
        t = asked.group("head") + (f" {asked.group('rest')}" if asked.group("rest") else "")
    if t == focused.strip():
        t = re.sub(
            r"^(how|what|which|why)\s+(these|the)?\s*(papers?|abstracts?|works?)?\s*", "", focused, flags=re.I
        )
    # "… take to keep training robust" -> "keeping training robust" reads as a topic
    t = re.sub(r"^(?:do|does)?\s*(?:take|use|propose|report)\s+(?:to|for)\s+", "", t, flags=re.I).strip()
    t = re.sub(r"^(?:do|does|did)\s+(?:these|the|such)\s+(?:papers?|studies|works?)\s+", "", t, flags=re.I)
    t = re.sub(r"^(?:show|say|report|find|tell)\s+(?:about|on)\s+", "", t, flags=re.I)
    t = re.sub(r"\s+(?:do|does|did)\s+(?:these|the|they|such)\b.*$", "", t, flags=re.I)
    # examples set off by a comma go ("…, such as books"); "representations such as Gaussian
    # splatting … more compact" needs them to read
    t = re.split(r"\s+(?:so that|and (?:what|how|which|why))\b|,\s*such as\b", t, maxsplit=1)[0].strip()
    t = re.split(r"(?<=\w)[.?!]\s+(?=[A-Z])", t, maxsplit=1)[0]  # one sentence of the question, never two
    head = ""
    pieces = t.split(",")
    for i, piece in enumerate(pieces):  # the first clause, of at least TOPIC_MIN_WORDS words
        head = f"{head},{piece}" if head else piece
        # "vocabulary, tokenizer or embedding layer when …": a list goes on to its last item, and
        # "using audio, through pre-training, to improve recognition" to what it is for
        listed = i + 1 < len(pieces) and _LIST_GOES_ON.match(pieces[i + 1])
        if len(head.split()) >= TOPIC_MIN_WORDS and not listed:
            break
    t = re.sub(r"^their\s+", "the ", head.strip(" ,"), flags=re.I)
    # "… when they put many algorithms side by side" -> "putting many algorithms side by side";
    # "These papers all study low-rank training" -> "low-rank training"
    acting = re.match(
        r"^(?:they|these\s+(?:papers|studies|works))\s+(?:all\s+|both\s+)?([a-z]+)\s+(.+)$", t, re.I
    )
    if acting and acting.group(1).lower() in _STUDY_VERBS:
        t = acting.group(2)
    elif acting and not acting.group(1).lower().endswith(("s", "ed")):
        t = f"{gerund(acting.group(1))} {acting.group(2)}"
    if len(t.split()) < 2 or re.match(r"(?:they|it|we|these|those|this|do|does|did)\b", t, re.I):
        return "the question's topic"
    first, _, rest = t.partition(" ")
    if first.lower() in _TOPIC_VERBS:  # "reduce communication …" -> "reducing communication …"
        t = f"{gerund(first)} {rest}".strip()
    return t or focused


# "What approaches do these papers take to", "Which techniques do the WMT … papers credit for",
# "What do papers that … report about": everything up to the papers' verb and its preposition.
_TOPIC_FRAMING = re.compile(
    r"^.*?\b(?:papers?|studies|works?|surveys?|guides?|abstracts?|collection)\b(?:\s+[\w'-]+){0,14}?\s+"
    r"(?:take|propose|use|credit|report|say|show|find|identify|do|give|describe|suggest|offer|make)\b"
    r"(?:\s+(?:or\s+\w+|\w+ly))?\s*(?:about|for|to|on|when|in|of)?\s+",
    re.I,
)


_TOPIC_HEAD = re.compile(
    r"^(?!(?:how|what|which|why|when|where)\b)(?P<head>(?:[\w'-]+\s+){0,5}[\w'-]+s)\s+(?:these|the|such)\s+"
    r"(?:papers?|studies|works?|abstracts?)\s+(?:propose|use|take|describe|report|suggest|offer|give)\s+"
    r"(?P<rest>(?:for|to|in|on|against|when)\s+.+)$",
    re.I,
)
# "What <things> do these papers <verb> [for …]": the things asked for, and what the rest of the
# question says they are for.
_ASKED_HEAD = re.compile(
    r"^(?:what|which)\s+(?P<head>.+?)\s+(?:do|does|did)\s+(?:these|the|such)\s+(?:[\w'-]+\s+){0,8}?"
    r"(?:papers?|studies|works?|surveys?|abstracts?)\s+[a-z]+(?:\s+or\s+[a-z]+)?"
    r"(?:\s+(?P<rest>(?:for|to|in|on|against|when)\s+.+))?$",
    re.I,
)
# Words that name only the kind of thing asked for ("what techniques", "which learning methods"),
# not the topic: the rest of the question is the topic.
_FACET_WORDS = frozenset(
    "approach approaches technique techniques method methods result results finding findings strategy "
    "strategies way ways idea ideas solution solutions learning training kind kinds type types".split()
)


def _names_its_topic(head: str) -> bool:
    """'alternatives to standard backpropagation' names a topic; 'techniques', 'learning methods'
    name only what kind of answer is asked for."""
    words = head.lower().split()
    return len(words) >= 3 and not set(words) <= _FACET_WORDS


# A comma piece that carries a list on to its last item ("tokenizer or embedding layer …",
# "sensor readings or network traffic": a few words, then "or" / "and", never a new clause), or
# says what the phrase is for ("to improve speech recognition").
_LIST_GOES_ON = re.compile(
    r"^\s*to\s+[a-z]+\s|^\s*(?!(?:and|or|but|which|that|when|while|where|through|using|with|to|for|in|by|from|especially|"
    r"particularly|including|rather|avoiding|so)\b)(?:[\w'-]+\s+){0,3}(?:or|and)\s+\w",
    re.I,
)
# Verbs by which a question frames what the papers say, not what they do.
_FRAMING_VERBS = frozenset(
    "describe describes show shows suggest suggests report reports say says find finds discuss present "
    "study address examine investigate explore review cover compare".split()
)
# What "these papers study / address …" names is the topic itself.
_STUDY_VERBS = frozenset(
    "study address examine investigate explore consider tackle discuss cover review".split()
)
# A topic phrase is cut at its first comma once it has this many words ("pick a smaller, high-value
# subset" keeps going).
TOPIC_MIN_WORDS = 5
# Verbs that open a summary question's topic ("how these papers reduce …"): made gerunds.
_TOPIC_VERBS = set(
    "deal trace change pick find choose update select filter generate compare predict identify estimate "
    "design transfer tune distill prune quantize schedule sample mix "
    "reduce improve train make keep speed scale cut lower avoid handle use build learn compress "
    "accelerate protect detect evaluate measure align adapt stabilize stabilise mitigate prevent "
    "optimize optimise enable extend combine".split()
)
