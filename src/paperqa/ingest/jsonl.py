"""arXiv metadata as JSONL (one object a line) or a JSON array.

May touch: nothing but the text it is given.
"""

from __future__ import annotations

from ..types import IngestError, Paper
from .records import arxiv_link, record


def parse_jsonl(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """arXiv-metadata-snapshot style: one object a line (id, title, abstract, authors, update_date)."""
    import json

    papers: list[Paper] = []
    errors: list[IngestError] = []
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array of the same objects
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            return [], [IngestError(file=name, line=e.lineno, reason=f"invalid JSON: {e.msg}")]
        except RecursionError:
            return [], [IngestError(file=name, line=1, reason="invalid JSON: nested too deeply")]
        rows = [(i + 1, item) for i, item in enumerate(items)]
    else:
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append((lineno, json.loads(line)))
            except json.JSONDecodeError as e:
                errors.append(IngestError(file=name, line=lineno, reason=f"invalid JSON: {e.msg}"))
            except RecursionError:
                errors.append(IngestError(file=name, line=lineno, reason="invalid JSON: nested too deeply"))
    for lineno, obj in rows:
        if not isinstance(obj, dict):
            errors.append(IngestError(file=name, line=lineno, reason="not a JSON object"))
            continue
        date = obj.get("update_date") or obj.get("published") or obj.get("date")
        links = obj.get("links") or []
        links = [links] if isinstance(links, str) else links
        if not isinstance(links, list) or not all(isinstance(u, str) for u in links):
            errors.append(IngestError(file=name, line=lineno, reason="'links' must be a list of URLs"))
            continue
        rec = record(
            name,
            lineno,
            obj.get("title"),
            obj.get("abstract") or obj.get("summary"),
            date=date,
            authors=obj.get("authors"),
            links=arxiv_link(obj.get("id")) + links,
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    return papers, sorted(errors, key=lambda e: e.line or 0)
