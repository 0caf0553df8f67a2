"""What a package is made of, read once from an output folder: the reviewed transcript, the
translations, the report, the provenance and the floor audio.

Every writer in this package works from a ``Run`` and never opens the output folder itself, so
the same input gives the same bytes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..core.artifacts import read_artifact
from ..core.config import Config
from ..core.errors import PipelineError
from ..core.storage import read_json

# How a segment's text in one language came to be.
ORIGINAL = "original"          # what was said, as reviewed
MISSING = "missing"            # no translation exists: the package says so, never leaves it blank

MISSING_NOTE = {"en": "[No English translation yet]", "ja": "［日本語訳なし］"}
UNCHECKED_NOTE = {"en": "[translation needs checking]", "ja": "［翻訳要確認］"}
LANGUAGE_NAMES = {"en": {"en": "English", "ja": "英語"}, "ja": {"en": "Japanese", "ja": "日本語"}}


@dataclass(frozen=True)
class Rendering:
    """A segment's text in one language and where it came from."""

    text: str
    language: str              # the language the text is actually in
    source: str                # original | machine | interpreter | editor | missing
    status: str = "ok"         # ok | needs_translation | missing


@dataclass
class Run:
    out_dir: Path
    config: Config
    transcript: dict                      # reviewed.json (or aligned.json when allowed)
    transcript_name: str
    translations: dict
    review: dict                          # counts of unreviewed content, "source", "allowed_unreviewed"
    manifest: dict
    audio: Path
    recording: Optional[Path]
    report_files: list[Path] = field(default_factory=list)

    @property
    def languages(self) -> list[str]:
        return list(self.config.event.languages)

    @functools.cached_property
    def segments(self) -> list[dict]:
        """Speech on the floor track (the audio in the package), in time order."""
        floor = next(t.name for t in self.config.recording.tracks if t.role == "floor")
        return sorted((s for s in self.transcript["segments"] if s.get("track", floor) == floor),
                      key=lambda s: s["start_s"])

    @property
    def agenda_sessions(self) -> list[dict]:
        """Every session of the outline, including those the align stage did not find in the
        recording (their start_s and end_s are None)."""
        return list(self.transcript.get("sessions") or [])

    @property
    def sessions(self) -> list[dict]:
        """The sessions placed on the recording: what chapters, index points and ranges show."""
        return [s for s in self.agenda_sessions if s.get("start_s") is not None and s.get("end_s") is not None]

    @property
    def people(self) -> dict:
        return dict(self.transcript.get("people") or {})

    @property
    def duration_s(self) -> float:
        return float(self.transcript["duration_s"])

    def text(self, segment: dict, language: str) -> Rendering:
        """The segment in ``language``: its own words, a translation, or a visible note."""
        if segment["language"] == language:
            return Rendering(segment["text"].strip(), language, ORIGINAL)
        entry = (self.translations.get("segments", {}).get(segment["id"]) or {}).get(language) or {}
        text = (entry.get("text") or "").strip()
        if not text:  # an editor's translation recorded by the review stage, before translate ran
            edited = ((segment.get("review") or {}).get("translation") or {}).get(language)
            if isinstance(edited, str) and edited.strip():
                return Rendering(edited.strip(), language, "editor")
        if text:
            return Rendering(text, language, entry.get("source") or "machine", entry.get("status") or "ok")
        return Rendering(segment["text"].strip(), segment["language"], MISSING, "missing")

    def speaker_name(self, segment: dict, language: str) -> str:
        names = segment.get("speaker_name") or {}
        return names.get(language) or names.get("en") or names.get("ja") or segment.get("speaker") or "Unknown speaker"

    def session_of(self, segment: dict) -> Optional[dict]:
        return next((s for s in self.sessions if s.get("id") == segment.get("session")), None)

    def title(self, language: str) -> str:
        title = self.config.event.title
        return getattr(title, language, None) or title.en or title.ja or "Untitled event"

    @property
    def identifier(self) -> str:
        chosen = self.config.publish.identifier
        if chosen:
            return chosen
        slug = re.sub(r"[^a-z0-9]+", "-", (self.config.event.title.en or "event").lower()).strip("-")
        if len(slug) > 60:  # cut at a word, not inside one
            slug = slug[:61].rsplit("-", 1)[0]
        return f"{slug}-{self.config.event.date}" if self.config.event.date else slug


