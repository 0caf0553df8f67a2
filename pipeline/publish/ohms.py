"""OHMS XML (Oral History Metadata Synchronizer): the record's catalogue fields and an index
with one point per agenda session.

Each point carries its time, title, a partial transcript (the session's first words),
a synopsis (who speaks, with titles) and keywords (glossary terms heard in it); the event's
second language goes into the ``*_alt`` twin of each field. The transcript itself is given as
the package's WebVTT captions, which OHMS 6 reads.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..core.language import joiner
from .source import Run, bilingual

NAMESPACE = "https://www.weareavp.com/nunncenter/ohms"
SCHEMA_LOCATION = f"{NAMESPACE} {NAMESPACE}/ohms.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _session_text(run: Run, session: dict, language: str) -> str:
    texts = [run.text(s, language) for s in run.segments if s.get("session") == session["id"]]
    return joiner(language).join(t.text for t in texts if t.source != "missing")


def _partial(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _synopsis(run: Run, session: dict, language: str) -> str:
    people = []
    comma, opening, closing = ("、", "（", "）") if language == "ja" else (", ", " (", ")")
    for speaker in session.get("speakers") or []:
        details = comma.join(d for d in (bilingual(speaker.get("title"), language),
                                         bilingual(speaker.get("affiliation"), language)) if d)
        people.append(bilingual(speaker.get("name"), language) + (f"{opening}{details}{closing}" if details else ""))
    if not people:
        return ""
    return ("Speakers: " if language == "en" else "発言者：") + ("; " if language == "en" else "、").join(people)


def _keywords(run: Run, session: dict, language: str, other: str) -> list[str]:
    """Glossary terms heard in the session (in either language), written in ``language``."""
    heard = (_session_text(run, session, language) + " " + _session_text(run, session, other)).lower()
    found = []
    for term in run.config.event.glossary:
        forms = [term.en, term.ja, *(term.aliases or [])]
        if any(form and form.lower() in heard for form in forms):
            found.append(getattr(term, language, None) or term.en)
    return found[: run.config.publish.max_keywords]


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _field(parent: ET.Element, name: str, text: str = "", **attributes: str) -> ET.Element:
    node = ET.SubElement(parent, _q(name), attributes)
    node.text = text
    return node


def to_xml(run: Run, captions_file: str, audio_file: str) -> bytes:
    # OHMS's main fields in English when the event has it, the other language in the _alt twins.
    ordered = sorted(run.languages, key=lambda language: language != "en")
    first, second = ordered[0], (ordered[1] if len(ordered) > 1 else ordered[0])
    settings = run.config.publish
    ET.register_namespace("", NAMESPACE)
    ET.register_namespace("xsi", XSI)
    root = ET.Element(f"{{{NAMESPACE}}}ROOT", {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})
    record = ET.SubElement(root, _q("record"), {"id": run.identifier, "dt": run.config.event.date or ""})
    _field(record, "version", "6")
    _field(record, "date", value=run.config.event.date or "", format="yyyy-mm-dd")
    _field(record, "date_nonpreferred_format")
    _field(record, "cms_record_id", run.identifier)
    _field(record, "title", run.title(first))
    _field(record, "accession", run.identifier)
    duration = int(round(run.duration_s))
    _field(record, "duration", f"{duration // 3600}:{duration % 3600 // 60:02d}:{duration % 60:02d}")
    _field(record, "collection_id")
    _field(record, "collection_name", settings.organizer or "")
    _field(record, "series_id")
    _field(record, "series_name")
    _field(record, "repository", settings.organizer or "")
    _field(record, "repository_url")
    _field(record, "funding")
    for session in run.sessions:
        _field(record, "subject", bilingual(session.get("title"), first))
    for term in run.config.event.glossary:
        _field(record, "keyword", getattr(term, first, None) or term.en)
    people = run.people
    for person_id in sorted({s.get("speaker") for s in run.segments if s.get("speaker") in people}):
        _field(record, "interviewee", bilingual(people[person_id].get("name"), first))
    _field(record, "interviewer")
    _field(record, "format", "audio")
    _field(record, "file_name", audio_file)
    _field(record, "sync")
    _field(record, "sync_alt")
    _field(record, "transcript_alt_lang", second)
    _field(record, "translate", "1" if second != first else "0")
    _field(record, "media_id")
    _field(record, "media_url", audio_file)
    mediafile = ET.SubElement(record, _q("mediafile"))
    _field(mediafile, "host", "Other")
    _field(mediafile, "avalon_target_domain")
    _field(mediafile, "host_account_id")
    _field(mediafile, "host_player_id")
    _field(mediafile, "host_clip_id")
    _field(mediafile, "clip_format", "audio")
    _field(record, "language", first)
    _field(record, "language_alt", second)
    _field(record, "usage", settings.rights)
    _field(record, "rights", settings.rights)
    _field(record, "userestrict")
    _field(record, "xmllocation")
    _field(record, "xmlfilename")
    _field(record, "type", "Event recording")
    _field(record, "description", run.title(second) if second != first else "")
    _field(record, "transcript", captions_file.format(language=first), type="vtt")
    _field(record, "transcript_alt", captions_file.format(language=second), type="vtt")
    index = ET.SubElement(record, _q("index"))
    for session in run.sessions:
        point = ET.SubElement(index, _q("point"))
        _field(point, "time", str(int(session["start_s"])))
        for suffix, language in (("", first), ("_alt", second)):
            _field(point, "title" + suffix, bilingual(session.get("title"), language))
        for suffix, language in (("", first), ("_alt", second)):
            _field(point, "partial_transcript" + suffix,
                   _partial(_session_text(run, session, language), settings.partial_transcript_chars))
        for suffix, language in (("", first), ("_alt", second)):
            _field(point, "synopsis" + suffix, _synopsis(run, session, language))
        other = {first: second, second: first}
        for suffix, language in (("", first), ("_alt", second)):
            _field(point, "keywords" + suffix, ";".join(_keywords(run, session, language, other[language])))
        for suffix in ("", "_alt"):
            _field(point, "subjects" + suffix)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
