"""Embedding through a real OpenAI-compatible embeddings server: infinity-emb serving the bundled
all-MiniLM-L6-v2 folder on loopback, with a recorder (`fakes.EmbeddingsEndpoint(upstream=…)`) in
front of it that times every request the server gets.

infinity lives in its own virtualenv (its pins clash with the project's): `make infinity`, or
PAPERQA_TEST_INFINITY=/path/to/infinity_emb. Without it these tests skip and say so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from paperqa.settings import EmbeddingSettings, Settings
from paperqa.store.embedding import default_embedding_path, make_embed_model
from paperqa.text import normalize_title

from .conftest import CORPUS, ROOT, free_port, serving
from .fakes import EmbeddingsEndpoint

pytestmark = pytest.mark.slow
PAGE = "002_0e3d0914205f9d43.txt"  # 42 papers
MODEL = "all-MiniLM-L6-v2"
INSTALL = (
    "make infinity (a separate venv .venv-infinity with torch==2.13.0 and infinity-emb[server,torch]==0.0.78)"
)


def infinity_exe() -> str | None:
    for cand in (
        os.environ.get("PAPERQA_TEST_INFINITY"),
        str(ROOT / ".venv-infinity" / "bin" / "infinity_emb"),
    ):
        if cand and Path(cand).is_file():
            return cand
    return shutil.which("infinity_emb")


def start_infinity(port: int) -> subprocess.Popen[bytes]:
    """infinity on 127.0.0.1:`port` serving the bundled MiniLM folder, offline, no telemetry."""
    exe = infinity_exe()
    if exe is None:
        pytest.skip(f"infinity-emb is not installed: {INSTALL}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "1"}
    cmd = [exe, "v2", "--model-id", default_embedding_path(), "--served-model-name", MODEL]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--engine", "torch"]
    cmd += ["--no-model-warmup", "--log-level", "warning"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def infinity() -> Iterator[str]:
    port = free_port()
    proc = start_infinity(port)
    url = f"http://127.0.0.1:{port}"
    with serving(proc, f"{url}/models", "infinity_emb"):
        yield url


def server(url: str, concurrency: int, batch_size: int = 8) -> EmbeddingSettings:
    return EmbeddingSettings(
        provider="openai-compatible",
        base_url=url,
        model=MODEL,
        batch_size=batch_size,
        concurrency=concurrency,
    )


@pytest.mark.parametrize("concurrency", [1, 4])
def test_ingest_and_dense_retrieval_through_infinity(infinity: str, tmp_path: Path, concurrency: int) -> None:
    from paperqa.api import PaperQA

    with EmbeddingsEndpoint(upstream=infinity) as recorder:
        app = PaperQA(Settings(home=tmp_path / "home", embedding=server(recorder.url, concurrency)))
        report = app.ingest([CORPUS / PAGE])
        # Paraphrases share no rare word with their paper: dense alone has to find it.
        dense = app.retriever.search(
            "On how small a cluster can a system that moves model data between host and graphics-card "
            "memory in fixed-size blocks train the largest GPT-3?",
            k=3,
            mode="dense",
        )
        hybrid = app.retrieve("Which property of the adaptive learning rate does RAdam rectify?")
    assert report.papers == 42 and app.index.count() == 42
    assert dense.sources[0].paper.title.startswith("PatrickStar")
    assert normalize_title(hybrid.sources[0].paper.title) == normalize_title(
        "On the Variance of the Adaptive Learning Rate and Beyond"
    )
    texts = [t for r in recorder.requests for t in r.texts]
    assert len(texts) >= 42 and max(len(r.texts) for r in recorder.requests) <= 8
    # Measured at the server's door: how many requests were open at the same moment.
    in_flight = recorder.max_in_flight()
    assert (in_flight == 1) if concurrency == 1 else (2 <= in_flight <= concurrency)


def test_server_vectors_agree_with_in_process_ones(infinity: str) -> None:
    from paperqa.ingest.parse import parse_files

    papers = parse_files([CORPUS / PAGE]).papers[:24]
    texts = [f"{p.title}\n{p.abstract}" for p in papers] + ["x " * 600]  # the last one is truncated
    remote = np.asarray(make_embed_model(server(infinity, 4)).get_text_embedding_batch(texts))
    local = np.asarray(make_embed_model(EmbeddingSettings()).get_text_embedding_batch(texts))
    remote /= np.linalg.norm(remote, axis=1, keepdims=True)
    local /= np.linalg.norm(local, axis=1, keepdims=True)
    assert (remote * local).sum(axis=1).min() > 0.999
    q = "Where must layer normalization be placed?"
    rq = np.asarray(make_embed_model(server(infinity, 4)).get_query_embedding(q))
    lq = np.asarray(make_embed_model(EmbeddingSettings()).get_query_embedding(q))
    assert float(rq @ lq) / float(np.linalg.norm(rq) * np.linalg.norm(lq)) > 0.999
