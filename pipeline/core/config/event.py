"""The event: its agenda (people, sessions) and the recording's tracks."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from .base import Bilingual, LanguageCode, Role, Strict


class Person(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: Bilingual
    # Other ways the person is written or said: kana readings, short forms, romaji orders.
    aliases: list[str] = []
    title: Bilingual = Bilingual()
    affiliation: Bilingual = Bilingual()
    languages: list[LanguageCode] = []
    roles: list[Role] = Field(min_length=1)
    # Short recordings of this person's voice (paths relative to the config file).
    enrollment: list[str] = []


class SessionSlot(Strict):
    person: str
    role: Role


class Session(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: Bilingual
    # Scheduled local times, "HH:MM" or "HH:MM:SS", in the event's time zone.
    start: str = Field(pattern=r"^\d{2}:\d{2}(:\d{2})?$")
    end: str = Field(pattern=r"^\d{2}:\d{2}(:\d{2})?$")
    people: list[SessionSlot] = []

    @field_validator("start", "end")
    @classmethod
    def _a_time_of_day(cls, value: str) -> str:
        hours, minutes, *seconds = (int(part) for part in value.split(":"))
        if hours > 23 or minutes > 59 or any(s > 59 for s in seconds):
            raise ValueError("not a time of day: hours 00-23, minutes and seconds 00-59")
        return value


class Term(Strict):
    """One entry of the event's glossary: how a term is written in each language."""

    en: str = Field(min_length=1)
    ja: str = Field(min_length=1)
    # Kana reading of the Japanese form (for matching what Whisper wrote in kana).
    reading: Optional[str] = None
    # Other spellings heard or written for the same term (abbreviations, old names).
    aliases: list[str] = []


class Event(Strict):
    title: Bilingual
    date: Optional[str] = None
    timezone: str = "UTC"
    languages: list[LanguageCode] = Field(min_length=1)
    people: list[Person] = []
    sessions: list[Session] = []
    # Terms an organizer knows before the event (topic vocabulary); names, titles, affiliations
    # and session titles come from people and sessions and need not be repeated here.
    glossary: list[Term] = []

    @model_validator(mode="after")
    def _references_resolve(self) -> "Event":
        ids = [p.id for p in self.people]
        seen: set[str] = set()
        for person_id in ids:  # one pass: a long agenda must not take quadratic time
            if person_id in seen:
                raise ValueError(f"person id {person_id!r} is defined more than once")
            seen.add(person_id)
        owners: dict[str, str] = {}
        for person in self.people:
            for variant in [person.name.en, person.name.ja, *person.aliases]:
                key = (variant or "").strip().lower()
                if key and owners.setdefault(key, person.id) != person.id:
                    raise ValueError(f"name variant {variant!r} belongs to both {owners[key]!r} and {person.id!r}")
        for session in self.sessions:
            if not session.people:
                raise ValueError(f"session {session.id!r} has no people")
            for slot in session.people:
                if slot.person not in seen:
                    raise ValueError(
                        f"session {session.id!r} names person {slot.person!r}, "
                        f"who is not in event.people (known: {', '.join(ids) or 'none'})"
                    )
        return self


class Track(Strict):
    """One audio track to take from the recording."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    # Index among the file's audio streams (0 = first audio stream).
    stream: int = Field(default=0, ge=0)
    # Take one channel of that stream (0 = left); None mixes all channels down to mono.
    channel: Optional[int] = Field(default=None, ge=0)
    role: Literal["floor", "interpretation"] = "floor"
    # For an interpretation track, the language the interpreters speak (None = mixed).
    language: Optional[LanguageCode] = None


class Recording(Strict):
    tracks: list[Track] = [Track(name="floor")]

    @field_validator("tracks")
    @classmethod
    def _one_floor_track(cls, tracks: list[Track]) -> list[Track]:
        floors = [t.name for t in tracks if t.role == "floor"]
        if len(floors) != 1:
            raise ValueError(f"exactly one track must have role 'floor', found {len(floors)}")
        names = [t.name for t in tracks]
        if len(set(names)) != len(names):
            raise ValueError(f"track names must be unique, got {names}")
        return tracks
