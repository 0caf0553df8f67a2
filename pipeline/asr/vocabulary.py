"""What the event knows before it starts: names and terms, for decoding and for correction.

Everything comes from the config: the agenda's people (names in both languages, aliases),
their titles and affiliations, the session titles, and the glossary (``event.glossary``: term
pairs with optional kana readings and aliases). Nothing is learnt from the recording.

Two uses:

- ``Vocabulary.prompt``: Whisper's prompt for one stretch of the recording in one language —
  the people of the sessions scheduled around that stretch first, then the glossary's terms,
  then everyone else — cut to a token budget (long prompts invite Whisper to loop or to
  recite them on silence; ``guards.prompt_echo`` drops a reading that only recites it);
- ``Vocabulary.entries``: the canonical forms the correction pass (``correct.py``) moves
  near-misses to, with the variants that count as already right.

Where a recording's time falls in the agenda is not known before alignment, so a stretch is
placed on the schedule in proportion: the recording's first second is the first session's start
and its last the last session's end; a margin of one session on each side absorbs the drift.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

from ..core.config import Event

KINDS = ("person", "term", "title", "affiliation", "session")


@dataclass(frozen=True)
class Entry:
    """One thing the event may name, with its canonical form in each language."""

    kind: str  # one of KINDS
    key: str  # person id, or the English form of a term
    canonical: dict[str, str]  # language -> canonical spelling
    # Other spellings that are right as they are (aliases, family names, kana).
    variants: tuple[str, ...] = ()
    # Katakana reading of the Japanese form, when the config gives one.
    reading: str | None = None
    sessions: tuple[str, ...] = field(default=(), compare=False)
    # A person's Japanese affiliation and title: what they introduce themselves with (経済産業省の…です).
    introduced_by: tuple[str, ...] = field(default=(), compare=False)


def _clock_s(text: str) -> float:
    parts = [int(p) for p in text.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


def is_japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" for ch in text)


_SPACE_BETWEEN_CJK = re.compile(r"(?<=[\u3040-\u30ff\u3400-\u9fff々])[ \u3000]+(?=[\u3040-\u30ff\u3400-\u9fff々])")


def as_japanese_text_writes_it(form: str) -> str:
    """A Japanese form without the layout space a name list puts between family and given name
    ("柴野 相雄" → "柴野相雄"): running text, and so the recogniser's prompt, never has it (with
    it the demo lost its host's name and 27 points of speaker time)."""
    return _SPACE_BETWEEN_CJK.sub("", form)


