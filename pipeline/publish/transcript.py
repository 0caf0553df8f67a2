"""The bilingual transcript for readers: HTML (languages side by side), DOCX and Markdown.

Every segment appears once, under its session, with its time, the speaker's name and title,
and its text in each event language; a translation says where it came from, and a missing one
says so instead of leaving the cell empty.
"""

from __future__ import annotations

import html
import zipfile
from pathlib import Path

from .source import LANGUAGE_NAMES, MISSING_NOTE, UNCHECKED_NOTE, Rendering, Run, bilingual, clock

SOURCE_NOTES = {
    "machine": {"en": "machine translation", "ja": "機械翻訳"},
    "interpreter": {"en": "interpreter", "ja": "通訳"},
    "editor": {"en": "translated by an editor", "ja": "編集者訳"},
}


def note(rendering: Rendering, language: str) -> str:
    """What a reader is told about a cell's text ("" for the words as spoken)."""
    if rendering.source == "missing":
        return MISSING_NOTE[language]
    if rendering.source == "original":
        return ""
    text = SOURCE_NOTES.get(rendering.source, {}).get(language, rendering.source)
    return f"{text}; {UNCHECKED_NOTE[language]}" if rendering.status != "ok" else text


def speaker_line(run: Run, segment: dict, language: str) -> tuple[str, str]:
    """(name, "title, affiliation") in ``language``."""
    person = run.people.get(segment.get("speaker") or "", {})
    details = [bilingual(person.get("title"), language), bilingual(person.get("affiliation"), language)]
    return run.speaker_name(segment, language), ", ".join(d for d in details if d)


def grouped(run: Run) -> list[tuple[dict | None, list[dict]]]:
    """Segments by session, in time order; segments outside every session come under None."""
    groups: list[tuple[dict | None, list[dict]]] = []
    for segment in run.segments:
        session = run.session_of(segment)
        if not groups or groups[-1][0] is not session:
            groups.append((session, []))
        groups[-1][1].append(segment)
    return groups


def review_banner(run: Run, language: str) -> str:
    if not run.review.get("allowed_unreviewed"):
        return ""
    count = run.review.get("unreviewed_total", 0)
    if language == "ja":
        return f"未確認の箇所が {count} 件ある状態で公開されました（--allow-unreviewed）。"
    return f"Published before review was complete: {count} segment(s) or report section(s) unreviewed."


# ----------------------------------------------------------------------------------------- HTML

CSS = """body{font-family:"Noto Sans","Noto Sans CJK JP",sans-serif;margin:2rem auto;max-width:80rem;line-height:1.5}
table{border-collapse:collapse;width:100%;table-layout:fixed}th:nth-child(1){width:5.5rem}th:nth-child(2){width:14rem}td,th{border-top:1px solid #ccc;padding:.4rem;vertical-align:top;text-align:left}
td.time{white-space:nowrap;font-family:monospace}.note{color:#666;font-size:.85em}.missing{color:#8a4b00}
.banner{background:#fff3cd;padding:.5rem}h2 time{font-size:.7em;color:#555}"""


def to_html(run: Run) -> str:
    e = html.escape
    languages = run.languages
    parts = [f'<!DOCTYPE html>\n<html lang="{languages[0]}">\n<head>\n<meta charset="utf-8">\n'
             f"<title>{e(run.title(languages[0]))}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>"]
    for language in languages:
        parts.append(f'<h1 lang="{language}">{e(run.title(language))}</h1>')
    parts.append(f"<p>{e(run.config.event.date or '')}</p>")
    banner = " ".join(review_banner(run, language) for language in languages).strip()
    if banner:
        parts.append(f'<p class="banner">{e(banner)}</p>')
    parts.append("</header>")
    head = "".join(f'<th lang="{l}">{e(LANGUAGE_NAMES.get(l, {}).get(l, l))}</th>' for l in languages)
    for session, segments in grouped(run):
        sid = session["id"] if session else "outside-sessions"
        titles = " / ".join(f'<span lang="{l}">{e(bilingual(session.get("title"), l))}</span>'
                            for l in languages) if session else "—"
        span = f' <time>{clock(session["start_s"])}–{clock(session["end_s"])}</time>' if session else ""
        parts.append(f'<section id="{e(sid)}">\n<h2>{titles}{span}</h2>\n<table>\n'
                     f"<thead><tr><th>Time</th><th>Speaker</th>{head}</tr></thead>\n<tbody>")
        for segment in segments:
            name, details = speaker_line(run, segment, languages[0])
            cells = []
            for language in languages:
                rendering = run.text(segment, language)
                told = note(rendering, language)
                if rendering.source == "missing":
                    cells.append(f'<td lang="{language}" class="missing">{e(told)}</td>')
                    continue
                extra = f' <span class="note">({e(told)})</span>' if told else ""
                cells.append(f'<td lang="{language}">{e(rendering.text)}{extra}</td>')
            other = [run.speaker_name(segment, l) for l in languages[1:]]
            other_names = "".join(f' <span lang="{l}">{e(n)}</span>' for l, n in zip(languages[1:], other) if n != name)
            parts.append(f'<tr id="{e(segment["id"])}"><td class="time"><time>{clock(segment["start_s"])}</time></td>'
                         f'<td><b>{e(name)}</b>{other_names}<br><span class="note">{e(details)}</span></td>'
                         + "".join(cells) + "</tr>")
        parts.append("</tbody>\n</table>\n</section>")
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


