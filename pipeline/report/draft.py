"""The model's steps and the checks every statement goes through.

The packaged 1.5B model is given only what it does reliably (measured: docs/report.md, seventh
pass): the overview's sentences, written from the report's checked clauses, and translations of
the few chosen sentences the translate stage has not rendered. What each speaker said is their
own sentence turned into reported speech by rule (``reported.py``); every clause is checked
against the segments it cites (``grounding.Checker``) like anything the model writes.
Names never come from the model: it writes what was said; the agenda says who said it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..core.config.report import ReportSettings
from .grounding import Checker

LANGUAGE_NAMES = {"en": "English", "ja": "Japanese"}
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
    origin: str  # "reported:rule" (a speaker's sentence in reported speech), "llm", "agenda"
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

    clauses: int = 0  # clauses made by rule from the speakers' sentences, checked
    claims_drafted: int = 0  # sentences the model wrote (first answers)
    passed_first: int = 0  # of those, passing every check as first written
    supported_first: int = 0  # of those, supported by similarity (whatever the other checks said)
    removed: int = 0  # clauses and model sentences the checks removed
    marked: int = 0
    fallbacks: int = 0  # model steps that gave nothing usable (the overview without its sentences)
    model_failures: int = 0  # answers that were not the JSON asked for
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "failures"} | {"failure_examples": self.failures[:12]}


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


# An overview sentence longer than this strings points together rather than saying what they
# came to (English words; Japanese characters / 2.5).
OVERVIEW_SENTENCE_WORDS = 35


def _too_long(text: str, language: str) -> bool:
    size = len(text) / 2.5 if language == "ja" else len(text.split())
    return size > OVERVIEW_SENTENCE_WORDS


def _sentences_of(answer: dict | None) -> list[dict]:
    items = (answer or {}).get("points", (answer or {}).get("items"))
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("text"), str)] if isinstance(items, list) else []


class Drafter:
    """The model's steps over one LLM (or none: the rule-based draft only), and the checks."""

    def __init__(self, llm, checker: Checker, settings: ReportSettings, tally: Tally):
        self.llm = llm
        self.checker = checker
        self.settings = settings
        self.tally = tally

    def checked_clause(self, text: str, language: str, cites: list[str], person: str) -> Claim | None:
        """A clause made by rule from the speaker's own sentence (or its rendering): the hard
        checks (citations, numbers, names, proper nouns); similarity is the sentence's own."""
        verdict = self.checker.check(text, language, cites, person, support=False, machine=False)
        self.tally.clauses += 1
        if not verdict.ok:
            self.tally.removed += 1
            self.tally.failures.append(f"{person} [{language}]: {text[:60]!r}: {verdict.failures[0]}")
            return None
        claim = Claim(text, cites, "reported:rule", verdict.as_dict())
        if verdict.marked:
            claim.status = "marked"
            self.tally.marked += 1
        return claim

    def _count_first(self, verdict) -> None:
        self.tally.claims_drafted += 1
        self.tally.passed_first += verdict.ok
        self.tally.supported_first += bool(verdict.support is not None and verdict.support >= self.settings.min_support
                                           and (verdict.rank or 99) <= self.settings.support_rank)

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

    def overview(self, claims: list[Claim], language: str) -> list[Claim]:
        """The overview's sentences after the agenda's: what the discussion came to, written by the
        model from the report's checked clauses (each sentence cites the segments of the clauses
        it rests on, and is checked again); none when the model gives nothing that passes."""
        pool = [c for c in claims if c.cites]
        wanted = self.settings.overview_sentences
        if not pool or not wanted or self.llm is None:
            return []
        numbered = "\n".join(f"[{i + 1}] {c.text}" for i, c in enumerate(pool))
        count = "one sentence" if wanted == 1 else f"{wanted} sentences"
        task = (f"Points made at the symposium:\n{numbered}\n\nWrite {count} in {LANGUAGE_NAMES[language]} for "
                f"the report of the symposium, at most {OVERVIEW_SENTENCE_WORDS - 10} words each: what the "
                f"discussion came to, without names. Cite the numbers of the points each sentence rests on. "
                f'Answer as {{"points": [{{"text": "...", "cite": [1, 2]}}]}}.')
        answer = self._ask([{"role": "system", "content": SYSTEM}, {"role": "user", "content": task}], POINTS_SCHEMA)
        if not isinstance((answer or {}).get("points"), list):
            self.tally.model_failures += 1
        kept = []
        for item in _sentences_of(answer)[:wanted]:
            numbers = [n for n in item.get("cite", []) if isinstance(n, int) and 1 <= n <= len(pool)]
            cites = list(dict.fromkeys(s for n in numbers for s in pool[n - 1].cites))
            text = " ".join(item["text"].split())
            verdict = self.checker.check(text, language, cites, None)
            if _too_long(text, language):
                verdict.ok = False
                verdict.failures.append("longer than an overview sentence")
            self._count_first(verdict)
            if verdict.ok:
                kept.append(Claim(text, cites, "llm", verdict.as_dict(), "marked" if verdict.marked else "ok"))
            else:
                self.tally.removed += 1
                self.tally.failures.append(f"overview: {text[:60]!r}: {verdict.failures[0]}")
        if not kept:
            self.tally.fallbacks += 1
        return kept

    def _ask(self, messages: list[dict], schema: dict, max_tokens: int | None = None) -> dict | None:
        try:
            answer = self.llm.complete(messages, max_tokens=max_tokens or self.settings.max_tokens, temperature=0.0,
                                       json_schema=schema if self.settings.constrained else None)
        except Exception as e:  # an engine failure costs this step only: the extractive draft stands in
            self.tally.failures.append(f"model error: {type(e).__name__}: {str(e)[:80]}")
            return None
        return parse_json(answer)
