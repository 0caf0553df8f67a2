"""Which of a speaker's sentences the report tells, within a length budget.

Each of a speaker's sentences in a session is a candidate: its text in every report language
(the sentence itself, or its best rendering: editor, interpreter, machine) and the reported
clause the rules make of it (``reported.py``). A candidate is usable when every language has a
clean clause. Its value is how central it is to what the speaker said (multilingual-e5, as
before), less a penalty for every word the recogniser was unsure of: a misheard sentence
is told only when nothing better was said. Courtesies, self-introductions and hand-overs to
another speaker are never candidates.

``choose`` gives every part its best candidate first (every speaker is covered), then adds the
next most valuable candidates of any part, most value per word first, while the English words
stay within the section's budget — at most ``max_clauses`` per part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..text.glossary import Glossary
from ..text.misheard import Misheard
from .genre import EN_STOPWORDS, content_words
from .reported import Reported, report_en, report_ja, trim_en
from .source import Sentence, Source

# A candidate's value: about 1 +- CENTRALITY_WEIGHT for how central it is (cosine to the speaker's centroid,
# in units of the spread, at least CENTRALITY_SPREAD), plus SUBSTANCE_WEIGHT for each content
# word up to SUBSTANCE_WORDS (what a sentence says, not how it says it), less UNSURE_PENALTY per
# word the recogniser was unsure of and for a machine rendering the quality estimate flagged,
# and MISSING_PENALTY without a rendering in every language.
CENTRALITY_SPREAD = 0.02
CENTRALITY_WEIGHT = 0.3
SUBSTANCE_WEIGHT = 0.05
SUBSTANCE_WORDS = 10
TERM_WEIGHT = 0.25  # each of the event's glossary terms said (up to 3): the subject of the event
UNSURE_PENALTY = 0.6
MISSING_PENALTY = 0.3
PROCEDURAL_PENALTY = 1.0
# A part's first candidate is its most valuable less so much per word, the smallest of these
# that keeps everyone's firsts within the budget (when none does, the last).
LENGTH_WEIGHTS = (0.0, 0.02, 0.04, 0.06, 0.08)
# A candidate told in addition to a part's first must say something else: its value is scaled
# by how far it is from what the part already tells (1 - cosine, over this).
NOVELTY_SPAN = 0.15


@dataclass
class Candidate:
    sentence: Sentence
    texts: dict[str, dict]  # language -> {"text", "source"}: the sentence or its rendering
    reported: dict[str, Reported]  # language -> the clause
    centrality: float = 0.0
    unsure: tuple[str, ...] = ()  # words the recogniser was unsure of (agenda names aside)
    value: float = 0.0
    vector: np.ndarray | None = field(default=None, repr=False)
    clauses: dict = field(default_factory=dict)  # language -> the checked clause (compose)
    failures: list[str] = field(default_factory=list)  # a check a clause failed: not usable

    @property
    def doubtful(self) -> bool:
        """A machine translation of it that the translate stage's quality estimate flagged."""
        return any(text.get("doubtful") for text in self.texts.values())

    @property
    def doubts(self) -> int:
        """What makes it unsafe to tell: words the recogniser was unsure of, a flagged translation."""
        return len(self.unsure) + self.doubtful

    @property
    def usable(self) -> bool:
        return all(r.clean for r in self.reported.values()) and not self.failures

    def words(self, language: str = "en") -> int:
        clause = self.reported.get(language) or next(iter(self.reported.values()))
        if language == "ja" or (language not in self.reported and clause.text and not clause.text.isascii()):
            return max(1, round(len(clause.text) / 2.5))  # a Japanese "word" is about 2.5 characters
        return len(clause.text.split())


def _bare(text: str) -> str:
    """エンティティ・リスト and エンティティリスト, "Entity List" and "entity list" alike."""
    return re.sub(r"[・\s]", "", text).lower()


# The running of the event, not what anyone said about its subject (the moderator closing the
# panel, the host moving on): told only when nothing else was said.
_PROCEDURAL = re.compile(r"時間となりました|時間になりました|ここまでと|終了いたします|移ります|に入ります|ご挨拶|以上をもちまして|"
                         r"お願い(いた)?します[。]?$|"
                         r"お時間|短くお伺い|\b(time is up|out of time|we now move|we now begin|that concludes|this concludes|"
                         r"end the panel|hand over)\b", re.IGNORECASE)


def _content(word: str) -> bool:
    """A word whose mishearing would change what is reported: not a function word ("the"), a
    Japanese particle or kana ending (に、, ら), or punctuation."""
    bare = word.strip(" ,.;:、。・?？!！")
    if not bare:
        return False
    if bare.isascii():
        return bare.lower() not in EN_STOPWORDS
    return not re.fullmatch(r"[ぁ-ゖー]{1,3}", bare)


