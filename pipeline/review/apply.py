"""The ``review`` stage: the editors' journal applied to ``aligned.json`` -> ``reviewed.json``.

Edits are applied oldest first. Each is placed where it was made when that segment is still
there with the text it replaced; after a re-run (other VAD settings, another model) the ids and
times move, so an edit is placed again by time overlap and text similarity: a text correction
finds the passage it replaced (with a little context) in the overlapping segments, a speaker or
status finds the segment saying the same thing, a voice reassignment finds the same voice again:
the one voice of the re-run that holds most of that speech and whose own speech is mostly it (a
re-run that joined two voices, or cut one in two, gets no one's rename: that is a conflict). A
per-segment speaker change always wins over a voice-level one, whichever came first. An edit that
cannot be placed is listed as a conflict in
``review_summary.conflicts`` (and shown in the app) until an editor resolves it; it is never
dropped. The same ``Applier`` backs the web app, one edit at a time.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from ..core import artifacts
from ..core.language import joiner
from ..core.stage import Stage, StageContext, StageOutput
from ..core.storage import read_json
from .store import Edit, Store, journal_inputs
from .words import changes, mean_probability, retime_words, similarity, split_point

artifacts.register("reviewed.json", artifacts.AlignedArtifact)

SAME_TEXT = 0.9  # the segment an edit was made on, still saying (nearly) the same thing
SAME_PASSAGE = 0.75  # a translation still fits the segment's content
NEAR_S = 0.5  # time slack when matching an anchor's span
SEARCH_S = 2.0  # how far around an anchor a re-run's segments are searched for a passage
SAME_VOICE = 0.5  # a re-run's voice is the edited voice when more than this share of each one's time is the other's
CONTEXTS = (12, 6, 3, 0)  # characters of context tried, most specific first, to place a passage


class Unplaceable(Exception):
    """An edit that no segment of the current transcript can take (becomes a conflict)."""


@dataclass
class Placement:
    segments: list[str]  # segment ids the edit changed
    how: str  # "exact": where it was made; "reattached": found again after a re-run; "already": nothing to do


def _overlap(a: dict, b: dict) -> float:
    return max(0.0, min(a["end_s"], b["end_s"]) - max(a["start_s"], b["start_s"]))


class Applier:
    """Aligned segments with edits applied, kept in memory so the app can apply one more cheaply."""

    def __init__(self, aligned: dict, diarization: dict | None = None):
        self.base = aligned
        self.segments: dict[str, dict] = {s["id"]: dict(s) for s in aligned["segments"]}
        self.order: list[str] = [s["id"] for s in sorted(aligned["segments"], key=lambda s: (s["track"], s["start_s"]))]
        self.people = {k: dict(v) for k, v in aligned.get("people", {}).items()}
        self.voices = {k: dict(v) for k, v in aligned.get("voices", {}).items()}
        self.voice_of = _voices_of(aligned, diarization)
        self.status: dict[str, str] = {}
        self.edited: dict[str, list[int]] = {}
        self.pinned: set[str] = set()  # segments whose speaker an editor set one by one: voice edits pass them by
        self.translations: dict[str, dict[str, str]] = {}
        self.sections: dict[str, str] = {}
        self.section_texts: dict[str, dict[str, str]] = {}  # report sections rewritten by an editor
        self.conflicts: dict[int, dict] = {}
        self.dismissed: set[int] = set()
        self.placed: dict[int, Placement] = {}
        self.last_edit_id = 0

    # -- applying -------------------------------------------------------------------------

    def apply_all(self, edits: list[Edit]) -> None:
        self.dismissed |= {int(e.payload["edit_id"]) for e in edits if e.kind == "dismiss"}
        for edit in edits:
            self.apply(edit)
        self._place_joined()

    def _place_joined(self) -> None:
        """A re-run that joins several segments into one: marks, speakers and translations that
        each covered a part are placed together when between them they say the whole segment
        (similarity of the joined texts) with the same value (every part reviewed, every part said by the same person; the
        translations of the parts, in order, translate the whole)."""
        pending = [c for c in self.conflicts.values() if c["kind"] in ("status", "speaker", "translation")]
        if not pending:
            return
        for sid in list(self.order):
            segment = self.segments[sid]
            inside = sorted((c for c in pending if c["edit"] in self.conflicts and c["anchor"]["track"] == segment["track"]
                             and _overlap(c["anchor"], segment) > 0.5 * max(c["anchor"]["end_s"] - c["anchor"]["start_s"], 1e-3)),
                            key=lambda c: c["anchor"]["start_s"])
            groups: dict[tuple, list[dict]] = {}
            for c in inside:
                value = {"status": "status", "speaker": "person", "translation": "language"}[c["kind"]]
                groups.setdefault((c["kind"], c["payload"][value]), []).append(c)
            for (kind, value), parts in groups.items():
                # Between them the parts say what the whole says (the pauses that joined them are silent).
                joined = joiner(segment.get("language", "en")).join(c["anchor"]["text"] for c in parts)
                # A reviewed mark vouches for the words themselves; a speaker or a translation for the passage.
                if similarity(joined, segment["text"]) < (SAME_TEXT if kind == "status" else SAME_PASSAGE):
                    continue
                if kind == "status":
                    self.status[sid] = value
                elif kind == "speaker":
                    self._add_person(parts[-1]["payload"])
                    self._set_speaker(segment, value)
                    self.pinned.add(sid)
                    self.edited.setdefault(sid, []).extend(c["edit"] for c in parts)
                else:
                    self.translations.setdefault(sid, {})[value] = joiner(value).join(c["payload"]["text"] for c in parts)
                for c in parts:
                    self.conflicts.pop(c["edit"])
                    self.placed[c["edit"]] = Placement([sid], "reattached")

    def apply(self, edit: Edit) -> list[str]:
        """Apply one edit; returns the ids of segments it changed (a conflict changes none)."""
        self.last_edit_id = max(self.last_edit_id, edit.id)
        if edit.kind == "dismiss":
            self.dismissed.add(int(edit.payload["edit_id"]))
            self.conflicts.pop(int(edit.payload["edit_id"]), None)
            return []
        if edit.id in self.dismissed:
            return []
        try:
            placement = getattr(self, f"_apply_{edit.kind}")(edit)
        except Unplaceable as e:
            self.conflicts[edit.id] = {"edit": edit.id, "kind": edit.kind, "editor": edit.editor,
                                       "at": edit.created_at, "target": edit.target, "anchor": edit.anchor,
                                       "payload": edit.payload, "reason": str(e)}
            return []
        self.placed[edit.id] = placement
        if edit.kind in ("text", "speaker", "voice", "split", "merge"):  # what the segment says or who said it
            for sid in placement.segments:
                self.edited.setdefault(sid, []).append(edit.id)
        return placement.segments

    def _apply_text(self, edit: Edit) -> Placement:
        before, after = edit.anchor["text"], edit.payload["text"]
        segment = self.segments.get(edit.anchor["segment_id"])
        if segment is not None and segment["text"] == before and segment["track"] == edit.anchor["track"]:
            self._set_text(segment, after)
            return Placement([segment["id"]], "exact")
        candidates = self._around(edit.anchor, SEARCH_S)
        plan: list[tuple[dict, int, int, str]] = []
        for left, old, new, right in changes(before, after):
            if any(left + new + right in c["text"] for c in candidates if left + right):
                continue  # the re-run already reads it the corrected way
            hit = _find_passage(candidates, left, old, right)
            if hit is None:
                raise Unplaceable(f"the replaced words «{old or '(insertion)'}» are no longer in the transcript "
                                  f"near {edit.anchor['start_s']:.1f} s")
            plan.append((hit[0], hit[1], hit[1] + len(old), new))
        if not plan:
            return Placement([], "already")
        touched = []
        for segment in dict.fromkeys(id(p[0]) for p in plan):
            seg = next(p[0] for p in plan if id(p[0]) == segment)
            text = seg["text"]
            for _, start, end, new in sorted((p for p in plan if p[0] is seg), key=lambda p: -p[1]):
                text = text[:start] + new + text[end:]
            self._set_text(seg, text)
            touched.append(seg["id"])
        return Placement(touched, "reattached")

    def _apply_translation(self, edit: Edit) -> Placement:
        segment, how = self._locate(edit.anchor, SAME_PASSAGE)
        self.translations.setdefault(segment["id"], {})[edit.payload["language"]] = edit.payload["text"]
        return Placement([segment["id"]], how)

    def _apply_status(self, edit: Edit) -> Placement:
        try:
            segments = [self._locate(edit.anchor, SAME_TEXT)[0]]
            how = "exact" if segments[0]["id"] == edit.anchor["segment_id"] else "reattached"
        except Unplaceable:
            # Cut in parts by the re-run: the parts of a reviewed passage are reviewed.
            segments = [s for s in self._around(edit.anchor, 0.0)
                        if _overlap(s, edit.anchor) >= 0.5 * max(s["end_s"] - s["start_s"], 1e-3)]
            joined = joiner(edit.anchor.get("language") or "en").join(s["text"] for s in segments)
            if not segments or similarity(joined, edit.anchor["text"]) < SAME_TEXT:
                raise
            how = "reattached"
        for segment in segments:
            self.status[segment["id"]] = edit.payload["status"]
        return Placement([s["id"] for s in segments], how)

    def _apply_section_status(self, edit: Edit) -> Placement:
        self.sections[edit.target.split(":", 1)[1]] = edit.payload["status"]
        return Placement([], "exact")

    def _apply_section_text(self, edit: Edit) -> Placement:
        self.section_texts.setdefault(edit.target.split(":", 1)[1], {})[edit.payload["language"]] = edit.payload["text"]
        return Placement([], "exact")

    def _apply_speaker(self, edit: Edit) -> Placement:
        try:
            segment, how = self._locate(edit.anchor, SAME_PASSAGE)
            segments = [segment]
        except Unplaceable:
            # The passage was cut differently: every segment mostly inside the span was said by them.
            segments = [s for s in self._around(edit.anchor, 0.0)
                        if _overlap(s, edit.anchor) >= 0.5 * max(s["end_s"] - s["start_s"], 1e-3)]
            if not segments:
                raise Unplaceable(f"no segment covers {edit.anchor['start_s']:.1f}-{edit.anchor['end_s']:.1f} s any more")
            how = "reattached"
        self._add_person(edit.payload)
        for segment in segments:
            self._set_speaker(segment, edit.payload["person"])
            self.pinned.add(segment["id"])
        return Placement([s["id"] for s in segments], how)

    def _apply_voice(self, edit: Edit) -> Placement:
        old = edit.anchor["voice"]
        spans = [{"start_s": a, "end_s": b} for a, b in edit.anchor.get("spans", [])]
        voice = self._same_voice(old, spans)
        how = "exact" if voice == old else "reattached"
        self._add_person(edit.payload)
        person = edit.payload["person"]
        if voice in self.voices:
            self.voices[voice] = {**self.voices[voice], "person": person, "confidence": 1.0,
                                  "evidence": [*self.voices[voice].get("evidence", []),
                                               f"assigned by editor {edit.editor or '(unnamed)'}"]}
        # A segment whose speaker an editor set on its own keeps it: the finer edit wins.
        touched = [sid for sid in self.order if self.voice_of.get(sid) == voice and sid not in self.pinned]
        for sid in touched:
            self._set_speaker(self.segments[sid], person)
        return Placement(touched, how)

    def _same_voice(self, old: str, spans: list[dict]) -> str:
        """The voice of this run that is ``old`` (the voice an editor renamed, by its speech then):
        it holds most of that speech, and most of its own speech is that speech, so no other
        voice of then is most of it. A re-run that joined two voices into one (or cut one in
        two) makes the rename a conflict for an editor, never a name on someone else's speech."""
        if not spans:
            raise Unplaceable(f"the edit records no speech of voice {old}")
        shares = self._voice_shares(spans)
        best = max(shares, key=shares.get, default=None)
        if best is None or shares[best] <= SAME_VOICE:
            raise Unplaceable(f"no voice of this run holds most of what {old} said any more")
        mine = [self.segments[sid] for sid in self.order if self.voice_of.get(sid) == best]
        total = sum(s["end_s"] - s["start_s"] for s in mine)
        inside = sum(_overlap(s, span) for s in mine for span in _merged(spans))
        if total > 0 and inside / total <= SAME_VOICE:
            raise Unplaceable(f"voice {best} of this run holds most of what {old} said, but only {inside / total:.0%} "
                              f"of its own speech was {old}'s: the re-run joined voices; assign its segments one by one")
        return best

    def _apply_split(self, edit: Edit) -> Placement:
        anchor, offset = edit.anchor, int(edit.payload["offset"])
        try:
            segment, how = self._locate(anchor, SAME_TEXT)
        except Unplaceable:
            if self._boundary_near(anchor, float(anchor.get("time_s", -1))):
                return Placement([], "already")  # the re-run cut there by itself
            raise
        if segment["text"] != anchor["text"]:
            left, right = anchor["text"][:offset][-12:], anchor["text"][offset:][:12]
            found = segment["text"].find(left + right)
            if found < 0:
                raise Unplaceable("the place of the split is no longer in the segment's text")
            offset = found + len(left)
        time_s, first_words, second_words = split_point(segment, offset)
        if not segment["start_s"] < time_s < segment["end_s"]:
            raise Unplaceable("a split must fall inside the segment")
        sid = segment["id"]
        parts = [{**segment, "id": f"{sid}.1", "end_s": time_s, "text": segment["text"][:offset].strip(),
                  "words": first_words, "confidence": mean_probability(first_words, segment.get("confidence", 1.0))},
                 {**segment, "id": f"{sid}.2", "start_s": time_s, "text": segment["text"][offset:].strip(),
                  "words": second_words, "confidence": mean_probability(second_words, segment.get("confidence", 1.0))}]
        self._replace([sid], parts)
        return Placement([p["id"] for p in parts], how)

    def _apply_merge(self, edit: Edit) -> Placement:
        first, how = self._locate(edit.anchor, SAME_TEXT)
        second, _ = self._locate(edit.anchor["next"], SAME_TEXT)
        if first is second:
            return Placement([], "already")
        i = self.order.index(first["id"])
        if i + 1 >= len(self.order) or self.order[i + 1] != second["id"]:
            raise Unplaceable("the two segments are no longer neighbours on one track")
        words = [*first.get("words", []), *second.get("words", [])]
        merged = {**first, "end_s": second["end_s"],
                  "text": first["text"].rstrip() + joiner(first.get("language", "en")) + second["text"].lstrip(),
                  "words": words, "confidence": mean_probability(words, first.get("confidence", 1.0)),
                  "flags": list(dict.fromkeys([*first.get("flags", []), *second.get("flags", [])]))}
        both_reviewed = self.status.get(first["id"]) == self.status.get(second["id"]) == "reviewed"
        self._replace([first["id"], second["id"]], [merged])
        self.status.pop(second["id"], None)
        if not both_reviewed:
            self.status.pop(first["id"], None)
        return Placement([merged["id"]], how)

    # -- placing ---------------------------------------------------------------------------

    def _around(self, anchor: dict, slack_s: float) -> list[dict]:
        lo, hi = anchor["start_s"] - slack_s, anchor["end_s"] + slack_s
        return [s for s in (self.segments[i] for i in self.order)
                if s["track"] == anchor["track"] and s["end_s"] > lo and s["start_s"] < hi]

    def _locate(self, anchor: dict, min_similarity: float) -> tuple[dict, str]:
        """The segment an anchor points at: its own id if it still says the same, else the
        overlapping segment saying the most similar thing."""
        segment = self.segments.get(anchor["segment_id"])
        if (segment is not None and segment["track"] == anchor["track"] and _overlap(segment, anchor) > 0
                and (segment["text"] == anchor["text"] or similarity(segment["text"], anchor["text"]) >= SAME_TEXT)):
            return segment, "exact"
        best, best_score = None, 0.0
        for candidate in self._around(anchor, NEAR_S):
            score = similarity(candidate["text"], anchor["text"])
            if score >= min_similarity and score > best_score:
                best, best_score = candidate, score
        if best is None:
            raise Unplaceable(f"no segment near {anchor['start_s']:.1f} s says «{anchor['text'][:40]}» any more")
        return best, "reattached"

    def _boundary_near(self, anchor: dict, time_s: float) -> bool:
        return any(abs(s["end_s"] - time_s) < NEAR_S for s in self._around(anchor, 0.0))

    def _voice_shares(self, spans: list[dict]) -> dict[str, float]:
        """Per voice: the share of ``spans`` (seconds) its segments overlap now."""
        total = sum(s["end_s"] - s["start_s"] for s in spans) or 1.0
        floor = [self.segments[i] for i in self.order if self.voice_of.get(i)]
        starts = [s["start_s"] for s in floor]
        shares: dict[str, float] = {}
        for span in spans:
            i = max(0, bisect.bisect_left(starts, span["start_s"]) - 1)
            while i < len(floor) and floor[i]["start_s"] < span["end_s"]:
                shared = _overlap(floor[i], span)
                if shared:
                    voice = self.voice_of[floor[i]["id"]]
                    shares[voice] = shares.get(voice, 0.0) + shared / total
                i += 1
        return shares

    # -- changing ----------------------------------------------------------------------------

    def _set_text(self, segment: dict, text: str) -> None:
        words = retime_words(segment, text)
        segment.update(text=text, words=words, confidence=mean_probability(words, segment.get("confidence", 1.0)))

    def _add_person(self, payload: dict) -> None:
        person = payload["person"]
        if person not in self.people:
            name = payload.get("name") or person
            self.people[person] = {"name": {"en": name, "ja": name}, "added_by_editor": True}

    def _set_speaker(self, segment: dict, person: str) -> None:
        segment.update(speaker=person, speaker_name=self.people.get(person, {}).get("name"), speaker_confidence=1.0)

    def _replace(self, old_ids: list[str], new: list[dict]) -> None:
        at = self.order.index(old_ids[0])
        voice = self.voice_of.get(old_ids[0])
        status = self.status.get(old_ids[0])
        pinned = old_ids[0] in self.pinned  # the new segments keep the first one's speaker
        for sid in old_ids:
            self.order.remove(sid)
            self.segments.pop(sid)
        for k, segment in enumerate(new):
            self.order.insert(at + k, segment["id"])
            self.segments[segment["id"]] = segment
            self.voice_of[segment["id"]] = voice
            if status and segment["id"] not in old_ids:
                self.status[segment["id"]] = status
            if pinned:
                self.pinned.add(segment["id"])

    # -- results -----------------------------------------------------------------------------

    def segment_view(self, sid: str, versions: dict[str, int]) -> dict:
        segment = self.segments[sid]
        review = {"status": self.status.get(sid, "unreviewed"), "version": versions.get(f"seg:{sid}", 0),
                  "edited": sid in self.edited}
        if sid in self.translations:
            review["translation"] = self.translations[sid]
        return {**segment, "voice": self.voice_of.get(sid), "review": review}

    def artifact(self, versions: dict[str, int]) -> dict:
        segments = [self.segment_view(sid, versions) for sid in self.order]
        segments.sort(key=lambda s: (s["start_s"], s["track"]))
        hows = [p.how for p in self.placed.values()]
        summary = {"segments": len(segments),
                   "reviewed": sum(1 for s in segments if s["review"]["status"] == "reviewed"),
                   "edits_applied": len(hows), "edits_reattached": hows.count("reattached"),
                   "edits_already_in_transcript": hows.count("already"),
                   "conflicts": list(self.conflicts.values()), "dismissed": sorted(self.dismissed),
                   "report_sections": dict(self.sections), "report_section_texts": self.section_texts}
        base = {k: v for k, v in self.base.items() if k not in ("segments", "provenance", "voices", "people")}
        return {**base, "voices": self.voices, "people": self.people, "segments": segments, "review_summary": summary}


