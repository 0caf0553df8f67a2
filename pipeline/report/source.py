"""What the report is drafted from: the reviewed transcript, cut into who said what in which session.

Only floor-track segments that the align/review stages gave to a person of the agenda are a
speaker's words. Interpretation-track speech and segments of unknown voices are kept apart:
the interpreters' words may serve as a labelled translation, never as what the speaker said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.config import Config, Person
from ..core.language import joiner

INTERPRETER = "interpreter"
# Japanese sentences end at 。？！; English ones at . ? ! followed by a space and a capital or digit.
_JA_END = re.compile(r"(?<=[。？！?!])|\s+")
# "Mr. Hines", "U.S. Embassy": a title or an abbreviation before the full stop does not end a sentence.
_EN_END = re.compile(r"(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bMrs\.)(?<!\bProf\.)(?<!\bSt\.)(?<!\bNo\.)"
                     r"(?<!\bU\.S\.)(?<!\bU\.K\.)(?<=[.?!])\s+(?=[A-Z0-9“\"'(])")
# Courtesies carry no content: a point is never drafted from them alone.
_COURTESY = re.compile(
    # An address may come first ("Shibano, and good morning." / "柴野さん、ありがとうございます。").
    r"^([^,、.。\s]{1,20}( [^,、.。\s]{1,20})?[,、]\s*(and\s+)?)?"
    r"(thank you[^.?!]*|good (morning|afternoon|evening)[^.?!]*|thanks[^.?!]*|"
    r"(皆様、?)?(ありがとうございま(す|した)|おはようございます|こんにちは|よろしくお願いいたします)[。！]?)[.!。]?$",
    re.IGNORECASE)
# "I am Iida from the Cabinet Secretariat." / "内閣府の有賀でございます。": who is speaking, not what.
# A short "…です。" names the speaker only without a particle of a predicate (専門人材の育成が急務です。 says something).
_SELF_INTRODUCTION = re.compile(r"でございます[。]?$|^[^、。がをはにも]{1,12}です[。]?$|"
                                r"^(thank you[.,!]?\s*)?(I'm|I am|my name is|this is)\b", re.IGNORECASE)
# A Japanese "sentence" that ends in a conjunctive form (…であっても。 …なりませんが。 …ので。) is a
# clause the recogniser closed too early: it is read as one sentence with the clause after it.
# A clause ending in a case particle or a verb's conjunctive し (「…安全保障を。」 「…利用し。」) too.
_JA_CONTINUES = re.compile(r"(ても|でも|ので|けれども|けれど|けど|が|て|ば|たら|ながら|を|し)[。、]?$")
RUN_GAP_S = 3.0  # a speaker's segments closer than this are read as one run of speech
# A word the recogniser gave less than this probability is one it was unsure of (on the demo
# most misheard words sit below 0.4: 重陽武士 0.16, 出管 0.00, "attack" 0.30; some right ones
# too: 官民 0.09). An editor's correction of the segment makes its words sure.
UNSURE_PROBABILITY = 0.4


@dataclass(frozen=True)
class Sentence:
    """A sentence of one speaker's run of segments: its text is a verbatim substring of the cited
    segments' texts joined in order (``joined``), so a sentence cut across two segments by the
    recogniser is still one sentence, citing both."""

    segments: tuple[str, ...]
    text: str
    language: str
    start_s: float
    end_s: float
    speaker: str
    session: str | None
    # Words of the sentence the recogniser was unsure of (see ``UNSURE_PROBABILITY``), and
    # "[flagged]" for a segment the review stage flagged.
    unsure: tuple[str, ...] = ()

    @property
    def segment(self) -> str:
        return self.segments[0]

    @property
    def courtesy(self) -> bool:
        text = self.text.strip()
        limit = 40 if self.language == "ja" else 140
        return (len(text) <= 40 and bool(_COURTESY.match(text))) or (len(text) <= limit and bool(_SELF_INTRODUCTION.search(text)))


def normalise_space(text: str) -> str:
    return " ".join(text.split())


def joined(segments: list[dict]) -> str:
    """The texts of consecutive segments of one language as one text (how quotes are checked)."""
    language = segments[0]["language"] if segments else "en"
    return joiner(language).join(s["text"].strip() for s in segments)


@dataclass
class Source:
    config: Config
    segments: list[dict]  # a person's words: floor track, speaker named on the agenda
    by_id: dict[str, dict]  # every segment of the transcript, interpretation included
    # Other-language renderings of a segment: {id: {lang: {"text", "source"}}}; interpreter's
    # renderings carry source "interpreter" and are labelled as such wherever shown.
    translations: dict[str, dict[str, dict]] = field(default_factory=dict)
    unattributed_s: float = 0.0  # speech by voices no one could name

    @property
    def people(self) -> dict[str, Person]:
        return {p.id: p for p in self.config.event.people}

    def sentences(self, segment_ids: list[str] | None = None) -> list[Sentence]:
        chosen = self.segments if segment_ids is None else [self.by_id[i] for i in segment_ids if i in self.by_id]
        return [s for run in runs(chosen) for s in split_run(run)]

    def speech_s(self, person: str, session: str | None = None) -> float:
        return sum(s["end_s"] - s["start_s"] for s in self.segments
                   if s["speaker"] == person and (session is None or s.get("session") == session))

    def text_rendering(self, text: str, segment_ids, language: str) -> dict | None:
        """A known rendering of a text: only when the text is its segments' whole text."""
        segments = [self.by_id[i] for i in segment_ids if i in self.by_id]
        if not segments or normalise_space(text).rstrip("。.") != normalise_space(joined(segments)).rstrip("。."):
            return None
        renderings = [self.rendering(s["id"], language) for s in segments]
        if not all(renderings):
            return None
        # A sentence translated across several segments is shared out over them by length: a
        # share alone is not a rendering of its segment, only the whole sentence is.
        if any(not set(r.get("sentence", [])) <= set(segment_ids) for r in renderings):
            return None
        sources = {r["source"] for r in renderings}
        # An interpreter's rendering may serve two fragments of one sentence: said once.
        texts = [r["text"] for k, r in enumerate(renderings) if not k or r["text"] != renderings[k - 1]["text"]]
        return _doubtful({"text": joiner(language).join(texts), "source": sources.pop() if len(sources) == 1 else "machine"},
                         renderings)

    def sentence_rendering(self, sentence: "Sentence", language: str) -> dict | None:
        """``sentence`` in ``language``: itself, the rendering of its segments, or, when the
        rendering covers more (a segment holding two sentences, a translation unit of several),
        the rendering's sentence in the same place (same number of sentences on both sides)."""
        if sentence.language == language:
            return {"text": sentence.text, "source": "original"}
        whole = self.text_rendering(sentence.text, sentence.segments, language)
        if whole:
            return _without_extra(whole, sentence, language)
        unit, texts, sources, used = [], [], set(), []
        for segment_id in sentence.segments:
            if segment_id in unit:
                continue
            rendering = self.rendering(segment_id, language)
            if not rendering:
                return None
            ids = rendering.get("sentence") or [segment_id]
            unit += [i for i in ids if i not in unit]
            text = rendering.get("sentence_text") or rendering["text"]
            if not texts or texts[-1] != text:
                texts.append(text)
            sources.add(rendering["source"])
            used.append(rendering)
        said = split_run([self.by_id[i] for i in unit if i in self.by_id])
        rendered = split_text(joiner(language).join(texts), language)
        if len(said) != len(rendered) or not said:
            return None
        found = [k for k, s in enumerate(said) if s.text == sentence.text]
        if len(found) != 1:
            return None
        return _doubtful({"text": rendered[found[0]], "source": sources.pop() if len(sources) == 1 else "machine"}, used)

    def rendering(self, segment_id: str, language: str) -> dict | None:
        """The segment in ``language``: itself, else a translation (editor > interpreter > machine)."""
        segment = self.by_id.get(segment_id)
        if segment is None:
            return None
        if segment["language"] == language:
            return {"text": segment["text"], "source": "original"}
        return self.translations.get(segment_id, {}).get(language)


