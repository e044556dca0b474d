"""The embedding-server client (`embedding.ServerEmbedding`) against a fake OpenAI-style
/embeddings endpoint on loopback: batching, order, requests in flight, and the error messages.
No model is loaded (the real server is in test_embedding_server.py)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from paperqa.errors import ConfigError
from paperqa.settings import EmbeddingSettings, Settings
from paperqa.store.embedding import batches_in_flight, make_embed_model

from .conftest import CORPUS, free_port, run_cli
from .fakes import EmbeddingsEndpoint

PAGE = "002_0e3d0914205f9d43.txt"  # 42 papers


def server_settings(url: str, batch_size: int = 4, concurrency: int = 3) -> EmbeddingSettings:
    return EmbeddingSettings(
        provider="openai-compatible",
        base_url=url,
        model="fake-minilm",
        batch_size=batch_size,
        concurrency=concurrency,
        timeout=10,
    )


TEXTS = [f"paper number {i} about topic{i}" for i in range(27)]


def test_vectors_come_back_in_text_order_when_batches_finish_out_of_order() -> None:
    # The first batch is the slowest: its answer arrives after all the others.
    with EmbeddingsEndpoint(delay=lambda texts: 1.5 if TEXTS[0] in texts else 0.02) as server:
        model = make_embed_model(server_settings(server.url))
        vecs = model.get_text_embedding_batch(TEXTS)
        sent = [r.texts for r in server.requests]
        finished = [r.texts for r in sorted(server.requests, key=lambda r: r.end)]
    assert len(vecs) == len(TEXTS)
    for text, vec in zip(TEXTS, vecs, strict=True):
        assert np.allclose(vec, server.embedder.vector(text), atol=1e-6)
    assert sorted(len(b) for b in sent) == [3, 4, 4, 4, 4, 4, 4]
    assert sorted(t for b in sent for t in b) == sorted(TEXTS)  # each text sent once
    assert finished[-1][0] == TEXTS[0]  # really out of order on the wire


@pytest.mark.parametrize("concurrency", [1, 3])
def test_at_most_concurrency_batches_are_in_flight_and_that_many_are(concurrency: int) -> None:
    with EmbeddingsEndpoint(delay=lambda texts: 0.15) as server:
        model = make_embed_model(server_settings(server.url, concurrency=concurrency))
        t0 = time.perf_counter()
        model.get_text_embedding_batch(TEXTS)  # 7 batches of at most 4
        elapsed = time.perf_counter() - t0
    assert len(server.requests) == 7
    assert server.max_in_flight() == concurrency
    rounds = -(-7 // concurrency)  # 7 batches of 0.15 s, `concurrency` at a time
    assert elapsed >= rounds * 0.15 and elapsed < 7 * 0.15 + 1.0


def test_a_query_is_one_request_of_one_text() -> None:
    with EmbeddingsEndpoint() as server:
        vec = make_embed_model(server_settings(server.url)).get_query_embedding("what is a 2:4 sparse mask?")
    assert [r.texts for r in server.requests] == [["what is a 2:4 sparse mask?"]]
    assert np.allclose(vec, server.embedder.vector("what is a 2:4 sparse mask?"), atol=1e-6)


def test_no_texts_send_no_request() -> None:
    with EmbeddingsEndpoint() as server:
        assert make_embed_model(server_settings(server.url)).get_text_embedding_batch([]) == []
    assert server.requests == []


def test_a_server_that_is_down_is_one_line_naming_its_url_within_seconds() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    model = make_embed_model(server_settings(url))
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        model.get_text_embedding_batch(TEXTS)
    assert time.perf_counter() - t0 < 10
    msg = str(err.value)
    assert "\n" not in msg and url in msg and "not reachable" in msg
    assert "PAPERQA_EMBEDDING__BASE_URL" in (err.value.hint or "")
    with pytest.raises(ConfigError, match="not reachable"):
        model.get_query_embedding("a question")


@pytest.mark.parametrize(
    ("status", "says", "setting"),
    [
        (401, "rejected the API key", "PAPERQA_EMBEDDING__API_KEY"),
        (404, "has no model 'fake-minilm'", "PAPERQA_EMBEDDING__MODEL"),
        (413, "answered HTTP 413", "PAPERQA_EMBEDDING__BATCH_SIZE"),
    ],
)
def test_a_refusing_server_says_what_to_change(status: int, says: str, setting: str) -> None:
    with EmbeddingsEndpoint(status=status) as server:
        model = make_embed_model(server_settings(server.url))
        with pytest.raises(ConfigError) as err:
            model.get_text_embedding_batch(TEXTS)
    assert says in err.value.message and server.url in err.value.message
    assert setting in (err.value.hint or "") and "\n" not in str(err.value)
    assert len(server.requests) <= 3  # the first failure stops the batches not yet sent


def test_a_server_that_answers_too_few_vectors_is_reported() -> None:
    with (
        EmbeddingsEndpoint(drop_last=True) as server,
        pytest.raises(ConfigError, match="returned 3 vectors for 4 texts"),
    ):
        make_embed_model(server_settings(server.url)).get_text_embedding_batch(TEXTS[:8])


def test_only_a_server_gets_several_batches_at_once() -> None:
    assert batches_in_flight(EmbeddingSettings(concurrency=4)) == 1  # local: one model, one batch
    assert batches_in_flight(server_settings("http://127.0.0.1:1", concurrency=4)) == 4


def test_ingest_through_a_server_keeps_several_batches_in_flight(tmp_path: Path) -> None:
    from paperqa.api import PaperQA

    with EmbeddingsEndpoint(delay=lambda texts: 0.05) as server:
        settings = Settings(home=tmp_path / "home", embedding=server_settings(server.url, 8, 4))
        app = PaperQA(settings)
        report = app.ingest([CORPUS / PAGE])
    assert report.papers == 42
    assert server.max_in_flight() >= 2
    assert max(len(r.texts) for r in server.requests) <= 8
    assert app.index.count() == 42


@pytest.mark.slow  # the real CLI in a new process: most of its 12 s is importing the stack
def test_cli_ingest_against_a_server_that_is_down_prints_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    env = {
        "PAPERQA_EMBEDDING__PROVIDER": "openai-compatible",
        "PAPERQA_EMBEDDING__BASE_URL": url,
        "PAPERQA_EMBEDDING__MODEL": "minilm",
    }
    res = run_cli("ingest", str(CORPUS / PAGE), home=tmp_path / "home", env=env, timeout=120)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert "Traceback" not in res.stderr and len(lines) == 1, res.stderr
    assert url in lines[0] and "not reachable" in lines[0]
