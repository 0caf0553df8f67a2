"""Text helpers for editors' corrections: word timings after an edit, splitting, similarity.

An editor changes text, not timings. Words the edit left alone keep their recognizer timing and
probability; a typed word takes the time span of the words it replaced (or the gap it was typed
into) and probability 1.0, because a person wrote it. Japanese has no spaces, so the mapping is
done character by character in both languages, and words are cut again by the language's rule.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

EDITED_PROBABILITY = 1.0


def normalise(text: str) -> str:
    """For comparing readings: NFKC, case-folded, without spaces and punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def similarity(a: str, b: str) -> float:
    """0-1: how much of two readings is the same text (character level, punctuation ignored)."""
    a, b = normalise(a), normalise(b)
    if not a and not b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.quick_ratio() < 0.3:
        return matcher.quick_ratio()
    return matcher.ratio()


def word_spans(text: str, words: list[dict]) -> list[tuple[int, int]]:
    """Character span of each word inside ``text`` (words found in order; a word the text no
    longer contains gets an empty span at the cursor)."""
    spans, cursor = [], 0
    for word in words:
        token = word["text"].strip()
        found = text.find(token, cursor) if token else -1
        if found < 0:
            spans.append((cursor, cursor))
            continue
        spans.append((found, found + len(token)))
        cursor = found + len(token)
    return spans


def _new_word_ranges(new_text: str, owner: list[int | None], language: str) -> list[tuple[int, int]]:
    """Cut the new text into words: at spaces in English; in Japanese, where the old word a
    character came from changes (typed characters stay together)."""
    if language != "ja":
        return [(m.start(), m.end()) for m in re.finditer(r"\S+", new_text)]
    ranges: list[tuple[int, int]] = []
    for i, ch in enumerate(new_text):
        if ch.isspace():
            continue
        if ranges and ranges[-1][1] == i and owner[i] == owner[ranges[-1][0]]:
            ranges[-1] = (ranges[-1][0], i + 1)
        else:
            ranges.append((i, i + 1))
    return ranges


def retime_words(segment: dict, new_text: str) -> list[dict]:
    """Words for ``new_text``: unchanged words keep timing and probability, typed ones get the
    span of what they replaced."""
    old_text, words = segment["text"], segment.get("words") or []
    language = segment.get("language", "en")
    if not words:
        return []
    spans = word_spans(old_text, words)
    owner_old: list[int | None] = [None] * len(old_text)
    for index, (start, end) in enumerate(spans):
        for pos in range(start, end):
            owner_old[pos] = index
    owner: list[int | None] = [None] * len(new_text)  # old word a new character was kept from
    replaced: list[tuple[float, float] | None] = [None] * len(new_text)  # time of what a typed char replaced
    matcher = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(j2 - j1):
                owner[j1 + k] = owner_old[i1 + k]
            continue
        covered = sorted({owner_old[p] for p in range(i1, i2) if owner_old[p] is not None})
        if covered:
            span = (words[covered[0]]["start_s"], words[covered[-1]]["end_s"])
        else:  # typed into a gap: between the words around it
            before = [owner_old[p] for p in range(0, i1) if owner_old[p] is not None]
            after = [owner_old[p] for p in range(i2, len(old_text)) if owner_old[p] is not None]
            start = words[before[-1]]["end_s"] if before else segment["start_s"]
            end = words[after[0]]["start_s"] if after else segment["end_s"]
            span = (start, max(start, end))
        for k in range(j1, j2):
            replaced[k] = span
    result = []
    for start, end in _new_word_ranges(new_text, owner, language):
        kept = [owner[p] for p in range(start, end) if owner[p] is not None]
        typed = [replaced[p] for p in range(start, end) if replaced[p] is not None]
        times = [(words[i]["start_s"], words[i]["end_s"]) for i in kept] + typed
        if not times:
            continue
        token = new_text[start:end]
        unchanged = (not typed and len(set(kept)) == 1 and words[kept[0]]["text"].strip() == token)
        probability = words[kept[0]]["probability"] if unchanged else EDITED_PROBABILITY
        text = token if language == "ja" else " " + token
        result.append({"start_s": min(t[0] for t in times), "end_s": max(t[1] for t in times),
                       "text": text, "probability": probability})
    _share_typed_spans(result)
    return _monotonic(result, segment["start_s"], segment["end_s"])


def _share_typed_spans(words: list[dict]) -> None:
    """Several typed words that replaced one old word share its span evenly, in order."""
    i = 0
    while i < len(words):
        j = i
        while (j + 1 < len(words) and words[j + 1]["start_s"] == words[i]["start_s"]
               and words[j + 1]["end_s"] == words[i]["end_s"]):
            j += 1
        if j > i:
            start, end = words[i]["start_s"], words[i]["end_s"]
            step = (end - start) / (j - i + 1)
            for k in range(i, j + 1):
                words[k]["start_s"] = round(start + step * (k - i), 3)
                words[k]["end_s"] = round(start + step * (k - i + 1), 3)
        i = j + 1


def _monotonic(words: list[dict], start_s: float, end_s: float) -> list[dict]:
    previous = start_s
    for word in words:
        word["start_s"] = round(min(max(word["start_s"], previous, start_s), end_s), 3)
        word["end_s"] = round(min(max(word["end_s"], word["start_s"]), end_s), 3)
        previous = word["start_s"]
    return words


def split_point(segment: dict, offset: int) -> tuple[float, list[dict], list[dict]]:
    """Where a segment cut at character ``offset`` of its text splits in time, and its words.

    The cut falls between the last word ending at or before the offset and the next one; with
    no words, the time is interpolated by characters.
    """
    text, words = segment["text"], segment.get("words") or []
    if words:
        spans = word_spans(text, words)
        first = [w for w, (s, e) in zip(words, spans) if (s + e) / 2 <= offset]
        second = [w for w, (s, e) in zip(words, spans) if (s + e) / 2 > offset]
        if first and second:
            return round((first[-1]["end_s"] + second[0]["start_s"]) / 2, 3), first, second
    share = offset / max(len(text), 1)
    time_s = round(segment["start_s"] + share * (segment["end_s"] - segment["start_s"]), 3)
    return time_s, [w for w in words if w["end_s"] <= time_s], [w for w in words if w["end_s"] > time_s]


def mean_probability(words: list[dict], fallback: float) -> float:
    return round(sum(w["probability"] for w in words) / len(words), 4) if words else fallback


def changes(before: str, after: str, context_chars: int = 12) -> list[tuple[str, str, str, str]]:
    """The replaced passages of an edit, each as (left context, old, new, right context): what a
    re-run transcript must still contain for the correction to be placed again."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    blocks: list[list[int]] = []  # [i1, i2, j1, j2]; passages closer than two contexts are one
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if blocks and i1 - blocks[-1][1] < 2 * context_chars:
            blocks[-1][1], blocks[-1][3] = i2, j2
        else:
            blocks.append([i1, i2, j1, j2])
    return [(before[max(0, i1 - context_chars):i1], before[i1:i2], after[j1:j2], before[i2:i2 + context_chars])
            for i1, i2, j1, j2 in blocks]
