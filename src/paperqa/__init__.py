"""PaperQA: citation-checked answers over a corpus of scientific papers."""

from .settings import Settings  # noqa: F401  (sets offline defaults on import)

__all__ = ["Settings"]
__version__ = "0.1.0"
