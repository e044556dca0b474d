"""Chunking: a paper's abstract as the passages that are embedded and searched.

Part of the index stage (only `index.py` uses it). A paper whose embedded text (its title, then
its abstract) fits the embedding model's window is one chunk: it is embedded once, as a whole,
as most abstracts are. A longer one is cut between sentences (`text.split_sentences`, the
package's one sentence splitter) into chunks of up to `chunk_size` tokens, neighbours sharing up
to `chunk_overlap` tokens of whole sentences; a sentence longer than a chunk is cut between words.

Tokens are counted with the embedding model's own tokenizer, in one batched call per batch of
papers (a fast tokenizer counts thousands of sentences in milliseconds). When its ids add up
(`embedding.TokenPath`), each chunk keeps its embedded text's ids, so the model reads them and
no text is tokenized twice. Without a local tokenizer (an embedding server) tokens are
estimated from words.

May touch: nothing (pure functions over papers and a token counter).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..text import split_sentences
from ..types import Paper

TokenCounter = Callable[[Sequence[str]], list[int]]
TokenIds = Callable[[Sequence[str]], list[list[int]]]

# Without the model's tokenizer: WordPiece tokens per word of English abstract text (measured on
# the bundled corpus with all-MiniLM-L6-v2's tokenizer: about 1.3).
TOKENS_PER_WORD = 1.3
# [CLS] and [SEP]: what a BERT-style model adds to every text inside its window.
SPECIAL_TOKENS = 2
# The least share of the window a window-filling chunk gives the abstract, however long the
# title (a title of a whole window would otherwise leave no room at all).
MIN_ROOM_SHARE = 0.25


@dataclass(frozen=True)
class Chunk:
    """One passage of a paper: what is stored (`text`) and what is embedded (`embed_text`)."""

    owner: int  # index of its paper in the list that was chunked
    number: int  # 0, 1, … within its paper (chunk ids are `<paper id>:<number>`)
    text: str
    embed_text: str
    tokens: int = 0  # of the embedded text, [CLS] and [SEP] included (counted or estimated)
    token_ids: tuple[int, ...] | None = None  # the embedded text's ids, specials left out, if known
    start: int = 0  # `text` is passage_source(paper)[start:end]: the store keeps only the span
    end: int = 0


def passage_source(paper: Paper) -> str:
    """The text a paper's chunks are cut from: its abstract (or, without one, its title) as
    sentences (`text.split_sentences`) joined by single spaces. Each chunk's text is a
    span of it, so the store keeps the span and reads the text from the paper."""
    return " ".join(_source_sentences(paper))


def _source_sentences(paper: Paper) -> list[str]:
    """The sentences of a paper's `passage_source`: its abstract's, or without one its title's."""
    return split_sentences(paper.abstract or paper.title)


def text_check(text: str) -> int:
    """A chunk text's checksum, stored with its span: a span read against a paper whose
    `passage_source` has changed (another sentence splitter) is caught, not misquoted."""
    return zlib.crc32(text.encode("utf-8"))


def embed_text(title: str, text: str) -> str:
    """What is embedded for a passage: its paper's title, then the passage (the layout chunk
    vectors have always had, so older indexes and new chunks compare alike)."""
    return f"title: {title}\n\n{text}"


