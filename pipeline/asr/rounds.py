"""Decoding packed windows of several languages, in rounds (the transcribe stage's mixed path).

Segments are packed into windows of one language and decoded in batches; speech Whisper
skipped is packed again and decoded in a further round; a weak reading of a segment whose
language was unsure is tried in the runner-up language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.config import TranscribeSettings
from ..media.audio import read_block
from .engines import Engine
from .packing import SpeechSegment, Window, pack_by_language, split_by_segment, window_audio
from .results import Decoded


@dataclass(frozen=True)
class Prompts:
    """The decoding prompt for each language of one chunk (None: no prompt)."""

    by_language: dict

    def get(self, language: str) -> str | None:
        return self.by_language.get(language)


NO_PROMPTS = Prompts({})


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


def decode_alone(engine: Engine, wav: Path, segment: SpeechSegment, language: str,
                 settings: TranscribeSettings, prompts: Prompts) -> list[Decoded]:
    window = Window(language, (segment,), settings.gap_s)
    # One temperature-0 reading where the engine offers it (``decode_once``): only compared.
    decode = getattr(engine, "decode_once", engine.decode)
    decoded = decode(window_audio(window, lambda s, n: read_block(wav, s, n)), language, prompts.get(language))
    return split_by_segment(decoded, window)[0]


def second_guess(engine: Engine, wav: Path, segment: SpeechSegment, language: str, readings: list[Decoded],
                 settings: TranscribeSettings, counters: dict,
                 prompts: Prompts = NO_PROMPTS) -> tuple[str, float, list[Decoded]]:
    """Keep a segment's reading, or its reading in the runner-up language when that is better.

    A confident language decision stands: decoding in the wrong language often yields a fluent
    translation that scores well, so the retry is only for segments whose language was unsure.
    The runner-up wins only with a mean word probability above the guards' low-confidence line
    as well: two weak readings say nothing about the language, and the identification still
    leans the first way (demo symposium, 2 s of English read at 0.49 as 「まとまと、ビカオノブインレックスポーツ」).
    """
    probability = segment.language_probability
    unsure = probability < settings.retry_if_language_probability_below
    first = _mean_confidence(readings)
    if first < settings.retry_other_language_below and unsure and segment.runner_up != language:
        counters["language_retries"] += 1
        alternative = decode_alone(engine, wav, segment, segment.runner_up, settings, prompts)
        if _mean_confidence(alternative) > max(first, settings.guards.low_confidence):
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
