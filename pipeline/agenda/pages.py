"""Reading an event page: an HTML file, a plain-text file, a PDF, or a URL, into numbered text lines.

Each line keeps the number of the place it came from (the source line of an HTML element, the
line of a text file, the line of a PDF's extracted text), so every drafted value can say where
it was read. Anything that is not a readable page is one ``PipelineError`` line naming it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import PipelineError

URL_TIMEOUT_S = 20.0
# Elements whose text starts a new line; everything else is inline.
BLOCK_TAGS = {"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "section", "article",
              "header", "footer", "nav", "table", "ul", "ol", "dl", "blockquote", "br", "hr", "title",
              "main", "aside", "form", "figcaption", "caption", "address", "pre"}
SKIPPED_TAGS = {"script", "style", "noscript", "template", "svg", "head", "button", "select", "option", "iframe"}
CELL_SEPARATOR = " | "


@dataclass(frozen=True)
class Line:
    text: str
    number: int  # 1-based line of the source (HTML: the element's source line)
    heading: int = 0  # HTML h1..h6 (1..6); 0 otherwise


@dataclass
class Page:
    name: str  # the file name or URL, as given
    kind: str  # "html", "text" or "pdf"
    lines: list[Line]

    def where(self, number: int) -> str:
        return f"{Path(self.name).name if '://' not in self.name else self.name}:{number}"

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def read_page(source: str) -> Page:
    """The page at ``source`` (a path or an http(s) URL) as numbered lines; PipelineError if unusable."""
    if re.match(r"^https?://", source):
        raw, content_type = _fetch(source)
    else:
        path = Path(source)
        if not path.exists():
            raise PipelineError(f"{source}: file not found")
        if not path.is_file():
            raise PipelineError(f"{source}: not a file")
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise PipelineError(f"{source}: cannot read ({e.strerror})") from e
        content_type = ""
    if not raw.strip():
        raise PipelineError(f"{source}: empty page")
    kind = _kind(source, raw, content_type)
    if kind == "pdf":
        lines = _pdf_lines(source, raw)
    elif kind == "html":
        lines = _html_lines(source, raw)
    else:
        lines = _text_lines(source, raw)
    lines = [line for line in lines if line.text.strip()]
    if not lines:
        raise PipelineError(f"{source}: empty page (no text)")
    return Page(source, kind, lines)


def _fetch(url: str) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"User-Agent": "webinar-pipeline agenda import"})
    try:
        with urllib.request.urlopen(request, timeout=URL_TIMEOUT_S) as response:
            return response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        raise PipelineError(f"{url}: unreachable (HTTP {e.code})") from e
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
        raise PipelineError(f"{url}: unreachable ({getattr(e, 'reason', e)})") from e


def _kind(source: str, raw: bytes, content_type: str) -> str:
    if raw.startswith(b"%PDF-") or "pdf" in content_type:
        return "pdf"
    head = raw[:8192]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PipelineError(f"{source}: binary file, not an event page (HTML, text or PDF)")
    lowered = head.lower()
    if ("html" in content_type or source.lower().endswith((".html", ".htm"))
            or re.search(rb"<(!doctype html|html|body|table|div|p)[\s>]", lowered)):
        return "html"
    return "text"


def _decode(source: str, raw: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16", "cp932", "euc-jp"):
        if encoding == "utf-16" and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PipelineError(f"{source}: not text in UTF-8, UTF-16, Shift_JIS or EUC-JP (binary file?)")


def _text_lines(source: str, raw: bytes) -> list[Line]:
    text = _decode(source, raw)
    control = sum(1 for ch in text[:4000] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > 20:
        raise PipelineError(f"{source}: binary file, not an event page (HTML, text or PDF)")
    return [Line(_clean(t), i) for i, t in enumerate(text.splitlines(), start=1)]


LIGATURES = {chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)}
DASHES = {"\u2012": "–", "\u2212": "–", "\u2010": "-", "\u2011": "-"}


def _clean(text: str) -> str:
    # PDF text layers write "ﬃ" ligatures and figure dashes ("15:00 ‒ 15:10"); pages use the usual characters.
    text = "".join(LIGATURES.get(ch) or DASHES.get(ch) or ch for ch in text)
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\t", " ")
    return re.sub(r"[ ]{2,}", " ", text).strip()


def _html_lines(source: str, raw: bytes) -> list[Line]:
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(raw)
    except (etree.ParserError, ValueError) as e:
        raise PipelineError(f"{source}: not readable as HTML ({e})") from e
    lines: list[Line] = []
    current: list[str] = []
    current_number = [0]

    heading = [0]

    def flush() -> None:
        text = _clean("".join(current))
        if text:
            lines.append(Line(text, current_number[0], heading[0]))
        current.clear()

    def add(text: str | None, number: int) -> None:
        if text:
            if not current or not "".join(current).strip():
                current_number[0] = number
            current.append(text)

    def walk(element) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in SKIPPED_TAGS or not tag:
            if element.tail and tag != "head":
                add(element.tail, element.sourceline or 0)
            return
        number = element.sourceline or 0
        if tag == "tr":
            flush()
            cells = [c for c in element if isinstance(c.tag, str) and c.tag in ("td", "th")]
            # A table row is one line; a cell's own line breaks are kept as " / " so the cell
            # can still be split (a Japanese and an English line in one cell).
            texts = [_cell_text(c) for c in cells]
            lines.append(Line(CELL_SEPARATOR.join(texts), number))
        else:
            if tag in BLOCK_TAGS:
                flush()
            level = int(tag[1]) if re.fullmatch(r"h[1-6]", tag) else 0
            if level:
                heading[0] = level
            add(element.text, number)
            for child in element:
                walk(child)
            if tag in BLOCK_TAGS:
                flush()
            if level:
                heading[0] = 0
        if element.tail:
            add(element.tail, element.sourceline or number)

    body = root.find("body")
    title = root.find(".//title")
    if title is not None and title.text:
        lines.append(Line(_clean(title.text), title.sourceline or 0))
    walk(body if body is not None else root)
    flush()
    return lines


def _cell_text(cell) -> str:
    parts: list[str] = []

    def walk(element) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in SKIPPED_TAGS:
            return
        if tag in BLOCK_TAGS and tag not in ("br",) and parts:
            parts.append("\n")
        if tag == "br":
            parts.append("\n")
        if element.text:
            parts.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(cell)
    pieces = [_clean(p) for p in "".join(parts).split("\n")]
    return " / ".join(p for p in pieces if p)


def _pdf_lines(source: str, raw: bytes) -> list[Line]:
    import io

    try:
        from pdfminer.high_level import extract_text
        from pdfminer.pdfparser import PDFSyntaxError
    except ImportError as e:
        raise PipelineError(f"{source}: reading PDF needs pdfminer.six (pip install -r requirements/agenda.txt)") from e
    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # font-descriptor warnings are not the user's problem
    try:
        text = extract_text(io.BytesIO(raw))
    except (PDFSyntaxError, ValueError, TypeError, KeyError) as e:
        raise PipelineError(f"{source}: not a readable PDF ({type(e).__name__}: {e})") from e
    except Exception as e:  # pdfminer raises many private types for damaged files
        raise PipelineError(f"{source}: not a readable PDF ({type(e).__name__})") from e
    if not text.strip():
        raise PipelineError(f"{source}: PDF without a text layer (a scanned flyer?); export it with text")
    return [Line(_clean(t), i) for i, t in enumerate(text.splitlines(), start=1)]
