"""Agenda terms the recogniser nearly wrote: a source line that says something one slip away from
a name, title, affiliation or glossary term of the event, but not the term itself.

The recogniser's worst Japanese errors on the reference events are the organizers' own words
misheard: TMI総合法律事務所 as "DMI総合法律、事務所", 公使参事官 as "公司3時間" (the same reading),
次官補代理代行 as "時間保大理大候", センター長 as "センター町". The translation of such a line is
faithful to words nobody said ("DMI comprehensive law", "for 3 hours"), so no check on the
output catches it; the source itself shows it. A line is taken as misheard where

- its text, punctuation aside, holds a run one edit (a character changed, added or dropped) from
  a Japanese form of at least ``MIN_CHARS`` characters, the edit not a digit (セッション1 is
  not misheard as セッションに) and the run not inside a longer katakana or Latin word (ウィリス
  is not in エンティティリスト); or
- its reading (Sudachi) holds the reading of a form of at least ``MIN_READING`` kana (one kana
  off for forms of ``LOOSE_READING`` kana or more) where the text does not hold the form.

Only Japanese lines are read: English names and terms are corrected by the recogniser's own pass
(asr/correct.py) at a looser distance. On the 3-hour benchmark's 2,935 Japanese segments this
finds 49, each read by hand a real mishearing; on the demo's 140, 2. The transcribe stage
corrects the slips of titles, affiliations and terms (asr/correct.py); the translate stage flags
the translation of a line that still holds one (quality.with_near_misses).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz.distance import Levenshtein

from .glossary import Glossary

MIN_CHARS = 5
MIN_READING = 6
LOOSE_READING = 8
_IGNORED = re.compile(r"[\s、。，,・･「」『』（）()]")
_KANA_OR_LATIN = re.compile(r"[\u30a0-\u30ffA-Za-z]")


@dataclass(frozen=True)
class NearMiss:
    heard: str  # what the line says (punctuation inside it aside)
    form: str  # the agenda's or glossary's spelling it is one slip from
    start: int = 0  # where the slip is in the text given to ``find``
    end: int = 0

    def as_dict(self) -> dict:
        return {"heard": self.heard, "agenda": self.form}


class Misheard:
    """Finds a line's near misses of the event's Japanese forms (``find``)."""

    def __init__(self, forms: Iterable[str]):
        self.forms = sorted({b for b in map(bare, forms) if b}, key=len, reverse=True)

    @classmethod
    def from_glossary(cls, glossary: Glossary) -> "Misheard":
        return cls(variant for entry in glossary.entries for variant in entry.variants.get("ja", ()))

    @cached_property
    def _readings(self) -> dict[str, str]:
        from ..asr.kana import folded, japanese_reading

        readings = {form: folded(japanese_reading(form)) for form in self.forms}
        return {form: reading for form, reading in readings.items() if len(reading) >= MIN_READING}

    def find(self, text: str) -> list[NearMiss]:
        kept = [i for i, ch in enumerate(text) if not _IGNORED.match(ch)]  # offset in compact -> offset in text
        compact = "".join(text[i] for i in kept)
        if not compact or not any(ord(ch) > 0x3000 for ch in compact):
            return []
        found: list[NearMiss] = []
        tokens = None
        for form in self.forms:
            if form in compact or any(form in miss.form for miss in found):
                continue
            span = _spelled_near(compact, form) if len(form) >= MIN_CHARS else None
            if span is None and form in self._readings:
                tokens = tokens if tokens is not None else _read_tokens(compact)
                span = _read_near(tokens, self._readings[form])
            if span and not any(m.start < kept[span[1] - 1] + 1 and kept[span[0]] < m.end for m in found):
                found.append(NearMiss(compact[span[0]:span[1]], form, kept[span[0]], kept[span[1] - 1] + 1))
        return sorted(found, key=lambda m: m.start)


def bare(text: str) -> str:
    """``text`` as near misses are looked for in it: punctuation and spaces aside."""
    return _IGNORED.sub("", text)


def _read_tokens(compact: str) -> list[tuple[int, int, str]]:
    from ..asr.kana import folded, japanese_tokens

    return [(start, end, folded(kana)) for start, end, _, kana in japanese_tokens(compact)]


def _read_near(tokens: list[tuple[int, int, str]], reading: str) -> tuple[int, int] | None:
    """The span of whole tokens whose reading is ``reading`` (one kana off, for a long one)."""
    allowed = 0 if len(reading) < LOOSE_READING else 1
    for first in range(len(tokens)):
        said = ""
        for last in range(first, len(tokens)):
            said += tokens[last][2]
            if len(said) > len(reading) + allowed:
                break
            if Levenshtein.distance(said, reading) <= allowed:
                return tokens[first][0], tokens[last][1]
    return None


def _spelled_near(compact: str, form: str) -> tuple[int, int] | None:
    """The span of ``compact`` one edit from ``form`` (no digit edited, not inside a longer
    katakana or Latin word), or None."""
    for width in (len(form), len(form) - 1, len(form) + 1):
        for start in range(len(compact) - width + 1):
            run = compact[start:start + width]
            if Levenshtein.distance(run, form) != 1 or not _bounded(compact, start, start + width, form):
                continue
            if any(_is_digit(form, op.src_pos) or _is_digit(run, op.dest_pos)
                   for op in Levenshtein.editops(form, run)):
                continue
            return start, start + width
    return None


def _is_digit(text: str, position: int) -> bool:
    return position < len(text) and text[position].isdigit()


def _bounded(text: str, start: int, end: int, form: str) -> bool:
    """The run does not continue a katakana or Latin word the form begins or ends with."""
    if _KANA_OR_LATIN.match(form[0]) and start > 0 and _KANA_OR_LATIN.match(text[start - 1]):
        return False
    if _KANA_OR_LATIN.match(form[-1]) and end < len(text) and _KANA_OR_LATIN.match(text[end]):
        return False
    return True
