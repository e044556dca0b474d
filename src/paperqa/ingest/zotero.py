"""Zotero's other exports: CSL JSON (a JSON array of CSL items) and RIS.

Zotero exports a library as BibTeX, CSL JSON or RIS. Each record keeps its DOI, arXiv id, author
names and year, so the same paper from a Zotero export and from a daily-papers page is one paper
(see `merge.dedupe`: DOI, then arXiv id, then normalised title).

May touch: nothing but the text it is given.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import first_line
from ..types import IngestError, Paper
from .records import bibliographic_record


def _csl_date(value: Any) -> str | None:
    """A CSL date ({"date-parts": [[2023, 9, 16]]}, or {"raw": "2023-09-16"}) as text."""
    if not isinstance(value, dict):
        raise ValueError
    parts = value.get("date-parts")
    if parts is None:
        raw = value.get("raw") or value.get("literal")
        if raw is not None and not isinstance(raw, str):
            raise ValueError
        return raw or None
    if not (isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]):
        raise ValueError
    numbers = [int(x) for x in parts[0][:3]]  # Zotero writes them as numbers or as strings
    return "-".join([f"{numbers[0]:04d}", *(f"{n:02d}" for n in numbers[1:])])


def _csl_name(name: Any) -> str:
    if not isinstance(name, dict):
        raise ValueError
    literal = name.get("literal")
    given, family = name.get("given", ""), name.get("family", "")
    if not all(isinstance(x, str) for x in (given, family, literal or "")):
        raise ValueError
    return str(literal or " ".join(x for x in (given, family) if x)).strip()


def _json_array_items(text: str) -> tuple[list[tuple[int, Any]], IngestError | None]:
    """The items of a top-level JSON array with the line each starts on. A syntax error stops
    the reading there; the items before it are kept."""
    import json

    decoder = json.JSONDecoder()
    items: list[tuple[int, Any]] = []
    i = text.index("[") + 1
    while True:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i < len(text) and text[i] == "]":
            return items, None
        line = text.count("\n", 0, i) + 1
        try:
            obj, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError as e:
            where = f"record {len(items) + 1}: " if i < len(text) else ""
            return items, IngestError(file="", line=e.lineno, reason=f"{where}invalid JSON: {e.msg}")
        except RecursionError:
            return items, IngestError(file="", line=line, reason="invalid JSON: nested too deeply")
        items.append((line, obj))


def looks_like_csl_json(text: str) -> bool:
    """A JSON array whose first item has a key only CSL uses (the arXiv/JSONL shape has none)."""
    head = text.lstrip()[:4000]
    return head.startswith("[") and bool(
        re.search(r'"(?:issued|container-title|citation-key|DOI|URL)"\s*:|"author"\s*:\s*\[\s*\{', head)
    )


def parse_csl_json(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """CSL JSON, as Zotero's "Export Library… → CSL JSON" writes it: a JSON array of items."""
    papers: list[Paper] = []
    errors: list[IngestError] = []
    items, broken = _json_array_items(text)
    for n, (line, item) in enumerate(items, 1):
        where = f"record {n}"
        if not isinstance(item, dict):
            errors.append(IngestError(file=name, line=line, reason=f"{where}: not a JSON object; skipped"))
            continue
        bad = next((k for k in _CSL_TEXT_FIELDS if not isinstance(item.get(k, ""), str)), None)
        if bad is None:
            try:
                authors = [_csl_name(a) for a in item.get("author") or []]
            except (ValueError, TypeError):
                bad = "author"
        if bad is None:
            try:
                date = _csl_date(item["issued"]) if item.get("issued") else None
            except (ValueError, TypeError):
                bad = "issued"
        if bad is not None:
            reason = f"{where}: field '{bad}' is malformed ({_CSL_SHAPES[bad]}); skipped"
            errors.append(IngestError(file=name, line=line, reason=reason))
            continue
        rec = bibliographic_record(
            name,
            line,
            where,
            title=item.get("title", ""),
            abstract=item.get("abstract", ""),
            date=date,
            authors=authors,
            doi=item.get("DOI"),
            links=[item["URL"]] if item.get("URL") else [],
            notes=[item.get("number", ""), item.get("note", "")],
            fields=("field 'title'", "field 'abstract'"),
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    if broken is not None:
        errors.append(broken.model_copy(update={"file": name}))
    return papers, errors


_CSL_TEXT_FIELDS = ("title", "abstract", "DOI", "URL", "number", "note")


_CSL_SHAPES = {
    **dict.fromkeys(_CSL_TEXT_FIELDS, "text expected"),
    "author": 'a list of {"family": …, "given": …} names expected',
    "issued": '{"date-parts": [[year, month, day]]} expected',
}


# A RIS tag line: two characters, two spaces, a dash ("TY  - JOUR"); "ER  -" ends a record.
_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")


_RIS_DATE = re.compile(r"^(\d{4})(?:[/-](\d{1,2})?(?:[/-](\d{1,2})?)?)?")


def _ris_date(*values: Any) -> str | None:
    """'2023/09/16/' (DA, Y1) or '2023' (PY) as '2023-09-16' / '2023'; the first that parses."""
    for value in values:
        m = _RIS_DATE.match(str(value or "").strip())
        if m:
            return "-".join([m.group(1), *(f"{int(g):02d}" for g in m.groups()[1:] if g)])
    return None


def _ris_records(text: str, name: str) -> tuple[list[tuple[int, int, str]], list[IngestError]]:
    """Split a RIS file into (record number, start line, text) per record; text outside a record,
    and a record that never ends ("ER  -"), are reported with their line."""
    records: list[tuple[int, int, str]] = []
    errors: list[IngestError] = []
    started, start = 0, 0  # records begun so far; the line the open one began on (0: none open)
    lines: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        m = _RIS_TAG.match(raw.rstrip())
        tag = m.group(1) if m else None
        if tag == "TY":
            if start:
                reason = f"record {started}: no 'ER  -' line before the next 'TY'; skipped"
                errors.append(IngestError(file=name, line=start, reason=reason))
            started, start, lines = started + 1, lineno, [raw]
        elif not start:
            if raw.strip():
                reason = "text outside a record (a record starts with 'TY  - '); ignored"
                errors.append(IngestError(file=name, line=lineno, reason=reason))
        else:
            lines.append(raw)
            if tag == "ER":
                records.append((started, start, "\n".join(lines)))
                start = 0
    if start:
        reason = f"record {started}: no 'ER  -' line (the file ends inside it); skipped"
        errors.append(IngestError(file=name, line=start, reason=reason))
    return records, errors


def parse_ris(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """RIS (Zotero's "Export Library… → RIS"), read record by record with `rispy`."""
    import rispy

    papers: list[Paper] = []
    records, errors = _ris_records(text, name)
    for n, line, chunk in records:
        where = f"record {n}"
        try:
            (entry,) = rispy.loads(chunk)
        except Exception as e:  # rispy's own checks on a record
            errors.append(
                IngestError(
                    file=name, line=line, reason=f"{where}: not a RIS record ({first_line(e)}); skipped"
                )
            )
            continue
        urls = [u for u in entry.get("urls", []) if isinstance(u, str)]
        rec = bibliographic_record(
            name,
            line,
            where,
            title=entry.get("title") or entry.get("primary_title") or "",
            abstract=entry.get("abstract") or entry.get("notes_abstract") or "",
            date=_ris_date(entry.get("date"), entry.get("publication_year"), entry.get("year")),
            authors=[
                a.strip() for a in entry.get("authors") or entry.get("first_authors") or [] if a.strip()
            ],
            doi=entry.get("doi"),
            links=urls,
            notes=[entry.get("note", ""), *entry.get("notes", []), entry.get("accession_number", "")],
            fields=("tag TI or T1", "tag AB or N2"),
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    if not records and not errors:
        errors.append(IngestError(file=name, line=None, reason="no RIS records found"))
    return papers, sorted(errors, key=lambda e: e.line or 0)