def _hand_over(sentence: Sentence, others: list[str]) -> bool:
    """A host's or moderator's sentence naming another person (「続きまして、…ハインズ様、お願いいたします」)."""
    return any(name and name in sentence.text for name in others)


# A clause longer than this many times ``max_clause_words`` after cutting is not clean.
UNCUT_LIMIT = 2


class Selector:
    def __init__(self, source: Source, embedder, languages: list[str], max_clause_words: int,
                 proper: set[str] | frozenset[str] = frozenset()):
        self.source = source
        self.embedder = embedder
        self.languages = languages
        self.max_clause_words = max_clause_words
        self.proper = proper
        people = source.people
        self._names = {p: [n for n in (person.name.en, person.name.ja, *person.aliases) if n and len(n) >= 2]
                       for p, person in people.items()}
        # Names and terms the organizers wrote down: a word the recogniser was unsure of inside one
        # of them (基 of 基礎研究, a 0.16) was heard as the agenda spells it.
        glossary = [t for term in source.config.event.glossary for t in (term.en, term.ja, *term.aliases) if t]
        self._vocabulary = [n for names in self._names.values() for n in names] + glossary
        self._terms = glossary
        # A run one slip from an agenda term (公司3時間 for 公使参事官) was misheard, however sure
        # the recogniser was of it (text/misheard.py).
        self._misheard = Misheard.from_glossary(Glossary.from_event(source.config.event))
        self._latin_terms = {w.strip(".,()").lower() for t in self._vocabulary + [
            x for p in people.values() for b in (p.title, p.affiliation) for x in (b.en or "",)] if t.isascii()
            for w in t.split() if len(w) > 2}

    def candidates(self, person: str, sentences: list[Sentence], request: bool = False) -> list[Candidate]:
        others = [n for p, names in self._names.items() if p != person for n in names]
        said = [s for s in sentences if not s.courtesy and not _hand_over(s, others)]
        out = []
        for sentence in said:
            texts = {}
            for language in self.languages:
                rendering = self.source.sentence_rendering(sentence, language)
                if rendering:
                    texts[language] = rendering
            reported = {language: self.reported(text["text"], language, request) for language, text in texts.items()}
            out.append(Candidate(sentence, texts, reported, unsure=self.unsure_of(sentence)))
        self._score(out)
        return out

    def unsure_of(self, sentence: Sentence) -> tuple[str, ...]:
        """The content words of ``sentence`` the recogniser was unsure of, the agenda's aside, and
        the runs that nearly say an agenda term."""
        unsure = tuple(w for w in sentence.unsure if _content(w) and not self._known(w.strip(",.、。 "), sentence.text))
        misheard = tuple(m.heard for m in self._misheard.find(sentence.text)) if sentence.language == "ja" else ()
        return unsure + misheard

    def _known(self, word: str, text: str) -> bool:
        """A word of the agenda or glossary: a Latin word that is one of a term's words
        ("Harvard" of Harvard University), a Japanese piece inside a term said whole here."""
        if word.isascii():
            return word.strip(".,;:").lower() in self._latin_terms
        word, text = _bare(word), _bare(text)
        return bool(word) and any(word in term and term in text for term in map(_bare, self._vocabulary))

    def reported(self, text: str, language: str, request: bool = False) -> Reported:
        if language == "ja":
            return report_ja(text, request=request)
        clause = report_en(text, self.proper, request=request)
        if len(clause.text.split()) > self.max_clause_words:
            clause = trim_en(clause, self.max_clause_words, self._closest)
        if len(clause.text.split()) > UNCUT_LIMIT * self.max_clause_words:
            # Still twice the limit with no joint to cut at (a run-on rendering of three
            # sentences): told only when the speaker said nothing else.
            clause = Reported(clause.text, clause.form, False, clause.cue)
        return clause

    @staticmethod
    def _closest(whole: str, pieces: list[str]) -> int:
        """The piece of a long sentence that keeps most of what it says: the most content words
        (cheaper than embedding every piece), unless it opens with a word pointing back at the
        piece left out ("their researchers compete …" without "the alliance is …")."""
        def kept(k: int) -> tuple:
            pointing = re.match(r"(their|they|them|it|its|this|that|these|those|such)\b", pieces[k], re.IGNORECASE)
            return (not pointing, len(set(content_words(pieces[k], "en"))), -len(pieces[k]))
        return max(range(len(pieces)), key=kept)

    def _score(self, candidates: list[Candidate]) -> None:
        if not candidates:
            return
        if self.embedder is not None:
            vectors = self.embedder.embed([c.sentence.text for c in candidates])
            centroid = vectors.mean(axis=0)
            scores = vectors @ centroid
            for c, v in zip(candidates, vectors):
                c.vector = v
        else:
            scores = np.array([min(len(c.sentence.text), 120) for c in candidates], dtype=float) / 120
        # e5 cosines of one speaker's sentences to their centroid differ by 0.01-0.03: a spread
        # below CENTRALITY_SPREAD is noise, not a ranking.
        spread = max(float(scores.std()), CENTRALITY_SPREAD)
        for c, score in zip(candidates, scores):
            c.centrality = float(score)
            said = min(len(set(content_words(c.sentence.text, c.sentence.language))), SUBSTANCE_WORDS)
            terms = sum(1 for t in self._terms if _bare(t) in _bare(c.sentence.text))
            c.value = (1.0 + CENTRALITY_WEIGHT * float((score - scores.mean()) / spread) + SUBSTANCE_WEIGHT * said
                       + TERM_WEIGHT * min(terms, 3) - UNSURE_PENALTY * c.doubts
                       - MISSING_PENALTY * (len(c.texts) < len(self.languages))
                       - PROCEDURAL_PENALTY * bool(_PROCEDURAL.search(c.sentence.text)))


