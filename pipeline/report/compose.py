"""The report's structure: one section per agenda session, each with a part per person who spoke,
quotes, the panel's questions and answers; then the overview drafted from those sections.

Who someone is (name, title, affiliation, role, honorific) comes from the agenda only; what they
said comes from the drafter's checked points or their own sentences. A section's ``input_hash``
covers the segments it is drafted from, so after an editor's correction only the sections citing
changed segments are drafted again.
"""

from __future__ import annotations

import hashlib
import json
import re

from ..core.config import Person
from ..core.config.report import ReportSettings
from .draft import Claim, Drafter, central
from .grounding import Embedder
from .source import Sentence, Source

HOST_ROLES = ("host",)
QA_ROLES = ("moderator", "panelist")
_QUESTION = re.compile(r"[?？]$|でしょうか|ますか[。？]?$|伺います|お願いします[。]?$|what is|how many|how much|why|do you",
                       re.IGNORECASE)


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def person_card(person: Person, role: str, settings: ReportSettings) -> dict:
    """Everything the report says about who someone is, straight from the agenda."""
    given = settings.honorifics.get(person.id)
    honorific_en = (given.en if given and given.en is not None else
                    "Professor" if "professor" in (person.title.en or "").lower() else "")
    honorific_ja = given.ja if given and given.ja is not None else "氏"
    return {"id": person.id, "role": role, "name": person.name.model_dump(), "title": person.title.model_dump(),
            "affiliation": person.affiliation.model_dump(), "honorific": {"en": honorific_en, "ja": honorific_ja}}


def designation(card: dict, language: str) -> str:
    """"Professor Hideaki Shiroyama, Director of ..., The University of Tokyo" / "東京大学の…、城山英明氏"."""
    name, title, affiliation = card["name"], card["title"], card["affiliation"]
    honorific = card["honorific"][language]
    if language == "ja":
        who = f"{name.get('ja') or name.get('en')}{honorific}"
        lead = "の".join(x for x in (affiliation.get("ja"), title.get("ja")) if x)
        return f"{lead}、{who}" if lead else who
    who = " ".join(x for x in (honorific, name.get("en") or name.get("ja")) if x)
    return ", ".join(x for x in (who, title.get("en"), _beyond_title(affiliation.get("en"), title.get("en"))) if x)


def _beyond_title(affiliation: str | None, title: str | None) -> str | None:
    """The affiliation without the parts the title already names ("Director of Institute for
    Future Initiatives" + "Institute for Future Initiatives, The University of Tokyo" is said
    "…, The University of Tokyo", as the event page writes it)."""
    if not affiliation or not title:
        return affiliation
    parts = [p.strip() for p in affiliation.split(",")]
    return ", ".join(p for p in parts if p and p.lower() not in title.lower()) or None


def short_name(card: dict, person: Person, language: str) -> str:
    """"Professor Shiroyama" / "城山氏": the surname as the agenda writes it."""
    honorific = card["honorific"][language]
    if language == "ja":
        full = person.name.ja or person.name.en or person.id
        surname = next((a for a in person.aliases if a != full and a in full and not a.isascii()), full)
        return f"{surname}{honorific}"
    full = person.name.en or person.name.ja or person.id
    surname = full.split()[-1] if " " in full else full
    return " ".join(x for x in (honorific, surname) if x)


QUOTE_CANDIDATES = 4


def quote_of(sentences: list[Sentence], settings: ReportSettings) -> Sentence | None:
    """A short verbatim quote: the first sentence (already ranked) that fits, else its best clause."""
    for sentence in sentences:
        text = sentence.text.rstrip("。")
        size = len(text) if sentence.language == "ja" else len(text.split())
        limit = settings.quote_max_chars_ja if sentence.language == "ja" else settings.quote_max_words_en
        if size <= limit:
            return Sentence(sentence.segments, text, sentence.language, sentence.start_s, sentence.end_s,
                            sentence.speaker, sentence.session)
        parts = re.split(r"(?<=[、,;])\s*", text)
        fitting = [p.strip(" 、,;") for p in parts
                   if 8 <= (len(p) if sentence.language == "ja" else len(p.split()) * 4)
                   and (len(p) if sentence.language == "ja" else len(p.split())) <= limit]
        if fitting:
            best = max(fitting, key=len)
            return Sentence(sentence.segments, best, sentence.language, sentence.start_s, sentence.end_s,
                            sentence.speaker, sentence.session)
    return None