def _doubtful(rendering: dict, parts: list[dict]) -> dict:
    """``rendering`` marked doubtful when a machine translation it is made of was flagged."""
    return {**rendering, "doubtful": True} if any(p.get("doubtful") for p in parts) else rendering


# About how many Japanese characters an English word is rendered with, and back.
CHARS_PER_WORD = 2.2


def _without_extra(rendering: dict, sentence: "Sentence", language: str) -> dict:
    """A rendering of one sentence that holds more sentences and runs far longer than one would
    (the small model sometimes translates the next sentence of its context too): its first."""
    pieces = split_text(rendering["text"], language)
    if len(pieces) < 2:
        return rendering
    said = len(sentence.text.split()) * CHARS_PER_WORD if sentence.language != "ja" else len(sentence.text) / CHARS_PER_WORD
    size = len(rendering["text"]) if language == "ja" else len(rendering["text"].split())
    return {**rendering, "text": pieces[0]} if size > 1.8 * said else rendering


def split_text(text: str, language: str) -> list[str]:
    """A text cut into sentences the way the transcript is (see ``split_run``)."""
    pattern = _JA_END if language == "ja" else _EN_END
    return [part.strip() for part in pattern.split(text) if part and part.strip()]


def runs(segments: list[dict]) -> list[list[dict]]:
    """Consecutive segments of one speaker, language and track, with short gaps between them."""
    out: list[list[dict]] = []
    for segment in sorted(segments, key=lambda s: s["start_s"]):
        last = out[-1][-1] if out else None
        if (last is not None and last.get("speaker") == segment.get("speaker") and last["language"] == segment["language"]
                and last.get("track") == segment.get("track") and segment["start_s"] - last["end_s"] <= RUN_GAP_S):
            out[-1].append(segment)
        else:
            out.append([segment])
    return out


