"""CSV with a title and an abstract column (and optional date, authors, url, id).

May touch: nothing but the text it is given.
"""

from __future__ import annotations

from typing import Any

from ..types import IngestError, Paper
from .records import arxiv_link, record


def parse_csv(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    import csv
    import io

    # Abstracts can be long; an upload is size-limited anyway (the default limit is 128 KiB).
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 2**20))
    reader = csv.DictReader(io.StringIO(text))
    try:
        cols = {c.lower().strip(): c for c in (reader.fieldnames or [])}
    except csv.Error as e:
        return [], [IngestError(file=name, line=1, reason=f"invalid CSV header: {e}")]
    if "title" not in cols or not ({"abstract", "summary"} & cols.keys()):
        return [], [IngestError(file=name, line=1, reason="CSV header needs 'title' and 'abstract' columns")]
    papers: list[Paper] = []
    errors: list[IngestError] = []
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as e:  # the rest of the file cannot be read reliably
            errors.append(IngestError(file=name, line=reader.line_num, reason=f"invalid CSV: {e}"))
            break

        def get(k: str, row: dict[str, Any] = row) -> Any:
            return row.get(cols[k]) if k in cols else None

        rec = record(
            name,
            reader.line_num,
            get("title"),
            get("abstract") or get("summary"),
            date=get("date") or get("update_date") or get("published"),
            authors=get("authors"),
            links=[u for u in (get("url"), get("link")) if u] + arxiv_link(get("id")),
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    return papers, errors
