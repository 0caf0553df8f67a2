"""Sentences out of recognised segments, for translation (see ``translate.sentence_units``).

The recogniser cuts speech at pauses, often mid-sentence. A segment that ends mid-sentence is
joined with the next one of the same speaker; the sentence is translated as one line, and its
translation is shared back out over the segments so captions keep the segments' timing.
"""

from __future__ import annotations

import re

from ..core.config import TranslateSettings
from ..core.language import UNSPACED, joiner

_SENTENCE_END = re.compile(r"[。．.!?！？」』)]\s*$")


def join_texts(texts: list[str], language: str) -> str:
    return joiner(language).join(t.strip() for t in texts if t.strip())


def sentences(segments: list[dict], settings: TranslateSettings) -> list[list[dict]]:
    """Consecutive segments grouped into sentences: a segment that ends mid-sentence is joined
    with the next one of the same speaker, language, track and session (see ``sentence_units``).
    A segment with an editor's translation stands alone: the editor translated that segment."""
    groups: list[list[dict]] = []
    for segment in segments:
        last = groups[-1] if groups else None
        if (last and settings.sentence_units and _joinable(last, segment, settings)):
            last.append(segment)
        else:
            groups.append([segment])
    return groups


def _joinable(group: list[dict], segment: dict, settings: TranslateSettings) -> bool:
    previous = group[-1]
    same = all(previous.get(k) == segment.get(k) for k in ("speaker", "language", "session")) and \
        previous.get("track", "floor") == segment.get("track", "floor")
    edited = any((s.get("review") or {}).get("translation") for s in (previous, segment))
    size = sum(len(s["text"].strip()) for s in group) + len(segment["text"].strip())
    return (same and not edited and not _SENTENCE_END.search(previous["text"].strip())
            and segment["start_s"] - previous["end_s"] <= settings.max_join_gap_s and size <= settings.max_unit_chars)


def share_out(text: str, weights: list[int], language: str) -> list[str]:
    """A sentence's translation cut into consecutive pieces, one per segment, sized in proportion
    to the segments' source lengths (cuts at word boundaries, in Japanese after 、 or 。 when one is
    near); joined back with the target language's glue they give the whole text again."""
    if len(weights) == 1:
        return [text]
    spaced = language not in UNSPACED
    tokens = text.split() if spaced else list(text)
    total = sum(weights) or 1
    cuts, running = [], 0
    for weight in weights[:-1]:
        running += weight
        cut = round(len(tokens) * running / total)
        if not spaced:
            near = [i + 1 for i in range(max(0, cut - 6), min(len(tokens), cut + 6)) if tokens[i] in "、。，"]
            cut = min(near, key=lambda i: abs(i - cut)) if near else cut
        cuts.append(cut)
    # Every segment gets at least one word when there are enough (no caption left empty).
    bounds = [0]
    for k, cut in enumerate(cuts):
        left = len(weights) - 1 - k  # pieces still to come after this one
        bounds.append(max(bounds[-1] + 1, min(cut, len(tokens) - left)) if len(tokens) >= len(weights)
                      else max(bounds[-1], min(cut, len(tokens))))
    bounds.append(len(tokens))
    return [joiner(language).join(tokens[a:b]) for a, b in zip(bounds, bounds[1:])]
