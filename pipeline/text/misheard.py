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
finds 40 lines, each read by hand a real mishearing; the demo's 140 segments, 2.
"""

from __future__ import annotations

import re
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
    heard: str  # what the line says
    form: str  # the agenda's or glossary's spelling it is one slip from

    def as_dict(self) -> dict:
        return {"heard": self.heard, "agenda": self.form}


class Misheard:
    """Finds a line's near misses of the event's Japanese forms (``find``)."""

    def __init__(self, glossary: Glossary):
        self.forms = sorted({_IGNORED.sub("", variant) for entry in glossary.entries
                             for variant in entry.variants.get("ja", ())}, key=len, reverse=True)

    @cached_property
    def _readings(self) -> dict[str, str]:
        from ..asr.kana import folded, japanese_reading

        readings = {form: folded(japanese_reading(form)) for form in self.forms}
        return {form: reading for form, reading in readings.items() if len(reading) >= MIN_READING}

    def find(self, text: str) -> list[NearMiss]:
        bare = _IGNORED.sub("", text)
        if not bare or not any(ord(ch) > 0x3000 for ch in bare):
            return []
        found: list[NearMiss] = []
        tokens = None
        for form in self.forms:
            if form in bare or any(form in miss.form for miss in found):
                continue
            heard = _spelled_near(bare, form) if len(form) >= MIN_CHARS else None
            if heard is None and form in self._readings:
                tokens = tokens if tokens is not None else _read_tokens(bare)
                heard = _read_near(bare, tokens, self._readings[form])
            if heard:
                found.append(NearMiss(heard, form))
        return found


def _read_tokens(bare: str) -> list[tuple[int, int, str]]:
    from ..asr.kana import folded, japanese_tokens

    return [(start, end, folded(kana)) for start, end, _, kana in japanese_tokens(bare)]


def _read_near(bare: str, tokens: list[tuple[int, int, str]], reading: str) -> str | None:
    """The run of whole tokens whose reading is ``reading`` (one kana off, for a long one)."""
    allowed = 0 if len(reading) < LOOSE_READING else 1
    for first in range(len(tokens)):
        said = ""
        for last in range(first, len(tokens)):
            said += tokens[last][2]
            if len(said) > len(reading) + allowed:
                break
            if Levenshtein.distance(said, reading) <= allowed:
                return bare[tokens[first][0]:tokens[last][1]]
    return None


def _spelled_near(bare: str, form: str) -> str | None:
    """The run of ``bare`` one edit from ``form`` (no digit edited, not inside a longer
    katakana or Latin word), or None."""
    for width in (len(form), len(form) - 1, len(form) + 1):
        for start in range(len(bare) - width + 1):
            run = bare[start:start + width]
            if Levenshtein.distance(run, form) != 1 or not _bounded(bare, start, start + width, form):
                continue
            if any(_is_digit(form, op.src_pos) or _is_digit(run, op.dest_pos)
                   for op in Levenshtein.editops(form, run)):
                continue
            return run
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
