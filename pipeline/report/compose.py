"""The report's structure: one section per agenda session, a paragraph per person who spoke, each
a few sentences in reported speech (``phrasing.py``) built from the sentences ``select.py``
chose; then the overview (``stage.py``).

Who someone is (name, title, affiliation, role, honorific) comes from the agenda only; what they
said comes from their own sentences (or the best rendering of them), turned into reported speech
by rule, each clause checked against the segments it cites. A section's ``input_hash`` covers
the segments it is drafted from and its length budget, so after an editor's correction only the
sections citing changed segments are drafted again.
"""

from __future__ import annotations

import hashlib
import json
import re

from ..core.config import Person
from ..core.config.report import ReportSettings
from .draft import Drafter
from .phrasing import CLAUSES_PER_SENTENCE, ROLE_LEAD, japanese_designation, one_pending, sentences_en, sentences_ja
from .reported import as_quote
from .select import Candidate, Selector, choose, topic_of
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
    """"Professor Hideaki Shiroyama, Director of ..., The University of Tokyo" / "東京大学未来ビジョン研究センター長の城山英明氏"."""
    name, title, affiliation = card["name"], card["title"], card["affiliation"]
    honorific = card["honorific"][language]
    if language == "ja":
        return japanese_designation(f"{name.get('ja') or name.get('en')}{honorific}", title.get("ja"),
                                    affiliation.get("ja"))
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


def fixed_words(card: dict, role: str) -> int:
    """English words a part costs whatever it tells: the designation and the role's lead."""
    lead = ROLE_LEAD.get(role)
    return len(designation(card, "en").split()) + (len(lead["en_who"].split()) if lead else 0)