class Composer:
    def __init__(self, source: Source, settings: ReportSettings, drafter: Drafter, embedder: Embedder | None,
                 languages: list[str]):
        self.source = source
        self.settings = settings
        self.drafter = drafter
        self.embedder = embedder
        self.languages = languages
        self.people = source.people

    # -- sessions ------------------------------------------------------------------------------

    def session_hash(self, session_id: str) -> str:
        segments = [s for s in self.source.segments if s.get("session") == session_id]
        return digest([[s["id"], s["text"], s["speaker"], s["language"], self.source.translations.get(s["id"], {})]
                       for s in segments])

    def session_section(self, index: int, session, segments: list[dict] | None = None) -> dict:
        if segments is None:
            segments = [s for s in self.source.segments if s.get("session") == session.id]
        section = {"id": f"session:{session.id}", "kind": "session", "session": session.id,
                   "title": session.title.model_dump(), "input_hash": self.session_hash(session.id),
                   "parts": [], "qa": [], "notes": []}
        if not segments:
            section["notes"].append({"en": "No speech was recorded for this session.",
                                     "ja": "このセッションの発言は記録されていません。"})
            return section
        slot_roles = {slot.person: slot.role for slot in session.people}
        hosts = {p for p, person in self.people.items() if "host" in person.roles}
        speakers = list(dict.fromkeys(s["speaker"] for s in segments))
        if index > 0:
            # The host's hand-overs between speakers carry no content: the host is reported once.
            speakers = [p for p in speakers if p not in hosts or slot_roles.get(p) not in (None, "host")] or speakers
        for person_id in speakers:
            person = self.people[person_id]
            role = slot_roles.get(person_id, "host" if person_id in hosts else person.roles[0])
            section["parts"].append(self.part(session, person, role, segments, first_session=index == 0))
        if any(slot_roles.get(p) in QA_ROLES for p in speakers):
            section["qa"] = self.questions_and_answers(session, segments, slot_roles)
        unlisted = [p for p in speakers if p not in slot_roles and p not in hosts]
        if unlisted:
            section["notes"].append({
                "en": "Also heard, though not listed for this session: "
                      + ", ".join(self.people[p].name.en or p for p in unlisted) + ".",
                "ja": "このセッションの登壇予定にない発言者：" + "、".join(self.people[p].name.ja or p for p in unlisted) + "。"})
        return section

    def part(self, session, person: Person, role: str, segments: list[dict], first_session: bool) -> dict:
        own = [s for s in segments if s["speaker"] == person.id]
        card = person_card(person, role, self.settings)
        part = {"person": card, "speech_s": round(sum(s["end_s"] - s["start_s"] for s in own), 1),
                "segments": [s["id"] for s in own], "lead": None, "points": {}, "quote": None}
        first = own[0]["id"]
        if role in HOST_ROLES or role == "moderator":
            verb = {"host": ("hosted the symposium", "がシンポジウムの司会を務めた"),
                    "moderator": ("moderated the discussion", "がモデレーターを務めた")}[role]
            part["lead"] = {"cites": [first], "origin": "agenda", "en": verb[0], "ja": verb[1]}
            if role != "moderator" and not first_session:
                return part  # a host's hand-overs carry no points of their own
        said = self.source.sentences([s["id"] for s in own])
        if role == "moderator":
            # The questions are reported in the Q&A; what else a moderator says frames the
            # discussion ("the first issue is the difference between the two lists").
            said = [s for s in said if not _QUESTION.search(s.text) and not s.courtesy]
            if not said:
                return part
        ranked = central(said, self.embedder, max(self.settings.context_sentences, self.settings.max_points_per_speaker))
        if role in HOST_ROLES:
            # The host's words are the running of the event: quoted as said, never summarised.
            for language in self.languages:
                claims = self._rendered(ranked[: self.settings.max_points_per_speaker], language)
                part["points"][language] = [c.as_dict() for c in claims]
            return part
        label = f"{short_name(card, person, 'en')} ({role})"
        limit = self.settings.max_points_per_speaker
        if self.settings.japanese_from == "translate" and "en" in self.languages:
            drafted = self.drafter.points(person.id, label, ranked, ["en"])
            drafted["en"] = drafted["en"] or self._rendered(ranked[:limit], "en")
            for language in self.languages:
                if language != "en":
                    drafted[language] = self._translated(drafted["en"], language, person.id)
        else:
            drafted = self.drafter.points(person.id, label, ranked, self.languages, render=self._rendered)
        for language in self.languages:
            claims = drafted.get(language) or self._rendered(self._chosen(drafted, ranked, limit), language)
            part["points"][language] = [c.as_dict() for c in claims]
        # A quote gives the speaker's own words beside points the model wrote; where every point
        # is already the speaker's words (reported as said, or their rendering) it has no place:
        # what is left over is a misheard sentence or a fragment more often than a key one.
        model_wrote = any(c["origin"] == "llm" for cs in part["points"].values() for c in cs)
        # The quote comes from the few most central sentences, not from the whole context, and
        # not from a sentence a point already reports as said; thanks and greetings are no quote.
        as_said = {i for cs in part["points"].values() for c in cs if c["origin"] == "extractive" for i in c["cites"]}
        rest = [s for s in said if not as_said.intersection(s.segments) and not (as_said and s.courtesy)]
        quote = None if not model_wrote or not rest else quote_of(central(rest, self.embedder, QUOTE_CANDIDATES),
                                                              self.settings)
        if quote is not None:
            part["quote"] = self.quote(quote)
        return part

    def _chosen(self, drafted: dict[str, list[Claim]], ranked: list[Sentence], limit: int) -> list[Sentence]:
        """The sentences to render for a language left without a checked point: those the model's
        points in another language rest on (it chose them as the key ones), else the first ones."""
        cited = [c for claims in drafted.values() for claim in claims if claim.origin == "llm" for c in claim.cites]
        chosen = [s for s in ranked if any(i in cited for i in s.segments)]
        return (chosen or ranked)[:limit]

    def _translated(self, claims: list[Claim], language: str, person: str) -> list[Claim]:
        """The English points translated (``japanese_from: translate``); extractive points use the
        sentence's own rendering instead."""
        to_translate = [c for c in claims if c.origin == "llm"]
        translated = self.drafter.translate([c.text for c in to_translate], "en", language,
                                            [c.cites for c in to_translate])
        by_text = {c.text: t for c, t in zip(to_translate, translated)}
        out = []
        for claim in claims:
            if claim.text in by_text:
                if by_text[claim.text] is not None:
                    out.append(by_text[claim.text])
                continue
            out.extend(self._rendered(self.source.sentences(claim.cites)[:1], language))
        return out

    def _rendered(self, sentences: list[Sentence], language: str) -> list[Claim]:
        """A sentence in ``language``: itself, a known translation (labelled), or the original
        marked "translation pending" — never an invented rendering."""
        claims = []
        for sentence in sentences:
            if sentence.language == language:
                claims.append(Claim(sentence.text, list(sentence.segments), "extractive", {"ok": True, "verbatim": True}))
                continue
            rendering = self.source.text_rendering(sentence.text, sentence.segments, language)
            if rendering:
                claims.append(Claim(rendering["text"], list(sentence.segments), f"translation:{rendering['source']}",
                                    {"ok": True}))
            else:
                claims.append(Claim(sentence.text, list(sentence.segments), "original",
                                    {"ok": True, "marked": ["translation pending"]}, "marked", sentence.language))
        return claims

    def quote(self, sentence: Sentence) -> dict:
        quote = {"text": sentence.text, "language": sentence.language, "cites": list(sentence.segments),
                 "translations": {}}
        self._pending_translations.append(quote)
        return quote

    # -- questions and answers ----------------------------------------------------------------

    def questions_and_answers(self, session, segments: list[dict], slot_roles: dict) -> list[dict]:
        asking = [p for p, r in slot_roles.items() if r == "moderator"]
        questions = [s for s in segments if s["speaker"] in asking and _QUESTION.search(s["text"].strip())]
        entries = []
        for k, question in enumerate(questions):
            until = questions[k + 1]["start_s"] if k + 1 < len(questions) else float("inf")
            answers, seen = [], set()
            for segment in segments:
                if not question["start_s"] < segment["start_s"] < until or segment["speaker"] in asking:
                    continue
                if slot_roles.get(segment["speaker"]) in HOST_ROLES or segment["speaker"] in seen:
                    continue
                sentences = [s for s in self.source.sentences([segment["id"]]) if not s.courtesy]
                if sentences:
                    seen.add(segment["speaker"])
                    answers.append(self.quote(sentences[0]) | {"person": segment["speaker"]})
            sentence = next((s for s in self.source.sentences([question["id"]]) if _QUESTION.search(s.text)),
                            None)
            if sentence is None:
                continue
            entries.append({"question": self.quote(sentence) | {"person": question["speaker"]}, "answers": answers[:4]})
        return entries

    # -- translations of quotes, batched per session and language pair ---------------------------

    _pending_translations: list[dict]

    def begin(self) -> None:
        self._pending_translations = []

    def finish_translations(self) -> None:
        pending = self._pending_translations
        self._pending_translations = []
        for target in self.languages:
            for origin in self.languages:
                todo = [q for q in pending if q["language"] == origin and origin != target]
                missing = []
                for q in todo:
                    # A known rendering of whole segments translates a quote of those whole segments only.
                    rendering = self.source.text_rendering(q["text"], q["cites"], target)
                    if rendering:
                        q["translations"][target] = {"text": rendering["text"], "origin":
                                                     f"translation:{rendering['source']}"}
                    else:
                        missing.append(q)
                first = {}  # one request per text
                for q in missing:
                    first.setdefault(q["text"].rstrip("。."), q)
                translated = self.drafter.translate([q["text"] for q in first.values()], origin, target,
                                                    [q["cites"] for q in first.values()])
                done = dict(zip(first, translated))
                for q in missing:
                    claim = done.get(q["text"].rstrip("。."))
                    q["translations"][target] = claim.as_dict() if claim else {"text": None, "origin": "pending"}
