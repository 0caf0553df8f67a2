"""A drafted config against a reference config, field by field (the acceptance figures; tests).

People are matched by any of their names or aliases (ids may differ), sessions in order. Every
field the reference gives counts: event title per language, date, time zone, languages (as a
set), interpretation (the ``# interpretation:`` line), and per person name, title, affiliation
per language and roles (as a set); per session title per language, start, end and its people
with their roles. A drafted person matching no reference person is an invented person.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..core.config import Config, load_config


@dataclass
class Row:
    field: str
    expected: object
    drafted: object

    @property
    def ok(self) -> bool:
        return _same(self.expected, self.drafted)


def _key(text: str | None) -> str:
    return re.sub(r"[\s・･]", "", unicodedata.normalize("NFKC", text or "")).lower()


def _same(a, b) -> bool:
    if isinstance(a, (set, frozenset)):
        return a == b
    return re.sub(r"\s+", " ", str(a or "")).strip() == re.sub(r"\s+", " ", str(b or "")).strip()


def interpretation_of(path: Path) -> str:
    found = re.search(r"#\s*interpretation:\s*(provided|none|not mentioned)", path.read_text(encoding="utf-8"))
    return found.group(1) if found else "not mentioned"


def compare(drafted_path: Path, expected_path: Path) -> dict:
    drafted, expected = load_config(drafted_path), load_config(expected_path)
    rows: list[Row] = []
    _event_rows(rows, drafted, expected)
    rows.append(Row("event.interpretation", interpretation_of(expected_path), interpretation_of(drafted_path)))
    match = _match_people(drafted, expected)
    d_people = {p.id: p for p in drafted.event.people}
    for person in expected.event.people:
        mine = d_people.get(match.get(person.id, ""))
        for attribute in ("name", "title", "affiliation"):
            for language in ("en", "ja"):
                value = getattr(getattr(person, attribute), language)
                if value:
                    got = getattr(getattr(mine, attribute), language) if mine else None
                    if attribute == "name" and language == "ja" and got:
                        # A space between a Japanese family and given name is layout, not spelling.
                        value, got = value.replace("\u3000", "").replace(" ", ""), got.replace(" ", "")
                    rows.append(Row(f"people[{person.id}].{attribute}.{language}", value, got))
        rows.append(Row(f"people[{person.id}].roles", set(person.roles), set(mine.roles) if mine else set()))
    d_sessions = drafted.event.sessions
    for index, session in enumerate(expected.event.sessions):
        mine = d_sessions[index] if index < len(d_sessions) else None
        for language in ("en", "ja"):
            value = getattr(session.title, language)
            if value:
                rows.append(Row(f"sessions[{session.id}].title.{language}", value,
                                getattr(mine.title, language) if mine else None))
        rows.append(Row(f"sessions[{session.id}].start", session.start, mine.start if mine else None))
        rows.append(Row(f"sessions[{session.id}].end", session.end, mine.end if mine else None))
        want = {(slot.person, slot.role) for slot in session.people}
        reverse = {v: k for k, v in match.items()}
        got = {(reverse.get(slot.person, f"?{slot.person}"), slot.role) for slot in mine.people} if mine else set()
        rows.append(Row(f"sessions[{session.id}].people", frozenset(want), frozenset(got)))
    invented = [p.id for p in drafted.event.people if p.id not in match.values()]
    missing = [p.id for p in expected.event.people if p.id not in match]
    right = sum(r.ok for r in rows)
    return {"rows": rows, "right": right, "total": len(rows), "share": right / len(rows) if rows else 0.0,
            "people": {"expected": len(expected.event.people), "drafted": len(drafted.event.people),
                       "matched": len(match), "invented": invented, "missing": missing},
            "sessions": {"expected": len(expected.event.sessions), "drafted": len(d_sessions)}}


def _event_rows(rows: list[Row], drafted: Config, expected: Config) -> None:
    for language in ("en", "ja"):
        value = getattr(expected.event.title, language)
        if value:
            rows.append(Row(f"event.title.{language}", value, getattr(drafted.event.title, language)))
    rows.append(Row("event.date", expected.event.date, drafted.event.date))
    rows.append(Row("event.timezone", expected.event.timezone, drafted.event.timezone))
    rows.append(Row("event.languages", set(expected.event.languages), set(drafted.event.languages)))


def _match_people(drafted: Config, expected: Config) -> dict[str, str]:
    """expected id -> drafted id, by any shared name or alias."""
    def names(person) -> set[str]:
        return {_key(n) for n in (person.name.en, person.name.ja, *person.aliases) if n and len(_key(n)) > 2}

    def own(person) -> set[str]:
        """The person's names, and the English family name alone."""
        found = {_key(person.name.en), _key(person.name.ja)} - {""}
        if person.name.en and len(person.name.en.split()) > 1:
            found.add(_key(person.name.en.split()[-1]))
        return found

    match: dict[str, str] = {}
    taken: set[str] = set()
    for person in expected.event.people:
        wanted = {_key(person.name.en), _key(person.name.ja)} - {""}
        for mine in drafted.event.people:
            if mine.id not in taken and (wanted & names(mine) or names(person) & own(mine)):
                match[person.id] = mine.id
                taken.add(mine.id)
                break
    return match


def table(result: dict, only_wrong: bool = False) -> str:
    lines = [f"{'field':<46} {'ok':<3} expected | drafted"]
    for row in result["rows"]:
        if only_wrong and row.ok:
            continue
        shown = [sorted(map(str, v)) if isinstance(v, (set, frozenset)) else v for v in (row.expected, row.drafted)]
        lines.append(f"{row.field:<46} {'✓' if row.ok else '✗':<3} {shown[0]} | {shown[1]}")
    people = result["people"]
    lines.append(f"fields right: {result['right']}/{result['total']} ({100 * result['share']:.1f} %); people "
                 f"{people['matched']}/{people['expected']} matched, {len(people['invented'])} invented "
                 f"{people['invented'] or ''}, sessions {result['sessions']['drafted']}/{result['sessions']['expected']}")
    return "\n".join(lines)
