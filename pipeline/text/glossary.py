"""The event's glossary for translation: agenda names, titles, affiliations, session titles and
the config's term list, each with one canonical form per language and the variants to look for.

Only the entries found in a batch go into its prompt (a 1.5B model follows a short list far
better than a long one); the same matches drive the output check (every entry found in the
source must appear in its canonical target form) and the optional substitution of target forms
into the source line before it is translated.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from ..core.config import Event

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff々〆ヶ]")
_HIRAGANA_ONLY = re.compile(r"^[\u3041-\u309fー]+$")
# "Session 1: ..." / "セッション1：..." -> "Session 1" / "セッション1"
_TITLE_PREFIX = re.compile(r"^(.{2,24}?)\s*[:：]")


def script_language(text: str) -> str:
    """"ja" for text with kana or kanji, else "en" (enough for the en/ja events this serves)."""
    return "ja" if _CJK.search(text) else "en"


@dataclass(frozen=True)
class Entry:
    kind: str  # name | title | affiliation | session | event | term
    forms: dict  # canonical form per language
    variants: dict = field(default_factory=dict)  # language -> forms to look for (canonical first)
    person: str | None = None

    def key(self) -> str:
        return f"{self.kind}:{self.forms.get('en', '')}|{self.forms.get('ja', '')}"


@dataclass(frozen=True)
class Hit:
    entry: Entry
    start: int
    end: int
    found: str


def _pair(kind: str, en: str | None, ja: str | None, extra: list[str] = (), person: str | None = None) -> Entry | None:
    if not en or not ja:
        return None
    variants = {"en": [en], "ja": [ja]}
    for alias in extra:
        language = script_language(alias)
        if alias not in variants[language]:
            variants[language].append(alias)
    return Entry(kind, {"en": en, "ja": ja}, {k: tuple(v) for k, v in variants.items()}, person)


def _short_ja(name_ja: str, aliases: list[str]) -> str | None:
    """The Japanese short form (surname, or the last part of a katakana name) among the aliases."""
    for alias in aliases:
        if script_language(alias) == "ja" and not _HIRAGANA_ONLY.match(alias) and alias in name_ja and alias != name_ja:
            return alias
    return None


def _person_entries(person) -> list[Entry]:
    if "interpreter" in person.roles:
        return []
    en, ja = person.name.en, person.name.ja
    entries = []
    # Recognition often writes names as their hiragana reading (しろやま); readings shorter than
    # four kana are left out: inside running text they hit ordinary words (あるが, いいだろう).
    usable = [a for a in person.aliases if not _HIRAGANA_ONLY.match(a) or len(a) >= 4]
    full_latin = [a for a in usable if script_language(a) == "en" and " " in a.strip()]
    full = _pair("name", en, ja, full_latin, person.id)
    if full:
        entries.append(full)
    short_ja = _short_ja(ja or "", person.aliases)
    if en and short_ja:
        surname = en.split()[-1]
        single = [a for a in usable if (script_language(a) == "en" and " " not in a.strip()) or _HIRAGANA_ONLY.match(a)]
        short = _pair("name", surname, short_ja, single, person.id)
        if short:
            entries.append(short)
    entries += [e for e in (_pair("title", person.title.en, person.title.ja, person=person.id),
                            _pair("affiliation", person.affiliation.en, person.affiliation.ja, person=person.id)) if e]
    return entries


def _session_entries(session) -> list[Entry]:
    entries = [_pair("session", session.title.en, session.title.ja)]
    en_prefix = _TITLE_PREFIX.match(session.title.en or "")
    ja_prefix = _TITLE_PREFIX.match(session.title.ja or "")
    if en_prefix and ja_prefix:
        entries.append(_pair("session", en_prefix.group(1).strip(), ja_prefix.group(1).strip()))
    return [e for e in entries if e]


class Glossary:
    def __init__(self, entries: list[Entry]):
        unique: dict[str, Entry] = {}
        for entry in entries:
            unique.setdefault(entry.key(), entry)
        self.entries = list(unique.values())
        self._patterns = {language: self._compile(language) for language in ("en", "ja")}

    @classmethod
    def from_event(cls, event: Event) -> "Glossary":
        entries: list[Entry] = []
        for person in event.people:
            entries += _person_entries(person)
        for session in event.sessions:
            entries += _session_entries(session)
        event_title = _pair("event", event.title.en, event.title.ja)
        if event_title:
            entries.append(event_title)
        for term in event.glossary:
            entry = _pair("term", term.en, term.ja, term.aliases)
            if entry:
                entries.append(entry)
        return cls(entries)

    def _compile(self, language: str) -> list[tuple[re.Pattern, Entry, str]]:
        found = []
        for entry in self.entries:
            for variant in entry.variants.get(language, ()):
                if language == "en":
                    # Bounded by Latin letters and digits only: the recogniser writes some names in
                    # Latin letters inside Japanese (経済産業省の asaiです).
                    pattern = re.compile(r"(?<![A-Za-z0-9])" + re.escape(variant) + r"(?![A-Za-z0-9])", re.IGNORECASE)
                else:
                    pattern = re.compile(re.escape(variant))
                found.append((pattern, entry, variant))
        found.sort(key=lambda item: -len(item[2]))  # longest first: 城山英明 before 城山
        return found

    def find(self, text: str, language: str) -> list[Hit]:
        """Non-overlapping matches, longest variants first, in text order."""
        taken = [False] * len(text)
        hits = []
        for pattern, entry, _ in self._patterns.get(language, []):
            for m in pattern.finditer(text):
                if any(taken[m.start():m.end()]):
                    continue
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
                hits.append(Hit(entry, m.start(), m.end(), m.group(0)))
        return sorted(hits, key=lambda h: h.start)

    def digest(self) -> str:
        payload = json.dumps([[e.kind, e.forms, e.variants] for e in self.entries], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def contains_form(text: str, form: str, language: str) -> bool:
    if language == "en":
        # A plural is the form too ("deemed exports" for "deemed export").
        return re.search(r"(?<![\w])" + re.escape(form) + r"(?:e?s)?(?![\w])", text, re.IGNORECASE) is not None
    return form.replace("・", "") in text.replace("・", "").replace(" ", "")


def missing_forms(hits: list[Hit], output: str, target: str) -> list[str]:
    """Canonical target forms of the source's glossary matches that the output lacks."""
    missing = []
    for hit in hits:
        form = hit.entry.forms.get(target)
        if form and not contains_form(output, form, target) and form not in missing:
            missing.append(form)
    return missing


