"""Store: where papers live once ingested. The index (`index.PaperIndex`), its Chroma client,
the keyword index (BM25), the paper catalog (SQLite), chunking and embedding, the data folder's
locks and private files.

May import: the shared modules (`text`, `types`, `errors`, `settings`) and `ingest` (the dedupe
rules an upsert applies); nothing of `answer` or the adapters.
"""
