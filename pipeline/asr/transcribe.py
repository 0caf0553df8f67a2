"""Stage ``transcribe``: language per speech segment, then Whisper on windows of one language.

Plan, for each track:
1. the VAD segments are grouped into checkpoint chunks (``checkpoint_every_s`` of audio each);
2. within a chunk, each VAD segment gets its language from a short encoder pass, restricted
   to the event's languages (never one language per file);
3. segments of one language are packed into windows of at most 30 s (``packing.py``) and
   each window is decoded with word timestamps;
4. a segment that comes out weak is decoded again on its own — in its runner-up language when
   language identification was unsure — and the better reading is kept;
5. guards drop or flag invented text; each finished chunk is written to disk so a killed run
   resumes after the last finished chunk.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import guards
from ..core.config import Config, TranscribeSettings
from .engines import Decoded, Engine, load_engine
from .packing import SpeechSegment, Window, join_neighbours, pack_by_language, split_by_segment, window_audio
from ..core.events import message, progress
from ..core.storage import write_json
from ..media.audio import read_block
from ..core.stage import Stage, StageContext, StageOutput

DECODE_ROUNDS = 3  # first pass plus re-packed passes for what Whisper skipped
# Speech after the last decoded word longer than this was skipped, not silence: decode it again.
MAX_SILENT_TAIL_S = 1.5


def plan_chunks(segments: list[dict], every_s: float) -> list[list[dict]]:
    """Group VAD segments by start time into checkpoint chunks of ``every_s`` seconds."""
    chunks: dict[int, list[dict]] = {}
    for segment in segments:
        chunks.setdefault(int(segment["start_s"] // every_s), []).append(segment)
    return [chunks[key] for key in sorted(chunks)]


def identify(engine: Engine, wav: Path, segment: dict, languages: list[str]) -> SpeechSegment:
    start_s, end_s = segment["start_s"], segment["end_s"]
    samples = read_block(wav, start_s, end_s - start_s)
    if len(languages) == 1:
        return SpeechSegment(start_s, end_s, languages[0], 1.0, languages[0])
    ranked = sorted(engine.language_probabilities(samples, languages).items(), key=lambda kv: -kv[1])
    return SpeechSegment(start_s, end_s, ranked[0][0], ranked[0][1], ranked[1][0])


def _mean_confidence(decoded: list[Decoded]) -> float:
    words = [w.probability for d in decoded for w in d.words]
    return sum(words) / len(words) if words else 0.0


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
    counters = {"windows": 0, "segments_redecoded": 0, "language_retries": 0, "language_switched_by_retry": 0}
    counters.update({f"dropped_{r}": 0 for r in guards.DROP_REASONS})
    counters.update({f"flagged_{f}": 0 for f in (guards.FLAG_REPEATS, guards.FLAG_RATE, guards.FLAG_LOW_CONFIDENCE)})
    return counters


def decode_alone(engine: Engine, wav: Path, segment: SpeechSegment, language: str,
                 settings: TranscribeSettings) -> list[Decoded]:
    window = Window(language, (segment,))
    decoded = engine.decode(window_audio(window, lambda s, n: read_block(wav, s, n)), language,
                            settings.initial_prompt)
    return split_by_segment(decoded, window)[0]


def second_guess(engine: Engine, wav: Path, segment: SpeechSegment, language: str, readings: list[Decoded],
                 settings: TranscribeSettings, counters: dict) -> tuple[str, float, list[Decoded]]:
    """Keep a segment's reading, or its reading in the runner-up language when that is better.

    A confident language decision stands: decoding in the wrong language often yields a fluent
    translation that scores well, so the retry is only for segments whose language was unsure.
    """
    probability = segment.language_probability
    unsure = probability < settings.retry_if_language_probability_below
    weak = _mean_confidence(readings) < settings.retry_other_language_below
    if weak and unsure and segment.runner_up != language:
        counters["language_retries"] += 1
        alternative = decode_alone(engine, wav, segment, segment.runner_up, settings)
        if _mean_confidence(alternative) > _mean_confidence(readings):
            counters["language_switched_by_retry"] += 1
            return segment.runner_up, 1.0 - probability, alternative
    return language, probability, readings


def uncovered_tail(segment: SpeechSegment, readings: list[Decoded]) -> SpeechSegment | None:
    """The end part of a segment the decoder said nothing about (batched decoding stops early)."""
    words = [w for d in readings for w in d.words]
    if not words:
        return None if readings else segment
    if segment.end_s - words[-1].end_s <= MAX_SILENT_TAIL_S:
        return None
    return SpeechSegment(words[-1].end_s, segment.end_s, segment.language, segment.language_probability,
                         segment.runner_up)


def _decode_batched(engine: Engine, wav: Path, windows: list[Window], settings: TranscribeSettings) -> list[list[Decoded]]:
    """Decoder output per window; windows of one language go through the engine in batches."""
    decoded: dict[int, list[Decoded]] = {}
    for language in dict.fromkeys(w.language for w in windows):
        indices = [i for i, w in enumerate(windows) if w.language == language]
        for first in range(0, len(indices), settings.batch_size):
            batch = indices[first : first + settings.batch_size]
            audio = [window_audio(windows[i], lambda start_s, length_s: read_block(wav, start_s, length_s))
                     for i in batch]
            decoded.update(zip(batch, engine.decode_batch(audio, language, settings.initial_prompt)))
    return [decoded[i] for i in range(len(windows))]


def decode_segments(engine: Engine, wav: Path, segments: list[SpeechSegment], settings: TranscribeSettings,
                    counters: dict) -> list[tuple[str, float, list[Decoded]]]:
    """(language, language probability, readings) for each segment, in order.

    Segments are packed into windows and decoded in batches. Whisper may stop before the end
    of a window or skip a short segment; those segments are packed again and decoded in a
    further round, instead of one by one.
    """
    pieces: list[tuple[SpeechSegment, list[Decoded]]] = []
    windows = pack_by_language(segments)
    counters["windows"] += len(windows)
    for round_number in range(1, DECODE_ROUNDS + 1):
        missed = []
        for window, decoded in zip(windows, _decode_batched(engine, wav, windows, settings)):
            for segment, found in zip(window.segments, split_by_segment(decoded, window)):
                tail = uncovered_tail(segment, found)
                if tail is None or round_number == DECODE_ROUNDS:
                    pieces.append((segment, found))
                    continue
                if found:
                    pieces.append((SpeechSegment(segment.start_s, tail.start_s, segment.language,
                                                 segment.language_probability, segment.runner_up), found))
                missed.append(tail)
        if not missed:
            break
        counters["segments_redecoded"] += len(missed)
        windows = pack_by_language(missed)
    pieces.sort(key=lambda piece: piece[0].start_s)
    return [second_guess(engine, wav, s, s.language, found, settings, counters) for s, found in pieces]


def transcribe_chunk(engine: Engine, wav: Path, track: str, chunk: list[dict], languages: list[str],
                     settings: TranscribeSettings) -> dict:
    counters = new_counters()
    identified = [identify(engine, wav, segment, languages) for segment in chunk]
    identified = join_neighbours(identified, settings.retry_if_language_probability_below)
    segments = []
    for language, probability, decoded in decode_segments(engine, wav, identified, settings, counters):
        for piece in decoded:
            reason = guards.drop_reason(piece, settings.guards)
            if reason:
                counters[f"dropped_{reason}"] += 1
                continue
            found = guards.flags(piece, language, settings.guards)
            for flag in found:
                counters[f"flagged_{flag}"] += 1
            segments.append(to_segment(piece, language, probability, track, found))
    segments.sort(key=lambda s: (s["start_s"], s["end_s"]))
    return {"segments": segments, "counters": counters}


def _load_checkpoint(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing or torn: redo this chunk


def run(config: Config, ingest: dict, vad: dict, out_dir: Path, work_dir: Path) -> tuple[dict, dict, dict]:
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
        with progress(speech_s, f"transcribe {track['name']}") as tracker:
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
                tracker.update(sum(s["end_s"] - s["start_s"] for s in chunk))
    if counters["chunks_reused"]:
        message(f"transcribe: resumed, reused {counters['chunks_reused']} finished chunk(s)")
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


def run_stage(ctx: StageContext) -> StageOutput:
    artifact, model, counters = run(ctx.config, ctx.inputs["ingest.json"], ctx.inputs["vad.json"], ctx.out_dir, ctx.work_dir)
    return StageOutput(artifact, models={"asr": model}, counters=counters)


STAGE = Stage("transcribe", 2, ("transcribe", "event.languages"), ("ingest.json", "vad.json"), "transcript.json",
              run_stage, description="language per segment, then batched Whisper decoding")