def unsaid_names(glossary: Glossary, source: str, output: str, target: str,
                 speaker: tuple[str, dict] | None = None) -> list[str]:
    """Agenda people's names in ``output`` whose person the ``source`` line does not name: words
    that were never said. The packaged model wrote the speaker's name from the prompt's label into
    the line ("Tommy Shibano continued, …"), or only the name for a line it could not read.

    A name counts as said in either script (the recogniser writes some in Latin letters inside
    Japanese: 経済産業省の asaiです). ``speaker`` (person id, their names by language): the
    speaker's own name also counts as said when the line says a part of it, a self-introduction
    the recogniser misheard ("My name is Gonzalo Zulerin" → ゴンザロ・スアレス)."""
    said = {hit.entry.person for language in ("en", "ja") for hit in glossary.find(source, language)
            if hit.entry.kind == "name"}
    if speaker and _says_part_of(source, speaker[1]):
        said.add(speaker[0])
    found = []
    for hit in glossary.find(output, target):
        if hit.entry.kind == "name" and hit.entry.person not in said and hit.found not in found:
            found.append(hit.found)
    return found


def _says_part_of(source: str, names: dict) -> bool:
    """``source`` contains a part of one of ``names`` (a given name or a surname, 3+ letters or
    2+ kana/kanji)."""
    parts = set()
    for name in (n for n in names.values() if n):
        if script_language(name) == "en":
            parts |= {p for p in name.split() if len(p) >= 3}
        else:
            parts |= {p for p in re.split(r"[・\s]", name) if len(p) >= 2}
    lowered = source.lower()
    return any((re.search(r"(?<![a-z])" + re.escape(p.lower()) + r"(?![a-z])", lowered) if p.isascii() else p in source)
               for p in parts)


def substitute(text: str, hits: list[Hit], target: str) -> str:
    """The source line with each match replaced by its canonical target form."""
    pieces, last = [], 0
    for hit in hits:
        form = hit.entry.forms.get(target)
        if not form:
            continue
        pieces += [text[last:hit.start], form]
        last = hit.end
    return "".join(pieces) + text[last:]


def prompt_lines(hits: list[Hit], source: str, target: str) -> list[str]:
    """"- 城山英明 = Hideaki Shiroyama (name)" per distinct entry, in order of appearance."""
    lines, seen = [], set()
    for hit in hits:
        key = hit.entry.key()
        if key in seen or not hit.entry.forms.get(target):
            continue
        seen.add(key)
        lines.append(f"- {hit.found} = {hit.entry.forms[target]} ({hit.entry.kind})")
    return lines
