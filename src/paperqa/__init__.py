"""PaperQA: citation-checked answers over a corpus of scientific papers."""

from .settings import Settings

__all__ = ["Settings"]
__version__ = "0.1.0"
