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
from ..core.language import joiner
from .metrics import normalise
from ..core.artifacts import read_artifact
from ..core.storage import read_json, sha256_of


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
    return joiner(language).join(s["text"] for s in segments)


def _whisper_normaliser():
    # Whisper's own English normaliser (numbers, spellings, contractions), so the figure compares
    # with published Whisper WERs; the strict figure below keeps only case and punctuation folding.
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()


def english_wer(matches: list[Match], strict: bool = False) -> float | None:
    fold = normalise if strict else _whisper_normaliser()
    pairs = [(fold(m.utterance["text"]), fold(_joined(m.segments, "en")))
             for m in matches if m.utterance["language"] == "en"]
    pairs = [(ref, hyp) for ref, hyp in pairs if ref.strip()]
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


def language_accuracy_by_time(matches: list[Match]) -> float | None:
    """Share of transcribed time whose segment has its utterance's language (long segments weigh more)."""
    spans = [(s["end_s"] - s["start_s"], s["language"] == m.utterance["language"]) for m in matches for s in m.segments]
    total = sum(d for d, _ in spans)
    return sum(d for d, right in spans if right) / total if total else None


def naming_precision(aligned: dict, diarization: dict, utterances: list[dict]) -> float | None:
    """Of the time the pipeline gives an agenda name, the share where the truth has that person
    speaking (time named where the truth has silence or another person counts against)."""
    voices = aligned.get("voices")
    if not voices or not diarization.get("turns"):
        return None
    named = right = 0.0
    for turn in diarization["turns"]:
        person = voices.get(turn["speaker"], {}).get("person")
        if not person or person.startswith("unknown-"):
            continue
        named += turn["end_s"] - turn["start_s"]
        right += sum(_overlap(turn, u) for u in utterances if u["person"] == person)
    return right / named if named else None


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

    pairs = [(m.utterance["translation"], " ".join(s["translation"] for s in m.segments if s.get("translation")))
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
        _check_fields(path, f"utterances[{i}]", utterance, {"id": str, "person": str, "language": str,
                                                           "start_s": (int, float), "end_s": (int, float), "text": str})
    if not isinstance(truth.get("sessions", []), list):
        raise PipelineError(f"truth {path}: 'sessions' must be a list")
    for i, session in enumerate(truth.get("sessions", [])):
        _check_fields(path, f"sessions[{i}]", session, {"id": str, "start_s": (int, float)})
    return truth


def _check_fields(path: Path, where: str, item, types: dict) -> None:
    if not isinstance(item, dict):
        raise PipelineError(f"truth {path}: {where} must be an object")
    missing = [key for key in types if key not in item]
    if missing:
        raise PipelineError(f"truth {path}: {where} lacks {', '.join(missing)}")
    for key, kind in types.items():
        if not isinstance(item[key], kind) or isinstance(item[key], bool):
            raise PipelineError(f"truth {path}: {where}.{key} has the wrong type ({type(item[key]).__name__})")


def evaluate(out_dir: Path, truth_path: Path) -> dict:
    # The aligned transcript carries speakers and sessions; before the align stage, the plain one.
    transcript_path = next((out_dir / n for n in ("aligned.json", "transcript.json") if (out_dir / n).is_file()), None)
    if transcript_path is None:
        raise PipelineError(f"output {out_dir}: no transcript.json; run the pipeline first")
    truth = load_truth(truth_path)
    transcript = read_artifact(transcript_path)
    _refuse_stale(out_dir, transcript_path, transcript)
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
            "english_wer_strict": english_wer(matches, strict=True),
            "japanese_cer": japanese_cer(matches),
            "language_accuracy": accuracy[0] if accuracy else None,
            "language_accuracy_by_time": language_accuracy_by_time(matches),
            "speaker_time_accuracy": _speaker_time(out_dir, transcript, utterances, matches, track),
            "naming_precision": _naming_precision(out_dir, transcript, utterances) if track == "floor" else None,
            "diarization_error_rate": _der(out_dir, track, utterances, transcript["duration_s"]),
            "session_boundary_error_s": _session_error(transcript, truth) if track == "floor" else None,
            "first_session_start_error_s": _session_error(transcript, truth, first_only=True) if track == "floor" else None,
            "translation_chrf": translation_chrf(matches),
        }
    if "floor" in figures:  # translations.json: chrF per direction, names, checks, interpretation links
        from .translation import translation_figures

        figures["floor"].update(translation_figures(out_dir, transcript, truth["utterances"], match, _nearest))
        figures["floor"]["translation_chrf"] = figures["floor"].get("chrf_all", figures["floor"]["translation_chrf"])
    if "floor" in figures and (out_dir / "report.json").is_file():  # the report: citations, support, coverage
        from ..report.score import report_figures

        figures["floor"].update(report_figures(out_dir, truth))
    return figures


