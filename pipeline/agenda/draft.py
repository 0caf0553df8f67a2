"""From the pages' programmes to one event draft: people merged, pages paired, times placed.

A person listed twice (a host who also speaks) is one person with two roles; a Japanese page
and an English page of the same event are paired item by item and slot by slot; near-duplicate
spellings are kept as written and marked. Times are only those the page gives.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..core.language import japanese_morphemes
from .glossary import english_candidates, written_pairs
from .pages import Page
from .people import PersonLine, normal, script_of
from .program import Item, PageProgram, Slot, Sourced, read_program

LANGS = ("en", "ja")


@dataclass
class DraftPerson:
    id: str
    names: dict[str, Sourced] = field(default_factory=dict)
    titles: dict[str, Sourced] = field(default_factory=dict)
    affiliations: dict[str, Sourced] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (alias, why)
    wheres: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


@dataclass
class DraftSlot:
    person: str
    role: str
    where: str
    talk: str = ""


@dataclass
class DraftSession:
    id: str
    titles: dict[str, Sourced]
    start: str
    end: str
    time_note: str  # where the times come from
    people: list[DraftSlot]
    checks: list[str] = field(default_factory=list)


@dataclass
class Draft:
    pages: list[str]
    titles: dict[str, Sourced]
    date: Sourced | None
    timezone: Sourced | None
    languages: Sourced | None
    interpretation: Sourced | None
    no_interpretation: Sourced | None
    people: list[DraftPerson]
    sessions: list[DraftSession]
    glossary: list[tuple[str, str, str]] = field(default_factory=list)  # (en, ja, where)
    glossary_candidates: list[tuple[str, str]] = field(default_factory=list)  # (term, where)
    checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    assistant: dict = field(default_factory=dict)


def name_key(person: PersonLine) -> tuple[str, str]:
    text = unicodedata.normalize("NFKC", person.name).lower()
    text = re.sub(r"[\s・･.\-'’=]", "", text)
    return person.script, text


class _Union:
    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, key):
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a, b) -> None:
        self.parent[self.find(a)] = self.find(b)


def draft_from_pages(pages: list[Page]) -> Draft:
    programs = [read_program(page) for page in pages]
    # The page with the most people leads; the others (its other-language pages) are paired with it.
    base = max(programs, key=lambda p: sum(len(i.slots) for i in p.items) + len(p.prelude))
    sessions_of = {id(p): _sessions(p) for p in programs}
    union = _Union()
    for program in programs:
        for _, slots in sessions_of[id(program)]:
            for slot in slots:
                _join_forms(union, slot, slot)  # one line in two scripts is one person
    pairs, checks = _pair_with_base(base, [p for p in programs if p is not base], sessions_of, union)
    people, person_of = _people(programs, sessions_of, union)
    sessions = _draft_sessions(base, sessions_of[id(base)], pairs, person_of)
    draft = Draft(pages=[p.page.name for p in programs], titles=_merged(programs, "titles"),
                  date=_first(programs, "date"), timezone=_first(programs, "timezone"),
                  languages=_first(programs, "languages"), interpretation=_first(programs, "interpretation"),
                  no_interpretation=_first(programs, "no_interpretation"),
                  people=people, sessions=sessions, checks=checks)
    draft.notes = _notes(programs)
    draft.people = _merge_near_duplicates(draft.people, draft.sessions)
    _event_checks(draft, programs)
    overview = [line for p in programs for line in p.overview]
    draft.glossary = written_pairs(overview)
    known = {en.lower() for en, _, _ in draft.glossary}
    draft.glossary_candidates = [(term, where) for term, where in english_candidates(overview)
                                 if term not in known]
    return draft


def _join_forms(union: _Union, a: Slot, b: Slot) -> None:
    for x in a.forms.values():
        for y in b.forms.values():
            union.join(name_key(x), name_key(y))


def _pair_with_base(base: PageProgram, others: list[PageProgram], sessions_of: dict, union: _Union):
    """Each other page's items and people paired with the base page's, by position; a page whose
    programme differs in length or roles is not paired (and says so)."""
    pairs: dict[int, list[tuple[Item, list[Slot]]]] = {}
    checks: list[str] = []
    base_sessions = sessions_of[id(base)]
    for other in others:
        other_sessions = sessions_of[id(other)]
        if len(other_sessions) != len(base_sessions):
            checks.append(f"{other.page.name}: {len(other_sessions)} programme items with people against "
                          f"{len(base_sessions)} on {base.page.name}; its people were not paired with the other page's")
            continue
        for index, ((item, slots), (other_item, other_slots)) in enumerate(zip(base_sessions, other_sessions)):
            pairs.setdefault(index, []).append((other_item, other_slots))
            if [s.role for s in slots] != [s.role for s in other_slots]:
                checks.append(f"{other_item.where}: its people differ from {item.where} in number or roles; not paired")
                continue
            for slot, other_slot in zip(slots, other_slots):
                _join_forms(union, slot, other_slot)
    return pairs, checks


def _notes(programs: list[PageProgram]) -> list[str]:
    notes = []
    for program in programs:
        for item in program.items:
            if (item.kind == "pause" or not item.slots) and item.start:
                title = item.titles.get("en") or item.titles.get("ja") or ""
                notes.append(f"not a session (no people on the page): {title} {item.start}–{item.end or '?'} "
                             f"({item.where})")
        for ignored in program.ignored:
            notes.append(f"not a person: «{ignored.value[:70]}» ({ignored.where})")
    return notes


def _sessions(program: PageProgram) -> list[tuple[Item, list[Slot]]]:
    """The page's items with people, in order; people listed before the programme (a host)
    open the first session."""
    found = [(item, list(item.slots)) for item in program.items if item.kind == "session" and item.slots]
    if program.prelude:
        if found:
            found[0] = (found[0][0], program.prelude + found[0][1])
        else:
            titles = {k: v.value for k, v in program.titles.items()}
            where = program.prelude[0].where
            item = Item(titles or {"en": "Programme"}, where, "session", "programme",
                        program.start.value if program.start else None, program.end.value if program.end else None)
            found = [(item, list(program.prelude))]
    return found


def _merged(programs: list[PageProgram], attribute: str) -> dict[str, Sourced]:
    merged: dict[str, Sourced] = {}
    for program in programs:
        for language, value in getattr(program, attribute).items():
            merged.setdefault(language, value)
    return merged


def _first(programs: list[PageProgram], attribute: str):
    return next((getattr(p, attribute) for p in programs if getattr(p, attribute) is not None), None)


def _people(programs, sessions_of, union) -> tuple[list[DraftPerson], dict]:
    groups: dict = {}
    order: list = []
    for program in programs:
        for _, slots in sessions_of[id(program)]:
            for slot in slots:
                for form in slot.forms.values():
                    root = union.find(name_key(form))
                    if root not in groups:
                        groups[root] = []
                        order.append(root)
                    groups[root].append((form, slot))
    people, person_of, used_ids = [], {}, set()
    for root in order:
        person = DraftPerson(id="")
        for form, slot in groups[root]:
            language = form.script
            if slot.where not in person.wheres:
                person.wheres.append(slot.where)
            if language not in person.names:
                person.names[language] = Sourced(form.name, slot.where)
            elif normal(person.names[language].value).replace(" ", "") != normal(form.name).replace(" ", ""):
                person.checks.append(f"also written '{form.name}' ({slot.where})")
            for attribute, value in (("titles", form.title), ("affiliations", form.affiliation)):
                known = getattr(person, attribute)
                if value and language not in known:
                    known[language] = Sourced(value, slot.where)
                elif value and known[language].value != value:
                    kind = "title" if attribute == "titles" else "affiliation"
                    person.checks.append(f"{kind} also given as '{value}' ({slot.where})")
            for check in form.checks:
                note = f"{check} ({slot.where})"
                if check == "no title or affiliation on the page" and (person.titles or person.affiliations):
                    continue
                if note not in person.checks:
                    person.checks.append(note)
            if slot.role not in person.roles:
                person.roles.append(slot.role)
        # A mention without details does not count against a fuller one.
        person.checks = [c for c in person.checks
                         if not (c.startswith("no title or affiliation") and (person.titles or person.affiliations))]
        if "en" not in person.names and "ja" in person.names:
            person.checks.append("no English name on the page (none is made up)")
        elif "ja" not in person.names and _bilingual(programs):
            person.checks.append("no Japanese name on the page (none is made up)")
        person.aliases = _aliases(person)
        person.id = _person_id(person, used_ids, len(people) + 1)
        used_ids.add(person.id)
        for form, _ in groups[root]:
            person_of[name_key(form)] = person.id
        people.append(person)
    return people, person_of


def _bilingual(programs: list[PageProgram]) -> bool:
    return any(script_of(line.text) == "ja" for p in programs for line in p.page.lines)


def _aliases(person: DraftPerson) -> list[tuple[str, str]]:
    """The family name alone, as the page writes it (a space or a middle dot in the name)."""
    aliases = []
    ja = person.names.get("ja")
    if ja is not None:
        name = ja.value.strip()
        pieces = re.split(r"[ 　・･=＝]", name)
        if len(pieces) >= 2:
            family = pieces[-1] if re.fullmatch(r"[\u30a0-\u30ffー・･=＝ 　]+", name) else pieces[0]
            aliases.append((family, "family name as the page writes it"))
            if re.search(r"[ 　]", name):
                # The space between family and given name is layout: Japanese text (and so a
                # transcript, and Whisper's prompt) writes 柴野相雄. The page's form stays in the comment.
                person.names["ja"] = Sourced(re.sub(r"[ 　]", "", name), f"{ja.where} «{name}»")
        else:
            family = _sudachi_family_name(name)
            if family:
                aliases.append((family, "family name (split by Sudachi's name dictionary)"))
    return aliases


def _sudachi_family_name(name: str) -> str:
    try:
        morphemes = japanese_morphemes(name)
    except ImportError:
        return ""
    if len(morphemes) >= 2 and morphemes[0].part_of_speech()[3] == "姓" and \
            morphemes[0].surface() + "".join(m.surface() for m in morphemes[1:]) == name:
        return morphemes[0].surface()
    return ""


def _person_id(person: DraftPerson, used: set[str], number: int) -> str:
    en = person.names.get("en")
    if en is not None:
        words = [re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode().lower())
                 for w in en.value.split()]
        words = [w for w in words if w]
        for candidate in (words[-1:], words[:1] + words[-1:], words):
            value = "-".join(candidate)
            if value and value not in used:
                return value
    value = f"person-{number}"
    while value in used:
        number += 1
        value = f"person-{number}"
    return value


def _merge_near_duplicates(people: list[DraftPerson], sessions: list[DraftSession]) -> list[DraftPerson]:
    """ "Katarina Novak" and later "Katarina Nowak": one person under the page's first spelling,
    the other kept as an alias and marked; two people listed in one session are never merged."""
    together = {(a.person, b.person) for s in sessions for a in s.people for b in s.people}
    merged: dict[str, str] = {}
    kept: list[DraftPerson] = []
    for person in people:
        twin = next((k for k in kept if (k.id, person.id) not in together and any(
            language in k.names and language in person.names
            and _near(k.names[language].value, person.names[language].value) for language in LANGS)), None)
        if twin is None:
            kept.append(person)
            continue
        merged[person.id] = twin.id
        for language, name in person.names.items():
            twin.names.setdefault(language, name)
            if twin.names[language].value != name.value:
                twin.aliases.append((name.value, f"spelling at {name.where}"))
                twin.checks.append(f"near-duplicate spelling '{name.value}' ({name.where}) taken as the same "
                                   f"person, the first spelling kept: the organizer decides")
        for attribute in ("titles", "affiliations"):
            for language, value in getattr(person, attribute).items():
                getattr(twin, attribute).setdefault(language, value)
        twin.roles += [r for r in person.roles if r not in twin.roles]
        twin.wheres += [w for w in person.wheres if w not in twin.wheres]
        twin.checks = [c for c in twin.checks if not c.startswith("no title or affiliation")
                       or not (twin.titles or twin.affiliations)]
    for session in sessions:
        for slot in session.people:
            slot.person = merged.get(slot.person, slot.person)
    return kept


def _near(a: str, b: str) -> bool:
    """Same number of words, one the same, the other one or two letters apart (five letters or more)."""
    a_words, b_words = normal(a).lower().split(), normal(b).lower().split()
    if a_words == b_words or len(a_words) != len(b_words) or len(a_words) < 2:
        return False
    from rapidfuzz.distance import DamerauLevenshtein

    differing = [(x, y) for x, y in zip(a_words, b_words) if x != y]
    return len(differing) == 1 and min(map(len, differing[0])) >= 5 and \
        DamerauLevenshtein.distance(*differing[0]) <= 2


def _draft_sessions(base: PageProgram, base_sessions, pairs, person_of) -> list[DraftSession]:
    sessions: list[DraftSession] = []
    used: set[str] = set()
    items = base.items
    for index, (item, slots) in enumerate(base_sessions):
        titles = {lang: Sourced(text, item.where) for lang, text in item.titles.items()}
        for other_item, _ in pairs.get(index, []):
            for lang, text in other_item.titles.items():
                titles.setdefault(lang, Sourced(text, other_item.where))
        start, end, note, checks = _times(base, item, items)
        checks = list(item.checks) + checks
        session_id = item.key or "item"
        number = 2
        while session_id in used:
            session_id, number = f"{item.key}-{number}", number + 1
        used.add(session_id)
        people, seen = [], set()
        for slot in slots:
            forms = list(slot.forms.values())
            person = person_of[name_key(forms[0])]
            if (person, slot.role) in seen:
                continue
            seen.add((person, slot.role))
            people.append(DraftSlot(person, slot.role, slot.where, slot.talk))
            checks.extend(f"{c} ({slot.where})" for c in slot.checks)
        sessions.append(DraftSession(session_id, titles, start, end, note, people, checks))
    return sessions


def _times(program: PageProgram, item: Item, items: list[Item]) -> tuple[str, str, str, list[str]]:
    """The item's start and end as the page gives them; what is missing is marked, never made up."""
    where = item.time_where or item.where
    event_start = program.start.value if program.start else None
    event_end = program.end.value if program.end else None
    event_where = program.start.where if program.start else ""
    following = items[items.index(item) + 1:] if item in items else []
    if item.start and item.end:
        return item.start, item.end, where, []
    if item.start:
        next_start = next((i.start for i in following if i.start), None)
        if next_start:
            return item.start, next_start, where, [f"no end time on the page: the next item's start ({next_start})"]
        if event_end:
            return item.start, event_end, where, [f"no end time on the page: the event's end ({event_end}, {event_where})"]
        return item.start, item.start, where, ["no end time on the page: set to the start"]
    if event_start and event_end:
        return event_start, event_end, event_where, [
            f"no time for this item on the page: the event's slot {event_start}–{event_end} ({event_where})"]
    return "00:00", "00:00", "", ["no time on the page for this item or the event: 00:00 written"]


def _event_checks(draft: Draft, programs: list[PageProgram]) -> None:
    for program in programs:
        draft.checks.extend(program.title_checks)
    if "en" not in draft.titles and "ja" in draft.titles:
        draft.checks.append("no English title on the page")
    if "ja" not in draft.titles and "en" in draft.titles and draft.languages and "ja" in draft.languages.value:
        draft.checks.append("no Japanese title on the page (none is made up)")
    if draft.date is None:
        draft.checks.append("no date found on the page")
    if draft.timezone is None:
        draft.checks.append("no time zone found on the page: UTC written")
    else:
        others = [t for p in programs for t in p.other_times]
        if others:
            draft.checks.append(f"the page also gives {', '.join(others)} in another zone; "
                                f"the first zone listed is the event's ({draft.timezone.where})")
    if draft.languages is None:
        draft.checks.append("no language line on the page: languages read from the page's scripts")
    if not draft.sessions:
        draft.checks.append("no programme with people found")
