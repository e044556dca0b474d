"""`sides`: each compared paper's own answer (a fake lexicon and embedder: no index, no model)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from paperqa.answer.question import analyze
from paperqa.answer.retrieve import Retrieval
from paperqa.answer.sides import compared_sides

from .fakes import FakeLexicon, source


class FakeRetriever(FakeLexicon):
    """What `compared_sides` reads of a retriever: its terms, IDF and query vectors (every text means
    the same, so only the ranking's other signals separate sentences)."""

    def embed_query(self, text: str) -> np.ndarray:
        return np.ones(4, dtype=np.float32) / 2.0


def same_meaning(texts: Sequence[str]) -> np.ndarray:
    return np.ones((len(texts), 4), dtype=np.float32) / 2.0


def test_a_side_whose_answer_introduces_its_method_says_how_it_works_in_the_next_sentence() -> None:
    cuttlefish = source(
        1,
        "Cuttlefish: Low-Rank Model Training without All the Tuning",
        "Low-rank training needs factorization hyperparameters. "
        "In this paper, we tackle this challenge by introducing Cuttlefish, an automated low-rank training approach. "
        "Cuttlefish sets each layer's factorization rank to its stable rank once it stops changing. "
        "Cuttlefish outperforms other low-rank training methods.",
    )
    maestro = source(
        2,
        "Maestro: Uncovering Low-Rank Structures via Trainable Decomposition",
        "Large models are costly to train. "
        "In this work, we take a further step in designing low-rank models and propose Maestro, a framework for low-rank training. "
        "The low-rank structure is built into training through a variant of ordered dropout.",
    )
    question = "How do Cuttlefish and Maestro each obtain the low-rank factors they train?"
    r = Retrieval(
        query=question,
        sources=[cuttlefish, maestro],
        best_dense=0.6,
        named=["Cuttlefish", "Maestro"],
        sub_queries=["Cuttlefish", "Maestro"],
        focus=[cuttlefish.paper.id, maestro.paper.id],
    )
    lexicon = FakeRetriever([cuttlefish.paper.abstract, maestro.paper.abstract])
    sides, _ = compared_sides(analyze(question), question, r, [], lexicon, same_meaning)  # type: ignore[arg-type]
    assert [s.text for s in sides] == [
        "In this paper, we tackle this challenge by introducing Cuttlefish, an automated low-rank training "
        "approach. Cuttlefish sets each layer's factorization rank to its stable rank once it stops changing.",
        "In this work, we take a further step in designing low-rank models and propose Maestro, a framework for "
        "low-rank training. The low-rank structure is built into training through a variant of ordered dropout.",
    ]
