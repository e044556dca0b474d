"""Fast fakes for unit tests of question analysis, evidence ranking, verification and
composition: no index, no embedding model, no Chroma.

* `FakeEmbedder` — hashed bag of words, L2-normalised: identical sentences have cosine 1,
  sentences sharing no content word cosine 0, and in between the share of shared words.
* `FakeEmbedModel` — the llama-index embedding model shape (`get_text_embedding_batch`,
  `get_query_embedding`) over a `FakeEmbedder`: a real store without the real model.
* `EmbeddingsEndpoint` — a loopback OpenAI-style `POST /embeddings` server that records each
  request (texts, start, end): answered with `FakeEmbedder` vectors, or forwarded to a real server.
* `FakeLexicon` — the `evidence.Lexicon` protocol: lower-case words without a few stop words,
  crude suffix stripping, IDF over the texts it is given (1.0 for every term when none).
* `paper` / `source` — hand-made `Paper` and `Source` objects.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


@dataclass
class EmbeddingsRequest:
    texts: list[str]
    start: float
    end: float = 0.0


class EmbeddingsEndpoint:
    """`POST <url>/embeddings` on 127.0.0.1 (a free port), one thread per request.

    Without `upstream` it answers each text with its `FakeEmbedder` vector after `delay(texts)`
    seconds, or with HTTP `status` and an OpenAI-style error body when that is not 200. With
    `upstream` (a real server's base URL) it forwards the request unchanged and returns the
    answer unchanged: a recorder in front of the real thing. Use it as a context manager.
    """

    def __init__(
        self,
        *,
        upstream: str | None = None,
        delay: Any = None,
        status: int = 200,
        drop_last: bool = False,
        dim: int = 32,
    ) -> None:
        self.upstream = upstream
        self.delay = delay or (lambda texts: 0.0)
        self.status = status
        self.drop_last = drop_last  # answer one vector fewer than asked (a broken server)
        self.embedder = FakeEmbedder(dim)
        self.requests: list[EmbeddingsRequest] = []
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                texts = list(json.loads(body)["input"])
                rec = EmbeddingsRequest(texts, time.perf_counter())
                with endpoint._lock:
                    endpoint.requests.append(rec)
                code, reply = endpoint._answer(self.path, body, texts)
                rec.end = time.perf_counter()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, path: str, body: bytes, texts: list[str]) -> tuple[int, bytes]:
        if self.upstream:
            req = urllib.request.Request(
                self.upstream.rstrip("/") + path, data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, resp.read()
        time.sleep(self.delay(texts))
        if self.status != 200:
            error = {"error": {"message": f"fake error {self.status}", "type": "invalid_request_error"}}
            return self.status, json.dumps(error).encode()
        answered = texts[:-1] if self.drop_last else texts
        data = [
            {"object": "embedding", "index": i, "embedding": self.embedder.vector(t).tolist()}
            for i, t in enumerate(answered)
        ]
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        return 200, json.dumps({"object": "list", "data": data, "model": "fake", "usage": usage}).encode()

    def max_in_flight(self) -> int:
        """The most requests the server was working on at the same moment."""
        events = sorted(
            [(r.start, 1) for r in self.requests] + [(r.end, -1) for r in self.requests],
            key=lambda e: (e[0], e[1]),  # an end before a start at the same instant
        )
        now = most = 0
        for _, step in events:
            now += step
            most = max(most, now)
        return most

    def __enter__(self) -> EmbeddingsEndpoint:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


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
