"""``python -m pipeline evaluate OUTPUT_DIR TRUTH_JSON``: score a run against ground truth.

The truth file lists utterances (person, language, start/end, text, reference translation,
track). Each transcript segment is matched to the truth utterance it overlaps most on the
same track; every figure is computed from those matches, so any recording with a truth file in
this format is scored the same way. Figures whose stage has not run yet say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jiwer

from ..core.errors import PipelineError
from .metrics import normalise
from ..core.storage import read_json


@dataclass
class Match:
    utterance: dict
    segments: list[dict]


def _overlap(a: dict, b: dict) -> float:
    return max(0.0, min(a["end_s"], b["end_s"]) - max(a["start_s"], b["start_s"]))


def _nearest(segment: dict, utterances: list[dict]) -> dict:
    """The utterance overlapping the segment most; with no overlap, the closest in time."""
    def key(u: dict) -> tuple[float, float]:
        gap = max(u["start_s"] - segment["end_s"], segment["start_s"] - u["end_s"], 0.0)
        return (-_overlap(segment, u), gap)

    return min(utterances, key=key)


def match(segments: list[dict], utterances: list[dict]) -> list[Match]:
    matches = {u["id"]: Match(u, []) for u in utterances}
    for segment in segments:
        same_track = [u for u in utterances if u.get("track", "floor") == segment.get("track", "floor")]
        if same_track:
            matches[_nearest(segment, same_track)["id"]].segments.append(segment)
    return list(matches.values())


def _joined(segments: list[dict], language: str) -> str:
    return ("" if language == "ja" else " ").join(s["text"] for s in segments)


def english_wer(matches: list[Match]) -> float | None:
    pairs = [(normalise(m.utterance["text"]), normalise(_joined(m.segments, "en")))
             for m in matches if m.utterance["language"] == "en"]
    pairs = [(ref, hyp) for ref, hyp in pairs if ref]
    if not pairs:
        return None
    return jiwer.wer([r for r, _ in pairs], [h for _, h in pairs])


def japanese_cer(matches: list[Match]) -> float | None:
    pairs = [(normalise(m.utterance["text"]).replace(" ", ""), normalise(_joined(m.segments, "ja")).replace(" ", ""))
             for m in matches if m.utterance["language"] == "ja"]
    pairs = [(ref, hyp) for ref, hyp in pairs if ref]
    if not pairs:
        return None
    return jiwer.cer([r for r, _ in pairs], [h for _, h in pairs])


def language_accuracy(matches: list[Match]) -> tuple[float, int] | None:
    judged = [s["language"] == m.utterance["language"] for m in matches for s in m.segments]
    return (sum(judged) / len(judged), len(judged)) if judged else None


def speaker_time_accuracy(aligned: dict, diarization: dict, utterances: list[dict]) -> float | None:
    """Share of truth speech time that the diarized turns, named by the align stage, give to
    the right person (turns cover speech, not just the words that were transcribed)."""
    voices = aligned.get("voices")
    if not voices or not diarization.get("turns"):
        return None
    total = sum(u["end_s"] - u["start_s"] for u in utterances)
    right = 0.0
    for turn in diarization["turns"]:
        person = voices.get(turn["speaker"], {}).get("person")
        right += sum(_overlap(turn, u) for u in utterances if u["person"] == person)
    return right / total if total else None


def speaker_accuracy(matches: list[Match]) -> float | None:
    """Share of truth speech time covered by segments labelled with the right person."""
    labelled = [s for m in matches for s in m.segments if s.get("speaker")]
    if not labelled:
        return None
    total = sum(m.utterance["end_s"] - m.utterance["start_s"] for m in matches)
    right = sum(_overlap(s, m.utterance) for m in matches for s in m.segments
                if s.get("speaker") == m.utterance["person"])
    return right / total if total else None


def translation_chrf(matches: list[Match]) -> float | None:
    import sacrebleu

    pairs = [(m.utterance["translation"], " ".join(s["translation"] for s in m.segments))
             for m in matches if m.utterance.get("translation") and any(s.get("translation") for s in m.segments)]
    if not pairs:
        return None
    return sacrebleu.corpus_chrf([h for _, h in pairs], [[r for r, _ in pairs]]).score


def annotation_from_rttm(path: Path):
    """A pyannote Annotation from an RTTM file (all its lines, whatever the file id)."""
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            annotation[Segment(start, start + duration)] = fields[7]
    return annotation


def annotation_from_utterances(utterances: list[dict]):
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for u in utterances:
        annotation[Segment(u["start_s"], u["end_s"]), u["id"]] = u["person"]
    return annotation


def diarization_error_rate(reference, hypothesis, duration_s: float, collar_s: float = 0.25) -> float:
    """pyannote.metrics DER with a forgiveness collar, overlapping speech included."""
    from pyannote.core import Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar_s, skip_overlap=False)
    return float(metric(reference, hypothesis, uem=Segment(0, duration_s)))


def load_truth(path: Path) -> dict:
    if not path.is_file():
        raise PipelineError(f"truth {path}: file not found")
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise PipelineError(f"truth {path}: not valid JSON ({e})") from e
    if not isinstance(truth, dict) or not isinstance(truth.get("utterances"), list):
        raise PipelineError(f"truth {path}: expected an object with an 'utterances' list")
    for i, utterance in enumerate(truth["utterances"]):
        missing = [k for k in ("id", "person", "language", "start_s", "end_s", "text") if k not in utterance]
        if missing:
            raise PipelineError(f"truth {path}: utterances[{i}] lacks {', '.join(missing)}")
    return truth


def evaluate(out_dir: Path, truth_path: Path) -> dict:
    # The aligned transcript carries speakers and sessions; before the align stage, the plain one.
    transcript_path = next((out_dir / n for n in ("aligned.json", "transcript.json") if (out_dir / n).is_file()), None)
    if transcript_path is None:
        raise PipelineError(f"output {out_dir}: no transcript.json; run the pipeline first")
    truth = load_truth(truth_path)
    transcript = read_json(transcript_path)
    figures = {}
    for track in dict.fromkeys(u.get("track", "floor") for u in truth["utterances"]):
        utterances = [u for u in truth["utterances"] if u.get("track", "floor") == track]
        segments = [s for s in transcript["segments"] if s.get("track", "floor") == track]
        if not segments:
            continue
        matches = match(segments, utterances)
        accuracy = language_accuracy(matches)
        figures[track] = {
            "utterances": len(utterances),
            "segments": len(segments),
            "utterances_without_text": sum(1 for m in matches if not m.segments),
            "english_wer": english_wer(matches),
            "japanese_cer": japanese_cer(matches),
            "language_accuracy": accuracy[0] if accuracy else None,
            "speaker_time_accuracy": _speaker_time(out_dir, transcript, utterances, matches, track),
            "diarization_error_rate": _der(out_dir, track, utterances, transcript["duration_s"]),
            "session_boundary_error_s": _session_error(transcript, truth) if track == "floor" else None,
            "translation_chrf": translation_chrf(matches),
        }
    return figures


LABELS = {
    "english_wer": ("English word error rate", "{:.1%}"),
    "japanese_cer": ("Japanese character error rate", "{:.1%}"),
    "language_accuracy": ("segments with the right language", "{:.1%}"),
    "speaker_time_accuracy": ("speech time given to the right person", "{:.1%}"),
    "diarization_error_rate": ("diarization error rate (collar 0.25 s)", "{:.1%}"),
    "session_boundary_error_s": ("median session boundary error", "{:.1f} s"),
    "translation_chrf": ("translation chrF", "{:.1f}"),
}
NOT_YET = {
    "speaker_time_accuracy": "n/a (no speaker labels: the diarize/align stages have not run)",
    "translation_chrf": "n/a (no translations: the translate stage has not run)",
    "diarization_error_rate": "n/a (no diarization.rttm: the diarize stage has not run)",
    "session_boundary_error_s": "n/a (needs sessions in the truth and the align stage's output)",
}


def _speaker_time(out_dir: Path, transcript: dict, utterances: list[dict], matches: list[Match], track: str):
    diarization_path = out_dir / "diarization.json"
    if track == "floor" and diarization_path.is_file():
        by_turns = speaker_time_accuracy(transcript, read_json(diarization_path), utterances)
        if by_turns is not None:
            return by_turns
    return speaker_accuracy(matches)


def _session_error(transcript: dict, truth: dict) -> float | None:
    """Median distance between each session's true start and the start the pipeline found."""
    import statistics

    found = {s["id"]: s["start_s"] for s in transcript.get("sessions", []) if s.get("start_s") is not None}
    errors = [abs(found[s["id"]] - s["start_s"]) for s in truth.get("sessions", [])[1:] if s["id"] in found]
    return statistics.median(errors) if errors else None


def _der(out_dir: Path, track: str, utterances: list[dict], duration_s: float) -> float | None:
    rttm = out_dir / "diarization.rttm"
    if track != "floor" or not rttm.exists():
        return None
    return diarization_error_rate(annotation_from_utterances(utterances), annotation_from_rttm(rttm), duration_s)


FLOOR_ONLY = ("diarization_error_rate", "session_boundary_error_s")


def report(figures: dict) -> str:
    lines = []
    for track, values in figures.items():
        not_yet = NOT_YET if track == "floor" else {**NOT_YET, **{k: "n/a (floor track only)" for k in FLOOR_ONLY}}
        lines.append(f"track {track}: {values['segments']} segments for {values['utterances']} utterances "
                     f"({values['utterances_without_text']} utterances got no text)")
        for key, (label, fmt) in LABELS.items():
            value = values[key]
            shown = fmt.format(value) if value is not None else not_yet.get(key, "n/a (none in the truth)")
            lines.append(f"  {label:40} {shown}")
    return "\n".join(lines) if lines else "no transcript segments on any track of the truth file"
