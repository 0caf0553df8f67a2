"""Packing speech segments into Whisper windows, and mapping decoded times back.

Each VAD segment has its own language. Segments of one language within a checkpoint chunk
are laid end to end (with a short silence between them) into windows of at most 30 s, so a
bilingual exchange costs about as many encoder passes as plain faster-whisper's VAD packing,
while no window ever mixes languages. Decoded words are then mapped back to recording time
and split by the segment they fall in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..media.audio import SAMPLE_RATE
from .results import Decoded, Word

# The window length, the silence laid between packed segments and the pause joined as one
# stretch are settings (``transcribe.max_window_s``, ``gap_s``, ``natural_pause_s``). Whisper
# hears a pause at a gap, and word timings (which can be off by a few tenths of a second)
# still fall on the right side of the join. (Packing to 24 s instead of 30, so that batched
# decoding stops early less often, was no faster on the demo and raised its error rate.)
TIME_DECIMALS = 3


@dataclass(frozen=True)
class SpeechSegment:
    start_s: float
    end_s: float
    language: str = ""
    language_probability: float = 0.0
    runner_up: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Window:
    language: str
    segments: tuple[SpeechSegment, ...]
    gap_s: float = 0.8

    @property
    def offsets_s(self) -> list[float]:
        """Where each segment starts inside the window's audio."""
        offsets, position = [], 0.0
        for segment in self.segments:
            offsets.append(position)
            position += segment.duration_s + self.gap_s
        return offsets

    @property
    def duration_s(self) -> float:
        return self.offsets_s[-1] + self.segments[-1].duration_s if self.segments else 0.0

    def segment_at(self, t: float) -> int:
        """Index of the segment that window time ``t`` belongs to; in a gap, the nearer one."""
        index = 0
        for i, offset in enumerate(self.offsets_s):
            if t >= offset - self.gap_s / 2:
                index = i
        return index

    def to_recording_time(self, index: int, t: float) -> float:
        segment = self.segments[index]
        inside = min(max(t - self.offsets_s[index], 0.0), segment.duration_s)
        return round(segment.start_s + inside, TIME_DECIMALS)


def settle_short_fragments(segments: list[SpeechSegment], min_language_s: float, sure: float,
                           reach_s: float) -> list[SpeechSegment]:
    """A fragment too short to tell its language takes the language of the speech around it.

    Whisper's language identification on well under two seconds of audio is close to a coin
    toss and differs between CPUs. A short segment whose own decision is not sure takes the
    language that the neighbouring speech (within ``reach_s``) agrees on: both neighbours when
    there are two, the one when there is one. Its runner-up becomes its own first guess, so the
    retry in the other language can still win when the reading is weak.
    """
    settled = list(segments)
    for i, segment in enumerate(segments):
        if segment.duration_s >= min_language_s or segment.language_probability >= sure:
            continue
        near = [n for n in (segments[i - 1] if i else None, segments[i + 1] if i + 1 < len(segments) else None)
                if n is not None and n.duration_s >= min_language_s
                and max(n.start_s - segment.end_s, segment.start_s - n.end_s) <= reach_s]
        languages = {n.language for n in near}
        if len(languages) == 1 and segment.language not in languages:
            language = languages.pop()
            settled[i] = SpeechSegment(segment.start_s, segment.end_s, language,
                                       1.0 - segment.language_probability, segment.language)
    return settled


def join_neighbours(segments: list[SpeechSegment], min_probability: float, natural_pause_s: float,
                    max_window_s: float) -> list[SpeechSegment]:
    """Merge consecutive segments of one language separated by a short natural pause.

    Whisper reads a speaker's own pauses better than the silence we insert between packed
    segments, so a run of one language is kept as one stretch of the real recording. Only
    segments whose language is sure (``min_probability``) are joined: an unsure one may be
    decoded again in another language, and must not take its neighbours with it.
    """
    joined: list[SpeechSegment] = []
    for segment in segments:
        previous = joined[-1] if joined else None
        sure = previous and min(previous.language_probability, segment.language_probability) >= min_probability
        if (sure and previous.language == segment.language
                and segment.start_s - previous.end_s <= natural_pause_s
                and segment.end_s - previous.start_s <= max_window_s):
            joined[-1] = SpeechSegment(previous.start_s, segment.end_s, previous.language,
                                       min(previous.language_probability, segment.language_probability),
                                       previous.runner_up)
        else:
            joined.append(segment)
    return joined


def pad_segments(segments: list[SpeechSegment], pad_s: float, duration_s: float) -> list[SpeechSegment]:
    """Each segment widened by up to ``pad_s`` of the real recording on each side.

    The VAD cuts close to the speech (a first consonant or a final vowel can fall outside);
    Whisper reads a word better with its onset and a little room, as plain faster-whisper's own
    VAD gives it (400 ms). A pad never reaches past half the pause to the neighbouring segment,
    so two segments never share audio.
    """
    padded = []
    for i, segment in enumerate(segments):
        before = segment.start_s - segments[i - 1].end_s if i else segment.start_s * 2
        after = segments[i + 1].start_s - segment.end_s if i + 1 < len(segments) else (duration_s - segment.end_s) * 2
        start = round(segment.start_s - max(0.0, min(pad_s, before / 2)), TIME_DECIMALS)
        end = round(segment.end_s + max(0.0, min(pad_s, after / 2)), TIME_DECIMALS)
        padded.append(SpeechSegment(start, end, segment.language, segment.language_probability, segment.runner_up))
    return padded