def _merged(spans: list[dict]) -> list[dict]:
    """Spans joined where they overlap, so no second of speech counts twice."""
    result: list[dict] = []
    for span in sorted(spans, key=lambda s: s["start_s"]):
        if result and span["start_s"] <= result[-1]["end_s"]:
            result[-1] = {**result[-1], "end_s": max(result[-1]["end_s"], span["end_s"])}
        else:
            result.append(dict(span))
    return result


def _find_passage(candidates: list[dict], left: str, old: str, right: str) -> tuple[dict, int] | None:
    """The one place among ``candidates`` where ``old`` stands between (some of) its context."""
    for width in CONTEXTS:
        if not old and width == 0:
            return None
        pattern = left[len(left) - width:] if width else ""
        pattern_right = right[:width]
        hits = []
        for segment in candidates:
            text, start = segment["text"], 0
            while (found := text.find(pattern + old + pattern_right, start)) >= 0:
                hits.append((segment, found + len(pattern)))
                start = found + 1
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            return None  # ambiguous: an editor decides
    return None


def _voices_of(aligned: dict, diarization: dict | None) -> dict[str, str | None]:
    """The diarized voice of each floor segment (the turn overlapping it most)."""
    if diarization and diarization.get("turns"):
        turns = sorted(diarization["turns"], key=lambda t: t["start_s"])
        starts = [t["start_s"] for t in turns]
        result = {}
        for s in aligned["segments"]:
            if s["track"] != diarization.get("track", "floor"):
                continue
            i = max(0, bisect.bisect_left(starts, s["start_s"]) - 8)
            best, best_overlap = None, 0.0
            while i < len(turns) and turns[i]["start_s"] < s["end_s"]:
                shared = _overlap(turns[i], s)
                if shared > best_overlap:
                    best, best_overlap = turns[i]["speaker"], shared
                i += 1
            result[s["id"]] = best
        return result
    by_person: dict[str, str] = {}
    for voice, info in aligned.get("voices", {}).items():
        by_person.setdefault(info.get("person"), voice)
    return {s["id"]: by_person.get(s.get("speaker")) for s in aligned["segments"]
            if s.get("speaker") in by_person}