class Vocabulary:
    def __init__(self, event: Event):
        sessions_of: dict[str, list[str]] = {}
        for session in event.sessions:
            for slot in session.people:
                sessions_of.setdefault(slot.person, []).append(session.id)
        self.entries: list[Entry] = []
        for person in event.people:
            # (The layout space is only ever between two Japanese characters: English forms pass as they are.)
            canonical = {lang: as_japanese_text_writes_it(name)
                         for lang, name in (("en", person.name.en), ("ja", person.name.ja)) if name}
            aliases = tuple(as_japanese_text_writes_it(alias) for alias in person.aliases)
            self.entries.append(Entry("person", person.id, canonical, aliases, None,
                                      tuple(sessions_of.get(person.id, [])),
                                      tuple(t for t in (person.affiliation.ja, person.title.ja) if t)))
        for term in event.glossary:
            self.entries.append(Entry("term", term.en, {"en": term.en, "ja": term.ja}, tuple(term.aliases),
                                      term.reading))
        seen = set()
        for person in event.people:
            for kind, text in (("title", person.title), ("affiliation", person.affiliation)):
                canonical = {lang: value for lang, value in (("en", text.en), ("ja", text.ja)) if value}
                if canonical and tuple(canonical.items()) not in seen:
                    seen.add(tuple(canonical.items()))
                    self.entries.append(Entry(kind, canonical.get("en") or canonical["ja"], canonical, (), None,
                                              tuple(sessions_of.get(person.id, []))))
        self.schedule = [(s.id, _clock_s(s.start), _clock_s(s.end), [slot.person for slot in s.people])
                         for s in event.sessions]

    @property
    def empty(self) -> bool:
        return not any(e.kind in ("person", "term") for e in self.entries)

    def mentioned_in(self, text: str) -> bool:
        """Whether the text names a person or a glossary term of the event, in any of its forms."""
        compact, words = _compact(text), f" {' '.join(letters(w) for w in text.split())} "
        for entry in self.entries:
            if entry.kind not in ("person", "term"):
                continue
            for form in (*entry.canonical.values(), *entry.variants):
                if is_japanese(form):
                    if len(_compact(form)) >= 2 and _compact(form) in compact:
                        return True
                elif len(letters(form)) >= 3 and f" {' '.join(letters(w) for w in form.split())} " in words:
                    return True  # whole words: "Hines" is not in "machines"
        return False

    def sessions_around(self, start_fraction: float, end_fraction: float) -> list[str]:
        """Session ids scheduled around a stretch given as fractions of the recording."""
        if not self.schedule:
            return []
        first = min(s for _, s, _, _ in self.schedule)
        last = max(e for _, _, e, _ in self.schedule)
        span = max(last - first, 1)
        start, end = first + start_fraction * span, first + end_fraction * span
        ordered = sorted(self.schedule, key=lambda s: s[1])
        hit = [i for i, (_, s, e, _) in enumerate(ordered) if s < end and e > start]
        if not hit:
            return []
        low, high = max(min(hit) - 1, 0), min(max(hit) + 1, len(ordered) - 1)
        return [ordered[i][0] for i in range(low, high + 1)]

    def people_around(self, start_fraction: float, end_fraction: float) -> set[str]:
        """Ids of the people scheduled in the sessions around a stretch (see ``sessions_around``)."""
        around = set(self.sessions_around(start_fraction, end_fraction))
        return {pid for sid, _, _, persons in self.schedule if sid in around for pid in persons}

    def ranked(self, language: str, start_fraction: float = 0.0, end_fraction: float = 1.0) -> list[str]:
        """Forms for a prompt in ``language``, most likely first, without repeats."""
        around = self.sessions_around(start_fraction, end_fraction)
        people = [e for e in self.entries if e.kind == "person"]
        order = {pid: rank for rank, pid in enumerate(
            pid for sid in around for (s, _, _, persons) in self.schedule if s == sid for pid in persons)}
        in_play = sorted((e for e in people if e.key in order), key=lambda e: order[e.key])
        others = [e for e in people if e.key not in order]
        terms = [e for e in self.entries if e.kind == "term"]
        forms = []
        for entry in [*in_play, *terms, *others]:
            form = entry.canonical.get(language) or entry.canonical.get("en") or entry.canonical.get("ja")
            if form and form not in forms:
                forms.append(form)
        return forms

    def prompt(self, language: str, start_fraction: float, end_fraction: float,
               fits: Callable[[str], bool]) -> str:
        """The longest prefix of ``ranked`` forms, joined as a list, that ``fits`` accepts."""
        separator = "、" if language == "ja" else ", "
        chosen: list[str] = []
        for form in self.ranked(language, start_fraction, end_fraction):
            candidate = separator.join([*chosen, form]) + ("。" if language == "ja" else ".")
            if fits(candidate):
                chosen.append(form)
        if not chosen:
            return ""
        return separator.join(chosen) + ("。" if language == "ja" else ".")


def count_tokens(engine, text: str) -> int:
    """Whisper tokens in ``text`` by the engine's own tokenizer (an estimate when it has none)."""
    counter = getattr(engine, "count_tokens", None)
    if counter is not None:
        return counter(text)
    return len(text.encode("utf-8")) // 3 + 1


def fits_tokens(engine, text: str, limit: int) -> bool:
    return count_tokens(engine, text) <= limit


def _compact(text: str) -> str:
    """Width-folded, lower-case letters and digits only, no spaces (for finding a form in a text)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def letters(text: str) -> str:
    """Lower-case letters and digits only (for comparing English spellings)."""
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", text.lower())
