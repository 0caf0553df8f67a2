"""Fakes and a small aligned transcript shared by the translation tests (no model needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline.core.storage import write_json

CONFIG = """
event:
  title: {en: "Test symposium", ja: "テストシンポジウム"}
  languages: [en, ja]
  people:
    - id: shiroyama
      name: {en: "Hideaki Shiroyama", ja: "城山英明"}
      aliases: ["城山", "しろやま", "Shiroyama"]
      affiliation: {en: "The University of Tokyo", ja: "東京大学"}
      roles: [speaker]
    - id: suarez
      name: {en: "Gonzalo Suarez", ja: "ゴンザロ・スアレス"}
      aliases: ["スアレス", "Suarez"]
      roles: [speaker]
    - id: aruga
      name: {en: "Osamu Aruga", ja: "有賀理"}
      aliases: ["有賀", "あるが", "Aruga"]
      roles: [speaker]
  sessions:
    - id: opening
      title: {en: "Session 1: Opening", ja: "セッション1：開会"}
      start: "10:00"
      end: "10:10"
      people: [{person: shiroyama, role: speaker}, {person: suarez, role: speaker}]
  glossary:
    - {en: "export control", ja: "輸出管理", aliases: ["export controls"]}
"""

TEXTS = [
    ("ja", "城山です。東京大学から参りました。"),
    ("ja", "本日は輸出管理についてお話しします。"),
    ("ja", "研究の国際協力はとても重要です。"),
    ("en", "Thank you. My name is Gonzalo Suarez."),
    ("en", "Export controls are one tool among many."),
    ("ja", "スアレス様、ありがとうございました。"),
    ("ja", "以上で終わります。"),
]


def write_aligned(out_dir: Path, texts=TEXTS) -> Path:
    segments = []
    for i, (language, text) in enumerate(texts):
        speaker = "suarez" if language == "en" else "shiroyama"
        names = {"suarez": {"en": "Gonzalo Suarez", "ja": "ゴンザロ・スアレス"},
                 "shiroyama": {"en": "Hideaki Shiroyama", "ja": "城山英明"}}[speaker]
        segments.append({"id": f"seg-{i:05d}", "track": "floor", "start_s": 5.0 * i, "end_s": 5.0 * i + 4.0,
                         "language": language, "text": text, "words": [], "speaker": speaker,
                         "speaker_name": names, "session": "opening"})
    aligned = {"schema_version": 1, "duration_s": 5.0 * len(texts), "languages": ["en", "ja"],
               "tracks": [{"name": "floor"}], "segments": segments, "voices": {}, "people": {}, "sessions": []}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "reviewed.json", aligned)
    return out_dir / "reviewed.json"


_LABEL = re.compile(r"^(?:\([^)]*\) )?(.*)$")
_TERM = re.compile(r"^- (.+) = (.+) \((\w+)\)$")


def source_line(user: str) -> str:
    """The line a request asks to translate (after its context), without the speaker label."""
    lines = user.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Translate into "):
            return _LABEL.match(lines[i + 1]).group(1)
    # Glossary lines (if any), a blank line, then the line.
    return _LABEL.match(next(line for line in lines if line and not _TERM.match(line))).group(1)


class FakeLLM:
    """Answers each request with a canned rendering that carries the glossary forms."""

    def __init__(self, fail_after: int | None = None, garbage: bool = False):
        self.calls = 0
        self.lines_seen: list[str] = []
        self.fail_after = fail_after
        self.garbage = garbage
        self.usage = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "seconds": 0.0}

    def describe(self) -> dict:
        return {"engine": "fake", "model": "fake-1"}

    def complete(self, messages, *, max_tokens=512, temperature=0.0, json_schema=None) -> str:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("killed")
        self.calls += 1
        system, user = messages[0]["content"], messages[1]["content"]
        target = "ja" if "into natural, faithful Japanese" in system else "en"
        terms = [m.group(2) for m in map(_TERM.match, user.splitlines()) if m]
        line = source_line(user)
        self.lines_seen.append(line)
        if self.garbage:
            return line  # the source again: fails the checks
        base = "これは翻訳された文です" if target == "ja" else "This is the translated sentence"
        return f"{base} {' '.join(terms)}".strip()


def read_translations(out_dir: Path) -> dict:
    return json.loads((out_dir / "translations.json").read_text(encoding="utf-8"))
