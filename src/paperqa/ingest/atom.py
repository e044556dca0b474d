"""arXiv API Atom XML.

May touch: nothing but the text it is given.
"""

from __future__ import annotations

from typing import Any

from ..types import IngestError, Paper
from .records import record


def parse_atom(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """arXiv API Atom XML."""
    import xml.etree.ElementTree as ET

    ns = {"a": "http://www.w3.org/2005/Atom"}
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        return [], [IngestError(file=name, line=e.position[0], reason=f"invalid XML: {e}")]
    papers: list[Paper] = []
    errors: list[IngestError] = []
    for i, entry in enumerate(root.findall("a:entry", ns), 1):

        def tx(tag: str, entry: Any = entry) -> str | None:
            el = entry.find(f"a:{tag}", ns)
            return el.text if el is not None else None

        links = [el.get("href", "") for el in entry.findall("a:link", ns) if el.get("href")]
        authors = [a.findtext("a:name", default="", namespaces=ns) for a in entry.findall("a:author", ns)]
        rec = record(
            name,
            i,
            tx("title"),
            tx("summary"),
            date=tx("published"),
            authors=authors,
            links=[tx("id") or "", *links],
        )
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    return papers, errors