def split_run(run: list[dict]) -> list[Sentence]:
    language = run[0]["language"]
    text = joined(run)
    spans, offset = [], 0  # each segment's character span in the joined text
    for segment in run:
        piece = segment["text"].strip()
        start = text.index(piece, offset)
        spans.append((start, start + len(piece), segment))
        offset = start + len(piece)
    pattern = _JA_END if language == "ja" else _EN_END
    bounds, offset = [], 0  # each sentence's character span in the joined text
    for part in pattern.split(text):
        stripped = part.strip()
        if not stripped:
            continue
        begin = text.index(stripped, offset)
        offset = begin + len(stripped)
        if bounds and language == "ja" and _JA_CONTINUES.search(text[bounds[-1][0]:bounds[-1][1]]):
            bounds[-1] = (bounds[-1][0], offset)
        else:
            bounds.append((begin, offset))
    unsure = [(start + at, word) for start, _, segment in spans for at, word in _unsure_words(segment)]
    sentences = []
    for begin, end in bounds:
        stripped = text[begin:end]
        cited = [seg for a, b, seg in spans if a < end and b > begin]
        sentences.append(Sentence(tuple(s["id"] for s in cited), stripped, language, cited[0]["start_s"],
                                  cited[-1]["end_s"], cited[0].get("speaker"), cited[0].get("session"),
                                  tuple(w for at, w in unsure if begin <= at < end)))
    return sentences


def _unsure_words(segment: dict) -> list[tuple[int, str]]:
    """(offset in the segment's stripped text, word) of the words the recogniser was unsure of."""
    review = segment.get("review") or {}
    if review.get("edited") or review.get("status") == "reviewed":
        return []  # an editor heard it
    text = segment["text"].strip()
    found = [(0, "[flagged]")] if "low_confidence" in (segment.get("flags") or []) else []
    offset = 0
    for word in segment.get("words") or []:
        piece = (word.get("text") or word.get("word") or "").strip()
        if not piece:
            continue
        at = text.find(piece, offset)
        if at < 0:
            continue  # the text was corrected after recognition: this word is no longer there
        offset = at + len(piece)
        if (word.get("probability") if word.get("probability") is not None else 1.0) < UNSURE_PROBABILITY:
            found.append((at, piece))
    return found


def _floor_track(config: Config) -> str:
    return next(t.name for t in config.recording.tracks if t.role == "floor")


def load_source(config: Config, transcript: dict, translations: dict | None = None) -> Source:
    people = {p.id: p for p in config.event.people}
    floor = _floor_track(config)
    segments, unattributed = [], 0.0
    for segment in transcript["segments"]:
        if segment.get("track", floor) != floor or not segment.get("text", "").strip():
            continue
        person = people.get(segment.get("speaker") or "")
        if person is None or INTERPRETER in person.roles:
            unattributed += segment["end_s"] - segment["start_s"]
            continue
        segments.append(segment)
    segments.sort(key=lambda s: s["start_s"])
    by_id = {s["id"]: s for s in transcript["segments"]}
    return Source(config, segments, by_id, _renderings(translations or {}, by_id, floor,
                                                      config.translate.interpretation.use_min_confidence),
                  round(unattributed, 1))


