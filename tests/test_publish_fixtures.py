"""A small hand-made reviewed run for the publish tests: four segments in two languages, two
sessions, machine and interpreter translations and one segment left untranslated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.core.artifacts import schema_version

CONFIG = """\
event:
  title: {en: "Test symposium on export control", ja: "輸出管理テストシンポジウム"}
  date: "2022-09-29"
  languages: [en, ja]
  people:
    - {id: shibano, name: {en: Tomoo Shibano, ja: 柴野相雄}, title: {en: Partner, ja: パートナー弁護士},
       affiliation: {en: TMI Associates, ja: TMI総合法律事務所}, roles: [host]}
    - {id: hines, name: {en: Tom Hines, ja: トム・ハインズ}, title: {en: Counselor, ja: 公使参事官},
       affiliation: {en: U.S. Embassy in Tokyo, ja: 在日米国大使館}, roles: [speaker]}
    - {id: iida, name: {en: Yoichi Iida, ja: 飯田陽一}, title: {en: Cabinet Councillor, ja: 内閣参事官},
       affiliation: {en: National Security Secretariat, ja: 内閣官房国家安全保障局}, roles: [speaker]}
  sessions:
    - {id: opening, title: {en: Opening, ja: 開会}, start: "09:00", end: "09:05",
       people: [{person: shibano, role: host}, {person: hines, role: speaker}]}
    - {id: session-1, title: {en: Export control, ja: 輸出管理}, start: "09:05", end: "09:30",
       people: [{person: iida, role: speaker}, {person: hines, role: speaker}]}
    - {id: closing, title: {en: Closing, ja: 閉会}, start: "09:30", end: "09:35",
       people: [{person: shibano, role: host}]}
  glossary:
    - {en: export control, ja: 輸出管理}
    - {en: economic security, ja: 経済安全保障}
