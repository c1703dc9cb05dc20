"""Text that is in a PDF but not visible when it is rendered.

Works on pymupdf's text trace (every glyph run with its colour, opacity, render mode, size, clip
and drawing order) and the page's drawing log (`get_bboxlog`, same order), plus one low
resolution rendering per page to learn the background colour behind each span.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pymupdf

from reviewer.injection.text import Finding, FindingKind, sanitize_text, scan_text
from reviewer.injection.patterns import find_directives

TINY_FONT_PT = 3.0  # below this a human cannot read the text on a printed or rendered page
MIN_CONTRAST = 1.2  # WCAG contrast ratio text/background; 1.0 = same colour; body text is ~21
MIN_OPACITY = 0.05
MIN_ON_PAGE = 0.5  # fraction of the span's box that must lie on the page (and inside its clip)
MIN_COVERED = 0.6  # fraction of the span's box covered by a later opaque image or fill
RENDER_ZOOM = 1.0
_COVERING = {"fill-image", "fill-imgmask", "fill-path", "fill-shade"}


def _luminance(rgb: np.ndarray) -> float:
    c = np.asarray(rgb, dtype=float)
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def contrast_ratio(a: np.ndarray, b: np.ndarray) -> float:
    la, lb = _luminance(a), _luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _span_rgb(span: dict) -> np.ndarray:
    color = span.get("color") or (0.0,)
    cs = span.get("colorspace", len(color))
    if cs == 1 or len(color) == 1:
        return np.array([color[0]] * 3, dtype=float)
    if cs == 4 or len(color) == 4:  # CMYK
        c, m, y, k = color
        return np.array([(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)], dtype=float)
    return np.array(color[:3], dtype=float)


def _area(r: pymupdf.Rect) -> float:
    return max(0.0, r.width) * max(0.0, r.height)


def _text_of(span: dict) -> str:
    """The span's characters, with the spaces and line breaks that PDFs encode only as positions
    (TeX output has no space glyphs) put back from the glyph boxes."""
    size = float(span.get("size") or 1.0)
    out: list[str] = []
    prev = None
    for code, _glyph, origin, bbox in span["chars"]:
        if code <= 0:
            continue
        if prev is not None:
            (px, py), pbox = prev
            if abs(origin[1] - py) > 0.5 * size or origin[0] < px - 0.5 * size:
                out.append("\n")
            elif bbox[0] - pbox[2] > 0.2 * size and out and not out[-1].isspace() and chr(code) != " ":
                out.append(" ")
        out.append(chr(code))
        prev = (origin, bbox)
    return "".join(out)


def _meaningful(text: str) -> bool:
    """Enough words to carry an instruction: not a stray glyph or a tick label."""
    words = re.findall(r"[A-Za-z]{2,}", text)
    return len(words) >= 2 and sum(len(w) for w in words) >= 10


class _PageRender:
    """Lazy low-resolution rendering of a page, to sample background colours."""

    def __init__(self, page: pymupdf.Page) -> None:
        self.page = page
        self._pixels: np.ndarray | None = None

    @property
    def pixels(self) -> np.ndarray:
        if self._pixels is None:
            pix = self.page.get_pixmap(matrix=pymupdf.Matrix(RENDER_ZOOM, RENDER_ZOOM), alpha=False,
                                       colorspace=pymupdf.csRGB)
            self._pixels = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)[..., :3]
        return self._pixels

    def _crop(self, rect: pymupdf.Rect) -> np.ndarray:
        px = self.pixels
        r = (rect * pymupdf.Matrix(RENDER_ZOOM, RENDER_ZOOM)).irect & pymupdf.IRect(0, 0, px.shape[1], px.shape[0])
        if r.is_empty:
            return np.zeros((0, 3), dtype=np.int32)
        return px[r.y0:r.y1 + 1, r.x0:r.x1 + 1].reshape(-1, 3).astype(np.int32)

    @staticmethod
    def _mode(pixels: np.ndarray) -> np.ndarray:
        binned = pixels // 8  # bins absorb anti-aliasing
        codes = (binned[:, 0] << 10) | (binned[:, 1] << 5) | binned[:, 2]
        mode = int(np.bincount(codes).argmax())
        return pixels[codes == mode].mean(axis=0) / 255.0

    def background(self, bbox: pymupdf.Rect, text_rgb: np.ndarray) -> np.ndarray:
        """The colour behind the span: the most common colour in its box. Large bold glyphs on
        a gradient can outnumber every single background shade; then, if most pixels are not the
        text's colour and the band around the box is not either, the commonest of those is used."""
        crop = self._crop(bbox)
        if len(crop) == 0:
            return np.ones(3)
        mode = self._mode(crop)
        if contrast_ratio(text_rgb, mode) >= MIN_CONTRAST:
            return mode
        other = crop[np.abs(crop - np.round(np.asarray(text_rgb) * 255)).max(axis=1) > 15]
        if len(other) < 0.4 * len(crop):
            return mode
        ring = np.concatenate([self._crop(pymupdf.Rect(bbox.x0 - 3, bbox.y0 - 3, bbox.x1 + 3, bbox.y0 - 1)),
                               self._crop(pymupdf.Rect(bbox.x0 - 3, bbox.y1 + 1, bbox.x1 + 3, bbox.y1 + 3))])
        if len(ring) == 0 or contrast_ratio(text_rgb, self._mode(ring)) < MIN_CONTRAST:
            return mode
        return self._mode(other)


