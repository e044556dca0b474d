"""Answer: evidence first, then generation, then verification of every citation.

1. Route the question to a style (factoid, comparison, summary, listing).
2. Decide from retrieval whether the corpus covers the question at all (never from the
   model's wording): if not, say so and show the closest papers.
3. Select a few evidence sentences per source (a short prompt keeps a tiny model fast).
4. Let the LLM write from that evidence, streaming; markers for sources that do not
   exist are hidden while streaming and removed afterwards.
5. Verify every sentence against the abstract it cites (embedding support + the numbers it
   states must appear there). An unsupported sentence is dropped and the drop is noted;
   an uncited but supported sentence gets its citation.
6. If little survives, fall back to the evidence sentences themselves, cited.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import prompts
from .citations import (
    cited_numbers,
    numbers_of,
    sanitize,
    sanitize_partial,
    split_sentences,
    strip_markers,
    unsupported_numbers,
)
from .llm import ChatModel
from .retrieve import (
    Filters,
    NameMatcher,
    Retrieval,
    Retriever,
    name_tokens,
    relevance_ok,
    rewrite_followup,
)
from .settings import AnswerSettings, RetrievalSettings
from .types import Answer, Citation, Source, Style, normalize_title

EmbedFn = Callable[[Sequence[str]], np.ndarray]

_COMPARISON = re.compile(
    r"\b(compare|comparison|contrast|versus|vs\.?|differ|difference|differences|both|each)\b", re.I
)
_SUMMARY = re.compile(r"\b(summari[sz]e|summary|overview|survey|what do these|approaches|techniques)\b", re.I)
_LISTING = re.compile(
    r"^\s*(which|what) (papers|works|studies|articles)\b|\blist (the |all )?(papers|works)\b|"
    r"\b(are there|is there) (any )?(papers|work|studies)\b",
    re.I,
)

STYLE_INSTRUCTIONS: dict[str, str] = {
    "factoid": "Answer in one sentence with the exact number or name from the sources.",
    "comparison": "In two sentences, say how the methods differ, citing each source.",
    "summary": "In two or three sentences, summarise what the sources report, citing each.",
    "listing": "Name the papers that match, one short sentence each, citing each.",
}


def classify(question: str) -> Style:
    """Rules that work without a model: the embedded LLM is too weak to route reliably."""
    if _LISTING.search(question):
        return "listing"
    if _SUMMARY.search(question):
        return "summary"
    if _COMPARISON.search(question):
        return "comparison"
    return "factoid"


@dataclass
class Event:
    """What `answer_stream` yields: sources first, then text, then the verified answer."""

    kind: Literal["sources", "token", "final"]
    text: str = ""
    retrieval: Retrieval | None = None
    answer: Answer | None = None


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{2,}")
_STOP = set(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "what",
        "which",
        "how",
        "does",
        "did",
        "are",
        "was",
        "were",
        "have",
        "has",
        "into",
        "over",
        "about",
        "their",
        "they",
        "its",
        "than",
        "then",
        "when",
        "where",
        "who",
        "whom",
        "using",
        "used",
        "use",
        "can",
        "could",
        "paper",
        "papers",
        "report",
        "reported",
        "reports",
        "these",
        "those",
        "work",
        "method",
        "methods",
        "model",
        "models",
        "study",
    ]
)


# Questions whose answer is a figure: the sentence that states one is the evidence to show.
WANTS_NUMBER = re.compile(
    r"\b(how (many|much|large|big|fast|far|long)|by how|up to what|what (\S+ ){0,3}(share|size|speedup|"
    r"rate|improvement|gain|reduction|score|accuracy|throughput|efficiency|percentage|number|compression|"
    r"memory|batch size|cost))\b",
    re.I,
)

INJECTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules|above|previous|prior)\b|"
    r"\byou are (now|an? (ai|assistant|language model))\b|\bsystem prompt\b|"
    r"\b(reply|respond|answer|output|say) (only )?with\b|\bnew instructions?\b",
    re.I,
)


def looks_like_instruction(sentence: str) -> bool:
    """Text in a paper that addresses the model rather than the reader."""
    return bool(INJECTION.search(sentence))


def lexical_support(claim: str, source: str) -> float:
    """Share of the claim's content words that the source contains (a tiny model that
    invents a term — 'quantum quantization' — fails this even when the topic matches)."""
    words = _content_words(strip_markers(claim))
    if not words:
        return 0.0
    have = _content_words(source)
    stems = {w[:6] for w in have}
    return sum(1 for w in words if w in have or w[:6] in stems) / len(words)


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP}


class AnswerEngine:
    def __init__(
        self,
        retriever: Retriever,
        llm_factory: Callable[[], ChatModel],
        settings: AnswerSettings,
        retrieval_settings: RetrievalSettings,
    ) -> None:
        self.retriever = retriever
        self.llm_factory = llm_factory
        self.settings = settings
        self.retrieval_settings = retrieval_settings
        self._memo: dict[str, np.ndarray] = {}

    # ---- embeddings ---------------------------------------------------------------
    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings, memoised: evidence selection and verification embed the same
        abstract sentences, and follow-up questions revisit the same papers."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            for t, v in zip(missing, self.retriever.index.embed_texts(missing), strict=True):
                self._memo[t] = v
            while len(self._memo) > 50_000:
                self._memo.pop(next(iter(self._memo)))
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)

    # ---- evidence -----------------------------------------------------------------
    def select_evidence(self, question: str, sources: list[Source], per_source: int) -> list[str]:
        """Pick the sentences of each abstract that best answer the question (in place).

        Sentences that address the model ("ignore previous instructions…") are never shown to
        it; they are returned so the answer can say so."""
        withheld: list[str] = []
        qvec = self.retriever.index.embed_query(question)
        qwords = _content_words(question)
        wants_number = bool(WANTS_NUMBER.search(question))
        # (source index, position in abstract, sentence, its content words, states a number)
        all_sents: list[tuple[int, int, str, set[str], bool]] = []
        for k, src in enumerate(sources):
            candidates = []
            for pos, sent in enumerate(split_sentences(src.paper.abstract)):
                if looks_like_instruction(sent):
                    withheld.append(f"[{src.n}] {sent[:80]}")
                    continue
                words, has_number = _content_words(sent), bool(numbers_of(sent))
                lexical = len(qwords & words) + (1 if wants_number and has_number else 0)
                candidates.append((lexical, -pos, (k, pos, sent, words, has_number)))
            # Only the lexically closest sentences are embedded: it keeps the first token fast.
            keep = sorted(candidates, key=lambda c: (c[0], c[1]), reverse=True)[: per_source + 4]
            all_sents.extend(c[2] for c in keep)
        if not all_sents:
            return withheld
        sims = self._embed([c[2] for c in all_sents]) @ qvec
        per: dict[int, list[tuple[float, int, str]]] = {}
        for (k, pos, sent, words, has_number), sim in zip(all_sents, sims, strict=True):
            overlap = len(qwords & words) / max(1, len(qwords))
            score = float(sim) + 0.35 * overlap + (0.1 if wants_number and has_number else 0.0)
            per.setdefault(k, []).append((score, pos, sent))
        for k, src in enumerate(sources):
            best = sorted(per.get(k, []), key=lambda t: (t[0], t[1]), reverse=True)[:per_source]
            src.evidence = [sent for _, _, sent in sorted(best, key=lambda t: t[1])]  # abstract order
        return withheld

    # ---- verification -------------------------------------------------------------
    def verify(
        self, text: str, sources: list[Source], allowed: set[int] | None = None
    ) -> tuple[list[tuple[str, list[int], bool]], list[str]]:
        """Split generated text into claims; check each against the abstracts it cites.

        Returns (claims as (sentence without markers, cited numbers, supported), notes).
        """
        notes: list[str] = []
        valid = {s.n for s in sources}
        clean, removed = sanitize(text, valid)
        if removed:
            notes.append(f"removed citation markers to sources that do not exist: {sorted(set(removed))}")
        sentences = [s for s in split_sentences(clean) if len(strip_markers(s)) > 12]
        if not sentences:
            return [], notes
        text_of = {s.n: s.paper.title + " " + s.paper.abstract for s in sources}
        titles = [s.paper.title for s in sources]
        abstract_sents = {
            s.n: [x for x in split_sentences(s.paper.abstract) if not looks_like_instruction(x)]
            or [s.paper.title]
            for s in sources
        }
        flat = [(n, sent) for n, sents in abstract_sents.items() for sent in sents]
        claim_vecs = self._embed([strip_markers(s) for s in sentences])
        evid_vecs = self._embed([sent for _, sent in flat])
        sim = claim_vecs @ evid_vecs.T  # claims x abstract sentences
        out: list[tuple[str, list[int], bool]] = []
        for i, sent in enumerate(sentences):
            body = strip_markers(sent)
            cited = [n for n in cited_numbers(sent) if n in valid]
            best_by_source: dict[int, float] = {}
            for j, (n, _) in enumerate(flat):
                best_by_source[n] = max(best_by_source.get(n, -1.0), float(sim[i, j]))

            # Names that identify one source (FreePRM, CamemBERT): a claim using one must cite a
            # paper that contains it. A tiny model glues one paper's name onto another's finding.
            own_names = []
            for name in name_tokens(body):
                matcher = NameMatcher(name)
                if sum(matcher.owns(s.paper) for s in sources) == 1:
                    own_names.append(matcher)

            def names_ok(ns: list[int], names: list[NameMatcher] = own_names) -> bool:
                text = " ".join(text_of[n] for n in ns)
                return all(m.any_case.search(text) for m in names)

            def ok(
                n: int, body: str = body, best: dict[int, float] = best_by_source, names: bool = True
            ) -> bool:
                return (
                    best.get(n, 0.0) >= self.settings.min_support
                    and lexical_support(body, text_of[n]) >= 0.5
                    and not unsupported_numbers(body, text_of[n])
                    and (not allowed or n in allowed)
                    and (not names or names_ok([n]))
                )

            if _echoes_question(body):
                notes.append(f"dropped a sentence that only restates the question: {body[:80]!r}")
                continue
            for title in titles:  # "Title: the claim" -> "the claim"
                if body.lower().startswith(title.lower()) and len(body) > len(title) + 12:
                    body = body[len(title) :].lstrip(" :;,.-")
                    break
            if any(normalize_title(body) and normalize_title(body) in normalize_title(t) for t in titles):
                notes.append(f"dropped a sentence that only names a paper: {body[:80]!r}")
                continue

            # The source whose content the claim matches best, names aside (None: no source).
            ranked = sorted(best_by_source, key=lambda n: -best_by_source[n])
            content = next((n for n in ranked if ok(n, names=False)), None)

            def restates_other(
                m: int,
                content: int | None = content,
                body: str = body,
                best: dict[int, float] = best_by_source,
            ) -> bool:
                """The claim passes against m but restates another source more closely."""
                if content is None or content == m:
                    return False
                margin = best[content] - best[m]
                return margin > self.settings.attribution_margin and lexical_support(
                    body, text_of[content]
                ) > lexical_support(body, text_of[m])

            if len(cited) > 1:  # a comparison: the cited papers together must hold its names
                good = [n for n in cited if ok(n, names=False)]
                if good and names_ok(good):
                    out.append((body, good, True))
                    continue
            elif cited and ok(cited[0]) and not restates_other(cited[0]):
                out.append((body, cited, True))
                continue
            # Uncited, its citation does not hold, or it restates another paper: cite the source
            # that supports it, unless the claim pins one paper's name on another's finding.
            alt = next((n for n in ranked if ok(n)), None)
            if alt is not None and not restates_other(alt):
                if cited:
                    notes.append(f"re-attributed a claim from {cited} to [{alt}]: {body[:80]!r}")
                out.append((body, [alt], True))
                continue
            why = unsupported_numbers(body, " ".join(s.paper.abstract for s in sources))
            reason = f"numbers {sorted(why)} not in the sources" if why else "not supported by the sources"
            missing = [m.name for m in own_names if content and not m.any_case.search(text_of[content])]
            if not why and content is not None and missing:
                names = ", ".join(missing)
                reason = f"it gives {names} a finding of [{content}], which does not mention {names}"
            notes.append(f"dropped an unsupported claim ({reason}): {body[:80]!r}")
        return out, notes

    # ---- assembly -----------------------------------------------------------------
    def _prompt(self, question: str, style: Style, sources: list[Source]) -> tuple[str, str]:
        shown = sources[: self.settings.sources_in_prompt]
        # The best source gets all its evidence, the others their best sentence: a short
        # prompt is what makes the first token fast on a small CPU.
        lines = [
            f"[{s.n}] {s.paper.title}: {' '.join(s.evidence if i == 0 else s.evidence[:1])}"
            for i, s in enumerate(shown)
        ]
        user = prompts.render(
            "answer", sources="\n".join(lines), question=question, instructions=STYLE_INSTRUCTIONS[style]
        )
        return prompts.load("system"), user

    def _assemble(
        self,
        style: Style,
        claims: list[tuple[str, list[int], bool]],
        sources: list[Source],
        focus: Sequence[str] = (),
    ) -> tuple[str, set[int]]:
        """Verified prose first, then the evidence each source contributes (always cited)."""
        used: set[int] = set()
        lead_parts = []
        for body, ns, _ in claims:
            body = body.strip(":;,.- ").rstrip(".") + " " + "".join(f"[{n}]" for n in ns) + "."
            lead_parts.append(body)
            used.update(ns)
        fallback: str | None = None
        if not lead_parts and style == "listing":
            pass  # the list itself is the answer; its intro is added below
        elif not lead_parts and sources and sources[0].evidence:
            top = sources[0]
            fallback = top.evidence[0]
            lead_parts.append(f"{fallback.rstrip('.')} [{top.n}].")
            used.add(top.n)
        lead = " ".join(lead_parts)
        k = {"factoid": 2, "comparison": 4, "summary": 6, "listing": 8}[style]
        floor = (
            self.settings.listing_min_relevance if style == "listing" else self.settings.min_source_relevance
        )
        shown = [s for s in sources[:k] if s.evidence and (s.n == 1 or s.n in used or s.dense >= floor)]
        if style == "factoid":
            shown = [s for s in shown if s.n in used or s is sources[0]][:2]
        named = [s for s in sources if s.paper.id in focus and s.evidence]
        if style == "comparison" and len(named) >= 2:
            shown = named[:4]  # the papers the question names, and only those
        bullets = []
        for s in shown:
            evidence = [e for e in s.evidence if e != fallback]
            if not evidence:
                continue
            ev = " ".join(evidence[:2] if style != "listing" else evidence[:1])
            bullets.append(f"- **{s.paper.title}**: {ev} [{s.n}]")
            used.add(s.n)
        if not bullets:
            return lead.strip(), used
        if style == "comparison" and len(shown) >= 2:
            body = lead + "\n\n" + comparison_table(shown[:4])
        elif style == "summary" and len(shown) >= 2:
            body = lead + "\n\n" + self.themed_summary(shown)
        elif style in ("summary", "listing"):
            head = (
                f"**{len(bullets)} papers in the corpus match:**"
                if style == "listing"
                else "**What each paper reports:**"
            )
            body = lead + f"\n\n{head}\n" + "\n".join(bullets)
        else:
            body = lead + "\n\n**Evidence:**\n" + "\n".join(bullets)
        return body.strip(), used

    def themed_summary(self, sources: list[Source]) -> str:
        """Group the papers by theme (clusters of their paper vectors); every sentence cited."""
        vecs = self.retriever.index.paper_vectors([s.paper.id for s in sources])
        groups: list[list[Source]] = []
        centroids: list[np.ndarray] = []
        for s in sources:
            v = vecs.get(s.paper.id)
            best = -1
            if v is not None and centroids:
                sims = [float(v @ c) / max(float(np.linalg.norm(c)), 1e-9) for c in centroids]
                j = int(np.argmax(sims))
                best = j if sims[j] >= 0.6 or len(groups) >= 3 else -1
            if best < 0:
                groups.append([s])
                centroids.append(v if v is not None else np.zeros(1))
            else:
                groups[best].append(s)
                if v is not None and centroids[best].shape == v.shape:
                    centroids[best] = centroids[best] + v
        parts = []
        for group in groups:
            label = theme_label(group, [g for other in groups if other is not group for g in other])
            lines = [f"- **{s.paper.title}**: {' '.join(s.evidence[:2])} [{s.n}]" for s in group]
            parts.append(f"**{label}**\n" + "\n".join(lines))
        return "\n\n".join(parts)

    def refusal(self, question: str, r: Retrieval) -> Answer:
        closest = ", ".join(f"“{s.paper.title}”" for s in r.sources[:3])
        text = "The corpus does not cover this question: no paper in it addresses it."
        if closest:
            text += f" The closest papers found were {closest}, but they do not answer it."
        return Answer(question=question, answer=text, refused=True, sources=r.sources[:3])

    # ---- public -------------------------------------------------------------------
    def answer_stream(
        self,
        question: str,
        history: Sequence[str] = (),
        style: Style | Literal["auto"] | None = None,
        filters: Filters | None = None,
        top_k: int | None = None,
        llm: ChatModel | None = None,
    ) -> Iterator[Event]:
        """Sources first, then the draft as it is generated, then the verified answer.

        `llm` overrides the engine's model for this question (a UI session's own backend)."""
        t0 = time.perf_counter()
        standalone = rewrite_followup(question, history)
        # The shape follows the question as asked; the history only informs retrieval.
        chosen: Style = classify(question) if style in (None, "auto") else style  # type: ignore[assignment]
        diverse = chosen in ("summary", "listing")
        k = top_k or (8 if diverse else self.retrieval_settings.top_k)
        r = self.retriever.search(standalone, k=k, filters=filters, diverse=diverse)
        t_retrieve = time.perf_counter() - t0
        covered = relevance_ok(r, self.retrieval_settings.min_relevance) and not _unknown_names(
            standalone, self.retriever
        )
        if not covered:
            ans = self.refusal(question, r)
            ans.standalone_question = standalone if standalone != question else None
            ans.timings = {"retrieve_s": t_retrieve, "generate_s": 0.0}
            yield Event("sources", retrieval=r)
            yield Event("final", text=ans.answer, answer=ans)
            return
        sources = r.sources
        withheld = self.select_evidence(standalone, sources, self.settings.evidence_per_source)
        yield Event("sources", retrieval=r)
        system, user = self._prompt(standalone, chosen, sources)
        t1 = time.perf_counter()
        raw = ""
        ttft: float | None = None
        valid = {s.n for s in sources}
        # A listing is the cited list itself: no prose to generate (and nothing to garble).
        model = (llm or self.llm_factory()) if chosen != "listing" else None
        for piece in model.stream(system, user) if model is not None else ():
            if ttft is None:
                ttft = time.perf_counter() - t0
            raw += piece
            yield Event("token", text=sanitize_partial(raw, valid))
        t_gen = time.perf_counter() - t1
        # A comparison is about the papers it names: claims may only cite those.
        focus_ns = {s.n for s in sources if s.paper.id in r.focus} if chosen == "comparison" else set()
        claims, notes = self.verify(raw, sources, focus_ns if len(focus_ns) >= 2 else None)
        notes += [f"withheld an instruction-like sentence found in a source: {w!r}" for w in withheld]
        text, used = self._assemble(chosen, claims, sources, r.focus)
        if not claims and chosen != "listing":
            notes.append("the model's answer had no supported claim; showing the evidence sentences instead")
        citations = [
            Citation(n=s.n, paper_id=s.paper.id, title=s.paper.title, supported=True)
            for s in sources
            if s.n in used
        ]
        ans = Answer(
            question=question,
            answer=text,
            refused=False,
            style=chosen,
            citations=citations,
            sources=sources,
            notes=notes,
            standalone_question=standalone if standalone != question else None,
            timings={"retrieve_s": t_retrieve, "generate_s": t_gen, "ttft_s": ttft or t_gen},
        )
        yield Event("final", text=ans.answer, answer=ans)


ASPECTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Problem",
        re.compile(
            r"\b(challeng|problem|however|costly|expensive|limit|difficult|bottleneck|suffer|"
            r"require|overhead|lack|unclear|remains)",
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


def _cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 260 else text[:257].rsplit(" ", 1)[0] + "…"


def comparison_table(sources: list[Source]) -> str:
    """One row per aspect, one column per paper; every cell is an abstract sentence, cited."""
    header = (
        "| Aspect | " + " | ".join(f"[{s.n}] {_cell(s.paper.title.split(':')[0])}" for s in sources) + " |"
    )
    rows = [header, "|---|" + "---|" * len(sources)]
    for aspect, pat in ASPECTS:
        cells = []
        for s in sources:
            sents = split_sentences(s.paper.abstract)
            pool = [x for x in s.evidence if pat.search(x)] + [x for x in sents if pat.search(x)]
            cells.append(f"{_cell(pool[0])} [{s.n}]" if pool else "— (not stated in the abstract)")
        rows.append(f"| **{aspect}** | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def theme_label(group: list[Source], others: list[Source]) -> str:
    """Name a group by the title words its papers share and the other groups lack."""

    def words(srcs: list[Source]) -> list[str]:
        return [w for s in srcs for w in _content_words(s.paper.title)]

    mine, theirs = words(group), set(words(others))
    counts: dict[str, int] = {}
    for w in mine:
        counts[w] = counts.get(w, 0) + (2 if w not in theirs else 1)
    top = sorted(counts, key=lambda w: (-counts[w], w))[:2]
    return " & ".join(w.capitalize() if w.islower() else w for w in top) or "Other"


def _echoes_question(sentence: str) -> bool:
    s = sentence.strip().lower()
    return s.startswith(("question:", "answer:", "source", "the source number")) or s.endswith("?")


def _unknown_names(question: str, retriever: Retriever) -> bool:
    """A name in the question that appears nowhere in the corpus ('CRISPR', 'GPT-5') means
    the corpus is about something else."""
    names = name_tokens(question)
    if not names:
        return False
    papers = retriever.index.papers()
    for name in names:
        pattern = NameMatcher(name).any_case
        hits = [pid for pid, _ in retriever.index.keyword_search(name, 10)]
        if not any(
            pattern.search(papers[pid].title + " " + papers[pid].abstract) for pid in hits if pid in papers
        ):
            return True
    return False
