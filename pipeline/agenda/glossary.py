"""The glossary seed: the page's own topic words.

A glossary entry needs both languages. Rules take the pairs a bilingual page writes itself
("経済安全保障（economic security）", "export control (輸出管理)"); the topic words of an
English-only overview are listed for the organizer (repeated noun phrases), never translated.
"""

from __future__ import annotations

import re
from collections import Counter

from .program import Sourced

JA_TERM = r"[\u3040-\u30ff\u3400-\u9fff々ー・]{2,20}"
EN_TERM = r"[A-Za-z][A-Za-z&\-’' ]{1,60}[A-Za-z]"
PAIR_JA_EN = re.compile(rf"({JA_TERM})\s*[（(]\s*({EN_TERM})\s*[)）]")
PAIR_EN_JA = re.compile(rf"\b({EN_TERM})\s*[（(]\s*({JA_TERM})\s*[)）]")
STOP = set("""a an the and or of for to in on at by with from as is are was were be been this that these those
it its we our you your their they he she his her which who whom what when where how such other than into
also about between among within without under over more most can will would should could may might must
not no yes all any each both either one two three four five first second third new use used using there
here has have had do does did so if but then thus very well even only just much many some own same
especially particularly including regarding toward towards during after before while us u.s japan japanese
following specific above below held since ever today etc""".split())
# Capitalised words that only start a sentence or name a date, not a topic.
MIN_REPEATS = 3


def written_pairs(overview: list[Sourced]) -> list[tuple[str, str, str]]:
    """(en, ja, where) for each term the page writes in both languages side by side."""
    found: dict[str, tuple[str, str, str]] = {}
    for line in overview:
        text = str(line.value)
        for ja, en in PAIR_JA_EN.findall(text):
            found.setdefault(en.strip().lower(), (en.strip(), ja.strip(), line.where))
        for en, ja in PAIR_EN_JA.findall(text):
            en = _last_phrase(en)
            if en:
                found.setdefault(en.lower(), (en, ja.strip(), line.where))
    return [v for v in found.values() if len(v[0].split()) <= 6]


def _last_phrase(text: str) -> str:
    """ "the rules on export control" -> "export control": the words after the last stop word."""
    words = text.strip().split()
    tail: list[str] = []
    for word in reversed(words):
        if word.lower() in STOP:
            break
        tail.insert(0, word)
    return " ".join(tail[-4:])


def english_candidates(overview: list[Sourced], limit: int = 12) -> list[tuple[str, str]]:
    """Noun phrases of two or three words repeated in the English overview, most frequent first."""
    counts: Counter[str] = Counter()
    first_where: dict[str, str] = {}
    for line in overview:
        text = str(line.value)
        if re.search(r"[\u3040-\u30ff\u3400-\u9fff]", text):
            continue
        for sentence in re.split(r"[.;:!?()“”\"]", text):
            words = [w.strip(",’'").lower() for w in sentence.split()]
            for n in (3, 2):
                for i in range(len(words) - n + 1):
                    gram = words[i:i + n]
                    if gram[0] in STOP or gram[-1] in STOP or any(not re.fullmatch(r"[a-z&\-]{2,}", w) for w in gram):
                        continue
                    if any(w in STOP for w in gram[1:-1]):
                        continue
                    phrase = " ".join(gram)
                    counts[phrase] += 1
                    first_where.setdefault(phrase, line.where)
    chosen: list[str] = []
    for phrase, count in counts.most_common():
        if count < MIN_REPEATS:
            break
        if any(phrase in c or c in phrase for c in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) >= limit:
            break
    return [(phrase, first_where[phrase]) for phrase in chosen]