def pack_by_language(segments: list[SpeechSegment], max_window_s: float, gap_s: float) -> list[Window]:
    """Windows of one language each, in order of their first segment."""
    open_windows: dict[str, list[SpeechSegment]] = {}
    closed: list[tuple[str, list[SpeechSegment]]] = []
    for segment in segments:
        current = open_windows.get(segment.language, [])
        length_s = sum(s.duration_s + gap_s for s in current) + segment.duration_s
        if current and length_s > max_window_s:
            closed.append((segment.language, current))
            current = []
        current.append(segment)
        open_windows[segment.language] = current
    closed.extend(open_windows.items())
    windows = [Window(language, tuple(group), gap_s) for language, group in closed if group]
    return sorted(windows, key=lambda w: w.segments[0].start_s)


def window_audio(window: Window, read) -> np.ndarray:
    """The window's samples: each segment read with ``read(start_s, length_s)``, silence between."""
    gap = np.zeros(int(window.gap_s * SAMPLE_RATE), dtype=np.float32)
    parts = []
    for segment in window.segments:
        samples = read(segment.start_s, segment.duration_s).astype(np.float32)
        # Pad or cut to the exact length the offsets assume, so times map back exactly.
        wanted = int(round(segment.duration_s * SAMPLE_RATE))
        parts.append(np.pad(samples, (0, max(0, wanted - len(samples))))[:wanted])
        parts.append(gap)
    return np.concatenate(parts[:-1]) if parts else np.zeros(0, dtype=np.float32)


def split_by_segment(decoded: list[Decoded], window: Window) -> list[list[Decoded]]:
    """Decoder output in recording time, one list per window segment."""
    per_segment: list[list[Decoded]] = [[] for _ in window.segments]
    for piece in decoded:
        if not piece.words:
            index = window.segment_at((piece.start_s + piece.end_s) / 2)
            start = window.to_recording_time(index, piece.start_s)
            end = window.to_recording_time(index, piece.end_s)
            per_segment[index].append(Decoded(start, end, piece.text, [], piece.avg_logprob,
                                              piece.no_speech_prob, piece.compression_ratio))
            continue
        groups: dict[int, list[Word]] = {}
        for word in piece.words:
            index = window.segment_at((word.start_s + word.end_s) / 2)
            start = window.to_recording_time(index, word.start_s)
            end = max(start, window.to_recording_time(index, word.end_s))
            groups.setdefault(index, []).append(Word(start, end, word.text, round(word.probability, 4)))
        for index, words in groups.items():
            text = "".join(w.text for w in words).strip()
            per_segment[index].append(Decoded(words[0].start_s, words[-1].end_s, text, words,
                                              piece.avg_logprob, piece.no_speech_prob, piece.compression_ratio))
    return per_segment


def split_at_pauses(decoded: list[Decoded], pauses: list[float]) -> list[Decoded]:
    """Decoder segments cut where the VAD heard a pause (``pauses``: times inside each pause).

    Same-language neighbours are decoded as one stretch for context, but a pause is where a
    speaker may change: each piece of text goes back to the stretch of speech it was said in.
    Text without word timings stays whole.
    """
    result = []
    for piece in decoded:
        if not piece.words:
            result.append(piece)
            continue
        groups: list[list[Word]] = [[]]
        for word in piece.words:
            middle = (word.start_s + word.end_s) / 2
            if groups[-1] and any((groups[-1][-1].start_s + groups[-1][-1].end_s) / 2 < p <= middle for p in pauses):
                groups.append([])
            groups[-1].append(word)
        for words in groups:
            text = "".join(w.text for w in words).strip()
            result.append(Decoded(words[0].start_s, words[-1].end_s, text, words, piece.avg_logprob,
                                  piece.no_speech_prob, piece.compression_ratio))
    return result


def one_language(segments: list[SpeechSegment], sure: float, min_language_s: float) -> str | None:
    """The language of a run of speech when all of it is in one: every segment says that
    language, those long enough to tell with at least ``sure`` probability, and the run as a
    whole too (probabilities weighted by duration: four short fragments that agree are as good
    as one long one). None when the run mixes languages or a decision is unsure."""
    languages = {s.language for s in segments}
    if len(languages) != 1:
        return None
    if any(s.language_probability < sure for s in segments if s.duration_s >= min_language_s):
        return None
    total_s = sum(s.duration_s for s in segments)
    if total_s <= 0 or sum(s.language_probability * s.duration_s for s in segments) / total_s < sure:
        return None
    return languages.pop()