# -- the stage and what other wings call ------------------------------------------------------

def build(out_dir: Path, store: Store | None = None) -> tuple[Applier, dict[str, int]]:
    """The reviewed transcript as it stands now (aligned.json + the journal)."""
    out_dir = Path(out_dir)
    aligned = artifacts.read_artifact(out_dir / "aligned.json")
    diarization = artifacts.read_artifact(out_dir / "diarization.json") if (out_dir / "diarization.json").exists() else None
    own = store is None
    store = store or Store(out_dir, create=False)
    try:
        applier = Applier(aligned, diarization)
        applier.apply_all(store.active_edits())
        return applier, store.versions()
    finally:
        if own:
            store.close()


def editor_translations(out_dir: Path) -> dict[str, dict[str, str]]:
    """Translations written by editors, by reviewed segment id: {id: {"en"|"ja": text}}.

    The translate stage keeps these (source "editor") instead of translating the segment.
    They are also in reviewed.json as ``segments[].review.translation``."""
    applier, _ = build(out_dir)
    return {sid: dict(t) for sid, t in applier.translations.items() if sid in applier.segments}


def report_sections(report: dict | None) -> list[dict]:
    """The report's sections, each with an ``id`` (report.json's ``sections``)."""
    if not isinstance(report, dict):
        return []
    return [s for s in report.get("sections", []) if isinstance(s, dict) and s.get("id")]