def _hidden_reason(span: dict, page_rect: pymupdf.Rect, bboxlog: list, render: _PageRender) -> tuple[FindingKind, str] | None:
    bbox = pymupdf.Rect(span["bbox"])
    if span.get("type") == 3:
        return "invisible_text", "render mode 3 (neither filled nor stroked)"
    if span.get("opacity", 1.0) < MIN_OPACITY:
        return "invisible_text", f"opacity {span.get('opacity'):.2f}"
    if span.get("size", 10.0) < TINY_FONT_PT:
        return "tiny_font", f"font size {span['size']:.2f} pt"
    box_area = _area(bbox)
    visible_area = _area(bbox & page_rect)
    scissor = span.get("scissor")
    if scissor is not None:
        visible_area = min(visible_area, _area(bbox & page_rect & pymupdf.Rect(scissor)))
    if box_area > 0 and visible_area / box_area < MIN_ON_PAGE:
        where = "outside the page" if _area(bbox & page_rect) / box_area < MIN_ON_PAGE else "clipped away"
        return "off_page", f"{where}: bbox {tuple(round(v) for v in bbox)} page {tuple(round(v) for v in page_rect)}"
    if box_area <= 0 and not bbox.intersects(page_rect):
        return "off_page", "outside the page"
    seq = span.get("seqno")
    if seq is not None and box_area > 0:
        for kind, rect in bboxlog[seq + 1:]:
            if kind in _COVERING:
                cover = _area(bbox & pymupdf.Rect(rect)) / box_area
                if cover >= MIN_COVERED:
                    what = "image" if "image" in kind or "mask" in kind else "filled shape"
                    # Confirm on the rendering: a covered span leaves no pixels of its own colour.
                    bg = render.background(bbox, _span_rgb(span))
                    if contrast_ratio(_span_rgb(span), bg) >= MIN_CONTRAST and _ink_visible(span, render):
                        continue
                    return "hidden_behind_image", f"covered ({cover:.0%}) by a later {what}"
    text_rgb = _span_rgb(span)
    bg = render.background(bbox, text_rgb)
    ratio = contrast_ratio(text_rgb, bg)
    if ratio < MIN_CONTRAST:
        hexcol = "#" + "".join(f"{int(round(v * 255)):02x}" for v in text_rgb)
        hexbg = "#" + "".join(f"{int(round(v * 255)):02x}" for v in bg)
        return "invisible_text", f"colour {hexcol} on background {hexbg} (contrast {ratio:.2f})"
    return None


def _ink_visible(span: dict, render: _PageRender) -> bool:
    """Whether any pixel in the span's box has (nearly) the span's own colour."""
    px = render.pixels
    r = (pymupdf.Rect(span["bbox"]) * pymupdf.Matrix(RENDER_ZOOM, RENDER_ZOOM)).irect
    r &= pymupdf.IRect(0, 0, px.shape[1], px.shape[0])
    if r.is_empty:
        return False
    crop = px[r.y0:r.y1 + 1, r.x0:r.x1 + 1].reshape(-1, 3).astype(float) / 255.0
    dist = np.abs(crop - _span_rgb(span)).max(axis=1)
    return bool((dist < 0.15).mean() > 0.02)


def _group(items: list[tuple[int, FindingKind, str, pymupdf.Rect, str]]) -> list[Finding]:
    """Merge consecutive hidden spans of the same kind on a page into one finding."""
    findings: list[Finding] = []
    current: list[tuple[int, FindingKind, str, pymupdf.Rect, str]] = []

    def flush() -> None:
        if not current:
            return
        page, kind, detail = current[0][0], current[0][1], current[0][2]
        if kind == "_visible":
            current.clear()
            return
        bbox = pymupdf.Rect(current[0][3])
        for item in current[1:]:
            bbox |= item[3]
        text = "\n".join(item[4] for item in current)
        if _meaningful(text) or find_directives(text):
            directives = find_directives(" ".join(item[4] for item in current))
            if directives:
                detail += "; contains a reviewer directive (" + ", ".join(sorted({d.rule for d in directives})) + ")"
            findings.append(Finding(kind=kind, page=page, bbox=(bbox.x0, bbox.y0, bbox.x1, bbox.y1),
                                    text=text, detail=detail))
        current.clear()

    for item in items:
        if current and (item[0] != current[-1][0] or item[1] != current[-1][1]):
            flush()
        current.append(item)
    flush()
    return findings


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _shown_elsewhere(text: str, rect: pymupdf.Rect, visible: list[tuple[str, pymupdf.Rect]]) -> bool:
    """Whether a visible span with the same words sits on (nearly) the same spot."""
    area = _area(rect)
    for other_text, other in visible:
        if other_text == text and area > 0 and _area(rect & other) >= 0.5 * area:
            return True
    return False


