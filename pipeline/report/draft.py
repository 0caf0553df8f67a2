"""Map steps: a speaker's key points in one session, translations of quotes, the overview.

Each step sees bounded context (the speaker's most central sentences, numbered), asks the model
for JSON (schema-constrained where the engine supports it), checks every point against the
segments it cites, asks once more with the reasons when points fail, and falls back to the
extractive draft (the speaker's most central sentences, verbatim) when nothing survives.
Names never come from the model: it writes what was said; the agenda says who said it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..core.config.report import ReportSettings
from .grounding import Checker, Embedder
from .source import Sentence

LANGUAGE_NAMES = {"en": "English", "ja": "Japanese"}
def points_schema(languages: list[str], most: int | None = None) -> dict:
    item = {lang: {"type": "string"} for lang in languages}
    item["cite"] = {"type": "array", "items": {"type": "integer"}}
    points = {"type": "array", "items": {"type": "object", "properties": item, "required": [*languages, "cite"]}}
    if most:
        points["maxItems"] = most  # no tokens spent on points that would be dropped
    return {"type": "object", "required": ["points"], "properties": {"points": points}}


def parts_of(count: int, limit: int) -> list[list[int]]:
    """The context's sentence indices cut into at most ``limit`` consecutive parts of near-equal
    size, one key point asked of each: the points then cover the whole talk."""
    k = max(1, min(limit, count))
    bounds = [round(j * count / k) for j in range(k + 1)]
    return [list(range(bounds[j], bounds[j + 1])) for j in range(k)]


POINTS_SCHEMA = {
    "type": "object",
    "properties": {
        "points": {"type": "array", "items": {
            "type": "object",
            "properties": {"text": {"type": "string"}, "cite": {"type": "array", "items": {"type": "integer"}}},
            "required": ["text", "cite"]}},
    },
    "required": ["points"],
}
LIST_SCHEMA = {"type": "object", "properties": {"translations": {"type": "array", "items": {"type": "string"}}},
               "required": ["translations"]}
SYSTEM = ("You write the minutes of a bilingual symposium. Use only what the numbered sentences say: "
          "no names, numbers, places or facts that are not in them. Answer with one line of compact JSON only.")


@dataclass
class Claim:
    """One statement of the draft in one language, with the segments it rests on."""

    text: str
    cites: list[str]
    origin: str  # "llm", "extractive", "translation:<source>"
    verdict: dict = field(default_factory=dict)
    status: str = "ok"  # "ok" or "marked" (kept for the editor with the reasons)
    source_language: str | None = None  # set when the text is the original, untranslated

    def as_dict(self) -> dict:
        out = {"text": self.text, "cites": self.cites, "origin": self.origin, "status": self.status,
               "checks": self.verdict}
        return out | ({"source_language": self.source_language} if self.source_language else {})


@dataclass
class Tally:
    """What the checks did, for the counters and the closing note."""

    claims_drafted: int = 0  # claims the model wrote (first answers)
    passed_first: int = 0  # of those, passing every check as first written
    supported_first: int = 0  # of those, supported by similarity (whatever the other checks said)
    retried: int = 0
    removed: int = 0
    marked: int = 0
    fallbacks: int = 0  # parts drafted extractively because the model's points all failed
    model_failures: int = 0  # answers that were not the JSON asked for
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "failures"} | {"failure_examples": self.failures[:12]}


def central(sentences: list[Sentence], embedder: Embedder | None, limit: int,
            around: list[Sentence] | None = None) -> list[Sentence]:
    """The ``limit`` most central sentences (closest on average to the others, or to ``around``
    when given), in time order.

    Courtesies (thanks, greetings) are left out unless nothing else was said; without an
    embedder, the longest sentences stand in for the most central.
    """
    content = [s for s in sentences if not s.courtesy] or list(sentences)
    if len(content) <= limit:
        return content
    if embedder is None:
        scores = np.array([len(s.text) for s in content], dtype=float)
    else:
        vectors = embedder.embed([s.text for s in content])
        centroid = (embedder.embed([s.text for s in around]) if around else vectors).mean(axis=0)
        # Similarity to the centroid, lightly favouring sentences with substance (length).
        scores = vectors @ centroid + 0.02 * np.log1p([len(s.text) for s in content])
    chosen = sorted(np.argsort(-scores)[:limit])
    return [content[i] for i in chosen]


def bounded(sentences: list[Sentence], max_chars: int) -> list[Sentence]:
    """Keep sentences (already ranked) until the context budget is spent; Japanese counts double."""
    kept, used = [], 0
    for sentence in sentences:
        cost = len(sentence.text) * (2 if sentence.language == "ja" else 1)
        if kept and used + cost > max_chars:
            break
        kept.append(sentence)
        used += cost
    return kept


def parse_json(answer: str) -> dict | None:
    """The first JSON object in the model's answer (small models sometimes wrap it in prose or a
    code fence, or answer with the bare list: that comes back as ``{"items": [...]}``); an answer
    cut off at the token cap keeps the list items it finished."""
    first = answer.find("{")
    if first >= 0:
        try:
            json.JSONDecoder().raw_decode(answer, first)
        except ValueError:  # the answer's object never closes: cut off (not one of its items taken for it)
            finished = _finished_items(answer)
            if finished:
                return finished
    return _whole_json(answer)


def _finished_items(answer: str) -> dict | None:
    """``{"points": [a, b, <cut>`` gives ``{"points": [a, b]}``: the items written out in full."""
    opening = re.search(r'\{\s*"(\w+)"\s*:\s*\[', answer)
    if not opening:
        return None
    decoder, items, position = json.JSONDecoder(), [], opening.end()
    while True:
        position = len(answer) - len(answer[position:].lstrip(" \n\t,"))
        try:
            item, position = decoder.raw_decode(answer, position)
        except ValueError:
            break
        items.append(item)
    return {opening.group(1): items} if items else None


def _whole_json(answer: str) -> dict | None:
    fenced = re.search(r"```(?:json)?\s*(.*?)```", answer, re.DOTALL)
    body = (fenced.group(1) if fenced else answer).strip()
    if body.startswith("["):
        try:
            value = json.loads(body)
            return {"items": value} if isinstance(value, list) else None
        except ValueError:
            pass
    start = answer.find("{")
    while start >= 0:
        depth = 0
        for end in range(start, len(answer)):
            depth += {"{": 1, "}": -1}.get(answer[end], 0)
            if depth == 0:
                try:
                    value = json.loads(answer[start:end + 1])
                    return value if isinstance(value, dict) else None
                except ValueError:
                    break
        start = answer.find("{", start + 1)
    return None


_LEADING_SPEAKER = re.compile(r"^(the speaker|speaker|he|she|they|[A-Z][a-z]+)\s+(said|noted|stated|explained|"
                              r"added|argued|emphasi[sz]ed|pointed out|mentioned|remarked)\s+(that\s+)?",
                              re.IGNORECASE)
_JA_ENDING = re.compile(r"(と述べた|と語った|と指摘した|と説明した)?[。．.]*$")


def clause(text: str, language: str, names: set[str] = frozenset()) -> str:
    """A point as the reported clause that follows "noted that" / precedes と述べた; ``names``
    (the agenda's) keep their capital."""
    text = " ".join(text.split()).strip().strip("-•*").strip()
    if language == "ja":
        text = re.sub(r"^(話者|発言者|[一-龥]{1,4}(氏|さん)|[A-Za-z]+(氏|さん)?)は、?", "", text)
        return _JA_ENDING.sub("", text).strip("「」")
    text = _LEADING_SPEAKER.sub("", text).rstrip(".").strip()
    first = text.split(" ", 1)[0] if text else ""
    if first[:1].isupper() and not first.isupper() and not any(c.isupper() for c in first[1:]) and first not in (
            "I", "Japan", "Japanese", "America", "American", "US", "U.S.") and not first.startswith("I'") \
            and first.strip(",.") not in names:
        text = first.lower() + text[len(first):]
    return text


class Drafter:
    """The map steps, over one LLM (or none: the extractive draft only)."""

    def __init__(self, llm, checker: Checker, settings: ReportSettings, tally: Tally, glossary=()):
        self.llm = llm
        self.checker = checker
        self.settings = settings
        self.tally = tally
        self.glossary = list(glossary)  # the event's terms (config ``event.glossary``)

    def term_hints(self, context: list[Sentence], languages: list[str]) -> str:
        """The event's terms said in these sentences, with their rendering in each report language
        ("fundamental research = 基礎研究"): the small model otherwise writes a point in the other
        language with its own word (基本的な研究) where the event has a set one."""
        said = "\n".join(s.text for s in context)
        pairs = []
        for term in self.glossary:
            forms = {"en": [term.en, *term.aliases], "ja": [term.ja]}
            heard = any(re.search(r"(?<![A-Za-z])" + re.escape(f) + r"(?![A-Za-z])", said, re.IGNORECASE)
                        for f in forms["en"] if f) or any(f and f in said for f in forms["ja"])
            if heard:
                pairs.append(" = ".join(getattr(term, lang) for lang in languages if getattr(term, lang, None)))
        return "; ".join(dict.fromkeys(p for p in pairs if "=" in p or len(languages) == 1))

    def points(self, person: str, label: str, sentences: list[Sentence], languages: list[str],
               render=None) -> dict[str, list[Claim]]:
        """Up to ``max_points_per_speaker`` checked key points of one person in one session, in each
        language, one request per part of the talk, written in the languages ``writing_languages``
        picks (the one spoken, or every one). Where a part's point exists in one language only,
        ``render`` (sentences, language -> claims: known renderings only) gives the other language
        the cited sentences as rendered. A language left without any point gets the extractive
        draft (see compose)."""
        limit = self.settings.max_points_per_speaker
        context = bounded(sentences, self.settings.max_context_chars)
        drafted: dict[str, list[Claim]] = {lang: [] for lang in languages}
        if self.llm is not None and context:
            # One request per part of the talk: asked for three points over eight sentences, the
            # small model wrote them about the first three sentences, whatever the prompt said.
            for part in parts_of(len(context), limit):
                shown = [context[i] for i in part]
                writing = self.writing_languages(shown, languages, render)
                found = {lang: [] for lang in languages}
                if self._quoted_as_said(shown, writing, languages):
                    found[writing[0]] = self.extractive(person, self._said(shown, context), writing[0])
                else:
                    found |= self._model_point(person, label, context, writing, part)
                if render is not None:
                    self._fill_from_renderings(found, context, render)
                for language in languages:
                    drafted[language] += [c for c in found[language] if all(c.text != d.text for d in drafted[language])]
            if not all(drafted.values()):
                self.tally.fallbacks += sum(1 for claims in drafted.values() if not claims)
        for language, claims in drafted.items():
            if not claims:
                drafted[language] = self.extractive(person, context[:limit], language)
        return drafted

    def writing_languages(self, shown: list[Sentence], languages: list[str], render) -> list[str]:
        """The languages a part's point is written in: every report language, or (``spoken``, where
        the translate stage rendered the part into the others) the one most of it was said in."""
        if self.settings.points_written_in == "both" or render is None:
            return languages
        said = Counter(s.language for s in shown if s.language in languages)
        if not said:
            return languages
        spoken = said.most_common(1)[0][0]
        # Only where the translate stage rendered these sentences (a report drafted before the
        # translate stage ran writes every language itself, rather than leave one pending).
        rendered = all(c.origin.startswith("translation:") for language in languages if language != spoken
                       for c in render(shown, language))
        return [spoken] if rendered else languages

    def _quoted_as_said(self, shown: list[Sentence], writing: list[str], languages: list[str]) -> bool:
        """Whether a part is reported as its own sentences rather than drafted: written only in the
        language it was said in while the other report languages get its rendering, and either one
        sentence or in a language of ``quote_parts_in``. Asked for the key point of such a part,
        the small model copies its sentences or drops their lead-in; the speaker's own words cost
        no request and need no check."""
        if len(languages) < 2 or len(writing) != 1 or any(s.language != writing[0] for s in shown):
            return False
        if len(shown) == 1:
            return self.settings.one_sentence_parts == "quoted"
        return writing[0] in self.settings.quote_parts_in

    def _said(self, shown: list[Sentence], context: list[Sentence]) -> list[Sentence]:
        """The sentences of a part reported as said: its ``quoted_sentences_per_part`` most central
        to the speaker's whole context (a misrecognised sentence rarely is), courtesies and
        self-introductions left out unless nothing else was said, in time order."""
        return central(shown, self.checker.embedder, self.settings.quoted_sentences_per_part, around=context)

    def _fill_from_renderings(self, found: dict[str, list[Claim]], context: list[Sentence], render) -> None:
        """A language whose point failed (the small model often copies a Japanese sentence into the
        English field) gets the known rendering of the sentences the surviving point cites."""
        written = [c for claims in found.values() for c in claims if c.origin in ("llm", "extractive")]
        if not written:
            return
        # A drafted part has one point; a part reported as said, one claim per sentence.
        cited = [s for s in context if any(i in claim.cites for claim in written for i in s.segments)]
        for language, claims in found.items():
            if not claims and cited:
                found[language] = [c for c in render(cited, language) if c.origin.startswith("translation:")]

    def _model_point(self, person: str, label: str, context: list[Sentence], languages: list[str],
                     shown: list[int]) -> dict[str, list[Claim]]:
        """The key point of the sentences ``shown``, in each language (numbered as in the whole
        context, so a point may cite any sentence of the speaker's context)."""
        numbered = "\n".join(f"[{i + 1}] {context[i].text}" for i in shown)
        fields = ", ".join(f'"{lang}": "..."' for lang in languages)
        names = ("each in " if len(languages) > 1 else "in ") + " and ".join(
            f"{LANGUAGE_NAMES[lang]} (\"{lang}\")" for lang in languages)
        terms = self.term_hints([context[i] for i in shown], languages)
        asked = "the key point these sentences make together" if len(shown) > 1 else "the key point"
        task = (f"Sentences said by {label}:\n{numbered}\n\n"
                + (f"Event terms, to be written this way: {terms}.\n\n" if terms else "")
                + f"Write {asked}, {names}: one short sentence of what was said, without the "
                f"speaker's name, citing the numbers of the sentences it rests on. "
                f'Answer as {{"points": [{{{fields}, "cite": [1]}}]}}.')
        schema = points_schema(languages, 1)
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": task}]
        kept: dict[str, list[Claim]] = {lang: [] for lang in languages}
        for attempt in range(self.settings.retries + 1):
            answer = self._ask(messages, schema)
            raw = (answer.get("points", answer.get("items")) if answer else None)
            if not isinstance(raw, list):
                self.tally.model_failures += 1
                continue
            reasons = []
            for item in raw:  # the schema caps a real model's list; every item given is checked
                if not isinstance(item, dict):
                    continue
                for language in languages:
                    claim, reason = self._checked_point(item, language, person, context, first=attempt == 0)
                    if claim is not None and not kept[language]:
                        kept[language].append(claim)
                    elif reason:
                        reasons.append(reason)
            self.tally.removed += len(reasons)
            # Asked again only when nothing survived: at temperature 0 a partial answer comes back
            # the same, and a language without points gets the extractive draft anyway.
            if any(kept.values()) or not reasons or attempt == self.settings.retries:
                break
            self.tally.retried += 1
            messages = messages + [{"role": "assistant", "content": json.dumps(answer, ensure_ascii=False)},
                                   {"role": "user", "content": "These points were rejected: " + "; ".join(reasons)
                                    + ". Write them again using only what the sentences say."}]
        return kept

    def _checked_point(self, item: dict, language: str, person: str, context: list[Sentence],
                       first: bool) -> tuple[Claim | None, str | None]:
        raw = item.get(language, item.get("text") if len(item) <= 2 else None)
        if not isinstance(raw, str) or not raw.strip():
            return None, None
        numbers = [n for n in item.get("cite", []) if isinstance(n, int) and 1 <= n <= len(context)]
        cites = list(dict.fromkeys(i for n in numbers for i in context[n - 1].segments))
        text = clause(raw, language, self.checker.vocabulary.people)
        verdict = self.checker.check(text, language, cites, person)
        if first:
            self._count_first(verdict)
        if not verdict.ok:
            self.tally.failures.append(f"{person} [{language}]: {text[:60]!r}: {verdict.failures[0]}")
            return None, f"'{text}' ({verdict.failures[0]})"
        claim = Claim(text, cites, "llm", verdict.as_dict())
        if verdict.marked:
            claim.status = "marked"
            self.tally.marked += 1
        return claim, None

    def _count_first(self, verdict) -> None:
        self.tally.claims_drafted += 1
        self.tally.passed_first += verdict.ok
        self.tally.supported_first += bool(verdict.support is not None and verdict.support >= self.settings.min_support
                                           and (verdict.rank or 99) <= self.settings.support_rank)

    def extractive(self, person: str, sentences: list[Sentence], language: str) -> list[Claim]:
        """The speaker's own sentences, verbatim; in another language only through a known rendering."""
        claims = []
        for sentence in sentences:
            if sentence.language == language:
                claims.append(Claim(sentence.text, list(sentence.segments), "extractive", {"ok": True, "verbatim": True}))
        return claims

    def translate(self, texts: list[str], source: str, target: str, cites: list[list[str]]) -> list[Claim | None]:
        """Translations of short texts (quotes, questions), checked for numbers and names; None where
        no checked translation could be had."""
        if not texts:
            return []
        results: list[Claim | None] = [None] * len(texts)
        if self.llm is None:
            return results
        numbered = "\n".join(f"[{i + 1}] {t}" for i, t in enumerate(texts))
        task = (f"Translate each numbered {LANGUAGE_NAMES[source]} text into {LANGUAGE_NAMES[target]}, faithfully "
                f"and completely.\n{numbered}\n\n"
                f'Answer as {{"translations": ["...", ...]}} with {len(texts)} strings in order.')
        answer = self._ask([{"role": "system", "content": SYSTEM}, {"role": "user", "content": task}], LIST_SCHEMA,
                           max_tokens=min(1024, 60 + 90 * len(texts)))
        translated = answer.get("translations", answer.get("items")) if answer else None
        if not isinstance(translated, list):
            self.tally.model_failures += 1
            return results
        for i, (text, cited) in enumerate(zip(translated, cites)):
            if not isinstance(text, str) or not text.strip():
                continue
            # Support by rank only: a translation must find its own source among the transcript's
            # segments (cosines across languages run lower than within one).
            verdict = self.checker.check(text.strip(), target, cited, None, support=False)
            if verdict.ok and self.checker.embedder is not None:
                verdict.support, verdict.rank = self.checker.support(text.strip(), cited)
                if verdict.rank > self.settings.support_rank:
                    verdict.ok = False
                    verdict.failures.append(f"translation does not match its source (rank {verdict.rank})")
            if verdict.ok:
                results[i] = Claim(text.strip(), cited, "translation:llm", verdict.as_dict(),
                                   "marked" if verdict.marked else "ok")
            else:
                self.tally.failures.append(f"translation {text[:50]!r}: {verdict.failures[0]}")
        return results

    def overview(self, claims: list[Claim], language: str, sentences: int = 2) -> list[Claim]:
        """A short overview from the sections' checked points (each overview sentence cites the
        segments of the points it rests on); the first points themselves when the model fails."""
        pool = [c for c in claims if c.cites]
        if not pool:
            return []
        if self.llm is not None:
            numbered = "\n".join(f"[{i + 1}] {c.text}" for i, c in enumerate(pool))
            task = (f"Points made at the symposium:\n{numbered}\n\nWrite {sentences} sentences in "
                    f"{LANGUAGE_NAMES[language]} giving an overview of what was discussed, without names. Each "
                    f'sentence cites the numbers of the points it rests on. Answer as {{"points": [{{"text": "...", '
                    f'"cite": [1, 2]}}]}}.')
            answer = self._ask([{"role": "system", "content": SYSTEM}, {"role": "user", "content": task}],
                               POINTS_SCHEMA)
            kept = []
            for item in (answer or {}).get("points", [])[:sentences] if isinstance((answer or {}).get("points"), list) else []:
                if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                    continue
                numbers = [n for n in item.get("cite", []) if isinstance(n, int) and 1 <= n <= len(pool)]
                cites = list(dict.fromkeys(s for n in numbers for s in pool[n - 1].cites))
                text = " ".join(item["text"].split())
                verdict = self.checker.check(text, language, cites, None)
                self._count_first(verdict)
                if verdict.ok:
                    kept.append(Claim(text, cites, "llm", verdict.as_dict(), "marked" if verdict.marked else "ok"))
                else:
                    self.tally.removed += 1
                    self.tally.failures.append(f"overview: {text[:60]!r}: {verdict.failures[0]}")
            if kept:
                return kept
            self.tally.fallbacks += 1
        return []

    def _ask(self, messages: list[dict], schema: dict, max_tokens: int | None = None) -> dict | None:
        try:
            answer = self.llm.complete(messages, max_tokens=max_tokens or self.settings.max_tokens, temperature=0.0,
                                       json_schema=schema if self.settings.constrained else None)
        except Exception as e:  # an engine failure costs this step only: the extractive draft stands in
            self.tally.failures.append(f"model error: {type(e).__name__}: {str(e)[:80]}")
            return None
        return parse_json(answer)