def novelty(candidate: Candidate, chosen: list[Candidate]) -> float:
    """1 for a candidate unlike what is chosen, down to 0 for one that repeats it."""
    if not chosen or candidate.vector is None:
        return 1.0
    closest = max(float(candidate.vector @ c.vector) for c in chosen if c.vector is not None)
    return float(np.clip((1.0 - closest) / NOVELTY_SPAN, 0.0, 1.0))


def _first(candidates: list[Candidate], length_weight: float, language: str) -> Candidate:
    """A part's first: usable, heard surely and rendered without a flag (a sentence with a word
    the recogniser was unsure of, or a flagged translation, only when every other has one too),
    then the most valuable less ``length_weight`` a word."""
    usable = [c for c in candidates if c.usable] or candidates
    return max(usable, key=lambda c: (not c.doubts, c.value - length_weight * c.words(language)))


def choose(parts: dict[str, list[Candidate]], budget_words: float, max_clauses: int, language: str = "en",
           required: set[str] | None = None, overhead_words: int = 3, max_unsure: int = 0) -> dict[str, list[Candidate]]:
    """The candidates each part tells, in time order. Every ``required`` part (default: all) gets
    its best usable candidate (a part with none usable gets its best one: it is marked for the
    editor later); then candidates are added by value per word while the budget lasts."""
    required = set(parts) if required is None else required
    chosen: dict[str, list[Candidate]] = {key: [] for key in parts}
    spent = 0.0
    # Everyone's first: the most valuable, with no more preference for short ones than the
    # budget needs.
    for weight in LENGTH_WEIGHTS:
        firsts = {key: _first(candidates, weight, language) for key, candidates in parts.items()
                  if key in required and candidates}
        spent = sum(c.words(language) + overhead_words for c in firsts.values())
        if spent <= budget_words:
            break
    for key, first in firsts.items():
        chosen[key].append(first)
    while True:
        options = []
        for key, candidates in parts.items():
            if len(chosen[key]) >= max_clauses:
                continue
            for c in candidates:
                # Only the first candidate of a part may carry more doubts (unsure words, a flagged translation).
                if c in chosen[key] or not c.usable or c.value <= 0 or c.doubts > max_unsure:
                    continue
                gain = c.value * novelty(c, chosen[key])
                cost = c.words(language) + overhead_words
                if gain > 0 and spent + cost <= budget_words:
                    options.append((gain / cost, key, c))
        if not options:
            break
        _, key, best = max(options, key=lambda o: o[0])
        chosen[key].append(best)
        spent += best.words(language) + overhead_words
    return {key: sorted(cs, key=lambda c: c.sentence.start_s) for key, cs in chosen.items()}


_TOPIC_JA = re.compile(r"(?:^|、)([^、。]{4,40}?)について")
_ISSUE_JA = re.compile(r"論点は、?(.{4,60}?)(?:です|だ)")
_TOPIC_EN = re.compile(r"\b(?:about|on|regarding)\s+(the\s+[^,.?]{4,80}|[a-z][^,.?]{4,80})", re.IGNORECASE)
_ISSUE_EN = re.compile(r"\b(?:issue|point|question|topic) is\s+(?!that\b)([^,.?]{4,100})", re.IGNORECASE)


def topic_of(text: str, language: str) -> str | None:
    """What a moderator's question or framing sentence is about ("the fundamental research
    exception" / 「基礎研究の例外」), or None when no such phrase is there."""
    if language == "ja":
        found = _ISSUE_JA.search(text) or _TOPIC_JA.search(text)
        topic = found.group(1).strip() if found else None
        if topic:
            topic = re.sub(r"^(次に|最後に|では|まず|最初に)、?", "", topic)
        return topic or None
    found = _ISSUE_EN.search(text) or _TOPIC_EN.search(text)
    return found.group(1).strip() if found else None
