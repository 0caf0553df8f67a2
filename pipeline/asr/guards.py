"""Guards against text Whisper invents: on silence or music, and in repetition loops.

Each check looks at one decoded segment and answers with a reason or None. The transcribe
stage drops segments for the ``DROP_*`` reasons and flags them for the others, and counts
both in the manifest so a reviewer can see how much was removed. Text at a rate no one speaks
is never only flagged: ``recheck.py`` reads it again, cuts it to its speech, or drops it.
"""

from __future__ import annotations

import re
import unicodedata

from ..core.config import GuardSettings
from .results import Decoded

# Phrases Whisper is known to produce on silence, music or applause (from its training data:
# video captions). Only dropped when the audio evidence is also weak.
STOCK_PHRASES = {
    "ご視聴ありがとうございました",
    "ご視聴ありがとうございます",
    "チャンネル登録よろしくお願いします",
    "字幕視聴ありがとうございました",
    "おやすみなさい",
    "thank you for watching",
    "thanks for watching",
    "please subscribe",
    "subtitles by the amara.org community",
}

DROP_NO_SPEECH = "no_speech"
DROP_LOOP = "repetition_loop"
DROP_STOCK_PHRASE = "stock_phrase_on_weak_audio"
DROP_PROMPT_ECHO = "prompt_echo_on_weak_audio"
DROP_NO_TIME = "text_without_time"
FLAG_REPEATS = "repeated_phrase"
FLAG_LOW_CONFIDENCE = "low_confidence"
FLAG_UNSURE_PROMPT_WORD = "unsure_prompt_word"
DROP_REASONS = (DROP_NO_SPEECH, DROP_LOOP, DROP_STOCK_PHRASE, DROP_PROMPT_ECHO, DROP_NO_TIME)
# Text whose words all fall on one instant was decoded past the audio the model heard: its word
# timestamps collapse onto the window's end (ReazonSpeech test_ja_en under MKL kernels: 36
# invented characters at 13.68-13.68 s). A few characters may be squeezed; this many cannot be.
NO_TIME_S = 0.05
NO_TIME_MIN_CHARS = 4


def normalise(text: str) -> str:
    """Width-fold, lower-case and strip punctuation and spaces (for comparing phrases)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN" or ch == " ").strip()


def confidence(segment: Decoded) -> float:
    """Mean word probability; falls back to the decoder's average token probability."""
    if segment.words:
        return sum(w.probability for w in segment.words) / len(segment.words)
    import math

    return math.exp(segment.avg_logprob)