def _read_lenient(path: Path):
    """Only the report's section ids are needed here: a report of another schema version still has them."""
    try:
        return read_json(path) if path.exists() else None
    except (OSError, ValueError):
        return None


def review_status(out_dir: Path) -> dict:
    """What publishing checks: segments and report sections reviewed or not, open conflicts."""
    out_dir = Path(out_dir)
    applier, versions = build(out_dir)
    reviewed = sum(1 for sid in applier.order if applier.status.get(sid) == "reviewed")
    report_path = out_dir / "report.json"
    sections = report_sections(_read_lenient(report_path))
    approved = sum(1 for s in sections if applier.sections.get(str(s["id"])) == "reviewed")
    return {"segments": len(applier.order), "segments_reviewed": reviewed,
            "segments_unreviewed": len(applier.order) - reviewed,
            "report_sections": len(sections), "report_sections_reviewed": approved,
            "report_sections_unreviewed": len(sections) - approved,
            "conflicts": len(applier.conflicts),
            "complete": reviewed == len(applier.order) and approved == len(sections) and not applier.conflicts}


def run_stage(ctx: StageContext) -> StageOutput:
    store = Store(ctx.out_dir, create=False)
    try:
        applier = Applier(ctx.inputs["aligned.json"], ctx.inputs.get("diarization.json"))
        applier.apply_all(store.active_edits())
        artifact = applier.artifact(store.versions())
    finally:
        store.close()
    summary = artifact["review_summary"]
    counters = {k: summary[k] for k in ("segments", "reviewed", "edits_applied", "edits_reattached")}
    counters["conflicts"] = len(summary["conflicts"])
    if summary["conflicts"]:
        from ..core.events import message

        message(f"review: {len(summary['conflicts'])} edit(s) could not be placed on this transcript; "
                f"resolve them in the review app (python -m pipeline review {ctx.out_dir})")
    return StageOutput(artifact, counters=counters)


STAGE = Stage("review", 1, (), ("aligned.json",), "reviewed.json", run_stage,
              description="the editors' corrections applied to the aligned transcript",
              reads_optional=("diarization.json",), external_inputs=journal_inputs)
