"""What the review page shows: the aligned transcript with the journal applied, kept current.

``Review`` holds one output folder's state for the app: the ``Applier`` (apply.py) with every
edit in force, the segment versions, and the optional artifacts beside it (translations,
report, tracks). It reloads when a re-run replaces the artifacts or another process writes the
journal, and applies the app's own saves one at a time.
"""

from __future__ import annotations

import bisect
import threading
from pathlib import Path

from ..core import artifacts
from ..core.errors import PipelineError
from ..core.runner import recorded_config
from ..core.storage import read_json
from .apply import Applier, report_sections
from .store import NewEdit, StaleVersion, Store

INTERPRETATION_DELAY_S = 2.5  # interpreters speak 2-3 s behind the floor
LOW_CONFIDENCE = 0.5  # words below this probability are highlighted


class Review:
    """The app's state: the aligned transcript with the journal applied, kept current."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.store = Store(self.out_dir)
        self.lock = threading.RLock()
        self._load()

    # -- state ---------------------------------------------------------------------------------

    def _stamp(self) -> tuple:
        def stat(name):
            path = self.out_dir / name
            return (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None
        return tuple(stat(n) for n in ("aligned.json", "diarization.json", "translations.json", "report.json", "ingest.json"))

    def _journal_stamp(self) -> int:
        return self.store._db.execute("SELECT COALESCE(MAX(id), 0) FROM actions").fetchone()[0]

    def _load(self) -> None:
        aligned = artifacts.read_artifact(self.out_dir / "aligned.json")
        diarization_path = self.out_dir / "diarization.json"
        diarization = artifacts.read_artifact(diarization_path) if diarization_path.exists() else None
        self.applier = Applier(aligned, diarization)
        self.applier.apply_all(self.store.active_edits())
        self.versions = self.store.versions()
        self.translations = self._optional("translations.json") or {}
        self.report = self._optional("report.json")
        ingest = self._optional("ingest.json") or {}
        self.tracks = {t["name"]: t for t in ingest.get("tracks", []) if isinstance(t, dict) and "name" in t}
        self.stamp, self.journal = self._stamp(), self._journal_stamp()
        self.title = self._event_title()

    def _event_title(self):
        """The event's title from the run's config (aligned.json does not carry it)."""
        from ..core.config import load_config

        config = recorded_config(self.out_dir)
        try:
            return load_config(config).event.title.model_dump() if config else None
        except (PipelineError, OSError, AttributeError):
            return None

    def _optional(self, name: str):
        path = self.out_dir / name
        if not path.exists():
            return None
        try:
            return read_json(path)
        except (OSError, ValueError):
            return None

    def fresh(self) -> None:
        """Reload when a re-run replaced the artifacts or another process wrote the journal."""
        if self._stamp() != self.stamp or self._journal_stamp() != self.journal:
            self._load()

    def track_paths(self) -> dict[str, str]:
        with self.lock:
            self.fresh()
            return {name: t["path"] for name, t in self.tracks.items() if isinstance(t.get("path"), str)}

    def floor_track(self) -> str:
        for track in self.applier.base.get("tracks", []):
            if isinstance(track, dict) and track.get("role") == "floor":
                return track.get("name", "floor")
        return "floor"

    def client_segment(self, sid: str) -> dict:
        s = self.applier.segments[sid]
        languages = self.applier.base.get("languages") or ["en", "ja"]
        target = next((lang for lang in languages if lang != s.get("language")), None)
        machine = (self.translations.get("segments") or {}).get(sid, {}).get(target) if target else None
        edited = self.applier.translations.get(sid, {}).get(target) if target else None
        translation = None
        if edited is not None:
            translation = {"lang": target, "text": edited, "source": "editor"}
        elif isinstance(machine, dict) and machine.get("text"):
            translation = {"lang": target, "text": machine["text"], "source": machine.get("source", "machine"),
                           "status": machine.get("status"), "quality": machine.get("quality")}
        return {"id": sid, "track": s["track"], "start": s["start_s"], "end": s["end_s"], "lang": s.get("language"),
                "text": s["text"], "words": [[w["start_s"], w["end_s"], w["text"], round(w["probability"], 3)]
                                             for w in s.get("words") or []],
                "conf": s.get("confidence"), "flags": s.get("flags", []), "speaker": s.get("speaker"),
                "name": s.get("speaker_name"), "voice": self.applier.voice_of.get(sid), "session": s.get("session"),
                "status": self.applier.status.get(sid, "unreviewed"), "version": self.versions.get(f"seg:{sid}", 0),
                "edited": sid in self.applier.edited, "translation": translation, "target": target,
                "corrections": _standing_corrections(s)}

    def interpretation(self) -> dict[str, dict]:
        """What the interpreter said for each floor segment: the translate stage's pairing when
        it exists, else the interpretation-track segments nearest in time (shifted by the delay)."""
        paired = self.translations.get("interpretation") if isinstance(self.translations, dict) else None
        if isinstance(paired, dict) and paired:
            result = {}
            for sid, v in paired.items():
                if not isinstance(v, dict):
                    continue
                ids = [i for i in v.get("segment_ids") or [] if i in self.applier.segments]
                first = self.applier.segments[ids[0]] if ids else None
                result[sid] = {"text": v.get("text", ""), "confidence": v.get("confidence"), "source": "paired",
                               "segments": ids, "start": first["start_s"] if first else None,
                               "track": first["track"] if first else None}
            return result
        floor_name = self.floor_track()
        floor = [self.applier.segments[i] for i in self.applier.order if self.applier.segments[i]["track"] == floor_name]
        starts = [s["start_s"] for s in floor]
        result: dict[str, dict] = {}
        for sid in self.applier.order:
            s = self.applier.segments[sid]
            if s["track"] == floor_name:
                continue
            start, end = s["start_s"] - INTERPRETATION_DELAY_S, s["end_s"] - INTERPRETATION_DELAY_S
            i = max(0, bisect.bisect_left(starts, start) - 3)
            best, best_overlap = None, 0.0
            while i < len(floor) and floor[i]["start_s"] < end:
                shared = min(end, floor[i]["end_s"]) - max(start, floor[i]["start_s"])
                if shared > best_overlap:
                    best, best_overlap = floor[i]["id"], shared
                i += 1
            if best:
                entry = result.setdefault(best, {"text": "", "segments": [], "source": "by time", "start": s["start_s"],
                                                 "track": s["track"]})
                entry["text"] = (entry["text"] + " " + s["text"]).strip()
                entry["segments"].append(sid)
        return result

    def summary(self) -> dict:
        a = self.applier
        reviewed = sum(1 for sid in a.order if a.status.get(sid) == "reviewed")
        sections = report_sections(self.report)
        return {"segments": len(a.order), "reviewed": reviewed, "conflicts": list(a.conflicts.values()),
                "sections": {str(s["id"]): a.sections.get(str(s["id"]), "unreviewed") for s in sections},
                "section_versions": {str(s["id"]): self.versions.get(f"section:{s['id']}", 0) for s in sections},
                "section_texts": a.section_texts}

    def state(self) -> dict:
        a = self.applier
        return {"segments": [self.client_segment(sid) for sid in sorted(a.order, key=lambda i: a.segments[i]["start_s"])],
                "people": {k: {"name": v.get("name"), "title": v.get("title"), "affiliation": v.get("affiliation")}
                           for k, v in a.people.items()},
                "voices": a.voices, "sessions": a.base.get("sessions", []), "floor": self.floor_track(),
                "tracks": [{"name": n, "role": t.get("role"), "language": t.get("language")} for n, t in self.tracks.items()],
                "interpretation": self.interpretation(), "report": self.report, "summary": self.summary(),
                "low_confidence": LOW_CONFIDENCE, "title": self.title}

    # -- changes -------------------------------------------------------------------------------

    def segment(self, sid: str) -> dict | None:
        return self.applier.segments.get(sid)

    def gone(self, sid: str) -> tuple[int, dict]:
        return 409, {"error": f"segment {sid} no longer exists (split, merged or undone by another editor); "
                              f"reload the page and apply your change again", "reload": True}

    def record(self, editor: str, label: str, edits: list[NewEdit], expect=None, bump=None,
               reload: bool = False) -> tuple[int, dict]:
        try:
            self.store.record(editor, label, edits, expect=expect, bump=bump)
        except StaleVersion as e:
            sid = e.target.split(":", 1)[1]
            current = self.client_segment(sid) if sid in self.applier.segments else None
            return 409, {"error": str(e), "conflict": {"target": e.target, "version": e.current, "by": e.by,
                                                       "at": e.at}, "segment": current}
        if reload:
            self._load()
            return 200, {"reload": True, "summary": self.summary()}
        touched: list[str] = []
        for edit in self.store.edits_since(self.applier.last_edit_id):
            touched += self.applier.apply(edit)
        self.versions = self.store.versions()
        self.journal = self._journal_stamp()
        expected = {t.split(":", 1)[1] for t in [*(expect or {}), *(bump or [])] if t.startswith("seg:")}
        changed = [sid for sid in dict.fromkeys([*touched, *sorted(expected)]) if sid in self.applier.segments]
        return 200, {"changed": [self.client_segment(sid) for sid in changed], "summary": self.summary()}


def _standing_corrections(segment: dict) -> list[dict]:
    """The transcribe stage's changes to the agenda's spelling (``corrections``) that the text
    still carries: an editor sees what the machine changed (and can put ``from`` back); one the
    editor has already undone is not shown."""
    return [{"from": c["from"], "to": c["to"], "kind": c.get("kind"), "evidence": c.get("evidence", "")}
            for c in segment.get("corrections") or [] if c.get("to") and c["to"] in segment.get("text", "")]
