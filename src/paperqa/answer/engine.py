"""Answer: evidence first, then generation, then verification; the lead states what was asked.

1. Read the question (`question.analyze`): what it asks for, its focus and constraints; route it
   to a style (factoid, comparison, summary, listing).
2. Decide from retrieval whether the corpus covers the question at all (never from the
   model's wording), and for "which paper …?" whether one paper stands out (`sides.stands_out`):
   if not, say so and show the closest papers.
3. Rank the retrieved abstracts' sentences for the question (`evidence.rank_sentences`): the
   answer comes from the sentence that holds it, in whichever retrieved paper that is.
4. Build the deterministic lead from that evidence (`compose`): the floor any model must beat.
5. Let the LLM write from the same evidence, streaming; markers for sources that do not exist
   are hidden while streaming and removed afterwards.
6. Verify every generated sentence against the abstract it cites (`verify`). The model's text
   becomes the lead only when it is supported *and* answers (the style's lead check); otherwise
   the deterministic lead stands, and the notes say why.
7. Quoted evidence (verbatim, cited), a comparison table or themed summary follows the lead.

May touch: the retriever (`retrieve.Retriever`: searches and term statistics), the LLM through `llm.ChatModel`, and the pure stages (question, evidence, compose, summarize, verify, citations); never the store itself.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .. import prompts
from ..settings import AnswerSettings, RetrievalSettings
from ..text import cited_numbers, split_sentences
from ..types import Answer, Citation, PriorTurn, Source, Style
from . import compose, coverage, summarize
from .citations import sanitize_partial
from .coverage import (
    conversation_papers,
    holds_rare_terms,
    missing_name,
    relevance_ok,
    scope_is_subject,
    scope_of,
    titled_papers,
)
from .evidence import Scored, rank_sentences
from .lead import lead_sentences
from .llm import ChatModel
from .question import QuestionAnalysis, analyze, focus_query
from .retrieve import Filters, Retrieval, Retriever, rewrite_followup
from .sides import compared_sides, no_paper_stands_out, paper_picks, side_labels, stands_out
from .styles import STYLES, classify
from .verify import Claim, Verifier, answers, looks_like_instruction

# Sentence vectors remembered (about 1.5 KB each): the abstracts of a long session's questions.
SENTENCE_VECTORS_KEPT = 50_000
# Papers a summary or listing draws on: enough for the 3-6 papers a summary lead names, after MMR.
DIVERSE_SOURCES = 8


# Papers whose sentences are ranked for the lead (the retrieval top k is 5 by default).
RANKED_SOURCES = 5
# A factoid's evidence shows a sentence beside the lead's when it scores within this margin of the
# best one: the ranking cannot tell them apart, so the reader sees both (another sentence of the
# lead's paper, or a second paper's best). A clearly weaker one would only dilute the citations.
TIE_MARGIN = 0.1
# Words of a paper's title in the prompt: enough to name it (its short name and what it is about);
# a whole title costs 15-25 tokens, and every prompt token is prefilled at about 210 tokens/s by
# the embedded model on 2 cores before the first word is written.
PROMPT_TITLE_WORDS = 6
# A summary lead must cite at least this many papers to state a common thread.
SUMMARY_MIN_PAPERS = 3
# What introduces the model's own verified sentences under a lead that needs no model.
MODEL_PARAGRAPH = "**In the model's words** (each sentence checked against the abstract it cites):"
# Papers grouped into one theme when their vectors are this similar (MiniLM cosine).
THEME_SIMILARITY = 0.6
MAX_THEMES = 3


@dataclass
class Event:
    """What `answer_stream` yields: sources first, then text, then the verified answer."""

    kind: Literal["sources", "token", "final"]
    text: str = ""
    retrieval: Retrieval | None = None
    answer: Answer | None = None


@dataclass
class _Draft:
    """What the pipeline knows about one question before it writes the answer."""

    question: QuestionAnalysis
    style: Style
    retrieval: Retrieval
    ranked: list[Scored]
    lead: list[Scored]  # the sentence(s) a factoid lead states
    sides: list[Scored]  # a comparison: each compared paper's best sentence
    standalone: str  # the question with the one it follows up on: what the model reads
    withheld: list[str] = field(default_factory=list)  # instruction-like source sentences left out
    side_more: dict[int, list[Scored]] = field(default_factory=dict)  # a side's other sentences, best first
    extractive: tuple[str, set[int]] | None = None  # the answer without the model, once built
    covered: bool = True  # judged covered (not a forced answer): a "which paper" lead may assert


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
        self.verifier = Verifier(self._embed, settings)

    # ---- embeddings ---------------------------------------------------------------
    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings, memoised: evidence ranking and verification embed the same
        abstract sentences, and follow-up questions revisit the same papers."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            for t, v in zip(missing, self.retriever.embed_texts(missing), strict=True):
                self._memo[t] = v
            while len(self._memo) > SENTENCE_VECTORS_KEPT:
                self._memo.pop(next(iter(self._memo)))
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)

    def verify(
        self, text: str, sources: list[Source], allowed: set[int] | None = None
    ) -> tuple[list[Claim], list[str]]:
        """Kept claims of `text` and the notes on what was changed (see `verify.Verifier`)."""
        claims, notes = self.verifier.verify(text, sources, allowed)
        return [c for c in claims if c.kept], notes

    # ---- evidence -----------------------------------------------------------------
    def rank(
        self, q: QuestionAnalysis, search_text: str, sources: list[Source], most: int = RANKED_SOURCES
    ) -> tuple[list[Scored], list[str]]:
        """Rank the sources' sentences for the question and set each source's evidence (its
        best sentences, in abstract order). Returns the ranking and the withheld sentences:
        text that addresses the model ("ignore previous instructions…") is never used."""
        withheld = [
            f"[{s.n}] {sent[:80]}"
            for s in sources
            for sent in split_sentences(s.paper.abstract)
            if looks_like_instruction(sent)
        ]
        qvec = self.retriever.embed_query(search_text)
        ranked = rank_sentences(
            q, qvec, sources[:most], self._embed, self.retriever, skip=looks_like_instruction
        )
        per = self.settings.evidence_per_source
        for src in sources:
            mine = [s for s in ranked if s.source.n == src.n][:per]
            if not mine:  # beyond the ranked few: the opening sentences
                src.evidence = [
                    x for x in split_sentences(src.paper.abstract) if not looks_like_instruction(x)
                ][:per]
            else:
                src.evidence = [s.text for s in sorted(mine, key=lambda s: s.pos)]
        return ranked, withheld

    # ---- prompt and leads ---------------------------------------------------------
    def _prompt(self, d: _Draft) -> tuple[str, str]:
        """The best-ranked sentences, each under its paper: a short prompt keeps the first token
        fast on a small CPU, and the answer-bearing sentence comes first."""
        lines: list[str] = []
        seen: dict[int, int] = {}
        for s in d.lead + d.sides + d.ranked:
            if len(lines) >= self.settings.sources_in_prompt + 1 or s.text in " ".join(lines):
                continue
            if seen.get(s.source.n, 0) >= self.settings.evidence_per_source:
                continue
            seen[s.source.n] = seen.get(s.source.n, 0) + 1
            lines.append(
                f"[{s.source.n}] {compose.clip_title(s.source.paper.title, PROMPT_TITLE_WORDS)}: {s.text}"
            )
        user = prompts.render(
            "answer",
            sources="\n".join(lines),
            question=d.standalone,
            instructions=STYLES[d.style].instructions,
        )
        return prompts.load("system"), user

    def _model_lead(self, d: _Draft, claims: list[Claim]) -> str | None:
        """The model's verified text, when it passes the style's lead check; else None."""
        if not claims:
            return None
        first = claims[0]
        if d.style == "comparison":
            sides = {s.source.n for s in d.sides}
            ok = len(sides) >= 2 and sides <= set(first.cited)
        elif d.style == "summary":
            ok = len({n for c in claims for n in c.cited}) >= SUMMARY_MIN_PAPERS
        else:
            lead = " ".join(c.text for c in claims[:2])
            ok = bool(d.lead) and answers(lead, d.question, [s.text for s in d.lead])
        if not ok:
            return None
        keep = claims if d.style == "summary" else claims[:2]
        by_n = {s.n: s.paper for s in d.retrieval.sources}
        return " ".join(
            compose.model_claim(c.text.strip(":;,.- ").rstrip("."), [by_n[n] for n in c.cited if n in by_n])
            + " "
            + "".join(f"[{n}]" for n in c.cited)
            + "."
            for c in keep
        )

    # ---- assembly -----------------------------------------------------------------
    def _assemble(self, d: _Draft, model_lead: str | None) -> tuple[str, set[int]]:
        sources = d.retrieval.sources
        if d.style == "comparison" and len(d.sides) >= 2:
            # What is asked of each side: the wh-phrase's noun ("robust loss", "text pairs"), else
            # the clause that asks ("reduce memory when pre-training …").
            # The lead needs no model: each side's own answer, by name. The model's verified
            # comparison, when it cites every side, follows it in its own paragraph.
            lead = compose.comparison_lead(d.sides, *side_labels(d.sides, d.retrieval))
            if model_lead:
                lead += f"\n\n{MODEL_PARAGRAPH} {model_lead}"
            side_sources = [s.source for s in d.sides]
            table = compose.comparison_table(
                side_sources,
                {s.source.n: s for s in d.sides},
                compose.aspect_label(d.question.text, d.question.noun_focus),
                d.side_more,
            )
            return lead + "\n\n" + table, {s.n for s in side_sources}
        if d.style in ("summary", "listing"):
            # each paper's line: its best sentence for the question's facet (a technique, a result),
            # else one that says what the paper does or finds, never the field's background
            best = summarize.paper_sentences(sources, d.ranked, d.question.text)
            floor = (
                self.settings.listing_min_relevance
                if d.style == "listing"
                else self.settings.min_source_relevance
            )
            shown = [
                s
                for s in sources[: STYLES[d.style].shown]
                if s.evidence and (s.n == 1 or d.retrieval.on_topic or s.dense >= floor)
            ]
            if d.style == "summary" and shown:
                groups = self._themes(shown)
                topic = focus_query(d.question.text).rstrip("?. ")
                groups, labels = summarize.held_threads(groups, summarize.theme_labels(groups, topic))
                facet = summarize.summary_facet(d.question.text)
                lead = summarize.summary_lead(
                    summarize.topic_of(d.question.text),
                    groups,
                    labels,
                    facet[0] if facet else None,
                )
                if model_lead:
                    lead += f"\n\n{MODEL_PARAGRAPH} {model_lead}"
                parts = []
                sections = [(label, g) for label, g in zip(labels, groups, strict=True) if label]
                alone = [s for label, g in zip(labels, groups, strict=True) if not label for s in g]
                heading = (
                    "Each on its own" if sections else (facet[1] if facet else "What each paper reports")
                )
                for label, group in [*sections, *([(heading, alone)] if alone else [])]:
                    lines = [f"- **{s.paper.title}**: {compose.quote(best[s.n])} [{s.n}]" for s in group]
                    parts.append(f"**{label[:1].upper() + label[1:]}**\n" + "\n".join(lines))
                return lead + "\n\n" + "\n\n".join(parts), {s.n for s in shown}
            head = (
                f"**{len(shown)} papers in the corpus match:**"
                if d.style == "listing"
                else "**What each paper reports:**"
            )
            lines = [f"- **{s.paper.title}**: {compose.quote(best[s.n])} [{s.n}]" for s in shown]
            return (model_lead or "") + (("\n\n" if model_lead else "") + f"{head}\n" + "\n".join(lines)), {
                s.n for s in shown
            }
        # factoid (and a comparison with one side found)
        lead_sents = d.lead or d.ranked[:1]
        if not lead_sents:
            return "", set()
        top = lead_sents[0]
        floor = d.ranked[0].score - TIE_MARGIN  # the lead's sentences come from the ranking's top
        if d.question.asks_paper:  # the answer is the paper: its name, what it does, its evidence
            picks = paper_picks(d.ranked, d.retrieval.sources, d.question) or [top]
            sure = d.covered and picks[0].source.n == d.retrieval.sources[0].n  # forced: offered only
            lead = compose.paper_answer(picks, d.question.text.lower().startswith("is there"), sure)
            return lead + "\n\n" + compose.evidence_list([(p.source, [p.text]) for p in picks]), {
                p.source.n for p in picks
            }
        lead = model_lead or compose.extractive_lead(lead_sents)
        tied = [
            s for s in d.ranked if s.source.n == top.source.n and s not in lead_sents and s.score >= floor
        ][:1]
        items: list[tuple[Source, list[str]]] = [
            (top.source, _evidence_for(top.source, [*lead_sents, *tied]))
        ]
        second = next((s for s in d.ranked if s.source.n != top.source.n), None)
        # another paper's close sentence joins, unless keyword search is sure of the lead's paper
        if second is not None and second.score >= floor and d.retrieval.keyword_sure != top.source.paper.id:
            items.append((second.source, [second.text]))
        used = {src.n for src, _ in items}  # the lead's own markers are added by the caller
        return lead + "\n\n" + compose.evidence_list(items), used

    def _themes(self, shown: list[Source]) -> list[list[Source]]:
        """Group papers by theme: clusters of their paper vectors."""
        vecs = self.retriever.paper_vectors([s.paper.id for s in shown])
        groups: list[list[Source]] = []
        centroids: list[np.ndarray | None] = []  # None: a group of papers without a vector
        for s in shown:
            v = vecs.get(s.paper.id)
            best = -1
            known = [(j, c) for j, c in enumerate(centroids) if c is not None]
            if v is not None and known:
                sims = [(float(v @ c) / max(float(np.linalg.norm(c)), 1e-9), j) for j, c in known]
                sim, j = max(sims)
                best = j if sim >= THEME_SIMILARITY or len(groups) >= MAX_THEMES else -1
            if best < 0:
                groups.append([s])
                centroids.append(v)
            else:
                groups[best].append(s)
                c = centroids[best]
                if v is not None and c is not None and c.shape == v.shape:
                    centroids[best] = c + v
        return groups

    @property
    def _paper_bars(self) -> tuple[float, float]:  # what a "which paper" match must clear
        return self.retrieval_settings.min_relevance, self.settings.min_source_relevance

    def why_not_covered(self, r: Retrieval, unknown: str | None = None) -> str:
        """Why retrieval judged the question not covered, in numbers a reader can check: the best
        match, its similarity and the threshold it missed; `unknown` (a name the papers searched do
        not mention, see `coverage.missing_name`) goes first."""
        threshold = self.retrieval_settings.min_relevance
        best = self.retriever.papers().get(r.best_match or "")
        if best is None:
            match = "No paper matched at all."
        else:
            match = coverage.best_match(best.title, r.best_dense, threshold)
        return f"{unknown} {match}" if unknown else match

    def refusal(
        self,
        question: str,
        r: Retrieval,
        filters: Filters | None = None,
        unknown: str | None = None,
        unclear: bool = False,
    ) -> Answer:
        """The corpus (or the chosen papers) does not cover the question, and why; `unclear`: a
        "which paper …?" question no paper stands out for, whose closest papers may hold it."""
        closest = ", ".join(f"“{s.paper.title}”" for s in r.sources[:3])
        scope, one = scope_of(filters)
        if unclear:
            text = f"No paper in the corpus stands out as the one described. {unknown}"
            text += f" The closest papers found were {closest}; none is clearly it." if closest else ""
            return Answer(question=question, answer=text, refused=True, sources=r.sources[:3])
        if scope:
            verb, them = ("does", "it") if one else ("do", "them")
            text = f"The {scope} {verb} not cover this question, and answers come only from {them}."
        else:
            text = "The corpus does not cover this question: no paper in it addresses it."
        text += " " + self.why_not_covered(r, unknown)
        if closest:
            text += f" The closest papers found were {closest}, but they do not answer it."
        return Answer(question=question, answer=text, refused=True, sources=r.sources[:3])

    def forced_label(self, r: Retrieval, filters: Filters | None, unknown: str | None) -> str:
        """The first line of a forced answer: it says the gate was overridden, and why it closed."""
        scope, one = scope_of(filters)
        what = f"the {scope} {'was' if one else 'were'}" if scope else "the corpus was"
        return (
            f"**Forced answer:** {what} judged not to cover this question; this answer comes from the "
            f"closest papers anyway. {self.why_not_covered(r, unknown)}"
        )

    # ---- public -------------------------------------------------------------------
    def retrieve(
        self, question: str, style: Style, filters: Filters | None = None, top_k: int | None = None
    ) -> Retrieval:
        """The search a question of this style is answered from: a summary or a listing searches
        diversely, for more papers (`top_k` overrides how many)."""
        diverse = style in ("summary", "listing")
        if style == "summary" and top_k is None:
            # every paper on the topic, judged against the best ones, not a fixed count
            r = self.retriever.search(question, k=summarize.SUMMARY_POOL, filters=filters, diverse=True)
            qvec = self.retriever.embed_query(r.query)
            r.sources = summarize.summary_papers(
                r.sources, qvec, self._embed, self.settings.min_source_relevance
            )
            r.on_topic = True
            return r
        k = top_k or (DIVERSE_SOURCES if diverse else self.retrieval_settings.top_k)
        return self.retriever.search(question, k=k, filters=filters, diverse=diverse)

    def _search(
        self,
        question: str,
        standalone: str,
        history: Sequence[str | PriorTurn],
        style: Style,
        filters: Filters | None,
        top_k: int | None,
        asks_paper: bool = False,
    ) -> tuple[Retrieval, bool]:
        """The retrieval a question is answered from, and whether it is known to be about it
        (`asks_paper`: the question asks which paper, `QuestionAnalysis.asks_paper`). A
        follow-up searches the papers the conversation is on first (a question that quotes a paper's
        title, that paper) and stays with them when they hold an answer or it points back at them;
        else, and for any other question, the corpus (or the chosen papers)."""
        papers = conversation_papers(question, history, filters, self.retriever)
        # a paper named by its quoted title is the subject, as the conversation's are (not a side,
        # nor what "which papers build on 'X'?" or a summary asks about)
        if not papers and style == "factoid" and not asks_paper:
            papers = titled_papers(question, self.retriever, filters)
        if papers:
            on = replace(filters or Filters(), paper_ids=papers)
            r = self.retrieve(standalone, style, filters=on, top_k=top_k)
            # it points back at them, or its own words (not the previous turn's) are about them
            if r.sources and (
                scope_is_subject(question, on)
                or relevance_ok(
                    self.retrieve(question, style, on, top_k), self.retrieval_settings.min_relevance
                )
            ):
                return r, True
        return self.retrieve(standalone, style, filters=filters, top_k=top_k), False

    def answer_stream(
        self,
        question: str,
        history: Sequence[str | PriorTurn] = (),
        style: Style | Literal["auto"] | None = None,
        filters: Filters | None = None,
        top_k: int | None = None,
        llm: ChatModel | None = None,
        force: bool = False,
    ) -> Iterator[Event]:
        """Sources first, then the draft as it is generated, then the verified answer.

        `history`: the conversation's earlier turns, oldest first, as questions or `PriorTurn`s (a
        follow-up is then answered from the papers the previous answer was about).
        `llm` overrides the engine's model for this question (a UI session's own backend).
        `force` answers even when the corpus is judged not to cover the question (the same
        pipeline without the relevance gate); such an answer is marked `forced` and says so."""
        t0 = time.perf_counter()
        standalone = rewrite_followup(question, history)
        # The shape follows the question as asked; the history only informs retrieval.
        chosen: Style = classify(question) if style in (None, "auto") else style  # type: ignore[assignment]
        rule = STYLES[chosen]
        diverse = chosen in ("summary", "listing")
        q, scoped = analyze(question), bool(filters and filters.paper_ids)
        r, about = self._search(question, standalone, history, chosen, filters, top_k, q.asks_paper)
        t_retrieve = time.perf_counter() - t0
        unknown = missing_name(standalone, self.retriever, filters, r.sources)
        asks_paper = chosen == "factoid" and q.asks_paper
        relevant = relevance_ok(r, self.retrieval_settings.min_relevance)
        # the rare-terms test reads the first abstract: only when the gate or the paper bar needs it
        rare = (not relevant or asks_paper) and holds_rare_terms(standalone, r.sources, self.retriever)
        covered = about or relevant or rare or (scope_is_subject(question, filters) and bool(r.sources))
        covered = covered and unknown is None
        # "Which paper …?" about no paper in particular: the closest are neighbours, not the answer
        paper_q = covered and asks_paper and not (about or scoped)
        unclear = paper_q and not stands_out(r, *self._paper_bars, holds_terms=rare)
        if unclear:
            covered, unknown = False, no_paper_stands_out(r, *self._paper_bars)
        forced = not covered and force and bool(r.sources)
        if not covered and not forced:
            ans = self.refusal(question, r, filters, unknown, unclear)
            ans.standalone_question = standalone if standalone != question else None
            ans.timings = {"retrieve_s": t_retrieve, "generate_s": 0.0}
            yield Event("sources", retrieval=r)
            yield Event("final", text=ans.answer, answer=ans)
            return
        sources = r.sources
        # A summary or listing shows a line of every paper: all of them are ranked.
        ranked, withheld = self.rank(q, standalone, sources, len(sources) if diverse else RANKED_SOURCES)
        d = _Draft(
            q,
            chosen,
            r,
            ranked,
            lead_sentences(ranked, q, self.retriever, named=r.names_first) if chosen == "factoid" else [],
            [],
            standalone,
            withheld,
        )
        d.covered = covered
        yield Event("sources", retrieval=r)  # the reader sees the papers while the sides are ranked
        if chosen == "comparison":
            d.sides, d.side_more = compared_sides(q, standalone, r, ranked, self.retriever, self._embed)
        t1 = time.perf_counter()
        valid = {s.n for s in sources}
        # a "which paper" answer is the paper, built without the model
        model = (
            (llm or self.llm_factory())
            if rule.generate and not (chosen == "factoid" and q.asks_paper)
            else None
        )
        raw, ttft = yield from self._generate(d, model, valid, t0)
        t_gen = time.perf_counter() - t1
        timings = {"retrieve_s": t_retrieve, "generate_s": t_gen, "ttft_s": ttft or t_gen}
        ans = self._verified_answer(question, d, raw, model is not None, filters, unknown, forced, timings)
        yield Event("final", text=ans.answer, answer=ans)

    def _generate(
        self, d: _Draft, model: ChatModel | None, valid: set[int], t0: float
    ) -> Generator[Event, None, tuple[str, float | None]]:
        """The model's draft, streamed as token events (markers of no source hidden); returns the
        whole draft and the seconds to its first piece."""
        raw = ""
        ttft: float | None = None
        if model is not None:
            # The verified extractive lead needs no model: the reader sees it while the model writes.
            d.extractive = self._assemble(d, None)
            preview = _first_paragraph(d.extractive[0])
            if preview:
                ttft = time.perf_counter() - t0
                yield Event("token", text=preview + "\n\n")
            system, user = self._prompt(d)
            for piece in model.stream(system, user, max_tokens=STYLES[d.style].tokens):
                if ttft is None:
                    ttft = time.perf_counter() - t0
                raw += piece
                draft = sanitize_partial(raw, valid)
                yield Event("token", text=f"{preview}\n\n{MODEL_PARAGRAPH} {draft}" if preview else draft)
        return raw, ttft

    def _verified_answer(
        self,
        question: str,
        d: _Draft,
        raw: str,
        generated: bool,
        filters: Filters | None,
        unknown: str | None,
        forced: bool,
        timings: dict[str, float],
    ) -> Answer:
        """The answer from the verified draft and the ranked evidence, cited; a refusal when
        nothing in the retrieved abstracts could be used."""
        r, chosen, sources = d.retrieval, d.style, d.retrieval.sources
        valid = {s.n for s in sources}
        # A comparison is about the papers it names: claims may only cite those.
        focus_ns = {s.source.n for s in d.sides} if chosen == "comparison" else set()
        claims, notes = self.verify(raw, sources, focus_ns if len(focus_ns) >= 2 else None)
        notes += [f"withheld an instruction-like sentence found in a source: {w!r}" for w in d.withheld]
        model_lead = self._model_lead(d, claims)
        if generated and model_lead is None and chosen != "listing":
            why = "had no supported claim" if not claims else "did not state what was asked"
            notes.append(
                f"the model's answer {why}; the lead is built from the best evidence sentence instead"
            )
        # the extractive answer was built for the preview: it stands as it is when the model adds nothing
        text, used = d.extractive if model_lead is None and d.extractive else self._assemble(d, model_lead)
        used = set(used)
        # Every marker shown is a citation listed with the answer (a model lead may cite any source).
        used |= set(cited_numbers(text)) & valid
        if not text:  # nothing in the retrieved abstracts could be used
            ans = self.refusal(question, r, filters, unknown)
            ans.notes = [*notes, "no usable sentence in the retrieved papers"]
            return ans
        citations = [
            Citation(n=s.n, paper_id=s.paper.id, title=s.paper.title, supported=True)
            for s in sources
            if s.n in used
        ]
        if forced:  # the first line says so, before anything a reader might take as covered
            text = self.forced_label(r, filters, unknown) + "\n\n" + text
        return Answer(
            question=question,
            answer=text,
            refused=False,
            forced=forced,
            style=chosen,
            citations=citations,
            sources=sources,
            notes=notes,
            standalone_question=d.standalone if d.standalone != question else None,
            timings=timings,
        )


def _first_paragraph(text: str) -> str:
    return re.split(r"\n[ \t]*\n", text.strip(), maxsplit=1)[0].strip()


def _evidence_for(src: Source, lead: Sequence[Scored]) -> list[str]:
    """A lead's quoted evidence: the sentences it was built from (and any tied with them), in
    abstract order."""
    return [s.text for s in sorted(lead, key=lambda s: s.pos)] or src.evidence[:1]
