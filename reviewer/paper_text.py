"""Paper input: a PDF, .txt or .md file to plain text, with one-line errors for bad input."""
from __future__ import annotations

from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".tex"}
MIN_CHARS = 200  # fewer characters than this is no paper (e.g. a scanned PDF without text layer)


class PaperInputError(ValueError):
    """The input cannot be read as a paper; the message is one line meant for the user."""


def load_paper_text(path: str | Path) -> str:
    path = Path(path)
    if not path.exists():
        raise PaperInputError(f"{path}: no such file")
    if path.is_dir():
        raise PaperInputError(f"{path}: is a directory, expected a .pdf, .txt or .md file")
    if path.stat().st_size == 0:
        raise PaperInputError(f"{path}: file is empty")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = _pdf_text(path)
    elif suffix in TEXT_SUFFIXES:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise PaperInputError(f"{path}: not UTF-8 text") from None
    else:
        raise PaperInputError(f"{path}: unsupported file type {suffix!r} (use .pdf, .txt or .md)")
    if len(text.strip()) < MIN_CHARS:
        raise PaperInputError(f"{path}: only {len(text.strip())} characters of text; is it a scan or an empty document?")
    return text


def _pdf_text(path: Path) -> str:
    import pymupdf

    with path.open("rb") as handle:
        if handle.read(5) != b"%PDF-":
            raise PaperInputError(f"{path}: not a PDF (no %PDF- header)")
    try:
        doc = pymupdf.open(path)
    except Exception as err:  # pymupdf raises several types for damaged files
        raise PaperInputError(f"{path}: corrupt or unreadable PDF ({type(err).__name__})") from None
    with doc:
        if doc.needs_pass:
            raise PaperInputError(f"{path}: PDF is encrypted (password protected)")
        if doc.page_count == 0:
            raise PaperInputError(f"{path}: PDF has no pages")
        try:
            import pymupdf4llm

            return pymupdf4llm.to_markdown(doc, show_progress=False, use_ocr=False)
        except Exception:  # layout analysis failed on an odd file: plain text still reviews fine
            return "\n\n".join(page.get_text() for page in doc)
