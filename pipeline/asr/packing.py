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

from .engines import Decoded, Word
from ..media.audio import SAMPLE_RATE

# One Whisper window. (Packing to 24 s instead, so that batched decoding stops early less
# often, was no faster on the demo and raised its error rate from 0.107 to 0.147.)
MAX_WINDOW_S = 30.0
# Silence laid between packed segments: Whisper hears a pause there, and word timings (which
# can be off by a few tenths of a second) still fall on the right side of the join.
GAP_S = 0.8
# Same-language segments closer than this are decoded as one stretch of the recording.
NATURAL_PAUSE_S = 1.5
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

    @property
    def offsets_s(self) -> list[float]:
        """Where each segment starts inside the window's audio."""
        offsets, position = [], 0.0
        for segment in self.segments:
            offsets.append(position)
            position += segment.duration_s + GAP_S
        return offsets

    def segment_at(self, t: float) -> int:
        """Index of the segment that window time ``t`` belongs to; in a gap, the nearer one."""
        index = 0
        for i, offset in enumerate(self.offsets_s):
            if t >= offset - GAP_S / 2:
                index = i
        return index

    def to_recording_time(self, index: int, t: float) -> float:
        segment = self.segments[index]
        inside = min(max(t - self.offsets_s[index], 0.0), segment.duration_s)
        return round(segment.start_s + inside, TIME_DECIMALS)


def join_neighbours(segments: list[SpeechSegment], min_probability: float) -> list[SpeechSegment]:
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
                and segment.start_s - previous.end_s <= NATURAL_PAUSE_S
                and segment.end_s - previous.start_s <= MAX_WINDOW_S):
            joined[-1] = SpeechSegment(previous.start_s, segment.end_s, previous.language,
                                       min(previous.language_probability, segment.language_probability),
                                       previous.runner_up)
        else:
            joined.append(segment)
    return joined


def pack_by_language(segments: list[SpeechSegment]) -> list[Window]:
    """Windows of one language each, in order of their first segment."""
    open_windows: dict[str, list[SpeechSegment]] = {}
    closed: list[tuple[str, list[SpeechSegment]]] = []
    for segment in segments:
        current = open_windows.get(segment.language, [])
        length_s = sum(s.duration_s + GAP_S for s in current) + segment.duration_s
        if current and length_s > MAX_WINDOW_S:
            closed.append((segment.language, current))
            current = []
        current.append(segment)
        open_windows[segment.language] = current
    closed.extend(open_windows.items())
    windows = [Window(language, tuple(group)) for language, group in closed if group]
    return sorted(windows, key=lambda w: w.segments[0].start_s)


def window_audio(window: Window, read) -> np.ndarray:
    """The window's samples: each segment read with ``read(start_s, length_s)``, silence between."""
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)
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
