"""Scanning a paper file for instructions aimed at its reviewer: PDFs get the rendering checks of
`reviewer.injection.pdf`, text files the directive scan of `reviewer.injection.text`."""
from __future__ import annotations

from pathlib import Path

from reviewer.injection.text import Finding, FindingKind, findings_as_records, sanitize_text, scan_text

__all__ = ["Finding", "FindingKind", "findings_as_records", "sanitize_text", "scan_pdf", "scan_paper", "scan_text"]


def scan_pdf(path: str | Path) -> list[Finding]:
    """Hidden text and reviewer-directed imperatives in a PDF."""
    from reviewer.injection.pdf import (
        scan_pdf_document,  # imports pymupdf only when needed
    )

    return scan_pdf_document(Path(path))


def scan_paper(path: str | Path) -> list[Finding]:
    """Dispatch on the suffix: PDFs get the rendering checks, text files the directive scan."""
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        return scan_pdf(path)
    if path.suffix.lower() in {".txt", ".md", ".markdown", ".tex"}:
        return scan_text(path.read_text(encoding="utf-8", errors="replace"))
    from reviewer.paper_text import load_paper_text

    return scan_text(load_paper_text(path))