LABELS = {
    "english_wer": ("English WER (Whisper normaliser)", "{:.1%}"),
    "english_wer_strict": ("English WER (strict)", "{:.1%}"),
    "japanese_cer": ("Japanese character error rate", "{:.1%}"),
    "language_accuracy": ("segments with the right language", "{:.1%}"),
    "language_accuracy_by_time": ("speech time with the right language", "{:.1%}"),
    "speaker_time_accuracy": ("speech time given to the right person", "{:.1%}"),
    "naming_precision": ("named time that is the named person", "{:.1%}"),
    "diarization_error_rate": ("diarization error rate (collar 0.25 s)", "{:.1%}"),
    "session_boundary_error_s": ("median session boundary error", "{:.1f} s"),
    "first_session_start_error_s": ("first session start error", "{:.1f} s"),
    "translation_chrf": ("translation chrF", "{:.1f}"),
}
NOT_YET = {
    "speaker_time_accuracy": "n/a (no speaker labels: the diarize/align stages have not run)",
    "translation_chrf": "n/a (no translations: the translate stage has not run)",
    "diarization_error_rate": "n/a (no diarization.rttm: the diarize stage has not run)",
    "session_boundary_error_s": "n/a (needs sessions in the truth and the align stage's output)",
    "first_session_start_error_s": "n/a (needs sessions in the truth and the align stage's output)",
    "naming_precision": "n/a (no speaker labels: the diarize/align stages have not run)",
}


def _speaker_time(out_dir: Path, transcript: dict, utterances: list[dict], matches: list[Match], track: str):
    diarization_path = out_dir / "diarization.json"
    if track == "floor" and diarization_path.is_file():
        by_turns = speaker_time_accuracy(transcript, read_json(diarization_path), utterances)
        if by_turns is not None:
            return by_turns
    return speaker_accuracy(matches)


def _session_error(transcript: dict, truth: dict, first_only: bool = False) -> float | None:
    """Median distance between each session's true start and the start the pipeline found.

    The first session counts too: it starts where the programme starts (after music or a
    waiting room), not at 0 s, so an outline that opens it at 0 s is wrong by that much.
    """
    import statistics

    found = {s["id"]: s["start_s"] for s in transcript.get("sessions", []) if s.get("start_s") is not None}
    sessions = truth.get("sessions", [])[:1] if first_only else truth.get("sessions", [])
    errors = [abs(found[s["id"]] - s["start_s"]) for s in sessions if s["id"] in found]
    return statistics.median(errors) if errors else None


def _naming_precision(out_dir: Path, transcript: dict, utterances: list[dict]) -> float | None:
    diarization_path = out_dir / "diarization.json"
    if not diarization_path.is_file():
        return None
    return naming_precision(transcript, read_json(diarization_path), utterances)


def _refuse_stale(out_dir: Path, read_path: Path, artifact: dict) -> None:
    """aligned.json made from another transcript than the one beside it would mix two runs."""
    transcript = out_dir / "transcript.json"
    if read_path.name != "aligned.json" or not transcript.is_file():
        return
    made_from = artifact.get("provenance", {}).get("inputs", {}).get("transcript.json")
    if made_from and made_from != sha256_of(transcript):
        raise PipelineError(f"{read_path}: stale (made from an older transcript.json); "
                            f"run the pipeline with --from align before evaluating")


def _der(out_dir: Path, track: str, utterances: list[dict], duration_s: float) -> float | None:
    rttm = out_dir / "diarization.rttm"
    if track != "floor" or not rttm.exists():
        return None
    return diarization_error_rate(annotation_from_utterances(utterances), annotation_from_rttm(rttm), duration_s)


FLOOR_ONLY = ("diarization_error_rate", "session_boundary_error_s", "first_session_start_error_s", "naming_precision")


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
        from .translation import LABELS as TRANSLATION_LABELS

        for key, (label, fmt) in TRANSLATION_LABELS.items():
            if values.get(key) is not None:
                lines.append(f"  {label:40} {fmt.format(values[key])}")
        from ..report.score import LABELS as REPORT_LABELS

        for key, (label, fmt) in REPORT_LABELS.items():
            if values.get(key) is not None:
                lines.append(f"  {label:40} {fmt.format(values[key])}")
    return "\n".join(lines) if lines else "no transcript segments on any track of the truth file"
