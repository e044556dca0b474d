"""BibTeX with abstracts (Zotero's export, arXiv's, any .bib).

May touch: nothing but the text it is given.
"""

from __future__ import annotations

import logging
import re

from ..errors import first_line
from ..types import IngestError, Paper
from .records import arxiv_link, clean_text, record

# How much of a BibTeX syntax error's explanation a per-record error quotes.
_BIB_REASON_CHARS = 120


def parse_bibtex(text: str, name: str) -> tuple[list[Paper], list[IngestError]]:
    """BibTeX (Zotero's "Export Library… → BibTeX" among others), read with `bibtexparser` 2:
    @string macros resolved, and each entry that is not valid BibTeX reported with its line."""
    import bibtexparser
    from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock

    logging.getLogger("bibtexparser").setLevel(logging.ERROR)  # its failures are reported below
    library = bibtexparser.parse_string(text)
    papers: list[Paper] = []
    errors: list[IngestError] = []
    for block in library.blocks:
        line = (block.start_line or 0) + 1  # bibtexparser counts from 0
        entry = block.ignore_error_block if isinstance(block, DuplicateBlockKeyBlock) else block
        if isinstance(block, ParsingFailedBlock) and not isinstance(entry, Entry):
            why = getattr(block.error, "abort_reason", "") or first_line(block.error)
            reason = f"invalid BibTeX entry ({why.strip()[:_BIB_REASON_CHARS]}); skipped"
            errors.append(IngestError(file=name, line=line, reason=reason))
            continue
        if not isinstance(entry, Entry):  # @comment, @preamble, @string, text between entries
            continue
        f = {k.lower(): re.sub(r"[{}]", "", str(v.value)).strip() for k, v in entry.fields_dict.items()}
        links = [f["url"]] if f.get("url") else []
        if f.get("doi"):
            links.append(f"https://doi.org/{f['doi']}")
        links += arxiv_link(f.get("eprint"))
        date = f.get("date") or (f"{f['year']}" if f.get("year") else None)
        authors = [a for a in re.split(r"\s+and\s+", f.get("author", "")) if a.strip()]
        rec = record(name, line, f.get("title"), f.get("abstract"), date=date, authors=authors, links=links)
        if isinstance(rec, Paper):
            rec.author_names = [clean_text(a) for a in authors]
        (papers if isinstance(rec, Paper) else errors).append(rec)  # type: ignore[arg-type]
    if not library.entries and not errors:
        errors.append(IngestError(file=name, line=None, reason="no BibTeX entries found"))
    return papers, errors