def _interpretation_entries(translations: dict, by_id: dict[str, dict]) -> list[tuple[list[str], dict]]:
    """(segment ids, entry) of each link under translations.json's "interpretation": the key and
    its linked ids, those in the transcript."""
    return [([i for i in [key, *entry.get("segment_ids", [])] if i in by_id], entry)
            for key, entry in (translations.get("interpretation") or {}).items()
            if isinstance(entry, dict) and entry.get("text")]


_MID_SENTENCE = ("、", ",", "，", "で")


def _renderings(translations: dict, by_id: dict[str, dict], floor: str,
                use_min_confidence: float = 0.0) -> dict[str, dict[str, dict]]:
    """translations.json -> {segment id: {lang: {"text", "source"}}}; interpretation as a fallback."""
    out: dict[str, dict[str, dict]] = {}
    for segment_id, languages in (translations.get("segments") or {}).items():
        for language, entry in (languages or {}).items():
            if isinstance(entry, dict) and entry.get("text") and entry.get("status", "ok") == "ok":
                out.setdefault(segment_id, {})[language] = {"text": entry["text"],
                                                            "source": entry.get("source", "machine")}
                # The translate stage's quality estimate flags the line for an editor ("needs
                # review: translation"): the report does not tell it while anything else will do.
                if (entry.get("quality") or {}).get("flag"):
                    out[segment_id][language]["doubtful"] = True
                if entry.get("sentence"):  # the segment holds a share of a longer sentence's translation
                    out[segment_id][language]["sentence"] = entry["sentence"]
    # "interpretation" pairs floor segments with the interpreter's segments; which side is the key
    # is not relied on: the floor ones get the interpreter's text, in the interpreter's language.
    # A human interpreter's rendering comes before the machine's (the editor's before both) when
    # the link is as strong as the translate stage asks before using one, and its rendering is
    # linked to one speaker's words only: the interpreter's recogniser often keeps the host's
    # "Thank you, Mr Smith." and the next speaker's first sentence in one segment, which is
    # neither's rendering. Where the translate stage took the interpreter's words itself, its
    # record (shared out over the sentences they render) stands.
    entries = _interpretation_entries(translations, by_id)
    speakers_of: dict[str, set] = {}  # interpretation segment -> the speakers of the floor linked to it
    for ids, _ in entries:
        speakers = {by_id[i].get("speaker") for i in ids if by_id[i].get("track", floor) == floor}
        for i in ids:
            if by_id[i].get("track", floor) != floor:
                speakers_of.setdefault(i, set()).update(speakers)
    for ids, entry in entries:
        interpreted = [by_id[i] for i in ids if by_id[i].get("track", floor) != floor]
        weak = (entry.get("confidence") or 0.0) < use_min_confidence
        if not interpreted or weak or any(len(speakers_of[s["id"]]) > 1 for s in interpreted):
            continue
        language = interpreted[0]["language"]
        # A rendering the interpreter's recogniser cut off mid-sentence (「…必要で、」) does not
        # replace a whole machine rendering: told, it reads 「…必要で、と強調した」.
        cut_off = entry["text"].rstrip().endswith(_MID_SENTENCE)
        for segment_id in ids:
            segment = by_id[segment_id]
            current = out.get(segment_id, {}).get(language, {}).get("source")
            kept = ("interpreter", "machine") if cut_off else ("interpreter",)
            if segment.get("track", floor) == floor and current not in kept:
                out.setdefault(segment_id, {})[language] = {"text": entry["text"], "source": "interpreter"}
    # Editors' translations travel in reviewed.json (segments[].review.translation): they come first.
    for segment_id, segment in by_id.items():
        for language, text in ((segment.get("review") or {}).get("translation") or {}).items():
            if isinstance(text, str) and text.strip():
                out.setdefault(segment_id, {})[language] = {"text": text, "source": "editor"}
    return out
