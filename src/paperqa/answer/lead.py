"""The sentences an answer opens with: the ranking's best, unless retrieval's first paper answers
about as well (`retrieval_first`), and the best sentence of the same paper for an ask the first
leaves open (`lead_sentences`).

May touch: only the ranked sentences and the lexicon it is passed (`evidence.Lexicon`).
"""

from __future__ import annotations

from collections.abc import Sequence

from .evidence import W_RANK, Lexicon, Scored, covers, is_background, reports_results
from .question import QuestionAnalysis

# A later ask ("…, and how many tokens …") is left open by a sentence holding less than this
# share of the ask's own terms.
MIN_ASK_COVERAGE = 0.5


# Retrieval ranks papers on the whole abstract and the question's names; the sentence ranking sees
# one sentence at a time. The lead stays with retrieval's first paper unless another paper's
# sentence answers clearly better: it scores LEAD_SWITCH_MARGIN more than the first paper's best
# (twice the rank prior W_RANK gives the first paper over the second: beyond what the prior
# already said), or it holds the kind of answer asked for (a number, a name) and that one does not.
# A question that names retrieval's first paper ("What does Examining Forgetting in … find?") is
# about that paper: its lead never leaves it.
LEAD_SWITCH_MARGIN = 2 * W_RANK


def retrieval_first(ranked: Sequence[Scored], q: QuestionAnalysis, named: bool = False) -> Scored | None:
    """The best sentence to lead with (see LEAD_SWITCH_MARGIN): the ranking's best, or the best
    sentence of retrieval's first paper when the ranking's best does not answer clearly better or
    the question names that paper (`named`)."""
    if not ranked:
        return None
    best = ranked[0]
    first = next((s for s in ranked if s.source.n == 1), None)
    if best.source.n == 1 or first is None:
        return best
    if named:
        return first
    asked = {k for k in q.kinds if k in ("quantity", "name")}
    better_kind = bool(asked & covers(best, q)) and not asked & covers(first, q)
    return best if better_kind or best.score - first.score >= LEAD_SWITCH_MARGIN else first


def lead_sentences(
    ranked: Sequence[Scored], q: QuestionAnalysis, lexicon: Lexicon, most: int = 2, named: bool = False
) -> list[Scored]:
    """The sentence(s) the answer opens with: the best one (`retrieval_first`; `named`: the question
    names retrieval's first paper), plus the best sentence of the same paper for an ask it leaves
    open ("which method …, and up to what size", "how many parameters …, and how many tokens …")."""
    best = retrieval_first(ranked, q, named)
    if best is None:
        return []
    out = [best]
    # the sentences that may join it: the same paper's, never the field's background (asked which
    # property RAdam rectifies, "The learning rate warmup heuristic achieves … like RMSprop and Adam"
    # names methods but answers nothing)
    pool = [s for s in ranked[1:] if s.source.n == best.source.n and not is_background(s.text, s.pos)]
    clause_terms = [set(t) for t in lexicon.content_terms(q.clauses)] if len(q.clauses) > 1 else []
    for i, terms in enumerate(clause_terms[1:], 1):
        if len(out) >= most:
            break
        own = terms - set().union(*(t for j, t in enumerate(clause_terms) if j != i)) or terms
        kind = q.clause_kinds[i]

        weight = lexicon.idf(own)

        def coverage(
            s: Scored, own: set[str] = own, weight: dict[str, float] = weight
        ) -> tuple[float, float]:
            """The ask's words in the sentence, by count and by IDF ("on par with" is what "which
            model is it on par with" asks, more than "model")."""
            share = len(own & s.terms) / max(1, len(own))
            weighted = sum(weight.get(t, 0.0) for t in own & s.terms) / (sum(weight.values()) or 1.0)
            return share, weighted

        # A chosen sentence leaves the ask open unless it holds the ask's words by both measures;
        # a sentence is added for it when it holds them by one, and more of them than the chosen
        # ones do by either.
        if any(min(coverage(s)) >= MIN_ASK_COVERAGE and kind in covers(s, q) for s in out):
            continue
        held = [max(coverage(s)[measure] for s in out) for measure in (0, 1)]
        extra = next(
            (
                s
                for s in pool
                if s not in out
                and kind in covers(s, q)
                and max(coverage(s)) >= MIN_ASK_COVERAGE
                and any(c > h for c, h in zip(coverage(s), held, strict=True))
            ),
            None,
        )
        if extra is not None:
            out.append(extra)
    if q.kind == "definition" and len(out) < most:
        # What X is, then how it works: abstracts explain a method in the sentence right after
        # they name it ("…, named Partial FC (PFC). In each iteration, positive class centers and
        # …"), unless that sentence already reports results; else the best later sentence.
        later = [s for s in pool if s.pos > best.pos and s not in out]
        adjacent = [s for s in later if s.pos == best.pos + 1 and not reports_results(s.text)]
        extra = adjacent[0] if adjacent else (later[0] if later else None)
        if extra is not None:
            out.append(extra)
    # An ask of another kind that no chosen sentence can answer ("which method … and up to what size").
    for kind in q.kinds:
        if len(out) >= most or any(kind in covers(s, q) for s in out):
            continue
        extra = next((s for s in pool if s not in out and kind in covers(s, q)), None)
        if extra is not None:
            out.append(extra)
    return sorted(out, key=lambda s: s.pos)
