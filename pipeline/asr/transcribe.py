"""Stage ``transcribe``: language per speech segment, then Whisper on windows of one language.

Plan, for each track:
1. the VAD segments are grouped into checkpoint chunks (``checkpoint_every_s`` of audio each);
2. within a chunk, each VAD segment gets its language from a short encoder pass, restricted
   to the event's languages (never one language per file);
   a fragment too short to tell its language takes the language of the speech around it;
3. segments of one language are packed into windows of at most 30 s (``packing.py``) and
   each window is decoded with word timestamps, with a prompt built from the agenda and the
   glossary for that chunk and language (``vocabulary.py``);
4. a segment that comes out weak is decoded again on its own — in its runner-up language when
   language identification was unsure — and the better reading is kept;
5. guards drop or flag invented text (text that only repeats the prompt included);
6. near-misses of agenda names and glossary terms are corrected, each change recorded in the
   segment (``correct.py``); each finished chunk is written to disk so a killed run resumes
   after the last finished chunk.
"""

from __future__ import annotations

import json
from pathlib import Path

from dataclasses import dataclass

from . import guards
from ..core.config import Config, TranscribeSettings
from .correct import Corrector
from .engines import Engine, load_engine
from .packing import (SpeechSegment, Window, join_neighbours, pack_by_language, pad_segments, settle_short_fragments,
                      split_at_pauses, split_by_segment, window_audio)
from .results import Decoded
from .vocabulary import Vocabulary, count_tokens, fits_tokens
from ..core.events import message, progress
from ..core.storage import write_json
from ..media.audio import read_block
from ..core.stage import Stage, StageContext, StageOutput


@dataclass(frozen=True)
class Prompts:
    """The decoding prompt for each language of one chunk (None: no prompt)."""

    by_language: dict

    def get(self, language: str) -> str | None:
        return self.by_language.get(language)


NO_PROMPTS = Prompts({})