def longest_repeat_run(text: str, max_unit_chars: int = GuardSettings().max_repeat_unit_chars) -> int:
    """How many times in a row the most repeated unit (a word or a run of up to ``max_unit_chars``) occurs."""
    compact = normalise(text)
    words = compact.split()
    best = 1
    run = 1
    for previous, current in zip(words, words[1:]):
        run = run + 1 if current == previous else 1
        best = max(best, run)
    no_spaces = compact.replace(" ", "")
    for size in range(1, max_unit_chars + 1):
        pattern = re.compile(r"(.{%d})\1+" % size)
        for match in pattern.finditer(no_spaces):
            best = max(best, len(match.group(0)) // size)
    return best


def rate_of(text: str, language: str, start_s: float, end_s: float) -> float:
    """Characters (Japanese) or words (other languages) per second of the span."""
    # Word timings squeeze short segments; below 1 s the measured rate means little.
    duration = max(end_s - start_s, 1.0)
    text = normalise(text)
    units = len(text.replace(" ", "")) if language == "ja" else len(text.split())
    return units / duration


def impossible_rate(text: str, language: str, start_s: float, end_s: float, settings: GuardSettings) -> bool:
    """More characters or words than a person says in the span (the guards' bound per language)."""
    limit = settings.max_chars_per_s_ja if language == "ja" else settings.max_words_per_s_en
    return rate_of(text, language, start_s, end_s) > limit


def prompt_echo(segment: Decoded, prompt: str | None) -> int:
    """How many prompt entries (names, terms) the segment recites when it says nothing else
    (every word also a word of the prompt); 0 when it says anything of its own."""
    if not prompt:
        return 0
    text = normalise(segment.text)
    if not text:
        return 0
    entries = [normalise(e) for e in re.split(r"[,、。.]", prompt) if normalise(e)]
    vocabulary = {w for e in entries for w in e.split()}
    if " " in text or text.isascii():
        if not all(word in vocabulary for word in text.split()):
            return 0
    else:
        rest = text.replace(" ", "")
        for entry in sorted(entries, key=len, reverse=True):
            rest = rest.replace(entry.replace(" ", ""), "")
        if rest:
            return 0
    words = text.split()
    recited = sum(1 for e in entries if e in text)
    # Parts of entries count too ("Iida" of "Yoichi Iida"): one per word run not already counted.
    partial = sum(1 for w in words if not any(w in e.split() for e in entries if e in text))
    return recited + partial if " " in text or text.isascii() else recited


def unsure_prompt_words(segment: Decoded, prompt: str | None, settings: GuardSettings) -> list[str]:
    """Words of the segment that spell part of a prompt entry (a name, a term) with a very low
    probability: the decoder may have taken them from the prompt rather than from the audio
    (on the demo, バイオ heard as 柴野 at probability 0.03). Flagged for an editor, not removed."""
    if not prompt:
        return []
    entries = [normalise(e).replace(" ", "") for e in re.split(r"[,、。.]", prompt) if normalise(e)]
    found: list[str] = []
    run: list[str] = []
    for word in [*segment.words, None]:  # runs of consecutive very unsure words
        if word is not None and word.probability < settings.prompt_word_min_probability:
            run.append(word.text.strip())
            continue
        key = normalise("".join(run)).replace(" ", "")
        if len(key) >= 2 and any(key in e for e in entries):
            found.extend(run)
        run = []
    return found


def drop_reason(segment: Decoded, settings: GuardSettings, prompt: str | None = None) -> str | None:
    text = normalise(segment.text)
    if segment.no_speech_prob > settings.no_speech_prob and segment.avg_logprob < settings.min_avg_logprob:
        return DROP_NO_SPEECH
    if segment.compression_ratio > settings.max_compression_ratio:
        return DROP_LOOP
    if text in STOCK_PHRASES and (
        confidence(segment) < settings.stock_phrase_max_confidence or segment.no_speech_prob > settings.no_speech_prob / 2
    ):
        return DROP_STOCK_PHRASE
    # A list of three or more prompt entries and nothing else is not speech; two on weak audio.
    echoed = prompt_echo(segment, prompt)
    if echoed >= 3 or echoed == 2 and (
        confidence(segment) < settings.prompt_echo_max_confidence or segment.no_speech_prob > settings.no_speech_prob / 2
    ):
        return DROP_PROMPT_ECHO
    if not text:
        return DROP_NO_SPEECH
    if _spoken_s(segment) < NO_TIME_S and len(text.replace(" ", "")) >= NO_TIME_MIN_CHARS:
        return DROP_NO_TIME
    return None


def _spoken_s(segment: Decoded) -> float:
    if segment.words:
        return segment.words[-1].end_s - segment.words[0].start_s
    return segment.end_s - segment.start_s


def flags(segment: Decoded, language: str, settings: GuardSettings, prompt: str | None = None) -> list[str]:
    found = []
    if longest_repeat_run(segment.text, settings.max_repeat_unit_chars) >= settings.max_repeats:
        found.append(FLAG_REPEATS)
    if confidence(segment) < settings.low_confidence:
        found.append(FLAG_LOW_CONFIDENCE)
    if unsure_prompt_words(segment, prompt, settings):
        found.append(FLAG_UNSURE_PROMPT_WORD)
    return found
