"""Server mode: every command pointed at a real `chroma run` server on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CORPUS, free_port, run_cli, serving

pytestmark = pytest.mark.slow
PAGE = "002_0e3d0914205f9d43.txt"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("chroma_server")
    exe = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    with serving(proc, f"{url}/api/v2/heartbeat", "chroma run"):
        yield url


def test_ingest_papers_and_ask_through_a_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"  # holds only the keyword index; the papers live in the server
    res = run_cli("ingest", str(CORPUS / PAGE), "--json", "--chroma-url", chroma_url, home=home)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["added"] == 42
    assert not (home / "chroma").exists()
    # A second client (another machine, as far as Chroma knows) sees the same papers; env var form.
    other = tmp_path / "other"
    res = run_cli("papers", "--json", home=other, env={"PAPERQA_CHROMA_URL": chroma_url})
    assert len(json.loads(res.stdout)) == 42
    again = run_cli(
        "ingest", str(CORPUS / PAGE), "--json", home=other, env={"PAPERQA_CHROMA_URL": chroma_url}
    )
    assert json.loads(again.stdout)["unchanged"] == 42
    res = run_cli(
        "ask",
        "--json",
        "Where must layer normalization be placed to train without warm-up?",
        "--chroma-url",
        chroma_url,
        home=other,
    )
    out = json.loads(res.stdout)
    assert (
        not out["refused"]
        and out["sources"][0]["title"] == "On Layer Normalization in the Transformer Architecture"
    )


def test_an_ingest_in_one_process_while_another_queries(chroma_url: str, tmp_path: Path) -> None:
    """With a Chroma server, processes share the index: one ingests, another keeps answering,
    sees the new papers as they arrive, and nothing is stored twice."""
    import os
    import time

    from paperqa.api import PaperQA
    from paperqa.settings import IndexSettings, Settings

    env = {"PAPERQA_CHROMA_URL": chroma_url, "PAPERQA_INDEX__COLLECTION": "concurrent"}
    assert run_cli("ingest", str(CORPUS / PAGE), home=tmp_path / "writer", env=env).returncode == 0
    reader = PaperQA(
        Settings(
            home=tmp_path / "reader", chroma_url=chroma_url, index=IndexSettings(collection="concurrent")
        )
    )
    question = "Where must layer normalization be placed to train without warm-up?"
    assert reader.retriever.search(question, k=3).sources
    other = "000_adfa45a2c22c7900.txt"  # 119 papers
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERQA_")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "paperqa"), "ingest", str(CORPUS / other), "--json"],
        env={**full_env, **env, "PAPERQA_HOME": str(tmp_path / "writer")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    answered, counts = 0, set()
    while proc.poll() is None:
        r = reader.retriever.search(question, k=5)
        assert r.sources[0].paper.title == "On Layer Normalization in the Transformer Architecture"
        counts.add(reader.index.count())
        answered += 1
        time.sleep(0.5)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert json.loads(out)["papers"] == 42 + 119 and answered >= 3
    assert len(counts) > 1  # the reader saw the store grow while it kept answering
    time.sleep(5.5)  # the reader looks for other clients' papers every few seconds
    new = next(p for p in reader.papers() if other in p.pages)
    assert new.id in [s.paper.id for s in reader.retriever.search(new.title, k=3).sources]
    # Chroma keeps no texts: the reader's hits read theirs from its catalog, filled from the server
    from paperqa.store.chunking import passage_source

    catalog = reader.index.papers()
    hits = reader.index.dense_search(reader.index.embed_query(new.title), 5)
    assert any(h.paper_id == new.id for h in hits)
    assert all(h.text and h.text in passage_source(catalog[h.paper_id]) for h in hits)
    assert set(reader.index.keyword.hashes()) == {p.id for p in reader.papers()}
    ids = reader.index._chunks.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) and reader.index.count() == 161


def test_unreachable_server_says_what_to_fix(tmp_path: Path) -> None:
    res = run_cli("papers", "--chroma-url", f"http://127.0.0.1:{free_port()}", home=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "Chroma server" in res.stderr and "chroma run" in res.stderr
