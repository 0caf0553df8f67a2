"""Names and terms after decoding: near-misses of the agenda's spellings become canonical.

Whisper hears "Tom Hines" and may write "Tom Heinz"; hears 柴野 and may write しばの or 芝野.
The event's vocabulary (``vocabulary.py``: people, glossary) says how those are written. For
each decoded segment:

- English: runs of 1-3 words are compared, letter by letter, with every English name, family
  name, ASCII alias and glossary term. A run whose normalised edit distance is at most
  ``transcribe.correction_max_distance_en`` (and that is long enough, capitalised like a name
  when the form is one word, and starts with the same letter) is replaced;
- Japanese: the text is tokenised by Sudachi (the analyser inside GiNZA, which the align stage
  uses; called directly because it loads in a tenth of a second where GiNZA takes seconds) and
  runs of 1-4 noun tokens (or kana) are compared on their katakana readings with each Japanese
  name, alias and glossary term (its ``reading`` when the config gives one). Kana written for
  a name (しばの) becomes its kanji; a reading off by a little (ハインツ) becomes the canonical
  form.

A run that already is one of an entry's right forms (the canonical spelling or an alias) is
left alone and blocks any other change over it. Every change goes into the segment's
``corrections`` list — ``{"from", "to", "kind", "key", "distance", "evidence", "start_s",
"end_s"}`` — and the words are rewritten so the text, the word timings and the captions agree.
An editor undoes one by putting ``from`` back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from ..core.config import TranscribeSettings
from ..text.misheard import Misheard, bare as _bare
from .kana import (folded, is_kana, japanese_reading, japanese_tokens, katakana, large, one_kanji_off,
                   one_mora_off, reading_by_character)
from .vocabulary import Entry, Vocabulary, is_japanese, letters

MAX_RUN_WORDS_EN = 3
# Kinds of agenda forms a slip of a whole run is corrected to (people have their own rules, with
# the schedule and honorifics as evidence), and the distance such a change is ranked at.
SLIP_KINDS = ("title", "affiliation", "term")
SLIP_DISTANCE = 0.1
# A slip that writes one of these where the agenda has another character may be a different real
# office or post (経済産業相, the minister, for 経済産業省, the ministry): it is left as heard (the
# translate stage still flags it), never changed.
OFFICE_CHARACTERS = frozenset("省庁局課部室相官長府")
MAX_RUN_TOKENS_JA = 4
# Sudachi parts of speech a name or a term can be made of (nouns; kana runs are also looked at).
JA_CONTENT_POS = {"名詞", "接頭辞", "接尾辞"}
# What follows a name said in Japanese: honorifics and self-introductions. A kana run that is not
# made of nouns (あるが in であるが) is only read as a name when one of these (or the reading of
# a title from the agenda) follows it.
JA_NAME_CUES = ("サン", "サマ", "センセイ", "シ", "クン", "デス", "デゴザイ", "トモウシ", "ト申")
# Honorifics and titles said right after a name (not です, which follows any word).
JA_HONORIFICS = ("サン", "サマ", "センセイ", "クン", "キョウジュ", "ジュンキョウジュ", "ハカセ")
# A self-introduction: "<affiliation>の<name>です".
JA_SELF_INTRODUCTIONS = ("デス", "デゴザイ", "トモウシ")
_TRAILING = re.compile(r"[\s.,!?;:、。！？」』）)\"'”’]+$")
_LEADING = re.compile(r"^[\s\"'“‘「『（(]+")


@dataclass(frozen=True)
class Form:
    """One spelling to look for, and what a near-miss of it becomes."""

    text: str  # as it is looked for (a name, an alias, a term)
    target: str  # the canonical spelling a near-miss is replaced with
    entry: Entry
    key: str  # letters (English) or katakana reading (Japanese)


class Corrector:
    def __init__(self, vocabulary: Vocabulary, settings: TranscribeSettings):
        self.settings = settings
        self.english: list[Form] = []
        self._japanese_sources: list[tuple[str, str, Entry, str | None]] = []
        self.right: set[str] = set()  # forms that are already right (letters or katakana)
        self._titles = [e.canonical["ja"] for e in vocabulary.entries if e.kind == "title" and e.canonical.get("ja")]
        self._cues: tuple[str, ...] | None = None
        for entry in vocabulary.entries:
            if entry.kind not in ("person", "term"):
                continue
            self._add_english(entry)
            self._add_japanese(entry)
        self._japanese: list[Form] | None = None
        # Titles, affiliations and terms written as the agenda writes them, for slips of a whole
        # run (DMI総合法律、事務所 for TMI総合法律事務所, 公司3時間 for 公使参事官: text/misheard.py).
        self._slip_targets = {_bare(form): (form, entry) for entry in vocabulary.entries
                              if entry.kind in SLIP_KINDS and (form := entry.canonical.get("ja"))}
        self._slips = Misheard(self._slip_targets) if self._slip_targets else None

    # -- vocabulary -----------------------------------------------------------------------
    def _add_english(self, entry: Entry) -> None:
        full = entry.canonical.get("en")
        spellings = [full] if full else []
        if entry.kind == "person" and full and len(full.split()) > 1:
            spellings.append(full.split()[-1])  # the family name alone
        spellings += [a for a in entry.variants if a.isascii()]
        for spelling in spellings:
            key = letters(spelling)
            self.right.add(key)
            # Lower-case terms ("export control") are ordinary words Whisper spells right; only
            # names and proper terms ("Wassenaar Arrangement") are corrected.
            if len(key) >= self.settings.correction_min_chars_en and any(ch.isupper() for ch in spelling):
                self.english.append(Form(spelling, spelling, entry, key))

    def _add_japanese(self, entry: Entry) -> None:
        full = entry.canonical.get("ja")
        kanji_short = [a for a in entry.variants if is_japanese(a) and not is_kana(a)]
        kana = [a for a in entry.variants if a and all("\u3040" <= ch <= "\u309f" for ch in a)]
        katakana_aliases = [a for a in entry.variants if is_kana(a) and a not in kana]
        for form in [full, *kanji_short, *katakana_aliases]:
            if form:
                self.right.add(katakana(form))
                self._japanese_sources.append((form, form, entry, entry.reading if form == full else None))
        # A hiragana alias is how the name is read: it points at the kanji short form.
        for alias in kana:
            target = kanji_short[0] if kanji_short else full
            if target:
                self._japanese_sources.append((alias, target, entry, katakana(alias)))

    def japanese_forms(self) -> list[Form]:
        """Japanese forms keyed by reading (the tokenizer is loaded on first use)."""
        if self._japanese is None:
            forms = []
            for text, target, entry, reading in self._japanese_sources:
                key = katakana(reading) if reading else (katakana(text) if is_kana(text) else japanese_reading(text))
                forms.append(Form(text, target, entry, key))
            self._japanese = forms
        return self._japanese

    def name_cues(self) -> tuple[str, ...]:
        """Readings that may follow a name: honorifics, and the first and last words of each agenda title."""
        if self._cues is None:
            titles = set()
            for title in self._titles:
                readings = [r for _, _, pos, r in japanese_tokens(title) if pos != "補助記号"]
                if readings:
                    titles |= {readings[0], readings[-1], "".join(readings[-2:])}
            titles = {t for t in titles if len(t) >= 3 and not t.isascii()}
            self._cues = tuple(sorted(set(JA_NAME_CUES) | titles))
        return self._cues

    # -- correction -----------------------------------------------------------------------
    def correct(self, segment: dict, in_play: set[str] | None = None) -> dict:
        """Correct one segment in place. ``in_play``: ids of the people scheduled around it
        (None: not known), the only ones a known word may be moved to."""
        segment.setdefault("corrections", [])
        if not segment.get("words"):
            return segment
        # A second look after changes: a rule may rest on a word the first look corrected
        # (経済産業賞の浅いです: the affiliation is only there once 経済産業賞 is 経済産業省).
        for _ in range(2):
            if segment["language"] == "ja":
                changes = self._japanese_changes(segment, in_play or set())
            else:
                changes = self._english_changes(segment)
            for change in sorted(changes, key=lambda c: -c[0]):  # right to left keeps indices valid
                self._apply(segment, *change)
            if not changes:
                break
        segment["corrections"].sort(key=lambda c: c["start_s"])
        return segment

    def _english_changes(self, segment: dict) -> list[tuple]:
        words = segment["words"]
        keys = [letters(w["text"]) for w in words]
        candidates = []
        blocked = set()
        for n in range(1, MAX_RUN_WORDS_EN + 1):
            for i in range(0, len(words) - n + 1):
                run = "".join(keys[i:i + n])
                if not run:
                    continue
                if run in self.right:
                    blocked.update(range(i, i + n))
                    continue
                for form in self.english:
                    size = len(form.text.split())
                    if abs(size - n) > 1 or form.key[0] != run[0]:
                        continue
                    if run.startswith(form.key) or form.key.startswith(run):
                        continue  # an inflection or a possessive ("Hines's"), or a word cut short
                    distance = Levenshtein.normalized_distance(run, form.key)
                    if distance > self.settings.correction_max_distance_en:
                        continue
                    first = _LEADING.sub("", words[i]["text"])
                    if size == 1 and not first[:1].isupper():
                        continue  # a one-word name is written capitalised; a lower-case word is a word
                    candidates.append((distance, -len(form.key), i, i + n, form))
        return self._choose(candidates, blocked, "en")

    def _japanese_changes(self, segment: dict, in_play: set[str]) -> list[tuple]:
        forms = [f for f in self.japanese_forms() if len(f.key) >= 2]
        if not forms:
            return []
        text = "".join(w["text"] for w in segment["words"])
        tokens = japanese_tokens(text)
        candidates = []
        rights = []  # (start, end) of runs that already are a right form
        for n in range(1, MAX_RUN_TOKENS_JA + 1):
            for i in range(0, len(tokens) - n + 1):
                run = tokens[i:i + n]
                surface = text[run[0][0]:run[-1][1]]
                reading = "".join(r for *_, r in run)
                if katakana(surface) in self.right:
                    rights.append((run[0][0], run[-1][1]))
                    continue
                following = "".join(r for *_, r in tokens[i + n:i + n + 3])
                cued = following.startswith(self.name_cues())
                honoured = following.startswith(self.honorifics())
                if not all(pos in JA_CONTENT_POS for _, _, pos, _ in run) and not (is_kana(surface) and cued):
                    if following.startswith(JA_SELF_INTRODUCTIONS):
                        candidates += _self_introduced(surface, reading, text[:run[0][0]], forms, in_play,
                                                       run[0][0], run[-1][1])
                    continue
                for form in forms:
                    if katakana(surface) == katakana(form.target):
                        continue
                    match, why = self._reading_match(reading, form.key, cued), None
                    if match is None and cued and form.entry.kind == "person" and one_kanji_off(surface, form.text):
                        match, why = _kanji_near_miss(surface, reading, form, honoured, in_play)
                    if match is None and honoured and form.entry.kind == "person" and is_kana(surface):
                        match, why = _kana_near_miss(reading, form, in_play)
                    if match is not None:
                        candidates.append((match, -len(form.key), run[0][0], run[-1][1], form, why))
        candidates += self._kana_prefix_candidates(text, forms)
        candidates += self._slip_candidates(text)
        candidates += self._full_name_candidates(text, tokens, forms, in_play)
        candidates = [c for c in candidates if _keeps_right_forms(c, rights, text)]
        return self._choose(candidates, set(), "ja", text)

    def _slip_candidates(self, text: str) -> list[tuple]:
        """A run one character off an agenda title, affiliation or term (or read as one where the
        characters differ): the agenda's spelling, at a distance that lets an exact name reading win."""
        candidates = []
        for slip in self._slips.find(text) if self._slips else []:
            if _names_another_office(slip.form, slip.heard):
                continue
            target, entry = self._slip_targets[slip.form]
            form = Form(target, target, entry, slip.form)
            candidates.append((SLIP_DISTANCE, -len(slip.form), slip.start, slip.end, form,
                               f"{text[slip.start:slip.end]!r} one slip from agenda {entry.kind} {target!r} "
                               f"(in spelling or in reading)"))
        return candidates

    def honorifics(self) -> tuple[str, ...]:
        """Readings that follow a name as a courtesy: honorifics and the agenda's titles."""
        return tuple(sorted(set(JA_HONORIFICS) | (set(self.name_cues()) - set(JA_NAME_CUES))))

    def _kana_prefix_candidates(self, text: str, forms: list[Form]) -> list[tuple]:
        """A name at the start of a kana run that the tokenizer read as something else
        (いださん as a verb, アサイカチョウ as one word), when a name cue follows it."""
        candidates = []
        for match in re.finditer(r"[\u3041-\u309f\u30a1-\u30ffー]{3,}", text):
            reading = katakana(match.group(0))
            for form in forms:
                for length in range(2, len(reading)):
                    head, rest = reading[:length], reading[length:]
                    if not rest.startswith(self.name_cues()):
                        continue
                    exact = head == form.key and len(form.key) >= 3
                    alike = len(folded(form.key)) >= 2 and folded(head) == folded(form.key)
                    if (exact or alike) and katakana(match.group(0)[:length]) != katakana(form.target):
                        start = match.start()
                        candidates.append((0.0 if exact else 0.01, -len(form.key), start, start + length, form))
        return candidates

    def _full_name_candidates(self, text: str, tokens: list, forms: list[Form], in_play: set[str]) -> list[tuple]:
        """A scheduled person's full name misheard as a whole, an honorific after it: a kanji
        word read (or read character by character) as the family name, then words whose readings
        come close to the given name's (白山ひでやく先生: シロヤマ + ヒデヤク, two kana from
        城山英明's シロヤマヒデアキ)."""
        people = [f for f in forms if f.entry.kind == "person" and f.entry.key in in_play]
        candidates = []
        for full in (f for f in people if f.text == f.entry.canonical.get("ja")):
            families = [f for f in people if f.entry is full.entry and f is not full and full.text.startswith(f.text)
                        and full.key.startswith(f.key)]
            for i, (start, end, pos, reading) in enumerate(tokens):
                surface = text[start:end]
                if pos != "名詞" or not families:
                    continue
                # Read character by character only when the word's own reading is not the name's
                # (a tokenizer call per character, on every noun of every segment otherwise).
                family = next((f for f in families if surface != f.text and f.key == reading), None)
                if family is None:
                    by_character = reading_by_character(surface)
                    family = next((f for f in families if surface != f.text and f.key == by_character), None)
                if family is None:
                    continue
                heard = family.key
                for j in range(i + 1, min(i + MAX_RUN_TOKENS_JA + 1, len(tokens))):
                    heard += tokens[j][3]
                    if len(heard) > len(full.key) + 1:
                        break
                    after = "".join(r for *_, r in tokens[j + 1:j + 3])
                    if not after.startswith(self.honorifics()):
                        continue
                    distance = Levenshtein.normalized_distance(large(heard), large(full.key))
                    if distance <= self.settings.correction_max_distance_ja:
                        candidates.append((distance, -len(full.key), start, tokens[j][1], full,
                                           f"full name: {surface!r} read {family.key!r} as agenda family name "
                                           f"{family.text!r}, reading {heard!r} {distance:.2f} from {full.key!r}; "
                                           f"an honorific after it; scheduled around here"))
        return candidates

    def _reading_match(self, reading: str, key: str, cued: bool) -> float | None:
        """Distance between a run's reading and a form's, or None when they are not a match.

        Exact readings of three kana or more match (しばの, 芝野 for 柴野). Readings equal once
        long vowels are folded (イーダ for イイダ) match when a name cue follows. Close readings
        (small kana counted as large: イリス is one edit from ウィリス) match from
        ``correction_min_kana_ja`` kana (one fewer with a cue), within
        ``correction_max_distance_ja``, and start with the same kana unless a name cue follows
        (アインズ様 for ハインズ).
        """
        if reading == key:
            return 0.0 if len(key) >= 3 else None
        if cued and len(folded(key)) >= 2 and folded(reading) == folded(key):
            return 0.01
        shortest = self.settings.correction_min_kana_ja - (1 if cued else 0)
        if abs(len(reading) - len(key)) > 1 or len(key) < shortest:
            return None
        distance = Levenshtein.normalized_distance(large(reading), large(key))
        if distance > self.settings.correction_max_distance_ja:
            return None
        if reading[:1] != key[:1] and not cued:
            return None
        return distance

    def _choose(self, candidates: list[tuple], blocked: set[int], language: str, text: str = "") -> list[tuple]:
        """Best non-overlapping candidates (smallest distance, longest form first)."""
        taken = set(blocked)
        chosen = []
        for distance, _, start, end, form, *why in sorted(candidates, key=lambda c: c[:2]):
            span = set(range(start, end))
            if span & taken:
                continue
            taken |= span
            chosen.append((start, end, form, distance, language, text, why[0] if why else None))
        return chosen

    def _apply(self, segment: dict, start: int, end: int, form: Form, distance: float, language: str,
               text: str, why: str | None = None) -> None:
        words = segment["words"]
        if language == "en":
            first, last = words[start], words[end - 1]
            original = "".join(w["text"] for w in words[start:end])
            lead = _LEADING.match(first["text"]).group(0) if _LEADING.match(first["text"]) else ""
            trail = _TRAILING.search(last["text"]).group(0) if _TRAILING.search(last["text"]) else ""
            new_text = lead + form.target + trail
            replaced = [{"start_s": first["start_s"], "end_s": last["end_s"], "text": new_text,
                         "probability": round(min(w["probability"] for w in words[start:end]), 4)}]
            segment["words"] = words[:start] + replaced + words[end:]
            from_text = original.strip()
        else:
            # Character offsets in the joined word texts: rewrite the words that cover them.
            position, first_index, last_index = 0, None, None
            bounds = []
            for index, word in enumerate(words):
                bounds.append((position, position + len(word["text"])))
                if first_index is None and position + len(word["text"]) > start:
                    first_index = index
                if position < end:
                    last_index = index
                position += len(word["text"])
            head = words[first_index]["text"][: start - bounds[first_index][0]]
            tail = words[last_index]["text"][end - bounds[last_index][0]:]
            from_text = text[start:end]
            replaced = [{"start_s": words[first_index]["start_s"], "end_s": words[last_index]["end_s"],
                         "text": head + form.target + tail,
                         "probability": round(min(w["probability"] for w in words[first_index:last_index + 1]), 4)}]
            segment["words"] = words[:first_index] + replaced + words[last_index + 1:]
            first, last = words[first_index], words[last_index]
        segment["text"] = "".join(w["text"] for w in segment["words"]).strip()
        source = "agenda" if form.entry.kind == "person" else "glossary"
        how = "letters" if language == "en" else "kana reading"
        segment["corrections"].append({
            "from": from_text, "to": form.target, "kind": form.entry.kind, "key": form.entry.key,
            "distance": round(distance, 3),
            "evidence": why or f"{how} {form.key!r} {'equal' if distance == 0 else f'{distance:.2f} from'} "
                               f"{source} form {form.text!r}",
            "start_s": first["start_s"], "end_s": last["end_s"],
        })