def plan_chunks(segments: list[dict], every_s: float) -> list[list[dict]]:
    """Group VAD segments by start time into checkpoint chunks of ``every_s`` seconds."""
    chunks: dict[int, list[dict]] = {}
    for segment in segments:
        chunks.setdefault(int(segment["start_s"] // every_s), []).append(segment)
    return [chunks[key] for key in sorted(chunks)]


def identify(engine: Engine, wav: Path, segment: dict, languages: list[str]) -> SpeechSegment:
    start_s, end_s = segment["start_s"], segment["end_s"]
    # (Samples beyond transcribe.language_id_max_s are cut by the engine.)
    samples = read_block(wav, start_s, end_s - start_s)
    if len(languages) == 1:
        return SpeechSegment(start_s, end_s, languages[0], 1.0, languages[0])
    ranked = sorted(engine.language_probabilities(samples, languages).items(), key=lambda kv: -kv[1])
    return SpeechSegment(start_s, end_s, ranked[0][0], ranked[0][1], ranked[1][0])


def _mean_confidence(decoded: list[Decoded]) -> float:
    words = [w.probability for d in decoded for w in d.words]
    return sum(words) / len(words) if words else 0.0


def to_segment(decoded: Decoded, language: str, probability: float, track: str, flags: list[str],
               settings: TranscribeSettings) -> dict:
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
    counters = {"windows": 0, "segments_redecoded": 0, "language_retries": 0, "language_switched_by_retry": 0,
                "fragments_settled": 0, "corrections": 0, "prompt_tokens_max": 0}
    counters.update({f"dropped_{r}": 0 for r in guards.DROP_REASONS})
    counters.update({f"flagged_{f}": 0 for f in (guards.FLAG_REPEATS, guards.FLAG_RATE, guards.FLAG_LOW_CONFIDENCE,
                                                 guards.FLAG_UNSURE_PROMPT_WORD)})
    return counters


def decode_alone(engine: Engine, wav: Path, segment: SpeechSegment, language: str,
                 settings: TranscribeSettings, prompts: Prompts) -> list[Decoded]:
    window = Window(language, (segment,), settings.gap_s)
    decoded = engine.decode(window_audio(window, lambda s, n: read_block(wav, s, n)), language,
                            prompts.get(language))
    return split_by_segment(decoded, window)[0]


def second_guess(engine: Engine, wav: Path, segment: SpeechSegment, language: str, readings: list[Decoded],
                 settings: TranscribeSettings, counters: dict,
                 prompts: Prompts = NO_PROMPTS) -> tuple[str, float, list[Decoded]]:
    """Keep a segment's reading, or its reading in the runner-up language when that is better.

    A confident language decision stands: decoding in the wrong language often yields a fluent
    translation that scores well, so the retry is only for segments whose language was unsure.
    """
    probability = segment.language_probability
    unsure = probability < settings.retry_if_language_probability_below
    weak = _mean_confidence(readings) < settings.retry_other_language_below
    if weak and unsure and segment.runner_up != language:
        counters["language_retries"] += 1
        alternative = decode_alone(engine, wav, segment, segment.runner_up, settings, prompts)
        if _mean_confidence(alternative) > _mean_confidence(readings):
            counters["language_switched_by_retry"] += 1
            return segment.runner_up, 1.0 - probability, alternative
    return language, probability, readings


def uncovered(segment: SpeechSegment, readings: list[Decoded], max_silent_s: float,
              max_inner_gap_s: float) -> list[SpeechSegment]:
    """Parts of a segment the decoder said nothing about: before the first word, after the last
    (batched decoding stops early, or starts late), and long gaps between words."""
    words = [w for d in readings for w in d.words]
    if not words:
        return [] if readings else [segment]

    def part(start_s: float, end_s: float) -> SpeechSegment:
        return SpeechSegment(start_s, end_s, segment.language, segment.language_probability, segment.runner_up)

    missed = []
    if words[0].start_s - segment.start_s > max_silent_s:
        missed.append(part(segment.start_s, words[0].start_s))
    for before, after in zip(words, words[1:]):
        if after.start_s - before.end_s > max_inner_gap_s:
            missed.append(part(before.end_s, after.start_s))
    if segment.end_s - words[-1].end_s > max_silent_s:
        missed.append(part(words[-1].end_s, segment.end_s))
    return missed


def _decode_batched(engine: Engine, wav: Path, windows: list[Window], settings: TranscribeSettings,
                    prompts: Prompts) -> list[list[Decoded]]:
    """Decoder output per window; windows of one language go through the engine in batches."""
    decoded: dict[int, list[Decoded]] = {}
    for language in dict.fromkeys(w.language for w in windows):
        indices = [i for i, w in enumerate(windows) if w.language == language]
        for first in range(0, len(indices), settings.batch_size):
            batch = indices[first : first + settings.batch_size]
            audio = [window_audio(windows[i], lambda start_s, length_s: read_block(wav, start_s, length_s))
                     for i in batch]
            decoded.update(zip(batch, engine.decode_batch(audio, language, prompts.get(language))))
    return [decoded[i] for i in range(len(windows))]


def decode_segments(engine: Engine, wav: Path, segments: list[SpeechSegment], settings: TranscribeSettings,
                    counters: dict, prompts: Prompts = NO_PROMPTS,
                    languages: list[str] | None = None) -> list[tuple[str, float, list[Decoded]]]:
    """(language, language probability, readings) for each segment, in order.

    Segments are packed into windows and decoded in batches. Whisper may stop before the end
    of a window, start late, jump over a stretch or skip a short segment; those parts are packed
    again and decoded in a further round, instead of one by one. A skipped part long enough to
    tell its language is identified again: it is often another speaker answering in the other
    language with no pause the VAD could cut at.
    """
    pieces: list[tuple[SpeechSegment, list[Decoded]]] = []
    windows = pack_by_language(segments, settings.max_window_s, settings.gap_s)
    counters["windows"] += len(windows)
    for round_number in range(1, settings.decode_rounds + 1):
        missed = []
        for window, decoded in zip(windows, _decode_batched(engine, wav, windows, settings, prompts)):
            for segment, found in zip(window.segments, split_by_segment(decoded, window)):
                gaps = uncovered(segment, found, settings.max_silent_tail_s,
                                 settings.natural_pause_s + settings.max_silent_tail_s)
                if not gaps or round_number == settings.decode_rounds:
                    pieces.append((segment, found))
                    continue
                words = [w for d in found for w in d.words]
                if words:
                    pieces.append((SpeechSegment(min(segment.start_s, words[0].start_s), max(words[-1].end_s, words[0].start_s),
                                                 segment.language, segment.language_probability, segment.runner_up), found))
                missed.extend(gaps)
        if not missed:
            break
        counters["segments_redecoded"] += len(missed)
        if languages and len(languages) > 1:
            missed = [identify(engine, wav, {"start_s": m.start_s, "end_s": m.end_s}, languages)
                      if m.duration_s >= settings.min_language_s else m for m in missed]
        windows = pack_by_language(missed, settings.max_window_s, settings.gap_s)
    pieces.sort(key=lambda piece: piece[0].start_s)
    return [second_guess(engine, wav, s, s.language, found, settings, counters, prompts) for s, found in pieces]


def chunk_prompts(vocabulary: Vocabulary | None, engine: Engine, chunk: list[dict], duration_s: float,
                  languages: list[str], settings: TranscribeSettings) -> Prompts:
    """The prompt per language for one chunk: agenda and glossary entries, then the fixed prompt."""
    by_language = {}
    for language in languages:
        parts = []
        if vocabulary is not None and settings.glossary_prompt and settings.prompt_max_tokens and chunk:
            start_s, end_s = chunk[0]["start_s"], chunk[-1]["end_s"]
            parts.append(vocabulary.prompt(language, start_s / duration_s, end_s / duration_s,
                                           lambda text: fits_tokens(engine, text, settings.prompt_max_tokens)))
        if settings.initial_prompt:
            parts.append(settings.initial_prompt)
        by_language[language] = " ".join(p for p in parts if p) or None
    return Prompts(by_language)


def transcribe_chunk(engine: Engine, wav: Path, track: str, chunk: list[dict], languages: list[str],
                     settings: TranscribeSettings, vocabulary: Vocabulary | None = None,
                     duration_s: float = 0.0, corrector: Corrector | None = None) -> dict:
    counters = new_counters()
    prompts = chunk_prompts(vocabulary, engine, chunk, max(duration_s, 1e-9), languages, settings)
    counters["prompt_tokens_max"] = max([count_tokens(engine, p) for p in prompts.by_language.values() if p],
                                        default=0)
    identified = [identify(engine, wav, segment, languages) for segment in chunk]
    settled = settle_short_fragments(identified, settings.min_language_s, settings.retry_if_language_probability_below,
                                     settings.natural_pause_s)
    counters["fragments_settled"] += sum(a.language != b.language for a, b in zip(identified, settled))
    identified = join_neighbours(settled, settings.join_if_language_probability_above, settings.natural_pause_s,
                                 settings.max_window_s)
    if identified:
        identified = pad_segments(identified, settings.context_pad_s, duration_s or identified[-1].end_s)
    segments = []
    pauses = [(a["end_s"] + b["start_s"]) / 2 for a, b in zip(chunk, chunk[1:])]
    for language, probability, decoded in decode_segments(engine, wav, identified, settings, counters, prompts,
                                                          languages):
        for piece in split_at_pauses(decoded, pauses):
            reason = guards.drop_reason(piece, settings.guards, prompts.get(language))
            if reason:
                counters[f"dropped_{reason}"] += 1
                continue
            found = guards.flags(piece, language, settings.guards, prompts.get(language))
            for flag in found:
                counters[f"flagged_{flag}"] += 1
            segment = to_segment(piece, language, probability, track, found, settings)
            if corrector is not None:
                corrector.correct(segment)
                counters["corrections"] += len(segment["corrections"])
            segments.append(segment)
    segments.sort(key=lambda s: (s["start_s"], s["end_s"]))
    return {"segments": segments, "counters": counters}


def _load_checkpoint(path: Path) -> dict | None:
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing or torn: redo this chunk
    # Damaged but parseable (a stray edit, another program's file): redo it rather than crash.
    if not (isinstance(result, dict) and isinstance(result.get("segments"), list)
            and isinstance(result.get("counters"), dict)):
        return None
    return result


def run(config: Config, ingest: dict, vad: dict, out_dir: Path, work_dir: Path) -> tuple[dict, dict, dict]:
    """Return (transcript artifact, model description, counters)."""
    settings = config.transcribe
    languages = list(config.event.languages)
    engine = None
    counters = new_counters()
    counters["chunks_reused"] = 0
    counters["chunks_transcribed"] = 0
    segments = []
    vocabulary = Vocabulary(config.event)
    corrector = Corrector(vocabulary, settings) if settings.correct_terms and not vocabulary.empty else None
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
                    result = transcribe_chunk(engine, wav, track["name"], chunk, track_languages, settings,
                                              vocabulary, track["duration_s"], corrector)
                    write_json(checkpoint, result)
                    counters["chunks_transcribed"] += 1
                else:
                    counters["chunks_reused"] += 1
                segments.extend(result["segments"])
                for key, value in result["counters"].items():
                    if key.endswith("_max"):
                        counters[key] = max(counters.get(key, 0), value)
                    else:
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


STAGE = Stage("transcribe", 3, ("transcribe", "event.languages", "event.people", "event.sessions", "event.glossary"),
              ("ingest.json", "vad.json"), "transcript.json", run_stage,
              description="language per segment, then batched Whisper decoding with the event's names and terms")