def _lines_of_trace(trace: list[dict]) -> list[dict]:
    """Trace spans cut where the glyphs jump to another line: a span is a run of one font and
    colour, and may hold a visible line and a line moved off the page (`\\put` in a picture)."""
    out = []
    for span in trace:
        chars = span.get("chars") or ()
        size = float(span.get("size") or 1.0)
        runs: list[list] = [[]]
        for ch in chars:
            if runs[-1]:
                (px, py), (ox, oy) = runs[-1][-1][2], ch[2]
                if abs(oy - py) > 0.5 * size or ox < px - 0.5 * size:
                    runs.append([])
            runs[-1].append(ch)
        if len(runs) == 1:
            out.append(span)
            continue
        for run in runs:
            x0 = min(c[3][0] for c in run)
            y0 = min(c[3][1] for c in run)
            x1 = max(c[3][2] for c in run)
            y1 = max(c[3][3] for c in run)
            out.append({**span, "chars": tuple(run), "bbox": (x0, y0, x1, y1)})
    return out


def _page_hidden_findings(page: pymupdf.Page) -> list[Finding]:
    render = _PageRender(page)
    bboxlog = page.get_bboxlog()
    spans = []
    for span in _lines_of_trace(page.get_texttrace()):
        text = _text_of(span)
        if text.strip():
            spans.append((span, text, _hidden_reason(span, page.rect, bboxlog, render)))
    visible = [(_squash(text), pymupdf.Rect(span["bbox"])) for span, text, reason in spans if reason is None]
    items = []
    for span, text, reason in spans:
        rect = pymupdf.Rect(span["bbox"])
        if reason is not None and _shown_elsewhere(_squash(text), rect, visible):
            reason = None  # a drop shadow or outline copy: the same words are visible right there
        if reason is None:
            if items and items[-1][1] != "_visible":
                items.append((page.number + 1, "_visible", "", rect, text))
            continue
        items.append((page.number + 1, reason[0], reason[1], rect, text))
    # Visible spans only separate groups; they never become findings.
    return _group(items)


def _directive_findings(page: pymupdf.Page, hidden: list[Finding]) -> list[Finding]:
    """Directives in the page's visible text. The blocks (paragraphs, captions, margin notes) are
    scanned joined in their drawing order, so an instruction split over lines that the PDF keeps
    apart (separate text objects, the foot of one column and the head of the next) is read whole;
    a blank line between blocks keeps the English sentence rules from running across them."""
    pieces: list[str] = []
    spans: list[tuple[int, int, pymupdf.Rect]] = []
    pos = 0
    for x0, y0, x1, y1, text, _no, block_type in page.get_text("blocks"):
        if block_type != 0 or not text.strip():
            continue
        visible = sanitize_text(text, hidden, replacement=" ") if hidden else text
        spans.append((pos, pos + len(visible), pymupdf.Rect(x0, y0, x1, y1)))
        pieces.append(visible + "\n\n")
        pos += len(visible) + 2
    found = []
    for f in scan_text("".join(pieces)):
        s, e = f.char_span or (0, pos)
        rects = [r for a, b, r in spans if a < e and b > s]
        r = pymupdf.Rect(rects[0]) if rects else pymupdf.Rect(page.rect)
        for extra in rects[1:]:
            r |= extra
        found.append(Finding(kind="reviewer_directive", page=page.number + 1, bbox=(r.x0, r.y0, r.x1, r.y1),
                             text=f.text.strip(), detail=f.detail))
    return found


def _annotation_findings(page: pymupdf.Page) -> list[Finding]:
    """Directives in annotations (sticky notes, free text, popups): not part of the page's text,
    but read by tools that pass a PDF's annotations to a model."""
    found = []
    for annot in page.annots() or []:
        info = annot.info or {}
        content = "\n".join(t for t in (info.get("title", ""), info.get("subject", ""), info.get("content", ""))
                            if t and t.strip())
        directives = find_directives(content) if content else []
        if directives:
            r = annot.rect
            found.append(Finding(kind="annotation", page=page.number + 1, bbox=(r.x0, r.y0, r.x1, r.y1), text=content,
                                 detail=f"{annot.type[1]} annotation; contains a reviewer directive ("
                                        + ", ".join(sorted({d.rule for d in directives})) + ")"))
    return found


def scan_pdf_document(path: Path) -> list[Finding]:
    findings: list[Finding] = []
    with pymupdf.open(path) as doc:
        for page in doc:
            hidden = _page_hidden_findings(page)
            findings.extend(hidden)
            findings.extend(_directive_findings(page, hidden))
            findings.extend(_annotation_findings(page))
    return findings
