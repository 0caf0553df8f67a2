"""The draft as a config file: the project's schema, every value followed by where it was read,
and ``# check:`` lines where the organizer must look."""

from __future__ import annotations

import json

from .draft import Draft, DraftPerson, DraftSession
from .program import Sourced

CHECK = "# check:"


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _where(*sourced: Sourced | None) -> str:
    places = []
    for s in sourced:
        if s is not None and s.where and s.where not in places:
            places.append(s.where)
    return f"  # {', '.join(places)}" if places else ""


def _bilingual(key: str, values: dict[str, Sourced], indent: str) -> list[str]:
    lines = [f"{indent}{key}:"]
    for language in ("en", "ja"):
        if language in values:
            lines.append(f"{indent}  {language}: {_q(values[language].value)}{_where(values[language])}")
    if len(lines) == 1:
        return []
    return lines


def render(draft: Draft) -> str:
    out = [
        f"# Drafted by `python -m pipeline agenda` from {', '.join(draft.pages)}.",
        "# Each value is followed by where the page says it (file:line). The lines that start with \"check:\"",
        "# are for the organizer; `python -m pipeline agenda --check THIS_FILE` shows them with the people",
        "# and sessions as tables.",
        "event:",
    ]
    titles = draft.titles or {"en": Sourced("Event", "")}
    out += _bilingual("title", titles, "  ")
    if draft.date is not None:
        out.append(f"  date: {_q(draft.date.value)}{_where(draft.date)}")
    zone = draft.timezone.value if draft.timezone else "UTC"
    out.append(f"  timezone: {zone}{_where(draft.timezone)}")
    languages = draft.languages.value if draft.languages else _languages_from_script(draft)
    out.append(f"  languages: [{', '.join(languages)}]{_where(draft.languages)}")
    if draft.interpretation is not None:
        out.append(f"  # interpretation: provided{_where(draft.interpretation)} "
                   f"«{draft.interpretation.value[:90]}»")
    elif draft.no_interpretation is not None:
        out.append(f"  # interpretation: none{_where(draft.no_interpretation)} «{draft.no_interpretation.value[:90]}»")
    else:
        out.append("  # interpretation: not mentioned on the page")
    out += [f"  {CHECK} {c}" for c in draft.checks]
    out += _glossary(draft)
    out.append("  people:")
    for person in draft.people:
        out += _person(person)
    out.append("  sessions:")
    for session in draft.sessions:
        out += _session(session)
    for note in draft.notes:
        out.append(f"  # {note}")
    out += ["recording:", "  tracks:", "    - {name: floor, stream: 0, role: floor}"]
    if draft.interpretation is not None:
        out += ["    # The page says interpretation is provided. If the recording also holds the interpreters'",
                "    # channel as a second audio stream, add:",
                "    #   - {name: interpretation, stream: 1, role: interpretation}"]
    if draft.assistant:
        out.append(f"# LLM assistance: {json.dumps(draft.assistant, ensure_ascii=False)}")
    return "\n".join(out) + "\n"


def _languages_from_script(draft: Draft) -> list[str]:
    found = []
    for person in draft.people:
        for language in person.names:
            if language not in found:
                found.append(language)
    for language in draft.titles:
        if language not in found:
            found.append(language)
    return sorted(found or ["en"], key=("en", "ja").index)


def _glossary(draft: Draft) -> list[str]:
    lines = []
    if draft.glossary:
        lines.append("  glossary:")
        for en, ja, where in draft.glossary:
            lines.append(f"    - {{en: {_q(en)}, ja: {_q(ja)}}}  # {where}")
    if draft.glossary_candidates:
        lines.append("  # Topic words of the overview with no Japanese form on the page (a glossary entry needs both):")
        for term, where in draft.glossary_candidates:
            lines.append(f"  #   - {{en: {_q(term)}, ja: ...}}  # {where}")
    return lines


def _person(person: DraftPerson) -> list[str]:
    lines = [f"    - id: {person.id}"]
    lines += _bilingual("name", person.names, "      ")
    if person.aliases:
        lines.append(f"      aliases: [{', '.join(_q(a) for a, _ in person.aliases)}]"
                     f"  # {'; '.join(why for _, why in person.aliases)}")
    lines += _bilingual("title", person.titles, "      ")
    lines += _bilingual("affiliation", person.affiliations, "      ")
    lines.append(f"      roles: [{', '.join(person.roles)}]  # {', '.join(person.wheres)}")
    lines += [f"      {CHECK} {c}" for c in person.checks]
    return lines


def _session(session: DraftSession) -> list[str]:
    lines = [f"    - id: {session.id}"]
    lines += _bilingual("title", session.titles, "      ")
    note = f"  # {session.time_note}" if session.time_note else ""
    lines.append(f"      start: {_q(session.start)}{note}")
    lines.append(f"      end: {_q(session.end)}{note}")
    lines += [f"      {CHECK} {c}" for c in session.checks]
    lines.append("      people:")
    for slot in session.people:
        talk = f" talk {slot.talk}" if slot.talk else ""
        lines.append(f"        - {{person: {slot.person}, role: {slot.role}}}  # {slot.where}{talk}")
    return lines