# ------------------------------------------------------------------------------------- Markdown

# Markdown renderers pass HTML through and read * _ ` [ ] as formatting: what was said (and the
# agenda's names and titles) is written so that it renders as the words themselves. Entities for
# & < > (every renderer decodes them), a backslash before the others (CommonMark and
# Python-Markdown both take it), and no line breaks inside a line of the transcript.
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN_PUNCTUATION = "\\`*_[]"


def md(text: str) -> str:
    """``text`` as Markdown that renders as exactly those words."""
    escaped = "".join(_MARKDOWN_ENTITIES.get(ch) or (f"\\{ch}" if ch in _MARKDOWN_PUNCTUATION else ch)
                      for ch in " ".join(str(text).split()))
    return escaped[0].replace("#", "\\#") + escaped[1:] if escaped else escaped


def to_markdown(run: Run) -> str:
    languages = run.languages
    lines = [f"# {md(run.title(languages[0]))}", ""]
    lines += [f"*{md(run.title(l))}*" for l in languages[1:]] + [""]
    if run.config.event.date:
        lines += [f"Date: {md(run.config.event.date)}", ""]
    for language in languages:
        if review_banner(run, language):
            lines += [f"> {md(review_banner(run, language))}", ""]
    for session, segments in grouped(run):
        if session:
            titles = " / ".join(md(bilingual(session.get("title"), l)) for l in languages)
            lines += [f"## {titles} ({clock(session['start_s'])}–{clock(session['end_s'])})", ""]
        for segment in segments:
            name, details = speaker_line(run, segment, languages[0])
            lines.append(f"**[{clock(segment['start_s'])}] {md(name)}**" + (f" — {md(details)}" if details else ""))
            lines.append("")
            for language in languages:
                rendering = run.text(segment, language)
                told = md(note(rendering, language))
                text = told if rendering.source == "missing" else md(rendering.text) + (f" *({told})*" if told else "")
                lines.append(f"- {language}: {text}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------------------- DOCX

def write_docx(run: Run, target: Path) -> None:
    import datetime as dt

    import docx
    from docx.oxml.ns import qn
    from docx.shared import Pt

    languages = run.languages
    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.size = Pt(10)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), "Noto Sans CJK JP")
    # Fixed document properties: the same transcript gives the same bytes.
    stamp = dt.datetime.fromisoformat(run.config.event.date or "2000-01-01")
    properties = document.core_properties
    properties.title = run.title(languages[0])
    properties.author = run.config.publish.organizer or ""
    properties.created = properties.modified = stamp
    properties.last_modified_by = ""
    properties.revision = 1
    properties.language = "-".join(languages)

    for i, language in enumerate(languages):
        document.add_heading(run.title(language), level=0 if i == 0 else 1)
    if run.config.event.date:
        document.add_paragraph(run.config.event.date)
    for language in languages:
        if review_banner(run, language):
            document.add_paragraph(review_banner(run, language))
    for session, segments in grouped(run):
        if session:
            titles = " / ".join(bilingual(session.get("title"), l) for l in languages)
            document.add_heading(f"{titles} ({clock(session['start_s'])}–{clock(session['end_s'])})", level=2)
        table = document.add_table(rows=1, cols=2 + len(languages))
        table.style = "Table Grid"
        for cell, label in zip(table.rows[0].cells, ["Time", "Speaker"] + [LANGUAGE_NAMES.get(l, {}).get(l, l) for l in languages]):
            cell.text = label
        for segment in segments:
            cells = table.add_row().cells
            name, details = speaker_line(run, segment, languages[0])
            cells[0].text = clock(segment["start_s"])
            cells[1].text = name + (f"\n{details}" if details else "")
            for cell, language in zip(cells[2:], languages):
                rendering = run.text(segment, language)
                told = note(rendering, language)
                cell.text = told if rendering.source == "missing" else rendering.text + (f" ({told})" if told else "")
    document.save(str(target))
    normalise_zip(target)


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def normalise_zip(path: Path) -> None:
    """Rewrite a zip (DOCX) with fixed entry times and order: zip records the time of writing."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)


def write_transcripts(run: Run, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transcript.html").write_text(to_html(run), encoding="utf-8")
    (folder / "transcript.md").write_text(to_markdown(run), encoding="utf-8")
    write_docx(run, folder / "transcript.docx")
    return ["transcript.html", "transcript.md", "transcript.docx"]
