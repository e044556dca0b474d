"""Server mode: every command pointed at a real `chroma run` server on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CORPUS, free_port, run_cli, wait_http

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
    try:
        wait_http(proc, f"{url}/api/v2/heartbeat", "chroma run")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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


def test_unreachable_server_says_what_to_fix(tmp_path: Path) -> None:
    res = run_cli("papers", "--chroma-url", f"http://127.0.0.1:{free_port()}", home=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "Chroma server" in res.stderr and "chroma run" in res.stderr
