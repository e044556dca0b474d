"""Fast fakes for unit tests of question analysis, evidence ranking, verification and
composition: no index, no embedding model, no Chroma.

* `FakeEmbedder` — hashed bag of words, L2-normalised: identical sentences have cosine 1,
  sentences sharing no content word cosine 0, and in between the share of shared words.
* `FakeEmbedModel` — the llama-index embedding model shape (`get_text_embedding_batch`,
  `get_query_embedding`) over a `FakeEmbedder`: a real store without the real model.
* `FakeLexicon` — the `evidence.Lexicon` protocol: lower-case words without a few stop words,
  crude suffix stripping, IDF over the texts it is given (1.0 for every term when none).
* `paper` / `source` — hand-made `Paper` and `Source` objects.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

from paperqa.types import Paper, Source, paper_id_for

_WORDS = re.compile(r"[a-z0-9]+")
_TERMS = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]|[a-z0-9]")

# Function words neither fake counts: a question and its answer share them by accident.
STOP = set(
    "a an the of for and or in on to with by from at as is are was were be been being it its this that "
    "these those we our they their them he she his her what which who whom how why when where does do "
    "did has have had can could will would should may might not no than then there here into over about "
    "such each up".split()
)


def stem(word: str) -> str:
    """Crude suffix stripping: 'reduces' / 'reduced' / 'reducing' -> 'reduc'."""
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class FakeEmbedder:
    """A deterministic text -> unit vector map (hashed bag of words, stop words left out)."""

    def __init__(self, dim: int = 1024) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    def vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim)
        for word in _WORDS.findall(text.lower()):
            if word not in STOP:
                v[zlib.crc32(word.encode()) % self.dim] += 1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if not texts:
            return np.zeros((0, self.dim))
        return np.stack([self.vector(t) for t in texts])


class FakeEmbedModel:
    """What the store calls on a llama-index embedding model, answered by a FakeEmbedder."""

    def __init__(self, dim: int = 64) -> None:
        self.embedder = FakeEmbedder(dim)

    def get_text_embedding_batch(self, texts: Sequence[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embedder(texts)]

    def get_query_embedding(self, text: str) -> list[float]:
        return list(map(float, self.embedder.vector(text)))


class FakeLexicon:
    """`content_terms` and `idf` as the keyword index gives them, computed on the spot."""

    def __init__(self, corpus: Iterable[str] = ()) -> None:
        self.docs = [set(t) for t in self.content_terms(list(corpus))]

    def content_terms(self, texts: Sequence[str]) -> list[list[str]]:
        return [
            [stem(w) for w in _TERMS.findall(text.lower()) if w not in STOP and len(w) > 1] for text in texts
        ]

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        n = len(self.docs)
        if not n:
            return dict.fromkeys(terms, 1.0)
        out = {}
        for t in terms:
            df = sum(t in d for d in self.docs)
            out[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out


def paper(title: str, abstract: str) -> Paper:
    return Paper(id=paper_id_for(title), title=title, abstract=abstract)


def source(n: int, title: str, abstract: str, score: float = 1.0) -> Source:
    return Source(n=n, paper=paper(title, abstract), score=score)