def bilingual(value: dict | None, language: str) -> str:
    value = value or {}
    return value.get(language) or value.get("en") or value.get("ja") or ""


def clock(seconds: float, millis: bool = False) -> str:
    """00:01:23 (or 00:01:23.456): timestamps shown to readers."""
    total_ms = int(round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    text = f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}"
    return text + f".{rest % 1000:03d}" if millis else text


BLOCKING = ("segments_unreviewed", "report_sections_unreviewed", "conflicts")


def review_summary(out_dir: Path, transcript: dict, has_reviewed: bool) -> dict:
    """What editors have not yet approved. The review wing's ``review_status`` counts segments,
    report sections and unresolved edit conflicts from the edits journal; without it (or without
    aligned.json beside reviewed.json) the statuses recorded in reviewed.json are counted."""
    try:
        from ..review.store import review_status  # the review wing's public summary
    except ImportError:
        review_status = None
    if review_status is not None and has_reviewed and (out_dir / "aligned.json").is_file():
        counts = {k: v for k, v in dict(review_status(out_dir)).items() if isinstance(v, (int, bool))}
        counts["counted_by"] = "pipeline.review"
    else:
        pending = [s["id"] for s in transcript["segments"] if (s.get("review") or {}).get("status") != "reviewed"]
        counts = {"segments": len(transcript["segments"]), "segments_unreviewed": len(pending),
                  "counted_by": "reviewed.json" if has_reviewed else "aligned.json (no review)"}
    counts["unreviewed_total"] = sum(int(counts.get(key) or 0) for key in BLOCKING)
    return counts


def load_run(out_dir: Path, config: Config, allow_unreviewed: bool = False) -> Run:
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise PipelineError(f"{out_dir}: output folder not found")
    reviewed = out_dir / "reviewed.json"
    if reviewed.is_file():
        transcript, name = read_json(reviewed), "reviewed.json"
        if not isinstance(transcript, dict) or "segments" not in transcript:
            raise PipelineError(f"{reviewed}: not a reviewed transcript (no 'segments')")
    elif allow_unreviewed:
        transcript, name = read_artifact(out_dir / "aligned.json"), "aligned.json"
    else:
        raise PipelineError(f"{reviewed}: not found; run the review stage, or publish the unreviewed "
                            f"aligned.json with --allow-unreviewed")
    review = review_summary(out_dir, transcript, name == "reviewed.json")
    if review["unreviewed_total"] and not allow_unreviewed:
        raise PipelineError(f"{out_dir}: {review['unreviewed_total']} segment(s), report section(s) or edit "
                            f"conflict(s) are not reviewed yet; finish the review, or publish anyway with "
                            f"--allow-unreviewed")
    review.update(source=name, allowed_unreviewed=bool(allow_unreviewed and review["unreviewed_total"]))

    translations_path = out_dir / "translations.json"
    translations = read_json(translations_path) if translations_path.is_file() else {"segments": {}}
    if not isinstance(translations.get("segments"), dict):
        raise PipelineError(f"{translations_path}: 'segments' must map segment ids to translations")

    audio = out_dir / "audio" / "floor.wav"
    if not audio.is_file():
        raise PipelineError(f"{audio}: floor audio not found; run the ingest stage again")
    manifest = read_json(out_dir / "manifest.json") if (out_dir / "manifest.json").is_file() else {}
    recording = None
    if (out_dir / "ingest.json").is_file():
        recording = Path(read_json(out_dir / "ingest.json").get("recording", ""))
    report_files = sorted(p for p in out_dir.glob("report*") if p.is_file())
    if (out_dir / "report").is_dir():
        report_files += sorted(p for p in (out_dir / "report").rglob("*") if p.is_file())
    return Run(out_dir, config, transcript, name, translations, review, manifest, audio, recording, report_files)