def _names_another_office(form: str, heard: str) -> bool:
    """The slip writes an office or post character the form does not have there (相 for 省)."""
    return any(op.tag in ("replace", "insert") and heard[op.dest_pos] in OFFICE_CHARACTERS
               for op in Levenshtein.editops(form, heard))


def _kanji_near_miss(surface: str, reading: str, form: Form, honoured: bool,
                     in_play: set[str]) -> tuple[float | None, str | None]:
    """A kanji word one character off an agenda name (``form``), a name cue after it.

    移田でございます for 飯田: a pair the dictionary does not know (no reading of its own).
    A word the dictionary knows may be a real name of someone else (上野), so it is moved only
    to a person scheduled around this stretch (``in_play``), and only with more evidence: an
    honorific or title right after it (恋山先生 for 城山), or its characters read one by one
    giving the name's reading (白山です: シロ+ヤマ is 城山's シロヤマ).
    """
    off = f"one kanji off agenda name {form.text!r}, a name cue after it"
    if reading == surface:
        return 0.2, f"{off}; not a dictionary word"
    if form.entry.key not in in_play:
        return None, None
    if reading_by_character(surface) == form.key:
        return 0.15, f"{off}; read character by character it is {form.key!r}; scheduled around here"
    return (0.2, f"{off}; an honorific or title after it; scheduled around here") if honoured else (None, None)