class Composer:
    def __init__(self, source: Source, settings: ReportSettings, drafter: Drafter, embedder, languages: list[str]):
        self.source = source
        self.settings = settings
        self.drafter = drafter
        self.embedder = embedder
        self.languages = languages
        self.people = source.people
        self.selector = Selector(source, embedder, languages, settings.max_clause_words, drafter.checker.vocabulary.people
                                 | _proper_words(source))

    # -- sessions ------------------------------------------------------------------------------

    def speakers(self, index: int, session, segments: list[dict]) -> list[tuple[str, str]]:
        """(person, role) of everyone heard in the session, in speaking order; the host's
        hand-overs after the first session carry no content: the host is reported once."""
        slot_roles = {slot.person: slot.role for slot in session.people}
        hosts = {p for p, person in self.people.items() if "host" in person.roles}
        heard = list(dict.fromkeys(s["speaker"] for s in segments))
        if index > 0:
            heard = [p for p in heard if p not in hosts or slot_roles.get(p) not in (None, "host")] or heard
        return [(p, slot_roles.get(p, "host" if p in hosts else self.people[p].roles[0])) for p in heard]

    def fixed_words(self, index: int, session, segments: list[dict]) -> int:
        total = 0
        for person_id, role in self.speakers(index, session, segments):
            total += fixed_words(person_card(self.people[person_id], role, self.settings), role) + 1
        return total

    def session_hash(self, session_id: str, budget: float | None = None) -> str:
        segments = [s for s in self.source.segments if s.get("session") == session_id]
        return digest([[[s["id"], s["text"], s["speaker"], s["language"], self.source.translations.get(s["id"], {})]
                        for s in segments], round(budget or 0)])

    def session_section(self, index: int, session, budget_words: float, segments: list[dict] | None = None) -> dict:
        if segments is None:
            segments = [s for s in self.source.segments if s.get("session") == session.id]
        section = {"id": f"session:{session.id}", "kind": "session", "session": session.id,
                   "title": session.title.model_dump(), "input_hash": self.session_hash(session.id, budget_words),
                   "budget_words": round(budget_words), "parts": [], "notes": []}
        if not segments:
            section["notes"].append({"en": "No speech was recorded for this session.",
                                     "ja": "このセッションの発言は記録されていません。"})
            return section
        speakers = self.speakers(index, session, segments)
        said = {p: self.source.sentences([s["id"] for s in segments if s["speaker"] == p]) for p, _ in speakers}
        questions = [s for p, role in speakers if role == "moderator" for s in said[p] if _QUESTION.search(s.text)]
        options, required = {}, set()
        for person_id, role in speakers:
            sentences = [s for s in said[person_id] if s not in questions]
            if role in HOST_ROLES and index > 0:
                sentences = []
            options[person_id] = self.selector.candidates(person_id, sentences, request=role in HOST_ROLES)
            for candidate in options[person_id]:
                self._check(candidate, person_id)
            # Everyone heard says something, the moderator too (how they framed the discussion);
            # the host's words run the event: told when the budget allows, their role is enough.
            if role not in HOST_ROLES:
                required.add(person_id)
        chosen = choose(options, budget_words, self.settings.max_clauses_per_speaker, self._budget_language(),
                        required, max_unsure=self.settings.max_unsure_words)
        self._translate_missing([(c, p) for p, cs in chosen.items() for c in cs])
        for person_id, role in speakers:
            frame = self._frame(chosen[person_id], questions) if role == "panelist" else None
            section["parts"].append(self.part(person_id, role, segments, chosen[person_id], frame))
        slot_roles = {slot.person: slot.role for slot in session.people}
        hosts = {p for p, person in self.people.items() if "host" in person.roles}
        unlisted = [p for p, _ in speakers if p not in slot_roles and p not in hosts]
        if unlisted:
            section["notes"].append({
                "en": "Also heard, though not listed for this session: "
                      + ", ".join(self.people[p].name.en or p for p in unlisted) + ".",
                "ja": "このセッションの登壇予定にない発言者：" + "、".join(self.people[p].name.ja or p for p in unlisted) + "。"})
        return section

    def _budget_language(self) -> str:
        return "en" if "en" in self.languages else self.languages[0]

    # -- one person's paragraph ----------------------------------------------------------------

    def part(self, person_id: str, role: str, segments: list[dict], chosen: list[Candidate],
             frame: dict | None) -> dict:
        person = self.people[person_id]
        own = [s for s in segments if s["speaker"] == person_id]
        card = person_card(person, role, self.settings)
        part = {"person": card, "speech_s": round(sum(s["end_s"] - s["start_s"] for s in own), 1),
                "segments": [s["id"] for s in own], "sentences": {}}
        lead_cites = [own[0]["id"]] if own else []
        for language in self.languages:
            clauses = one_pending([c.clauses.get(language) or self._pending(c.sentence) for c in chosen])
            topic = (frame or {}).get(language)
            texts = (sentences_en if language == "en" else sentences_ja)(
                designation(card, language), short_name(card, person, language), role, clauses,
                topic["text"] if topic and clauses else None)
            part["sentences"][language] = self._group(texts, clauses, role, lead_cites, topic if clauses else None,
                                                      language)
        return part

    @staticmethod
    def _group(texts: list[str], clauses: list[dict], role: str, lead_cites: list[str], topic: dict | None,
               language: str) -> list[dict]:
        """The sentences with the clauses each rests on (two a sentence, as phrasing writes them)."""
        out = []
        for k, text in enumerate(texts):
            group = clauses[CLAUSES_PER_SENTENCE * k: CLAUSES_PER_SENTENCE * (k + 1)]
            extra = []
            if k == 0 and role in HOST_ROLES + ("moderator",):
                lead = ROLE_LEAD[role]
                extra.append({"text": lead["en"] if language == "en" else lead["ja"].lstrip("が") + "た",
                              "cites": lead_cites, "origin": "agenda", "status": "ok", "checks": {"ok": True}})
            if k == 0 and topic:
                extra.append(topic)
            cites = list(dict.fromkeys(c for clause in extra + group for c in clause["cites"]))
            provenance = sorted({c["from"]["source"] for c in group if c.get("from")} - {"original"})
            out.append({"text": text, "cites": cites, "clauses": extra + group, "provenance": provenance,
                        "status": "marked" if any(c.get("status") == "marked" for c in group) else "ok"})
        return out

    def _check(self, candidate: Candidate, person_id: str) -> None:
        """Each language's clause of a candidate, checked; a failure makes it unusable."""
        for language, rendering in candidate.texts.items():
            clause = self._clause(candidate, language, rendering, person_id)
            if clause is None:
                candidate.failures.append(language)
            else:
                candidate.clauses[language] = clause

    def _clause(self, candidate: Candidate, language: str, rendering: dict, person_id: str) -> dict | None:
        sentence = candidate.sentence
        reported = candidate.reported.get(language) or self.selector.reported(rendering["text"], language)
        if not reported.clean and rendering["source"] == "original":
            # Their own words, short: quoted rather than shifted wrongly ("noted that I don't know").
            reported = as_quote(rendering["text"], language) or reported
        text = reported.text
        if rendering["source"] != "original":
            # Quotation marks a translation put in are no one's quotation (「薄サービス」).
            text = re.sub(r"[「」『』“”\"]", "", text)
        claim = self.drafter.checked_clause(text, language, list(sentence.segments), person_id)
        if claim is None:
            return None
        marks = list(claim.verdict.get("marked") or [])
        if candidate.unsure:
            marks.append("the recogniser was unsure of: " + " ".join(candidate.unsure[:4]))
        if rendering.get("doubtful"):
            marks.append("the quality estimate flags this machine translation")
        if not reported.clean:
            marks.append("reported speech by rule may be wrong here")
        return {**claim.as_dict(), "form": reported.form, "cue": reported.cue,
                "from": {"text": rendering["text"], "language": language, "source": rendering["source"],
                         "said": sentence.text},
                "status": "marked" if marks else "ok", "checks": {**claim.verdict, "marked": marks}}

    @staticmethod
    def _pending(sentence: Sentence) -> dict:
        """A chosen sentence with no checked rendering in a language: left for the editor."""
        return {"text": sentence.text, "cites": list(sentence.segments), "origin": "original", "form": "pending",
                "from": {"text": sentence.text, "language": sentence.language, "source": "original"},
                "status": "marked", "checks": {"ok": True, "marked": ["translation pending"]},
                "source_language": sentence.language}

    def _translate_missing(self, chosen: list[tuple[Candidate, str]]) -> None:
        """Chosen sentences without a rendering in some language (the translate stage has not
        run): translated by the model, one batch per section and language pair, checked; those
        left stay pending."""
        for language in self.languages:
            todo = [(c, p) for c, p in chosen if language not in c.texts]
            for origin in sorted({c.sentence.language for c, _ in todo}):
                batch = [(c, p) for c, p in todo if c.sentence.language == origin]
                translated = self.drafter.translate([c.sentence.text for c, _ in batch], origin, language,
                                                    [list(c.sentence.segments) for c, _ in batch])
                for (candidate, person_id), claim in zip(batch, translated):
                    if claim is None:
                        continue
                    rendering = {"text": claim.text, "source": "llm"}
                    candidate.texts[language] = rendering
                    candidate.reported[language] = self.selector.reported(claim.text, language)
                    clause = self._clause(candidate, language, rendering, person_id)
                    if clause is not None:
                        candidate.clauses[language] = clause

    # -- the question a panelist answers ---------------------------------------------------------

    def _frame(self, chosen: list[Candidate], questions: list[Sentence]) -> dict | None:
        """The topic of the moderator's question just before the panelist's first told sentence,
        in each language ("the fundamental research exception"), as the moderator's clause; None
        when the question names none or the recogniser was unsure of it."""
        if not chosen or not questions:
            return None
        start = chosen[0].sentence.start_s
        asked = [q for q in questions if q.start_s < start]
        if not asked:
            return None
        question = asked[-1]
        # The framing said just before the question in the same run ("Next, about X. Mr. Y, your view?").
        run = [s for s in self.source.sentences(list(_run_before(self.source, question))) if s.end_s <= question.end_s]
        frame = {}
        for sentence in reversed(run[-2:]):
            if self.selector.unsure_of(sentence):
                return None
            for language in self.languages:
                if language in frame:
                    continue
                rendering = self.source.sentence_rendering(sentence, language)
                topic = topic_of(rendering["text"], language) if rendering else None
                if topic and len(topic.split()) <= self.settings.max_clause_words // 2 + 2:
                    frame[language] = {"text": topic, "cites": list(sentence.segments), "origin": "reported:rule",
                                       "form": "question", "person": sentence.speaker, "status": "ok",
                                       "checks": {"ok": True},
                                       "from": {"text": rendering["text"], "language": language,
                                                "source": rendering["source"], "said": sentence.text}}
        return frame or None


def _run_before(source: Source, question: Sentence) -> list[str]:
    """Ids of the moderator's segments in the run that ends with ``question``."""
    ids = [s["id"] for s in source.segments if s["speaker"] == question.speaker and s.get("session") == question.session
           and s["end_s"] <= question.end_s + 0.01 and s["start_s"] >= question.start_s - 30.0]
    return ids


def _proper_words(source: Source) -> set[str]:
    """Words the transcript writes capitalised mid-sentence on their own ("at Harvard,"): names
    that keep their capital at the start of a reported clause. A word inside a capitalised run
    ("Association of American Universities") is not one by itself."""
    words = set()
    for segment in source.segments:
        if segment["language"] != "en":
            continue
        tokens = segment["text"].split()
        for k in range(1, len(tokens)):
            token, before = tokens[k], tokens[k - 1]
            after = tokens[k + 1] if k + 1 < len(tokens) else ""
            if token[:1].isupper() and not before.endswith((".", "?", "!")) and not before[:1].isupper() \
                    and not (after[:1].isupper() and not token.endswith((",", ";", "."))):
                words.add(token.strip(",.;:?!"))
    return words
