"""Ingest: files in, deduplicated `Paper`s out. One module per source format (daily-papers pages,
JSONL/JSON, CSV, arXiv Atom, BibTeX, Zotero's CSL JSON and RIS), the record rules they share, and
the merging and dedupe rules.

May import: the shared modules (`text`, `types`, `errors`); nothing of `store` or `answer`.
"""
