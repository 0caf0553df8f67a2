"""Stage ``transcribe``: language per speech segment, then Whisper on windows of one language.

Plan, for each track:
1. the VAD segments are grouped into checkpoint chunks (``checkpoint_every_s`` of audio each);
2. within a chunk, each VAD segment gets its language from a short encoder pass, restricted
   to the event's languages (never one language per file);
   a fragment too short to tell its language takes the language of the speech around it;
3. a chunk that is all in one language (``packing.one_language``) is decoded as plain
   faster-whisper decodes a file — its own VAD, 30-s windows with context — so that one-language
   speech never loses accuracy to our splitting (``decode_one_language``);
4. otherwise segments of one language are packed into windows of at most 30 s (``packing.py``)
   and each window is decoded with word timestamps; a segment that comes out weak is decoded
   again on its own — in its runner-up language when language identification was unsure — and
   the better reading is kept (``rounds.py``); every decoding gets a prompt built from the
   agenda and the glossary for that chunk and language (``vocabulary.py``);
5. guards drop or flag invented text (text that only repeats the prompt included); text at a
   rate no one speaks, and weak text at the edge of speech, is read again without the prompt,
   cut to the speech it lies in, or dropped (``recheck.py``);
6. near-misses of agenda names and glossary terms are corrected, each change recorded in the
   segment (``correct.py``); each finished chunk is written to disk so a killed run resumes
   after the last finished chunk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import guards, recheck
from ..core.config import Config, TranscribeSettings
from .correct import Corrector
from .engines import Engine, load_engine
from .packing import join_neighbours, one_language, pad_segments, settle_short_fragments, split_at_pauses
from .rounds import NO_PROMPTS, Prompts, decode_segments, identify
from .results import Decoded, Word
from .vocabulary import Vocabulary, count_tokens, fits_tokens
from ..core.events import message, progress
from ..core.storage import write_json
from ..core.artifacts import checkpoint_problem
from ..media.audio import read_block
from ..core.stage import Stage, StageContext, StageOutput


def plan_chunks(segments: list[dict], every_s: float) -> list[list[dict]]:
    """Group VAD segments by start time into checkpoint chunks of ``every_s`` seconds."""
    chunks: dict[int, list[dict]] = {}
    for segment in segments:
        chunks.setdefault(int(segment["start_s"] // every_s), []).append(segment)
    return [chunks[key] for key in sorted(chunks)]


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
    counters = {"windows": 0, "one_language_chunks": 0, "segments_redecoded": 0, "language_retries": 0, "language_switched_by_retry": 0,
                "fragments_settled": 0, "corrections": 0, "prompt_tokens_max": 0}
    counters.update({f"dropped_{r}": 0 for r in (*guards.DROP_REASONS, *recheck.REASONS)})
    counters.update({f"suspect_{r}": 0 for r in recheck.REASONS})
    counters.update({"suspect_read_again": 0, "suspect_cut_to_speech": 0, "prompt_free_readings": 0})
    counters.update({f"flagged_{f}": 0 for f in (guards.FLAG_REPEATS, guards.FLAG_LOW_CONFIDENCE,
                                                 guards.FLAG_UNSURE_PROMPT_WORD)})
    return counters


def prompt_budget(chunk: list[dict], settings: TranscribeSettings) -> int:
    """Tokens of agenda prompt for a chunk: ``prompt_max_tokens``, and no more than
    ``prompt_tokens_per_speech_s`` per second of its speech when that bound is set."""
    if not settings.prompt_tokens_per_speech_s:
        return settings.prompt_max_tokens
    speech_s = sum(s["end_s"] - s["start_s"] for s in chunk)
    return min(settings.prompt_max_tokens, int(settings.prompt_tokens_per_speech_s * speech_s))


def chunk_prompts(vocabulary: Vocabulary | None, engine: Engine, chunk: list[dict], duration_s: float,
                  languages: list[str], settings: TranscribeSettings) -> Prompts:
    """The prompt per language for one chunk: agenda and glossary entries, then the fixed prompt."""
    by_language = {}
    budget = prompt_budget(chunk, settings)
    for language in languages:
        parts = []
        if vocabulary is not None and settings.glossary_prompt and budget and chunk:
            start_s, end_s = chunk[0]["start_s"], chunk[-1]["end_s"]
            parts.append(vocabulary.prompt(language, start_s / duration_s, end_s / duration_s,
                                           lambda text: fits_tokens(engine, text, budget)))
        if settings.initial_prompt:
            parts.append(settings.initial_prompt)
        by_language[language] = " ".join(p for p in parts if p) or None
    return Prompts(by_language)


# Audio read around a one-language chunk's speech for the engine's own VAD (``decode_one_language``).
STRETCH_ROOM_S = 30.0


def decode_one_language(engine: Engine, wav: Path, chunk: list[dict], language: str, prompt: str | None,
                        limits: tuple[float, float]) -> list[Decoded]:
    """A chunk all in one language, decoded as plain faster-whisper decodes a file.

    Packing each pause-bounded segment with inserted silence, and choosing a language per
    segment, cost accuracy on one-language speech (ReazonSpeech test_ja_1: 0.35 CER against
    plain's 0.25; Whisper's reading of a short clip changes with 0.1 s more or less audio before
    it). Here the engine gets the audio between the neighbouring chunks' speech (``limits``), at
    most ``STRETCH_ROOM_S`` beyond the chunk's own (a long break is not read into memory), and
    its own VAD decides what it hears, as it would on the whole file.
    """
    start_s = max(limits[0], chunk[0]["start_s"] - STRETCH_ROOM_S)
    end_s = min(limits[1], chunk[-1]["end_s"] + STRETCH_ROOM_S)
    decoded = engine.decode_speech(read_block(wav, start_s, end_s - start_s), language, prompt)
    return [shifted(d, start_s) for d in decoded]


def shifted(decoded: Decoded, offset_s: float) -> Decoded:
    words = [Word(round(w.start_s + offset_s, 3), round(w.end_s + offset_s, 3), w.text, round(w.probability, 4))
             for w in decoded.words]
    return Decoded(round(decoded.start_s + offset_s, 3), round(decoded.end_s + offset_s, 3), decoded.text, words,
                   decoded.avg_logprob, decoded.no_speech_prob, decoded.compression_ratio)


def _redecoder(engine: Engine, wav: Path):
    """Decoding of a stretch of the track for ``recheck``: no prompt, temperature 0 only where the
    engine offers it (``decode_once``), times in recording time."""
    decode = getattr(engine, "decode_once", engine.decode)

    def redecode(language: str, start_s: float, end_s: float) -> list[Decoded]:
        return [shifted(d, start_s) for d in decode(read_block(wav, start_s, end_s - start_s), language, None)]

    return redecode


def transcribe_chunk(engine: Engine, wav: Path, track: str, chunk: list[dict], languages: list[str],
                     settings: TranscribeSettings, vocabulary: Vocabulary | None = None,
                     duration_s: float = 0.0, corrector: Corrector | None = None,
                     limits: tuple[float, float] | None = None) -> dict:
    counters = new_counters()
    prompts = chunk_prompts(vocabulary, engine, chunk, max(duration_s, 1e-9), languages, settings)
    identified = [identify(engine, wav, segment, languages) for segment in chunk]
    settled = settle_short_fragments(identified, settings.min_language_s, settings.retry_if_language_probability_below,
                                     settings.natural_pause_s)
    counters["fragments_settled"] += sum(a.language != b.language for a, b in zip(identified, settled))
    in_play = set()
    if vocabulary is not None and chunk and duration_s:
        in_play = vocabulary.people_around(chunk[0]["start_s"] / duration_s, chunk[-1]["end_s"] / duration_s)
    plan = ChunkPlan(engine, wav, chunk, settled, languages, settings, limits or (0.0, duration_s or chunk[-1]["end_s"]),
                     duration_s)
    pieces = None
    if prompts.by_language and vocabulary is not None and speech_s(chunk) < settings.prompt_on_mention_below_s:
        # A short stretch is read without the prompt first: a prompt far longer than what the audio
        # says is what the decoder recites (issue 23). The prompt is used only when that reading
        # names someone or something on the agenda (a near-miss of a name is a mention too).
        free_counters = new_counters()
        free = plan.read(NO_PROMPTS, free_counters)
        counters["prompt_free_readings"] += 1
        if not mentions_agenda(free, vocabulary, corrector, track, settings):
            pieces, prompts, counters = free, NO_PROMPTS, _merged(counters, free_counters)
    if pieces is None:
        pieces = plan.read(prompts, counters)
    counters["prompt_tokens_max"] = max([count_tokens(engine, p) for p in prompts.by_language.values() if p],
                                        default=0)
    segments = []
    for language, probability, piece in pieces:
        found = guards.flags(piece, language, settings.guards, prompts.get(language))
        for flag in found:
            counters[f"flagged_{flag}"] += 1
        segment = to_segment(piece, language, probability, track, found, settings)
        if corrector is not None:
            corrector.correct(segment, in_play)
            counters["corrections"] += len(segment["corrections"])
        segments.append(segment)
    segments.sort(key=lambda s: (s["start_s"], s["end_s"]))
    return {"segments": segments, "counters": counters}


def speech_s(chunk: list[dict]) -> float:
    return sum(s["end_s"] - s["start_s"] for s in chunk)


def _merged(counters: dict, more: dict) -> dict:
    return {key: counters.get(key, 0) + more.get(key, 0) for key in {**counters, **more}}


def mentions_agenda(pieces: list, vocabulary: Vocabulary, corrector: Corrector | None, track: str,
                    settings: TranscribeSettings) -> bool:
    """Whether a reading names an agenda person or glossary term, as written or as a near-miss
    the correction pass would mend."""
    for language, probability, piece in pieces:
        if vocabulary.mentioned_in(piece.text):
            return True
        if corrector is not None:
            segment = to_segment(piece, language, probability, track, [], settings)
            if corrector.correct(segment, None)["corrections"]:
                return True
    return False


@dataclass(frozen=True)
class ChunkPlan:
    """How one checkpoint chunk is decoded, whatever the prompt: the languages are settled, and
    ``read`` decodes it with a given prompt into guarded, rechecked pieces."""

    engine: Engine
    wav: Path
    chunk: list[dict]
    settled: list
    languages: list[str]
    settings: TranscribeSettings
    limits: tuple[float, float]
    duration_s: float

    def read(self, prompts: Prompts, counters: dict) -> list[tuple[str, float, Decoded]]:
        """(language, language probability, piece) for every piece of text the guards keep."""
        settings, chunk = self.settings, self.chunk
        single = one_language(self.settled, settings.join_if_language_probability_above, settings.min_language_s)
        if single and hasattr(self.engine, "decode_speech"):
            counters["one_language_chunks"] += 1
            probability = min(s.language_probability for s in self.settled)
            readings = [(single, probability, decode_one_language(self.engine, self.wav, chunk, single,
                                                                  prompts.get(single), self.limits))]
        else:
            joined = join_neighbours(self.settled, settings.join_if_language_probability_above,
                                     settings.natural_pause_s, settings.max_window_s)
            padded = pad_segments(joined, settings.context_pad_s, self.duration_s or joined[-1].end_s) if joined else []
            readings = decode_segments(self.engine, self.wav, padded, settings, counters, prompts, self.languages)
        pauses = [(a["end_s"] + b["start_s"]) / 2 for a, b in zip(chunk, chunk[1:])]
        pieces = []
        for language, probability, decoded in readings:
            for piece in split_at_pauses(decoded, pauses):
                reason = guards.drop_reason(piece, settings.guards, prompts.get(language))
                if reason:
                    counters[f"dropped_{reason}"] += 1
                    continue
                pieces.append((language, probability, piece))
        speech = [(s["start_s"], s["end_s"]) for s in chunk]
        return recheck.settle(pieces, speech, pauses, _redecoder(self.engine, self.wav), settings.guards, counters)


def _load_checkpoint(path: Path) -> dict | None:
    """A finished chunk to reuse, or None to transcribe it (again).

    A checkpoint that is torn or of the wrong shape (a stray edit, another program's file) is
    checked against the artifact schema before anything of it is reused: a bad one is set aside
    (``.damaged``, beside it) and its chunk is redone, like a damaged manifest."""
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        problem = checkpoint_problem(result)
    except (OSError, ValueError) as e:
        problem = f"not valid JSON ({str(e).splitlines()[0]})"
    if problem is None:
        return result
    path.replace(path.with_name(path.name + ".damaged"))
    message(f"transcribe: checkpoint {path.name} is damaged ({problem}); set aside as {path.name}.damaged, "
            f"transcribing that chunk again")
    return None


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
                limits = (chunks[index - 1][-1]["end_s"] if index else 0.0,
                          chunks[index + 1][0]["start_s"] if index + 1 < len(chunks) else track["duration_s"])
                checkpoint = work_dir / f"{track['name']}-chunk-{index:05d}.json"
                result = _load_checkpoint(checkpoint)
                if result is None:
                    engine = engine or load_engine(settings)
                    result = transcribe_chunk(engine, wav, track["name"], chunk, track_languages, settings,
                                              vocabulary, track["duration_s"], corrector, limits)
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


STAGE = Stage("transcribe", 5, ("transcribe", "event.languages", "event.people", "event.sessions", "event.glossary"),
              ("ingest.json", "vad.json"), "transcript.json", run_stage,
              description="language per segment, then batched Whisper decoding with the event's names and terms")