publish: {organizer: "Test Institute", rights: "CC BY 4.0"}
"""

PEOPLE = {
    "shibano": {"name": {"en": "Tomoo Shibano", "ja": "柴野相雄"}, "title": {"en": "Partner", "ja": "パートナー弁護士"},
                "affiliation": {"en": "TMI Associates", "ja": "TMI総合法律事務所"}},
    "hines": {"name": {"en": "Tom Hines", "ja": "トム・ハインズ"}, "title": {"en": "Counselor", "ja": "公使参事官"},
              "affiliation": {"en": "U.S. Embassy in Tokyo", "ja": "在日米国大使館"}},
    "iida": {"name": {"en": "Yoichi Iida", "ja": "飯田陽一"}, "title": {"en": "Cabinet Councillor", "ja": "内閣参事官"},
             "affiliation": {"en": "National Security Secretariat", "ja": "内閣官房国家安全保障局"}},
}


def _words(text: str, start_s: float, end_s: float, language: str) -> list[dict]:
    pieces = [text[i:i + 3] for i in range(0, len(text), 3)] if language == "ja" else [" " + w for w in text.split()]
    step = (end_s - start_s) / len(pieces)
    return [{"start_s": round(start_s + i * step, 3), "end_s": round(start_s + (i + 1) * step, 3), "text": p,
             "probability": 0.9} for i, p in enumerate(pieces)]


def _segment(number: int, start_s: float, end_s: float, language: str, text: str, speaker: str, session: str) -> dict:
    return {"id": f"seg-{number:05d}", "track": "floor", "start_s": start_s, "end_s": end_s, "language": language,
            "text": text, "words": _words(text, start_s, end_s, language), "confidence": 0.9, "flags": [],
            "speaker": speaker, "speaker_name": PEOPLE[speaker]["name"], "speaker_confidence": 0.9,
            "session": session, "review": {"status": "reviewed", "version": 1, "edited": False}}


SEGMENTS = [
    _segment(1, 0.5, 5.0, "ja", "皆様、本日はお集まりいただきありがとうございます。経済安全保障と輸出管理について議論します。",
             "shibano", "opening"),
    _segment(2, 5.5, 10.0, "en", "I'm Tom Hines, Counselor for Economic and Scientific Affairs at the U.S. Embassy in Tokyo.",
             "hines", "opening"),
    _segment(3, 10.5, 15.0, "ja", "輸出管理の国際的な枠組みについてお話しします。", "iida", "session-1"),
    _segment(4, 15.5, 18.5, "en", "Thank you very much, that was very helpful.", "hines", "session-1"),
]

TRANSLATIONS = {"segments": {
    "seg-00001": {"en": {"text": "Thank you all for coming today. We will discuss economic security and export control.",
                         "source": "machine", "status": "ok"}},
    "seg-00002": {"ja": {"text": "東京の米国大使館で経済・科学担当公使参事官を務めるトム・ハインズです。",
                         "source": "machine", "status": "ok"}},
    "seg-00003": {"en": {"text": "I will talk about the international framework of export control.",
                         "source": "interpreter", "status": "ok"}},
}, "interpretation": {}}


def make_run(folder: Path, unreviewed: int = 0, translations: bool = True) -> tuple[Path, Path]:
    """An output folder and its config; ``unreviewed`` segments keep a pending review status."""
    out = folder / "out"
    (out / "audio").mkdir(parents=True)
    rate = 16000
    t = np.arange(int(20.0 * rate)) / rate
    sf.write(out / "audio" / "floor.wav", (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, subtype="PCM_16")
    segments = json.loads(json.dumps(SEGMENTS))
    for segment in segments[:unreviewed]:
        segment["review"]["status"] = "unreviewed"
    sessions = [
        {"id": "opening", "title": {"en": "Opening", "ja": "開会"}, "start_s": 0.0, "end_s": 10.25,
         "speakers": [{"id": p, **PEOPLE[p]} for p in ("shibano", "hines")]},
        {"id": "session-1", "title": {"en": "Export control", "ja": "輸出管理"}, "start_s": 10.25, "end_s": 20.0,
         "speakers": [{"id": p, **PEOPLE[p]} for p in ("iida", "hines")]},
        # on the agenda, never reached in the recording: the align stage leaves it unplaced
        {"id": "closing", "title": {"en": "Closing", "ja": "閉会"}, "start_s": None, "end_s": None, "speakers": []},
    ]
    reviewed = {"schema_version": schema_version("reviewed.json"), "duration_s": 20.0, "languages": ["en", "ja"],
                "tracks": [{"name": "floor", "role": "floor", "language": None}], "segments": segments,
                "voices": {}, "people": PEOPLE, "sessions": sessions}
    (out / "reviewed.json").write_text(json.dumps(reviewed, ensure_ascii=False, indent=1), encoding="utf-8")
    if translations:
        (out / "translations.json").write_text(json.dumps(TRANSLATIONS, ensure_ascii=False), encoding="utf-8")
    config = folder / "event.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps({"config": str(config), "stages": {}}), encoding="utf-8")
    return out, config


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def caption_problems(package: Path, transcript: dict, settings) -> list[str]:
    """WCAG 1.2.2 (and F8): every floor speech segment has a caption cue in its own language's
    track, within its time, carrying its speaker; every cue has text, a speaker, and lines within
    the line rules of the language it is written in. Returns what is wrong (empty when all is well)."""
    import re

    import srt
    import webvtt

    from pipeline.publish.captions import line_fits
    from pipeline.text.captions import JA_NO_LINE_START

    problems = []
    data = package / "data" / "captions"
    for language in transcript["languages"]:
        cues = webvtt.read(str(data / f"captions.{language}.vtt")).captions
        srt_cues = list(srt.parse((data / f"captions.{language}.srt").read_text(encoding="utf-8")))
        if len(srt_cues) != len(cues):
            problems.append(f"{language}: {len(srt_cues)} SRT cues but {len(cues)} WebVTT cues")
        by_segment: dict[str, list] = {}
        for cue in cues:
            by_segment.setdefault(cue.identifier.split("#")[0], []).append(cue)
            if not cue.text.strip():
                problems.append(f"{language} {cue.identifier}: empty cue")
            if not cue.voice:
                problems.append(f"{language} {cue.identifier}: no speaker")
            tagged = re.search(r"<lang (\w+)>", cue.raw_text)
            written_in = tagged.group(1) if tagged else language
            lines = cue.text.split("\n")
            if len(lines) > settings.caption_max_lines:
                problems.append(f"{language} {cue.identifier}: {len(lines)} lines")
            for line in lines:
                if not line_fits(line, written_in, settings):
                    problems.append(f"{language} {cue.identifier}: line too long: {line!r}")
                if written_in == "ja" and line[:1] in JA_NO_LINE_START:
                    problems.append(f"{language} {cue.identifier}: line starts with {line[0]!r}")
        speaker = None
        for cue in srt_cues:
            lines = cue.content.split("\n")
            if re.fullmatch(r"[\[［].+[\]］]", lines[0]):
                speaker, lines = lines[0], lines[1:]
            if speaker is None or not "".join(lines).strip():
                problems.append(f"{language} SRT cue {cue.index}: no speaker or no text")
        for segment in transcript["segments"]:
            if segment["language"] != language or segment.get("track", "floor") != "floor":
                continue
            mine = by_segment.get(segment["id"], [])
            if not mine:
                problems.append(f"{language}: segment {segment['id']} has no caption cue")
                continue
            for cue in mine:
                if not (segment["start_s"] - 0.01 <= _seconds(cue.start) < _seconds(cue.end) <= segment["end_s"] + 0.01):
                    problems.append(f"{language} {cue.identifier}: outside its segment's time")
            said = "".join(segment["text"].split())
            shown = "".join("".join(c.text.split()) for c in mine)
            if said != shown:
                problems.append(f"{language}: segment {segment['id']} captioned as {shown!r}, said {said!r}")
    return problems
