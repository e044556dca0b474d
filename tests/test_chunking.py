"""Chunking: a paper that fits the embedding window is one chunk; a longer one is cut between
sentences (between words only inside a sentence longer than a chunk). Pure functions, a word
counter standing in for the tokenizer."""

from __future__ import annotations

from collections.abc import Sequence

from paperqa.store.chunking import SPECIAL_TOKENS, chunk_papers, embed_text, estimated_counter, passage_source

from .fakes import paper


def words(texts: Sequence[str]) -> list[int]:
    """One token per word: easy to count by eye."""
    return [len(t.split()) for t in texts]


def sentence(n: int, word: str = "w") -> str:
    """A sentence of n words, capitalised as the sentence splitter expects."""
    return " ".join([word.upper()] + [word] * (n - 2) + [f"{word}."])


def test_a_paper_that_fits_the_window_is_one_chunk_holding_the_whole_abstract() -> None:
    p = paper("A title", f"{sentence(10)} {sentence(12)}")
    chunks = chunk_papers([p], words, window=64, chunk_size=8, chunk_overlap=2)
    assert [(c.owner, c.number) for c in chunks] == [(0, 0)]
    assert chunks[0].text == p.abstract
    assert chunks[0].embed_text == embed_text("A title", p.abstract) == f"title: A title\n\n{p.abstract}"


def test_a_longer_paper_fills_the_window_sentence_by_sentence_and_every_chunk_fits() -> None:
    sents = [sentence(9, w) for w in "abcdefgh"]
    p = paper("T", " ".join(sents))
    window = 32
    chunks = chunk_papers([p], words, window=window, chunk_size=8, chunk_overlap=2)
    assert len(chunks) == 3  # 72 words, 29 of room per chunk (the head "title: T" takes 2, specials 2)
    assert " ".join(c.text for c in chunks) == p.abstract  # every sentence once, in order, none cut
    assert all(c.text.endswith(".") for c in chunks)
    assert all(words([c.embed_text])[0] + SPECIAL_TOKENS <= window for c in chunks)


def test_a_sentence_longer_than_a_chunk_is_cut_between_words() -> None:
    p = paper("T", sentence(50))
    chunks = chunk_papers([p], words, window=24, chunk_size=8, chunk_overlap=2)
    assert all(words([c.text])[0] <= 20 for c in chunks)
    assert " ".join(c.text for c in chunks) == p.abstract


def test_window_zero_cuts_every_paper_at_chunk_size_with_overlapping_sentences() -> None:
    sents = [sentence(4, w) for w in "abcd"]
    p = paper("T", " ".join(sents))
    chunks = chunk_papers([p], words, window=0, chunk_size=8, chunk_overlap=4)
    assert [c.text for c in chunks] == [
        f"{sents[0]} {sents[1]}",
        f"{sents[1]} {sents[2]}",
        f"{sents[2]} {sents[3]}",
    ]


def test_chunks_of_several_papers_name_their_owner_and_number_in_order() -> None:
    a = paper("A", sentence(5))
    b = paper("B", " ".join(sentence(9, w) for w in "xyz"))
    chunks = chunk_papers([a, b], words, window=16, chunk_size=8, chunk_overlap=0)
    assert [(c.owner, c.number) for c in chunks] == [(0, 0), (1, 0), (1, 1), (1, 2)]


def test_a_paper_without_abstract_is_one_chunk_of_its_title() -> None:
    p = paper("Only a title", "")
    chunks = chunk_papers([p], words, window=64, chunk_size=8, chunk_overlap=2)
    assert [c.text for c in chunks] == ["Only a title"]


def test_estimated_tokens_count_about_one_and_a_third_per_word() -> None:
    assert estimated_counter(["one two three", "", "a " * 100]) == [4, 1, 130]


def test_a_paper_cut_for_the_window_gets_chunks_as_even_as_its_sentences_allow() -> None:
    sents = [sentence(10, w) for w in "abcd"]
    p = paper("T", " ".join(sents))
    chunks = chunk_papers([p], words, window=39, chunk_size=8, chunk_overlap=2)  # room for 35 words
    assert [words([c.text])[0] for c in chunks] == [20, 20]  # not 30 + 10


def word_ids(texts: Sequence[str]) -> list[list[int]]:
    """A tokenizer whose ids add up: one id per word (its length), as WordPiece's do per word."""
    return [[len(w) for w in t.split()] for t in texts]


def test_with_token_ids_each_chunk_carries_the_ids_of_its_embedded_text() -> None:
    long_sentence = sentence(30, "long")  # longer than a chunk: cut between words
    p = paper("A title", f"{sentence(9, 'a')} {long_sentence} {sentence(7, 'b')}")
    chunks = chunk_papers([p], token_ids=word_ids, window=24, chunk_size=8, chunk_overlap=2)
    assert len(chunks) > 1
    for c in chunks:
        assert c.token_ids is not None
        assert list(c.token_ids) == word_ids([c.embed_text])[0]
        assert c.tokens == len(c.token_ids) + SPECIAL_TOKENS <= 24


def test_with_token_ids_chunks_are_cut_as_with_the_same_counts() -> None:
    p = paper("T", " ".join(sentence(9, w) for w in "abcdefgh"))
    by_ids = chunk_papers([p], token_ids=word_ids, window=32, chunk_size=8, chunk_overlap=2)
    by_counts = chunk_papers([p], words, window=32, chunk_size=8, chunk_overlap=2)
    assert [c.text for c in by_ids] == [c.text for c in by_counts]
    assert all(c.token_ids is None for c in by_counts)


def test_every_chunk_is_the_span_it_names_of_its_papers_passage_source() -> None:
    """The store keeps spans, not texts: each chunk's text is exactly passage_source[start:end],
    whether whole, cut between sentences, between words, or overlapping."""
    messy = f"{sentence(9, 'a')}\n\n  {sentence(30, 'long')}   {sentence(7, 'b')} Results .[2] more {sentence(5, 'c')}"
    papers = [paper("A title", messy), paper("Short", sentence(6)), paper("No abstract", "")]
    for window, size, overlap in [(24, 8, 2), (0, 8, 4), (512, 8, 2)]:
        for cut in (
            chunk_papers(papers, words, window=window, chunk_size=size, chunk_overlap=overlap),
            chunk_papers(papers, token_ids=word_ids, window=window, chunk_size=size, chunk_overlap=overlap),
        ):
            assert cut
            for c in cut:
                assert c.text == passage_source(papers[c.owner])[c.start : c.end]
                assert c.embed_text == embed_text(papers[c.owner].title, c.text)


def test_a_paper_without_any_text_is_one_empty_chunk() -> None:
    for p in (paper("", ""), paper("", "  \n ")):
        for window in (64, 0):
            chunks = chunk_papers([p], words, window=window, chunk_size=8, chunk_overlap=2)
            assert [(c.text, c.start, c.end) for c in chunks] == [("", 0, 0)]
