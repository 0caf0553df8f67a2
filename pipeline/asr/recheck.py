"""A second look at text that may not have been said, and what is done with it.

A flag only tells an editor; flagged text would still flow into captions, translations and the
report under a real person's name. So a piece of decoded text is a *suspect* when

- its speaking rate is one no person reaches (``guards.impossible_rate``: sixty words in one
  second), or
- it is a short, weak piece at the edge of a stretch of speech: the first or last text read
  between two pauses, over less than ``guards.edge_max_s`` of the VAD's speech, most of its span
  not heard as speech or repeating the text next to it, and weak by the decoder's own evidence
  (``weak``: word probabilities, log probability, no-speech probability, word timings).

That is where Whisper's conditioning speaks instead of the audio: after the last sentence of a
short clip, the window's last second read as the previous sentence again, as a list of agenda
names from the prompt, or as sampled nonsense (issue 23). A suspect is settled on evidence, in
this order:

1. *Speech left for it*: the VAD's speech between the trusted words before and after it, less
   the time other pieces' words already take. Less than ``guards.min_speech_left_s``: nothing is left that it
   could be the reading of, and it is dropped.
2. That speech decoded again without the prompt and at temperature 0 only (sampling at a higher
   temperature is how the fallback produces fluent nonsense). The new reading is kept when the
   guards pass it, its rate is possible, it is not weak, and it does not repeat what the
   neighbouring text already says.
3. Otherwise the suspect's own words that lie in that speech, when they make a possible,
   confident reading.
4. Otherwise it is dropped, with its reason (``impossible_rate`` or ``weak_edge``) counted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from ..core.config import GuardSettings
from . import guards
from .results import Decoded, Word

# (language, language probability, piece): what the transcribe stage turns into a segment.
Piece = tuple[str, float, Decoded]
Span = tuple[float, float]
# Decodes [start_s, end_s) of the track in a language without a prompt, times in recording time.
Redecode = Callable[[str, float, float], list[Decoded]]

DROP_IMPOSSIBLE_RATE = "impossible_rate"
DROP_WEAK_EDGE = "weak_edge"
REASONS = (DROP_IMPOSSIBLE_RATE, DROP_WEAK_EDGE)


def suspicion(piece: Decoded, language: str, at_edge: bool, speech: list[Span], repeats: bool,
              settings: GuardSettings) -> str | None:
    """Why a piece needs a second look (a ``REASONS`` entry), or None.

    A weak piece at an edge is a suspect when the VAD heard under ``edge_max_s`` of speech in its
    span and either most of its span is not speech or it repeats the text next to it (katiesteve
    under configs/demo.yaml: "Good morning. Good morning." claimed 1.7 s after the last sentence,
    0.27 s of it heard). A weak piece the VAD heard as speech is someone's unclear words: it stays
    for the editor (on the demo symposium, 「利用し。」 and 「AI。」, each its own short stretch).
    """
    if guards.impossible_rate(piece.text, language, piece.start_s, piece.end_s, settings):
        return DROP_IMPOSSIBLE_RATE
    if not at_edge:
        return None
    span_s = piece.end_s - piece.start_s
    heard_s = sum(max(0.0, min(e, piece.end_s) - max(s, piece.start_s)) for s, e in speech)
    if weak(piece, settings) and heard_s < settings.edge_max_s and (heard_s < span_s / 2 or repeats):
        return DROP_WEAK_EDGE
    return None


# A word shorter than this has no time of its own: invented words are squeezed onto one instant.
INSTANT_S = 0.02


def weak(piece: Decoded, settings: GuardSettings) -> bool:
    """The decoder's own evidence that a piece may not be speech: a low mean word probability, a
    reading its temperature fallback could not make likely, a high no-speech probability, or
    most of its words squeezed onto an instant."""
    instant = sum(1 for w in piece.words if w.end_s - w.start_s < INSTANT_S)
    return (guards.confidence(piece) < settings.low_confidence or piece.avg_logprob < settings.min_avg_logprob
            or piece.no_speech_prob > settings.no_speech_prob or instant * 2 > len(piece.words) > 0)


def edge_flags(pieces: list[Piece], pauses: list[float]) -> list[bool]:
    """For each piece (in time order), whether it is the first or last one read between two pauses."""
    regions = [sum(1 for p in pauses if p < (piece.start_s + piece.end_s) / 2) for _, _, piece in pieces]
    return [i == 0 or i == len(pieces) - 1 or regions[i - 1] != region or regions[i + 1] != region
            for i, region in enumerate(regions)]


def speech_left(piece: Decoded, speech: list[Span], taken: list[Span], reach_s: float) -> list[Span]:
    """The VAD's speech around a suspect that no other piece's words take.

    A suspect's own word timings are the least trustworthy thing about it (invented words are
    often squeezed into one instant), so its place is the gap between the trusted words before
    and after it, at most ``reach_s`` beyond its own span.
    """
    before = max((e for s, e in taken if e <= piece.start_s + 1e-6), default=piece.start_s - reach_s)
    after = min((s for s, e in taken if s >= piece.end_s - 1e-6), default=piece.end_s + reach_s)
    low, high = max(before, piece.start_s - reach_s), min(after, piece.end_s + reach_s)
    spans = [(max(s, low), min(e, high)) for s, e in speech if s < high and e > low]
    for taken_start, taken_end in taken:
        cut = []
        for start, end in spans:
            if taken_end <= start or taken_start >= end:
                cut.append((start, end))
                continue
            if taken_start > start:
                cut.append((start, taken_start))
            if taken_end < end:
                cut.append((taken_end, end))
        spans = cut
    return [(s, e) for s, e in spans if e > s]


def _said_nearby(text: str, pieces: list[Piece], index: int) -> bool:
    """Whether the text only repeats what the pieces next to it already say."""
    own = guards.normalise(text).replace(" ", "")
    around = [pieces[j][2].text for j in (index - 1, index + 1) if 0 <= j < len(pieces)]
    return bool(own) and any(own in guards.normalise(t).replace(" ", "") for t in around)


def acceptable(reading: Decoded, language: str, settings: GuardSettings) -> bool:
    """A reading the guards pass, at a possible rate and not weak."""
    return (bool(guards.normalise(reading.text)) and guards.drop_reason(reading, settings) is None
            and not guards.impossible_rate(reading.text, language, reading.start_s, reading.end_s, settings)
            and guards.confidence(reading) >= settings.low_confidence
            and reading.avg_logprob >= settings.min_avg_logprob)


def words_in(piece: Decoded, spans: list[Span]) -> Decoded | None:
    """The piece cut down to its words whose middle lies in ``spans`` (None when no word does)."""
    kept: list[Word] = [w for w in piece.words if any(s <= (w.start_s + w.end_s) / 2 <= e for s, e in spans)]
    if not kept:
        return None
    text = "".join(w.text for w in kept).strip()
    return replace(piece, start_s=kept[0].start_s, end_s=kept[-1].end_s, text=text, words=kept)


def settle(pieces: list[Piece], speech: list[Span], pauses: list[float], redecode: Redecode,
           settings: GuardSettings, counters: dict) -> list[Piece]:
    """The pieces with every suspect replaced by a reading on evidence, cut to its speech, or dropped."""
    pieces = sorted(pieces, key=lambda p: (p[2].start_s, p[2].end_s))
    edges = edge_flags(pieces, pauses)
    reasons = [suspicion(piece, language, edge, speech, _said_nearby(piece.text, pieces, index), settings)
               for index, ((language, _, piece), edge) in enumerate(zip(pieces, edges))]
    # What trusted text says, and what replacements say as they are made: two suspects side by
    # side must not both be read from the same speech.
    taken = [(w.start_s, w.end_s) for (_, _, p), reason in zip(pieces, reasons) if reason is None for w in p.words]
    settled: list[Piece] = []
    for index, ((language, probability, piece), reason) in enumerate(zip(pieces, reasons)):
        if reason is None:
            settled.append((language, probability, piece))
            continue
        counters[f"suspect_{reason}"] = counters.get(f"suspect_{reason}", 0) + 1
        left = speech_left(piece, speech, taken, settings.edge_max_s)
        replacement = None
        if sum(e - s for s, e in left) >= settings.min_speech_left_s:
            replacement = _second_reading(left, language, redecode, settings, pieces, index)
            if replacement is not None:
                counters["suspect_read_again"] = counters.get("suspect_read_again", 0) + 1
            else:
                own = words_in(piece, left)
                if own is not None and acceptable(own, language, settings) and not _said_nearby(own.text, pieces, index):
                    replacement = [own]
                    counters["suspect_cut_to_speech"] = counters.get("suspect_cut_to_speech", 0) + 1
        if replacement is None:
            counters[f"dropped_{reason}"] = counters.get(f"dropped_{reason}", 0) + 1
            continue
        settled.extend((language, probability, r) for r in replacement)
        taken.extend((w.start_s, w.end_s) for r in replacement for w in r.words)
    return sorted(settled, key=lambda p: (p[2].start_s, p[2].end_s))


def _second_reading(left: list[Span], language: str, redecode: Redecode, settings: GuardSettings,
                    pieces: list[Piece], index: int) -> list[Decoded] | None:
    """The speech left for a suspect, decoded again without the prompt; None unless every piece
    of the new reading is acceptable and says something the neighbours do not."""
    reading = redecode(language, left[0][0], left[-1][1])
    if not reading:
        return None
    if all(acceptable(r, language, settings) and not _said_nearby(r.text, pieces, index) for r in reading):
        return reading
    return None
