"""report.json -> Markdown and HTML per language, and DOCX: the text the organizer publishes.

One document model (headings, paragraphs of cited sentences) is built from the artifact per
language; three small writers turn it into files. Every sentence ends with its citations:
``[mm:ss]`` links to the moment (``report.citation_link``: the recording at ``#t=`` or the
review app). The text is clean: where a sentence came from (the interpreter's rendering, a
machine translation) and what the checks marked for the editor stay in report.json and the
review app's view of it (``provenance``, ``status``, ``checks``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import Config
from ..core.storage import atomic_path, write_text

HEADINGS = {
    "en": {"overview": "Overview", "date": "Date", "format": "Format",
           "stale": "Edited by hand; the transcript under this section has changed since: check it.",
           "edited": "Edited by hand."},
    "ja": {"overview": "概要", "date": "日時", "format": "形式",
           "stale": "手で編集された節です。その後、元の記録が変更されました。確認してください。",
           "edited": "手で編集された節です。"},
}


@dataclass
class Run:
    text: str
    cites: list[str] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # "h1", "h2", "meta", "p", "note"
    runs: list[Run]


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60:02d}:{seconds % 60:02d}"


class Document:
    """The report in one language as blocks of cited runs."""

    def __init__(self, report: dict, config: Config, language: str):
        self.report, self.config, self.language = report, config, language
        self.people = {p.id: p for p in config.event.people}
        self.h = HEADINGS[language]
        self.blocks: list[Block] = []

    def build(self) -> list[Block]:
        report, lang = self.report, self.language
        self.blocks.append(Block("h1", [Run(report["title"].get(lang) or report["title"].get("en") or "")]))
        meta = [f"{self.h['date']}: {report.get('date') or '—'}", f"{self.h['format']}: {report['format'].get(lang) or ''}"]
        self.blocks.append(Block("meta", [Run(" · ".join(meta))]))
        for section in report["sections"]:
            if section["kind"] == "overview":
                self.overview(section)
            else:
                self.session(section)
        return self.blocks

    def _edited(self, section: dict) -> bool:
        text = (section.get("edited_text") or {}).get(self.language)
        if not text:
            return False
        if section["status"] == "stale":  # the editor's words stand, with a warning until checked
            self.blocks.append(Block("note", [Run(self.h["stale"])]))
        self.blocks.extend(Block("p", [Run(p)]) for p in text.split("\n\n") if p.strip())
        return True

    def overview(self, section: dict) -> None:
        self.blocks.append(Block("h2", [Run(self.h["overview"])]))
        if self._edited(section):
            return
        runs = []
        for fixed in (section.get("agenda"), section.get("topics")):
            if fixed:
                runs.append(Run(fixed[self.language], fixed["cites"]))
        for claim in section.get("sentences", {}).get(self.language, []):
            text = claim["text"].strip()
            text = text[:1].upper() + text[1:]
            end = "" if text.endswith(("。", ".", "!", "?", "？")) else ("。" if self.language == "ja" else ".")
            runs.append(Run(text + end, claim["cites"]))
        if runs:
            self.blocks.append(Block("p", runs))
        for note in section.get("notes", []):
            self.blocks.append(Block("note", [Run(note[self.language])]))

    def session(self, section: dict) -> None:
        self.blocks.append(Block("h2", [Run(section["title"].get(self.language) or section["title"].get("en"))]))
        if self._edited(section):
            return
        for note in section.get("notes", []):
            self.blocks.append(Block("note", [Run(note[self.language])]))
        for part in section.get("parts", []):
            runs = [Run(s["text"], s["cites"]) for s in part.get("sentences", {}).get(self.language, [])]
            if runs:
                self.blocks.append(Block("p", runs))


class Writer:
    """Turns blocks into one file; subclasses differ in how a run and a block are written."""

    suffix = ""

    def __init__(self, report: dict):
        self.report = report
        self.link = report.get("citation_link") or "#t={t}"

    def href(self, segment_id: str) -> tuple[str, str]:
        times = self.report.get("segments", {}).get(segment_id, {})
        start = times.get("start_s", 0.0)
        return self.link.format(t=f"{start:.1f}", id=segment_id), clock(start)


class MarkdownWriter(Writer):
    suffix = "md"

    def run(self, run: Run) -> str:
        cites = "".join(f" [[{label}]]({href})" for href, label in (self.href(c) for c in run.cites[:3]))
        return run.text + cites

    def write(self, blocks: list[Block], path: Path) -> None:
        out = []
        prefix = {"h1": "# ", "h2": "## ", "note": "_", "meta": "", "p": ""}
        for block in blocks:
            body = " ".join(self.run(r) for r in block.runs)
            if block.kind == "note":
                out.append(f"_{body}_")
            else:
                out.append(prefix[block.kind] + body)
            out.append("")
        write_text(path, "\n".join(out).rstrip() + "\n")


class HtmlWriter(Writer):
    suffix = "html"

    def run(self, run: Run) -> str:
        cites = "".join(f' <a class="cite" href="{html.escape(href)}" data-segment="{html.escape(c)}">[{label}]</a>'
                        for c in run.cites[:3] for href, label in [self.href(c)])
        return html.escape(run.text) + cites

    def write(self, blocks: list[Block], path: Path, language: str) -> None:
        tags = {"h1": "h1", "h2": "h2", "p": "p", "meta": "p class=\"meta\"", "note": "p class=\"note\""}
        body = []
        for block in blocks:
            tag = tags[block.kind]
            body.append(f"<{tag}>{' '.join(self.run(r) for r in block.runs)}</{tag.split()[0]}>")
        title = html.escape(blocks[0].runs[0].text if blocks else "")
        page = (f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
                "<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.6}"
                ".cite{font-size:.8em;text-decoration:none}.note,.meta{color:#555}"
                "</style>\n"
                "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")
        write_text(path, page)


class DocxWriter(Writer):
    suffix = "docx"

    def write(self, documents: dict[str, list[Block]], path: Path) -> None:
        import docx

        document = docx.Document()
        for k, (language, blocks) in enumerate(documents.items()):
            if k:
                document.add_page_break()
            for block in blocks:
                text_runs = block.runs
                if block.kind in ("h1", "h2", "h3"):
                    document.add_heading(" ".join(r.text for r in text_runs), level=int(block.kind[1]) - 1 or 0)
                    continue
                paragraph = document.add_paragraph()
                for run in text_runs:
                    written = paragraph.add_run(run.text)
                    if block.kind in ("note", "meta"):
                        written.italic = True
                    for cite in run.cites[:3]:
                        _, label = self.href(cite)
                        paragraph.add_run(f" [{label} {cite}]").font.size = docx.shared.Pt(8)
                    paragraph.add_run(" ")
        with atomic_path(path) as tmp:
            document.save(str(tmp))


def render_all(report: dict, config: Config, out_dir: Path) -> list[str]:
    """Write report.<lang>.md / .html and report.docx; return their paths relative to out_dir."""
    formats = config.report.formats
    documents = {lang: Document(report, config, lang).build() for lang in report["languages"]}
    files = []
    for language, blocks in documents.items():
        if "md" in formats:
            MarkdownWriter(report).write(blocks, out_dir / f"report.{language}.md")
            files.append(f"report.{language}.md")
        if "html" in formats:
            HtmlWriter(report).write(blocks, out_dir / f"report.{language}.html", language)
            files.append(f"report.{language}.html")
    if "docx" in formats:
        DocxWriter(report).write(documents, out_dir / "report.docx")
        files.append("report.docx")
    return files
