"""Japanese text helpers for the correction pass: readings (Sudachi), kana and kanji tests.

Sudachi is the analyser inside GiNZA, which the align stage uses; it is called directly because
it loads in a tenth of a second where GiNZA takes seconds.
"""

from __future__ import annotations

import re
import unicodedata

from ..core.language import japanese_morphemes

_SMALL = str.maketrans("ァィゥェォャュョヮ", "アイウエオヤユヨワ")


def katakana(text: str) -> str:
    """NFKC, hiragana as katakana, spaces and middle dots dropped."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in text)
    return re.sub(r"[\s・･]", "", text)


def is_kana(text: str) -> bool:
    return bool(text) and all("\u3040" <= ch <= "\u30ff" or ch in "・ー" for ch in text)


def kanji_only(text: str) -> bool:
    return bool(text) and all("\u3400" <= ch <= "\u9fff" or ch == "々" for ch in text)


def one_kanji_off(surface: str, form: str) -> bool:
    """Two kanji names of the same length (two or more) that differ in exactly one character."""
    return (len(surface) == len(form) >= 2 and kanji_only(surface) and kanji_only(form)
            and sum(a != b for a, b in zip(surface, form)) == 1)


def morae(reading: str) -> list[str]:
    """A katakana reading cut into morae: a small kana belongs to the kana before it (ウィ, シュ)."""
    units: list[str] = []
    for ch in reading:
        if ch in "ァィゥェォャュョヮ" and units:
            units[-1] += ch
        else:
            units.append(ch)
    return units


def one_mora_off(reading: str, key: str) -> bool:
    """Two readings of three morae or more that differ in exactly one mora (リリス, ウィリス):
    how a foreign name's first sound is most often misheard, where counting kana would make
    the one slip two edits."""
    a, b = morae(reading), morae(key)
    return len(a) == len(b) >= 3 and sum(x != y for x, y in zip(a, b)) == 1


def large(reading: str) -> str:
    """Small kana counted as large (ウィ as ウイ)."""
    return reading.translate(_SMALL)


def folded(reading: str) -> str:
    """A katakana reading with long vowels and doubled kana folded (イーダー, イイダ -> イダ)."""
    reading = reading.replace("ー", "").replace("ッ", "")
    return re.sub(r"(.)\1+", r"\1", reading)


def japanese_tokens(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, part of speech, katakana reading) of each token (Sudachi, split mode C)."""
    return [(m.begin(), m.end(), m.part_of_speech()[0], katakana(m.reading_form() or m.surface()))
            for m in japanese_morphemes(text)]


def japanese_reading(text: str) -> str:
    return "".join(reading for *_, reading in japanese_tokens(text))


def reading_by_character(text: str) -> str:
    """Each character read on its own, joined: 白山 as シロ+ヤマ where the word reads ハクサン.
    A name's kanji are often read in a way the word's dictionary entry does not give."""
    return "".join(japanese_reading(ch) for ch in text)
