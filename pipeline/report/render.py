"""report.json -> Markdown and HTML per language, and DOCX, for the editors who finish the report.

One document model (headings, paragraphs of cited sentences, quotes, list items) is built from
the artifact per language; three small writers turn it into files. Every sentence ends with its
citations: ``[mm:ss]`` links to the moment (``report.citation_link``: the recording at ``#t=``
or the review app). Statements the checks marked for the editor carry a ⚑ and the reasons.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import Config
from ..core.storage import atomic_path, write_text
from .compose import designation, short_name

ORIGIN_NOTE = {
    "en": {"interpreter": "as rendered by the interpreter", "machine": "machine translation",
           "editor": "translation by an editor", "llm": "machine translation"},
    "ja": {"interpreter": "通訳による訳", "machine": "機械翻訳", "editor": "編集者による訳", "llm": "機械翻訳"},
}
LANGUAGE_WORD = {"en": {"en": "English", "ja": "Japanese"}, "ja": {"en": "英語", "ja": "日本語"}}
HEADINGS = {
    "en": {"overview": "Overview", "qa": "Questions and answers", "quotes": "Quotes", "date": "Date",
           "format": "Format", "draft": "Draft for the editor: every statement cites the transcript.",
           "stale": "Edited by hand; the transcript under this section has changed since: check it.",
           "edited": "Edited by hand.", "pending": "translation pending"},
    "ja": {"overview": "概要", "qa": "質疑応答", "quotes": "発言の引用", "date": "日時", "format": "形式",
           "draft": "編集用の草稿：すべての記述に記録の該当箇所を付しています。",
           "stale": "手で編集された節です。その後、元の記録が変更されました。確認してください。",
           "edited": "手で編集された節です。", "pending": "訳未確定"},
}


@dataclass
class Run:
    text: str
    cites: list[str] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # "h1", "h2", "h3", "meta", "p", "quote", "li", "note"
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
        self.blocks.append(Block("note", [Run(self.h["draft"])]))
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
        self.blocks.append(Block("note", [Run(self.h["stale" if section["status"] == "stale" else "edited"])]))
        self.blocks.extend(Block("p", [Run(p)]) for p in text.split("\n\n") if p.strip())
        return True

    def overview(self, section: dict) -> None:
        self.blocks.append(Block("h2", [Run(self.h["overview"])]))
        if self._edited(section):
            return
        runs = []
        agenda = section.get("agenda")
        if agenda:
            runs.append(Run(agenda[self.language], agenda["cites"][:1]))
        for claim in section.get("sentences", {}).get(self.language, []):
            text = claim["text"].strip()
            end = "" if text.endswith(("。", ".", "!", "?", "？")) else ("。" if self.language == "ja" else ".")
            runs.append(Run(text + end, claim["cites"], self._marks(claim)))
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
        quotes = []
        for part in section.get("parts", []):
            runs = self.part(part)
            if runs:
                self.blocks.append(Block("p", runs))
            if part.get("quote"):
                quotes.append((part["person"]["id"], part["quote"]))
        if quotes:
            self.blocks.append(Block("h3", [Run(self.h["quotes"])]))
            for person, quote in quotes:
                self.blocks.append(Block("quote", self.quote_runs(quote, person)))
        if section.get("qa"):
            self.blocks.append(Block("h3", [Run(self.h["qa"])]))
            for entry in section["qa"]:
                question = entry["question"]
                self.blocks.append(Block("li", [Run("Q — " if self.language == "en" else "問 — "),
                                                *self.quote_runs(question, question["person"])]))
                for answer in entry["answers"]:
                    self.blocks.append(Block("li", [Run("    A — " if self.language == "en" else "    答 — "),
                                                    *self.quote_runs(answer, answer["person"])]))

    def part(self, part: dict) -> list[Run]:
        lang, card = self.language, part["person"]
        person = self.people[card["id"]]
        full, short = designation(card, lang), short_name(card, person, lang)
        runs, named = [], False
        lead = part.get("lead")
        if lead:
            runs.append(Run(f"{full} {lead['en']}." if lang == "en" else f"{full}{lead['ja']}。", lead["cites"]))
            named = True
        for k, claim in enumerate(part["points"].get(lang, [])):
            who = short if named else full
            runs.append(Run(self.sentence(who, claim, k), claim["cites"], self._marks(claim)))
            named = True
        return runs

    def sentence(self, who: str, claim: dict, k: int) -> str:
        text, origin, lang = claim["text"].strip(), claim["origin"], self.language
        if lang == "ja":
            also = "また、" if k else ""
            if origin == "extractive":
                return f"{also}{who}は「{text.rstrip('。')}」と述べた。"
            if origin == "original":
                return f"{also}{who}は{LANGUAGE_WORD['ja'].get(self._lang_of(claim), '')}で「{text}」と述べた（{self.h['pending']}）。"
            if origin.startswith("translation:") and origin != "translation:llm":
                note = ORIGIN_NOTE["ja"].get(origin.split(":", 1)[1], "")
                return f"{also}{who}は「{text.rstrip('。')}」と述べた（{note}）。"
            return f"{also}{who}は、{text.rstrip('。')}と述べた。"
        verb = ("noted", "also said", "added")[min(k, 2)]
        if origin == "extractive":
            return f"{who} {verb}: “{text}”"
        if origin == "original":
            return f"{who} {verb} in {LANGUAGE_WORD['en'].get(self._lang_of(claim), '')}: “{text}” ({self.h['pending']})"
        if origin.startswith("translation:") and origin != "translation:llm":
            note = ORIGIN_NOTE["en"].get(origin.split(":", 1)[1], "")
            return f"{who} {verb} ({note}): “{text}”"
        return f"{who} {verb} that {text.rstrip('.')}."

    @staticmethod
    def _lang_of(claim: dict) -> str:
        return claim.get("source_language") or ""

    def quote_runs(self, quote: dict, person_id: str) -> list[Run]:
        lang = self.language
        person = self.people.get(person_id)
        who = short_name({"honorific": _honorific(self.report, person_id)}, person, lang) if person else person_id
        open_, close = ("「", "」") if quote["language"] == "ja" else ("“", "”")
        runs = [Run(f"{who}: {open_}{quote['text']}{close}", quote["cites"])]
        if quote["language"] != lang:
            translation = quote.get("translations", {}).get(lang) or {}
            if translation.get("text"):
                t_open, t_close = ("「", "」") if lang == "ja" else ("“", "”")
                note = ORIGIN_NOTE[lang].get(translation.get("origin", "").split(":", 1)[-1], "")
                runs.append(Run(f" ({t_open}{translation['text']}{t_close}{', ' + note if note else ''})", [],
                                self._marks(translation)))
            else:
                runs.append(Run(f" ({self.h['pending']})"))
        return runs

    @staticmethod
    def _marks(claim: dict) -> list[str]:
        checks = claim.get("checks") or {}
        return list(checks.get("marked") or []) if claim.get("status") == "marked" else []


def _honorific(report: dict, person_id: str) -> dict:
    for section in report["sections"]:
        for part in section.get("parts", []):
            if part["person"]["id"] == person_id:
                return part["person"]["honorific"]
    return {"en": "", "ja": "氏"}


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
        marks = f" ⚑ _{'; '.join(run.marks)}_" if run.marks else ""
        return run.text + cites + marks

    def write(self, blocks: list[Block], path: Path) -> None:
        out = []
        prefix = {"h1": "# ", "h2": "## ", "h3": "### ", "quote": "> ", "li": "- ", "note": "_", "meta": "", "p": ""}
        for block in blocks:
            body = " ".join(self.run(r) for r in block.runs).replace("-     A", "    - A")
            if block.kind == "note":
                out.append(f"_{body}_")
            elif block.kind == "li" and block.runs and block.runs[0].text.startswith("    "):
                out.append("    - " + " ".join(self.run(r) for r in block.runs).strip())
            else:
                out.append(prefix[block.kind] + body)
            out.append("")
        write_text(path, "\n".join(out).rstrip() + "\n")


class HtmlWriter(Writer):
    suffix = "html"

    def run(self, run: Run) -> str:
        cites = "".join(f' <a class="cite" href="{html.escape(href)}" data-segment="{html.escape(c)}">[{label}]</a>'
                        for c in run.cites[:3] for href, label in [self.href(c)])
        text = html.escape(run.text)
        if run.marks:
            return f'<mark title="{html.escape("; ".join(run.marks))}">{text} ⚑</mark>{cites}'
        return text + cites

    def write(self, blocks: list[Block], path: Path, language: str) -> None:
        tags = {"h1": "h1", "h2": "h2", "h3": "h3", "p": "p", "quote": "blockquote", "meta": "p class=\"meta\"",
                "note": "p class=\"note\"", "li": "p class=\"qa\""}
        body = []
        for block in blocks:
            tag = tags[block.kind]
            body.append(f"<{tag}>{' '.join(self.run(r) for r in block.runs)}</{tag.split()[0]}>")
        title = html.escape(blocks[0].runs[0].text if blocks else "")
        page = (f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
                "<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.6}"
                ".cite{font-size:.8em;text-decoration:none}.note,.meta{color:#555}.qa{margin:.2em 0}"
                "blockquote{border-left:3px solid #ccc;margin-left:0;padding-left:1em}mark{background:#ffe8a0}</style>\n"
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
                style = {"quote": "Quote", "li": "List Bullet"}.get(block.kind)
                paragraph = document.add_paragraph(style=style)
                for run in text_runs:
                    written = paragraph.add_run(run.text.strip() if block.kind == "li" else run.text)
                    if block.kind in ("note", "meta"):
                        written.italic = True
                    if run.marks:
                        written.font.highlight_color = 7  # yellow: marked for the editor
                        paragraph.add_run(" ⚑ " + "; ".join(run.marks)).italic = True
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
