"""Error rates for mixed English/Japanese text (jiwer does the alignment).

English is scored in words, Japanese in characters (it has no spaces); a bilingual transcript
is scored as one token sequence in which each Japanese character and each English word is a
token, so a Japanese passage rendered as English words counts as the errors it is.
"""

from __future__ import annotations

import re
import unicodedata

import jiwer

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f々〆ヵヶ"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")


def normalise(text: str) -> str:
    """NFKC width folding, lower case, punctuation and symbols removed (kept: letters, digits, ')."""
    text = unicodedata.normalize("NFKC", text).lower()
    kept = [ch if unicodedata.category(ch)[0] in "LN" or ch in "' " else " " for ch in text]
    return " ".join("".join(kept).split())


def tokens(text: str) -> list[str]:
    """Japanese characters one by one, other words whole."""
    return _TOKEN.findall(normalise(text))


def mixed_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = tokens(reference), tokens(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return jiwer.wer(" ".join(ref), " ".join(hyp) if hyp else "")


def character_error_rate(reference: str, hypothesis: str) -> float:
    """CER over normalised text with spaces removed (for Japanese)."""
    ref = normalise(reference).replace(" ", "")
    hyp = normalise(hypothesis).replace(" ", "")
    if not ref:
        return 0.0 if not hyp else 1.0
    return jiwer.cer(ref, hyp)


# Fillers the ReazonSpeech references keep and Whisper never writes.
FILLERS = {"mhm", "uh", "um", "hmm"}


def scoring_units(text: str, unit: str) -> list[str]:
    """The units a transcript is scored in: Japanese characters ("ja"), English words after
    Whisper's English normaliser ("en", so "fifty three" and "53" agree), or both ("mixed")."""
    words = [w for w in normalise(text).split() if w not in FILLERS]
    if unit == "ja":
        return list("".join(words))
    if unit == "en":
        from whisper.normalizers import EnglishTextNormalizer

        return EnglishTextNormalizer()(" ".join(words)).split()
    return tokens(" ".join(words))


def inserted_units(reference: str, hypothesis: str, unit: str) -> dict:
    """Units of the hypothesis beyond the reference (jiwer's alignment), with the error rate:
    ``{"inserted", "edits", "length", "rate"}``. Insertions are what a transcript says that was
    not said; substitutions are what it heard wrong."""
    ref, hyp = scoring_units(reference, unit), scoring_units(hypothesis, unit)
    if not ref:
        return {"inserted": len(hyp), "edits": len(hyp), "length": 0, "rate": float(bool(hyp))}
    if not hyp:
        return {"inserted": 0, "edits": len(ref), "length": len(ref), "rate": 1.0}
    result = jiwer.process_words(" ".join(ref), " ".join(hyp))
    edits = result.insertions + result.deletions + result.substitutions
    return {"inserted": result.insertions, "edits": edits, "length": len(ref), "rate": round(edits / len(ref), 4)}
