"""Stage ``transcribe``: language per speech segment, then Whisper on each stretch of one language.

Plan, for each track:
1. the VAD segments are grouped into checkpoint chunks (``checkpoint_every_s`` of audio each);
2. within a chunk, each VAD segment gets its language from a short encoder pass, restricted
   to the event's languages (never one language per file);
3. consecutive segments of one language, close together, are decoded as one window of at
   most 30 s — one encoder pass, as plain faster-whisper does with its VAD;
4. a window that decodes with low confidence is also decoded in the next likely language,
   and the better-scoring reading is kept;
5. guards drop or flag invented text; each finished chunk is written to disk so a killed run
   resumes after the last finished chunk.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import guards
from .config import Config, TranscribeSettings
from .engines import Decoded, Engine, load_engine
from .ingest import SAMPLE_RATE
from .progress import bar
from .storage import write_json
from .vad import read_block

MAX_WINDOW_S = 30.0  # one Whisper window
# Segments further apart than this are not decoded together: long silences invite invented text.
MAX_JOIN_GAP_S = 2.0
TIME_DECIMALS = 3


@dataclass(frozen=True)
class SpeechSegment:
    start_s: float
    end_s: float
    language: str = ""
    language_probability: float = 0.0
    runner_up: str = ""


def plan_chunks(segments: list[dict], every_s: float) -> list[list[dict]]:
    """Group VAD segments by start time into checkpoint chunks of ``every_s`` seconds."""
    chunks: dict[int, list[dict]] = {}
    for segment in segments:
        chunks.setdefault(int(segment["start_s"] // every_s), []).append(segment)
    return [chunks[key] for key in sorted(chunks)]


def pack_windows(segments: list[SpeechSegment]) -> list[list[SpeechSegment]]:
    """Join consecutive segments of one language into windows of at most 30 s."""
    windows: list[list[SpeechSegment]] = []
    for segment in segments:
        if windows:
            current = windows[-1]
            same_language = current[-1].language == segment.language
            close = segment.start_s - current[-1].end_s <= MAX_JOIN_GAP_S
            fits = segment.end_s - current[0].start_s <= MAX_WINDOW_S
            if same_language and close and fits:
                current.append(segment)
                continue
        windows.append([segment])
    return windows


def identify(engine: Engine, wav: Path, segment: dict, languages: list[str]) -> SpeechSegment:
    start_s, end_s = segment["start_s"], segment["end_s"]
    samples = read_block(wav, start_s, end_s - start_s)
    if len(languages) == 1:
        return SpeechSegment(start_s, end_s, languages[0], 1.0, languages[0])
    ranked = sorted(engine.language_probabilities(samples, languages).items(), key=lambda kv: -kv[1])
    return SpeechSegment(start_s, end_s, ranked[0][0], ranked[0][1], ranked[1][0])


def _score(decoded: list[Decoded]) -> float:
    """Duration-weighted average log-probability: higher is the more plausible reading."""
    weights = [max(d.end_s - d.start_s, 0.1) for d in decoded]
    if not decoded:
        return float("-inf")
    return sum(d.avg_logprob * w for d, w in zip(decoded, weights)) / sum(weights)


def _mean_confidence(decoded: list[Decoded]) -> float:
    words = [w.probability for d in decoded for w in d.words]
    return sum(words) / len(words) if words else 0.0


def decode_window(engine: Engine, wav: Path, window: list[SpeechSegment], settings: TranscribeSettings,
                  counters: dict) -> list[tuple[str, float, list[Decoded]]]:
    """Decode one window as (language, language probability, segments) readings.

    A weak reading of a multi-segment window is redone segment by segment (one of them may be
    in the other language); a weak single segment is also decoded in its runner-up language
    and the better-scoring reading is kept.
    """
    start_s, end_s = window[0].start_s, window[-1].end_s
    samples = read_block(wav, start_s, end_s - start_s)
    language = window[0].language
    probability = min(s.language_probability for s in window)
    decoded = engine.decode(samples, language, settings.initial_prompt)
    if _mean_confidence(decoded) < settings.retry_other_language_below:
        if len(window) > 1:
            counters["windows_split"] += 1
            return [reading for segment in window
                    for reading in decode_window(engine, wav, [segment], settings, counters)]
        runner_up = window[0].runner_up
        # A confident language decision stands: decoding in the wrong language often yields
        # a fluent translation that scores well, so the retry is only for unsure segments.
        unsure = probability < settings.retry_if_language_probability_below
        if runner_up != language and unsure:
            counters["language_retries"] += 1
            alternative = engine.decode(samples, runner_up, settings.initial_prompt)
            if _score(alternative) > _score(decoded):
                counters["language_switched_by_retry"] += 1
                language, probability, decoded = runner_up, 1.0 - probability, alternative
    return [(language, probability, [_shift(d, start_s, end_s) for d in decoded])]


def _shift(decoded: Decoded, offset_s: float, limit_s: float) -> Decoded:
    """Move times from window-relative to recording time, clipped to the window."""
    def at(t: float) -> float:
        return round(min(max(t + offset_s, offset_s), limit_s), TIME_DECIMALS)

    words = [type(w)(at(w.start_s), max(at(w.start_s), at(w.end_s)), w.text, round(w.probability, 4))
             for w in decoded.words]
    return Decoded(at(decoded.start_s), max(at(decoded.start_s), at(decoded.end_s)), decoded.text,
                   words, decoded.avg_logprob, decoded.no_speech_prob, decoded.compression_ratio)


def to_segment(decoded: Decoded, language: str, probability: float, track: str, flags: list[str]) -> dict:
    # Segment bounds follow the words when there are any: Whisper's segment timestamps drift.
    start_s, end_s = decoded.start_s, decoded.end_s
    if decoded.words:
        start_s, end_s = decoded.words[0].start_s, decoded.words[-1].end_s
    return {
        "track": track,
        "start_s": start_s,
        "end_s": end_s,
        "language": language,
        "language_probability": round(probability, 4),
        "text": decoded.text,
        "words": [{"start_s": w.start_s, "end_s": w.end_s, "text": w.text, "probability": w.probability}
                  for w in decoded.words],
        "confidence": round(guards.confidence(decoded), 4),
        "avg_logprob": round(decoded.avg_logprob, 4),
        "no_speech_prob": round(decoded.no_speech_prob, 4),
        "flags": flags,
    }


def new_counters() -> dict:
    counters = {"windows": 0, "windows_split": 0, "language_retries": 0, "language_switched_by_retry": 0}
    counters.update({f"dropped_{r}": 0 for r in guards.DROP_REASONS})
    counters.update({f"flagged_{f}": 0 for f in (guards.FLAG_REPEATS, guards.FLAG_RATE, guards.FLAG_LOW_CONFIDENCE)})
    return counters


def _flatten(readings):
    for language, probability, decoded in readings:
        for piece in decoded:
            yield language, probability, piece


def transcribe_chunk(engine: Engine, wav: Path, track: str, chunk: list[dict], languages: list[str],
                     settings: TranscribeSettings) -> dict:
    counters = new_counters()
    identified = [identify(engine, wav, segment, languages) for segment in chunk]
    segments = []
    for window in pack_windows(identified):
        counters["windows"] += 1
        for language, probability, piece in _flatten(decode_window(engine, wav, window, settings, counters)):
            reason = guards.drop_reason(piece, settings.guards)
            if reason:
                counters[f"dropped_{reason}"] += 1
                continue
            found = guards.flags(piece, language, settings.guards)
            for flag in found:
                counters[f"flagged_{flag}"] += 1
            segments.append(to_segment(piece, language, probability, track, found))
    return {"segments": segments, "counters": counters}


def _load_checkpoint(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing or torn: redo this chunk


def run(config: Config, ingest: dict, vad: dict, out_dir: Path, work_dir: Path, log) -> tuple[dict, dict, dict]:
    """Return (transcript artifact, model description, counters)."""
    settings = config.transcribe
    languages = list(config.event.languages)
    engine = None
    counters = new_counters()
    counters["chunks_reused"] = 0
    counters["chunks_transcribed"] = 0
    segments = []
    for track in ingest["tracks"]:
        wav = out_dir / track["path"]
        track_languages = [track["language"]] if track.get("language") else languages
        chunks = plan_chunks(vad["tracks"][track["name"]], settings.checkpoint_every_s)
        speech_s = sum(s["end_s"] - s["start_s"] for s in vad["tracks"][track["name"]])
        with bar(speech_s, f"transcribe {track['name']}") as progress:
            for index, chunk in enumerate(chunks):
                checkpoint = work_dir / f"{track['name']}-chunk-{index:05d}.json"
                result = _load_checkpoint(checkpoint)
                if result is None:
                    engine = engine or load_engine(settings)
                    result = transcribe_chunk(engine, wav, track["name"], chunk, track_languages, settings)
                    write_json(checkpoint, result)
                    counters["chunks_transcribed"] += 1
                else:
                    counters["chunks_reused"] += 1
                segments.extend(result["segments"])
                for key, value in result["counters"].items():
                    counters[key] = counters.get(key, 0) + value
                progress.update(sum(s["end_s"] - s["start_s"] for s in chunk))
    if counters["chunks_reused"]:
        log(f"transcribe: resumed, reused {counters['chunks_reused']} finished chunk(s)")
    for number, segment in enumerate(segments, start=1):
        segment["id"] = f"seg-{number:05d}"
    described = engine.describe() if engine else _describe_without_loading(settings)
    transcript = {
        "schema_version": 1,
        "duration_s": max(t["duration_s"] for t in ingest["tracks"]),
        "languages": languages,
        "tracks": [{"name": t["name"], "role": t["role"], "language": t.get("language")} for t in ingest["tracks"]],
        "segments": [{"id": s.pop("id"), **s} for s in segments],
    }
    return transcript, described, counters


def _describe_without_loading(settings: TranscribeSettings) -> dict:
    """All chunks came from checkpoints: name the engine without loading the model."""
    return {"engine": settings.engine, "model": settings.model, "compute_type": settings.compute_type}
