"""schema.org JSON-LD: the Event with its sessions as sub-events, the recording as an
AudioObject with its transcript and captions, and the people with their roles and affiliations."""

from __future__ import annotations

from .source import Run, bilingual


def _texts(values: dict[str, str]) -> list[dict]:
    return [{"@value": text, "@language": language} for language, text in values.items() if text]


def _iso_duration(seconds: float) -> str:
    total = int(round(seconds))
    return f"PT{total // 3600}H{total % 3600 // 60}M{total % 60}S"


def _person(run: Run, person_id: str) -> dict:
    person = run.people.get(person_id, {})
    languages = run.languages
    node = {"@type": "Person", "@id": f"#person-{person_id}",
            "name": _texts({l: bilingual(person.get("name"), l) for l in languages})}
    titles = {l: (person.get("title") or {}).get(l) for l in languages}
    if any(titles.values()):
        node["jobTitle"] = _texts(titles)
    affiliations = {l: (person.get("affiliation") or {}).get(l) for l in languages}
    if any(affiliations.values()):
        node["affiliation"] = {"@type": "Organization", "name": _texts(affiliations)}
    return node


def _roles(run: Run) -> dict[str, list[str]]:
    """person id -> roles, from the agenda (config) and the session slots."""
    roles: dict[str, list[str]] = {}
    for person in run.config.event.people:
        roles.setdefault(person.id, []).extend(person.roles)
    for session in run.config.event.sessions:
        for slot in session.people:
            roles.setdefault(slot.person, []).append(slot.role)
    return {p: sorted(set(r)) for p, r in roles.items()}


def json_ld(run: Run, base: str, audio_file: str, audio_format: str, caption_files: dict[str, str],
            transcript_file: str) -> dict:
    languages = run.languages
    roles = _roles(run)
    heard = sorted({s.get("speaker") for s in run.segments if s.get("speaker") in run.people})
    performers = [{"@type": "PerformanceRole", "roleName": role, "performer": _person(run, person_id)}
                  for person_id in heard for role in roles.get(person_id, ["speaker"])]
    transcript = "\n".join(f"{run.speaker_name(s, s['language'])}: {s['text'].strip()}" for s in run.segments)
    recording = {
        "@type": "AudioObject",
        "@id": f"{base}/{audio_file}",
        "name": _texts({l: run.title(l) for l in languages}),
        "contentUrl": f"{base}/{audio_file}",
        "encodingFormat": audio_format,
        "duration": _iso_duration(run.duration_s),
        "inLanguage": languages,
        "transcript": transcript,
        "associatedMedia": {"@type": "MediaObject", "contentUrl": f"{base}/{transcript_file}",
                            "encodingFormat": "text/html", "description": "Bilingual transcript"},
        "caption": [{"@type": "MediaObject", "contentUrl": f"{base}/{path}", "encodingFormat": "text/vtt",
                     "inLanguage": language} for language, path in caption_files.items()],
        "license": run.config.publish.rights,
    }
    event = {
        "@context": "https://schema.org",
        "@type": "Event",
        "@id": f"{base}#event",
        "identifier": run.identifier,
        "name": _texts({l: run.title(l) for l in languages}),
        "inLanguage": languages,
        "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode",
        "performer": performers,
        "recordedIn": recording,
        "subEvent": [{"@type": "Event", "@id": f"{base}#{s['id']}",
                      "name": _texts({l: bilingual(s.get("title"), l) for l in languages}),
                      "performer": [{"@id": f"#person-{p['id']}"} for p in s.get("speakers") or [] if p.get("id")]}
                     for s in run.agenda_sessions],
    }
    if run.config.event.date:
        event["startDate"] = run.config.event.date
    if run.config.publish.organizer:
        event["organizer"] = {"@type": "Organization", "name": run.config.publish.organizer}
    return event