def tokenizer_ids(tokenizer: Any) -> TokenIds:
    """Token ids from a Hugging Face tokenizer, one batched call for all the texts, special
    tokens left out (the chunker adds them where they count)."""

    def ids(texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        out = tokenizer(
            list(texts), add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False
        )["input_ids"]
        return [list(x) for x in out]

    return ids


def tokenizer_counter(tokenizer: Any) -> TokenCounter:
    """Counts with a Hugging Face tokenizer (`tokenizer_ids`, the ids not kept)."""
    ids = tokenizer_ids(tokenizer)
    return lambda texts: [len(x) for x in ids(texts)]


def estimated_counter(texts: Sequence[str]) -> list[int]:
    """Tokens estimated from words (TOKENS_PER_WORD), for models whose tokenizer is not here."""
    return [max(1, round(len(t.split()) * TOKENS_PER_WORD)) for t in texts]


def model_window(model: Any, default: int) -> int:
    """The most tokens the local embedding model reads (its `max_seq_length`), else `default`."""
    value = getattr(getattr(model, "_model", None), "max_seq_length", None)
    return int(value) if isinstance(value, int) and value > 0 else default


def _pack(costs: list[int], size: int, overlap: int) -> list[list[int]]:
    """Greedy packing of consecutive pieces into chunks of at most `size` tokens; each new chunk
    starts with the last pieces of the one before, up to `overlap` tokens of them."""
    chunks: list[list[int]] = [[]]
    for i, cost in enumerate(costs):
        if chunks[-1] and sum(costs[j] for j in chunks[-1]) + cost > size:
            keep: list[int] = []
            for j in reversed(chunks[-1]):
                if sum(costs[x] for x in keep) + costs[j] > overlap:
                    break
                keep.insert(0, j)
            if keep and sum(costs[x] for x in keep) + cost > size:
                keep = []  # the overlap would not leave room for the next piece
            chunks.append(keep)
        chunks[-1].append(i)
    return chunks


def chunk_papers(
    papers: Sequence[Paper],
    count: TokenCounter | None = None,
    *,
    token_ids: TokenIds | None = None,
    window: int,
    chunk_size: int,
    chunk_overlap: int,
) -> list[Chunk]:
    """Every paper's chunks, in paper order, then chunk order. `window`: the most tokens of
    embedded text (title included) that make one chunk; 0 always cuts at `chunk_size`.

    Tokens are counted by `count`, or taken from `token_ids` (a tokenizer whose ids of texts
    joined by whitespace are the ids of the texts one after the other, `embedding.TokenPath`):
    then each chunk carries its embedded text's ids, and the text need not be tokenized again."""
    if token_ids is not None:
        ids_of = token_ids

        def measure(texts: Sequence[str]) -> tuple[list[int], list[list[int]] | None]:
            ids = ids_of(texts)
            return [len(x) for x in ids], ids

    elif count is not None:
        counter = count

        def measure(texts: Sequence[str]) -> tuple[list[int], list[list[int]] | None]:
            return counter(texts), None

    else:
        raise ValueError("chunk_papers needs a token counter or a tokenizer")
    sentences = [_source_sentences(p) for p in papers]
    flat = [s for sents in sentences for s in sents]
    heads = [embed_text(p.title, "") for p in papers]
    costs_flat, ids_flat = measure(flat + heads)
    head_costs = costs_flat[len(flat) :]
    chunks: list[Chunk] = []
    at = 0
    for k, (paper, sents) in enumerate(zip(papers, sentences, strict=True)):
        source = " ".join(sents)  # passage_source(paper)
        own = [
            _Piece(sent, cost, ids_flat[at + i] if ids_flat else None, offset, offset + len(sent))
            for i, (sent, cost, offset) in enumerate(
                zip(sents, costs_flat[at : at + len(sents)], _offsets(sents, source), strict=True)
            )
        ]
        at += len(sents)
        room = window - head_costs[k] - SPECIAL_TOKENS
        if window and sum(p.cost for p in own) <= room:
            pieces = [_joined(own)]
        elif window:  # as few chunks as fit the window, as even as whole sentences allow
            pieces = _cut(own, measure, max(room, int(window * MIN_ROOM_SHARE)), 0, balance=True)
        else:
            pieces = _cut(own, measure, chunk_size, chunk_overlap)
        head_ids = ids_flat[len(flat) + k] if ids_flat else None
        for n, piece in enumerate(pieces):
            text = source[piece.start : piece.end]
            chunks.append(
                Chunk(
                    owner=k,
                    number=n,
                    text=text,
                    embed_text=embed_text(paper.title, text),
                    tokens=head_costs[k] + piece.cost + SPECIAL_TOKENS,
                    token_ids=None if head_ids is None or piece.ids is None else (*head_ids, *piece.ids),
                    start=piece.start,
                    end=piece.end,
                )
            )
    return chunks


@dataclass(frozen=True)
class _Piece:
    """A sentence, or a part of one, or several joined: its text, token count and (when the
    tokenizer gave them) token ids."""

    text: str
    cost: int
    ids: Sequence[int] | None
    start: int  # the span of its paper's passage_source it covers
    end: int


def _offsets(parts: Sequence[str], joined: str) -> list[int]:
    """Where each part begins in `joined`, the text they were cut from, found one after the other."""
    out, at = [], 0
    for part in parts:
        at = joined.index(part, at)
        out.append(at)
        at += len(part)
    return out


def _joined(pieces: Sequence[_Piece]) -> _Piece:
    """Consecutive pieces joined by a space (the span of the source they cover): the ids one
    after the other (see `chunk_papers`)."""
    if not pieces:  # a paper without any text: one empty chunk
        return _Piece("", 0, [], 0, 0)
    ids = None if any(p.ids is None for p in pieces) else [i for p in pieces for i in p.ids or ()]
    text = " ".join(p.text for p in pieces)
    return _Piece(text, sum(p.cost for p in pieces), ids, pieces[0].start, pieces[-1].end)


def _balanced(costs: list[int], size: int) -> list[list[int]]:
    """The fewest chunks of at most `size` tokens, with the largest as small as whole pieces
    allow (the smallest limit at which greedy packing still needs no more chunks)."""
    fewest = len(_pack(costs, size, 0))
    low, high = max(max(costs), -(-sum(costs) // fewest)), size
    while low < high:
        mid = (low + high) // 2
        if len(_pack(costs, mid, 0)) <= fewest:
            high = mid
        else:
            low = mid + 1
    return _pack(costs, low, 0)


def _cut(
    own: list[_Piece],
    measure: Callable[[Sequence[str]], tuple[list[int], list[list[int]] | None]],
    size: int,
    overlap: int,
    balance: bool = False,
) -> list[_Piece]:
    """Sentences packed into chunks of `size` tokens (`balance`: as even as they allow, no
    overlap); a sentence longer than a chunk is first cut between words."""
    pieces: list[_Piece] = []
    for sent in own:
        if sent.cost <= size:
            pieces.append(sent)
            continue
        words = sent.text.split()
        costs, ids = measure(words)
        word_pieces = [
            _Piece(w, c, ids[i] if ids else None, sent.start + offset, sent.start + offset + len(w))
            for i, (w, c, offset) in enumerate(zip(words, costs, _offsets(words, sent.text), strict=True))
        ]
        for group in _pack(costs, size, 0):
            part = _joined([word_pieces[j] for j in group])
            if part.ids is None:  # counted afresh: an estimate need not add up word by word
                part = _Piece(part.text, measure([part.text])[0][0], None, part.start, part.end)
            pieces.append(part)
    costs = [p.cost for p in pieces]
    groups = _balanced(costs, size) if balance else _pack(costs, size, overlap)
    return [_joined([pieces[j] for j in group]) for group in groups]