def _self_introduced(surface: str, reading: str, before: str, forms: list[Form], in_play: set[str],
                     start: int, end: int) -> list[tuple]:
    """A word of another kind (浅い, an adjective) read exactly as a scheduled person's name, in a
    self-introduction that names that person's affiliation or title: 経済産業省の浅いです for 浅井.
    The reading alone would move every 浅いです; the affiliation before it says who is speaking."""
    if not before.endswith("の"):
        return []
    candidates = []
    for form in forms:
        entry = form.entry
        if entry.kind != "person" or entry.key not in in_play or reading != form.key or len(form.key) < 3:
            continue
        if katakana(surface) == katakana(form.target):
            continue
        named = next((before[-1 - size:-1] for size in range(len(before) - 1, 1, -1)
                      if any(before[-1 - size:-1] in a for a in entry.introduced_by)), None)
        if named is None:
            continue
        candidates.append((0.05, -len(form.key), start, end, form,
                           f"reading {reading!r} equals agenda name {form.text!r}; introduced as of {named!r}; "
                           f"scheduled around here"))
    return candidates


def _kana_near_miss(reading: str, form: Form, in_play: set[str]) -> tuple[float | None, str | None]:
    """A kana word one mora off an agenda name's reading, an honorific right after it, the person
    scheduled around this stretch: リリスさん for ウィリス. Any one-mora slip of a common word would
    be too loose; the honorific says a person is named, the schedule says which."""
    if form.entry.key not in in_play or not one_mora_off(reading, form.key):
        return None, None
    return 0.2, (f"reading {reading!r} one mora off agenda name {form.text!r} ({form.key!r}); an honorific "
                 f"after it; scheduled around here")


def _keeps_right_forms(candidate: tuple, rights: list[tuple[int, int]], text: str) -> bool:
    """A change may not touch a run that is already right, except to complete it into a longer
    form that keeps it (佐橋 + 領 read サハシリョウ becomes the full name 佐橋亮)."""
    distance, _, start, end, form, *_ = candidate
    for right_start, right_end in rights:
        if right_end <= start or right_start >= end:
            continue
        inside = start <= right_start and right_end <= end and (start, end) != (right_start, right_end)
        inside = inside and distance == 0  # an exact reading of the longer form, nothing less
        if not (inside and text[right_start:right_end] in form.target):
            return False
    return True
