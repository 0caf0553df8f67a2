"""The ``translate`` stage: every floor segment into the event's other language(s).

How a line travels (the way good subtitle translators work, plus checks a small model needs):
1. Each sentence is one request: a short system prompt fixed per direction, then the glossary
   entries found in the line (agenda names, titles, affiliations, session titles,
   event.glossary; only those), optionally the lines just before it (``context_lines``), and the
   line (into Japanese with its speaker's name before it: ``speaker_label_into``). The answer is
   the translation alone, on one line.
2. Lines are asked in rounds of ``round_lines``; the engine decodes a round's requests together
   (``complete_many`` in llm.py: several llama.cpp sequences at once).
3. Every output line is checked (not empty, target script, not a copy of the source, plausible
   length, every glossary entry of the source in its canonical target form, no agenda person
   named whom the line does not name). The round's failed
   lines are asked again together (told what was wrong), then kept with status
   ``needs_translation`` and the failed checks.
4. Each finished round is appended to a checkpoint in the stage's scratch folder and to the
   output folder's cache (``cache/translations.jsonl``, keyed by engine, model, prompt version,
   direction, text and the glossary entries in it): a killed run resumes after its last round,
   and a re-run after an edit translates only the segments whose text changed (and the lines an
   earlier run left as needs_translation). A round's answers depend only on the round (see
   ``ParallelDecoder``), so a resumed run writes the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..core import artifacts
from ..core.config import Config, TranslateSettings
from ..core.errors import PipelineError
from ..core.events import message, progress
from ..core.stage import Stage, StageContext, StageOutput
from . import quality
from .glossary import Glossary, Hit, missing_forms, prompt_lines, substitute, unsaid_names
from .llm import Generation, complete_many
from .misheard import Misheard
from .sentences import join_texts, sentences, share_out

# The artifact this stage reads (the review stage's output; same segment shape as aligned.json).
INPUT = "reviewed.json"
ARTIFACT = "translations.json"
CACHE = Path("cache") / "translations.jsonl"
CHECKPOINT = "batches.jsonl"
PROMPT_VERSION = 10  # bump when prompts or answer parsing change: cached translations are then not reused

LANGUAGE_NAMES = {"en": "English", "ja": "Japanese", "de": "German", "fr": "French", "es": "Spanish",
                  "zh": "Chinese", "ko": "Korean"}
# Plausible output/source length in characters, per direction (Japanese is 2-4x denser).
LENGTH_RATIO = {("en", "ja"): (0.12, 1.6), ("ja", "en"): (0.6, 9.0)}
DEFAULT_LENGTH_RATIO = (0.3, 3.5)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff々〆ヶ]")
_LATIN = re.compile(r"[A-Za-z]")
# A chat model's refusal or apology instead of a translation (measured on the demo: "I'm sorry,
# but I can't assist with that request." for a line about opening the symposium).
_REFUSAL = re.compile(r"^(I'?m sorry|I am sorry|I apologi[sz]e|I can(?:no|')t (?:assist|help|translate)|As an AI|申し訳ございませんが|申し訳ありませんが)",
                      re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*(?:\[(\d+)\]|(\d+)[.):．）])\s*(.*)$")


@dataclass
class Unit:
    """One sentence (one segment, or consecutive segments of one speaker that end mid-sentence)
    to be translated into one target language."""

    segments: list[dict]
    source: str
    target: str
    hits: list[Hit] = field(default_factory=list)

    @property
    def segment(self) -> dict:
        """The first segment: its speaker, session and id stand for the sentence."""
        return self.segments[0]

    @property
    def id(self) -> str:
        return self.segment["id"]

    @property
    def text(self) -> str:
        return join_texts([s["text"] for s in self.segments], self.source)


# --- checks ---------------------------------------------------------------------------------

def check(unit: Unit, output: str, settings: TranslateSettings, context: list[str] = (),
          glossary: Glossary | None = None) -> dict[str, bool]:
    """Named checks of one output line; every value True means the line is usable.

    ``context``: lines shown to the model that are already in the target language; an answer
    that contains one of them copied context instead of translating. With the event's
    ``glossary``, an answer that names an agenda person the line does not name fails
    ("Tomoo Shibano continued, …" for a line the host said without saying his own name)."""
    text = output.strip()
    copied = any(len(line) >= 16 and line[:24] in text for line in (c.strip() for c in context))
    source_text = unit.text
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if unit.target == "ja":
        script = cjk > 0 and cjk >= 0.5 * latin
    elif unit.target in ("en", "de", "fr", "es"):
        script = cjk == 0 and latin > 0
    else:
        script = bool(text)
    low, high = LENGTH_RATIO.get((unit.source, unit.target), DEFAULT_LENGTH_RATIO)
    ratio = len(text) / max(1, len(source_text))
    length = len(source_text) < settings.min_check_chars or low <= ratio <= high
    return {
        "not_empty": bool(text),
        "target_script": script,
        # An echo of the source, also of the source with the glossary's forms written in.
        "not_source_copy": text not in (source_text, substitute(source_text, unit.hits, unit.target)),
        "not_context_copy": not copied,
        "length_ratio": length,
        "glossary": not missing_forms(unit.hits, text, unit.target),
        "not_refusal": not _REFUSAL.search(text) or bool(_REFUSAL.search(source_text)),
        "no_unsaid_name": glossary is None or not unsaid_names(glossary, source_text, text, unit.target, _speaker_of(unit)),
    }


# --- prompts --------------------------------------------------------------------------------

def _speaker_of(unit: Unit) -> tuple[str, dict] | None:
    """The unit's speaker: their person id and names by language (None when not an agenda person)."""
    person, names = unit.segment.get("speaker"), unit.segment.get("speaker_name")
    return (person, names) if person and isinstance(names, dict) else None


def _speaker(segment: dict, target: str) -> str:
    names = segment.get("speaker_name") or {}
    return names.get(target) or names.get("en") or ""


def _session_title(config: Config, session_id: Optional[str], target: str) -> str:
    for session in config.event.sessions:
        if session.id == session_id:
            return getattr(session.title, target, None) or session.title.en or ""
    return ""


def build_messages(unit: Unit, before: list[dict], done: dict[str, str], config: Config,
                   settings: TranslateSettings, extra: str = "", substitute_terms: bool = False) -> list[dict]:
    """System prompt fixed per direction (the engine evaluates it once for a whole round); the
    line's glossary entries, context and the line itself in the user message."""
    source, target = unit.source, unit.target
    src_name, tgt_name = LANGUAGE_NAMES.get(source, source), LANGUAGE_NAMES.get(target, target)
    system = (f"You are a professional conference translator at a symposium: {config.event.title.en or ''}. "
              f"Translate the {src_name} line into natural, faithful {tgt_name}. Answer with the translation "
              f"only, on one line, written only in {tgt_name}, with no notes. Names and terms listed before "
              f"the line are written exactly as given.")
    title = _session_title(config, unit.segment.get("session"), target) if settings.speaker_context else ""
    if title:
        # In the system prompt, not the user's message: there the model sometimes answered with
        # the "Session: ..." line itself (1 line in 40 on the demo).
        system += f" The current session: {title}."
    # The glossary's lines for this line's terms, then the line. How to use them is said once,
    # in the system prompt that every line of the round shares (evaluated once): in each user
    # message that instruction was 17 of the ~45 tokens of a line with a term.
    user = prompt_lines(unit.hits, source, target) if settings.glossary else []
    if before:
        user.append("Earlier lines (already translated; do not translate again):")
        for s in before:
            known = done.get(s["id"])
            user.append(f"  {_line_label(s, target, settings)}{s['text'].strip()}" + (f" => {known}" if known else ""))
        user += ["", f"Translate into {tgt_name}:"]
    elif user:
        user.append("")
    user.append(f"{_line_label(unit.segment, target, settings)}{line_text(unit, settings, substitute_terms)}")
    if extra:
        user += ["", extra]
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(user)}]


def line_text(unit: Unit, settings: TranslateSettings, substitute_terms: bool = False) -> str:
    """The source line as the prompt gives it: with the glossary's target forms written in when
    asked (``protect_terms: substitute``, or a last try after a glossary failure)."""
    if (settings.protect_terms == "substitute" or substitute_terms) and settings.glossary:
        return substitute(unit.text, unit.hits, unit.target)
    return unit.text


def _line_label(segment: dict, target: str, settings: TranslateSettings) -> str:
    if not labelled(target, settings):
        return ""
    speaker = _speaker(segment, target)
    return f"({speaker}) " if speaker and not speaker.lower().startswith("unknown") else ""


def labelled(target: str, settings: TranslateSettings) -> bool:
    """Whether lines into ``target`` carry their speaker's name (``speaker_label_into``)."""
    return settings.speaker_context and target in settings.speaker_label_into


def first_line(answer: str) -> str:
    """The answer's translation: its first non-empty line, without a "1." the model may number it
    with or a speaker label it may echo."""
    for line in answer.strip().splitlines():
        if line.strip():
            m = _NUMBERED.match(line)
            return _clean(m.group(3) if m and m.group(3) else line)
    return ""


def tidy(text: str, target: str) -> str:
    """Typography the small model gets wrong and a reader would not want: "U. S." for "U.S."."""
    if target == "en":
        text = re.sub(r"\b([A-Z])\. (?=[A-Z]\.)", r"\1.", text)
    return text


def unlabelled(text: str, segment: dict) -> str:
    """The line without the speaker's name the model sometimes writes before it, as a script
    would ("Hideaki Shiroyama: I am Shiroyama."): the prompt labels lines with the speaker."""
    for name in sorted({n for n in (segment.get("speaker_name") or {}).values() if n}, key=len, reverse=True):
        if text.startswith(name):
            rest = re.sub(r"^\s*[:：]\s*", "", text[len(name):])
            if rest != text[len(name):]:
                return rest.strip().strip('"“”「」').strip() or text
    return text


def _clean(text: str) -> str:
    text = re.sub(r"^\([^)]{1,60}\)\s*", "", text.strip())  # an echoed speaker label
    return text.strip().strip('"“”「」').strip()


# --- the translator -------------------------------------------------------------------------

class Translator:
    """Batches, prompts, parses, checks and retries; knows nothing about files."""

    def __init__(self, llm, glossary: Glossary, config: Config):
        self.llm, self.glossary, self.config = llm, glossary, config
        self.settings = config.translate
        self.described = llm.describe()
        self.instructable = not hasattr(llm, "translate")

    def units(self, segments: list[dict]) -> list[Unit]:
        floor_tracks = set(self.settings.tracks)
        units = []
        spoken = [s for s in segments if s.get("track", "floor") in floor_tracks and s["text"].strip()]
        for group in sentences(spoken, self.settings):
            language = group[0]["language"]
            for target in self.config.event.languages:
                if target != language:
                    unit = Unit(group, language, target)
                    unit.hits = self.glossary.find(unit.text, language)
                    units.append(unit)
        return units

    def cache_key(self, unit: Unit) -> str:
        payload = json.dumps({"engine": self.described.get("engine"), "model": self.described.get("model"),
                              "prompt": PROMPT_VERSION, "source": unit.source, "target": unit.target,
                              "text": unit.text,
                              "glossary": sorted(h.entry.key() for h in unit.hits) if self.settings.glossary else [],
                              "protect": self.settings.protect_terms,
                              "labelled": labelled(unit.target, self.settings)}, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def translate_round(self, units: list[Unit], before: dict[str, list[dict]], done: dict[str, dict[str, str]],
                        ) -> list[dict]:
        """Every unit asked at once; the lines that fail a check asked again together (told what
        was wrong, sampled a little so a failed answer is not repeated word for word; on the last
        try the glossary's target forms are written into the source line itself: the small model
        sometimes ignores a listed term however it is asked), at most ``max_retries`` times."""
        attempts: list[list[tuple[str, dict, float | None]]] = [[] for _ in units]
        firsts: list[Generation | None] = [None] * len(units)  # first answers: the source line's log-probabilities
        pending = list(range(len(units)))
        for attempt in range(self.settings.max_retries + 1):
            if not pending:
                break
            notes, substituted = [], []
            for i in pending:
                failed = [k for k, ok in attempts[i][-1][1].items() if not ok] if attempts[i] else []
                notes.append(self._retry_note(units[i], failed) if attempt else "")
                substituted.append(attempt == self.settings.max_retries and "glossary" in failed)
            answers = self._ask([units[i] for i in pending], before, done, notes, substituted,
                                temperature=0.3 if attempt else 0.0, score=not attempt)
            for i, (text, logprob, generation) in zip(pending, answers):
                if not attempt:
                    firsts[i] = generation
                unit = units[i]
                context = [s["text"] for s in before.get(unit.id, []) if s["language"] == unit.target]
                attempts[i].append((text, check(unit, text, self.settings, context, self.glossary), logprob))
            pending = [i for i in pending if not all(attempts[i][-1][1].values())]
        return [self._record(unit, tries, generation) for unit, tries, generation in zip(units, attempts, firsts)]

    def _retry_note(self, unit: Unit, failed: list[str]) -> str:
        tgt = LANGUAGE_NAMES.get(unit.target, unit.target)
        notes = [f"Write the whole translation in {tgt}."]
        if "glossary" in failed:
            forms = missing_forms(unit.hits, "", unit.target)
            notes.append("The translation must contain: " + ", ".join(forms) + ".")
        if "no_unsaid_name" in failed:
            notes.append("Name only the people the line itself names.")
        return " ".join(notes)

    def _ask(self, units: list[Unit], before, done, notes: list[str], substituted: list[bool],
             temperature: float, score: bool = False) -> list[tuple[str, float | None, Generation | None]]:
        """Each unit's answer line, the mean log-probability of its tokens, and the generation
        (``score``, an engine that reads them: with the log-probabilities of the source line's
        tokens as the model read them in the prompt)."""
        if not self.instructable:  # a seq2seq model: plain texts in, texts out
            texts = [line_text(u, self.settings, sub) for u, sub in zip(units, substituted)]
            by_direction: dict[tuple[str, str], list[int]] = {}
            for i, u in enumerate(units):
                by_direction.setdefault((u.source, u.target), []).append(i)
            answers: list[tuple[str, float | None, Generation | None]] = [("", None, None)] * len(units)
            for (source, target), members in by_direction.items():
                for i, text in zip(members, self.llm.translate([texts[i] for i in members], source, target)):
                    answers[i] = (text.strip(), None, None)
            return answers
        requests = [build_messages(u, before.get(u.id, []), done.get(u.target, {}), self.config, self.settings, note, sub)
                    for u, note, sub in zip(units, notes, substituted)]
        lines = [line_text(u, self.settings, sub) for u, sub in zip(units, substituted)]
        generations = complete_many(self.llm, requests, max_tokens=[self._budget(u) for u in units],
                                    temperature=temperature, stop=("\n",), score=lines if score else None)
        return [(tidy(unlabelled(first_line(g.text), u.segment), u.target), g.mean_logprob, g)
                for u, g in zip(units, generations)]

    def _budget(self, unit: Unit) -> int:
        """Tokens an answer line may take: enough for a faithful rendering of this source (a
        Japanese character or ~4 English letters is about one token), never a runaway."""
        return min(self.settings.max_tokens_per_line * len(unit.segments), 24 + int(2 * len(unit.text)))

    def _record(self, unit: Unit, attempts: list[tuple[str, dict, float | None]],
                first: Generation | None = None) -> dict:
        if attempts:
            text, checks, logprob = max(attempts, key=lambda a: (sum(a[1].values()), a[1]["target_script"]))
        else:
            text, checks, logprob = "", {"not_empty": False}, None
        ok = all(checks.values())
        record = {"text": text, "source": "machine", "engine": self.described.get("engine"),
                  "model": self.described.get("model"),
                  "glossary_hits": [h.entry.forms.get(unit.target) for h in unit.hits if h.entry.forms.get(unit.target)],
                  "checks": checks, "status": "ok" if ok else "needs_translation", "attempts": len(attempts)}
        if logprob is not None:
            record["logprob"] = round(logprob, 4)  # mean log-probability of the answer's tokens
        if first is not None and first.scored:  # ... and of the source line's, read in the prompt (quality.py)
            record["source_logprob"] = round(first.mean_scored, 4)
            record["source_surprise"] = round(quality.surprise(first.scored), 4)
        return record


# --- files: checkpoint and cache ------------------------------------------------------------

def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a line torn by a crash: that batch is simply done again
    return rows


def _append_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


# --- the stage ------------------------------------------------------------------------------

def _edited(unit: Unit) -> str | None:
    return ((unit.segment.get("review") or {}).get("translation") or {}).get(unit.target) or None


def _pieces(unit: Unit, record: dict) -> list[dict]:
    """The sentence's record for each of its segments: the segment's share of the translation,
    with the whole sentence and the ids it spans (so a reader can show the sentence at once)."""
    if len(unit.segments) == 1:
        return [record]
    texts = share_out(record["text"], [len(s["text"].strip()) for s in unit.segments], unit.target)
    sentence = {"sentence": [s["id"] for s in unit.segments], "sentence_text": record["text"]}
    return [record | {"text": text} | sentence for text in texts]


def translate_segments(segments: list[dict], config: Config, llm, out_dir: Path, work_dir: Path,
                       interpreted: dict | None = None) -> tuple[dict, dict]:
    """Translations by segment id and target language, plus counters. ``interpreted``: links of
    floor segments to the interpreter's renderings (interpretation.link, before translation)."""
    settings = config.translate
    glossary = Glossary.from_event(config.event) if settings.glossary else Glossary([])
    translator = Translator(llm, glossary, config)
    # Context and order come from the translated tracks only (not the interpreter's track).
    segments = [s for s in segments if s.get("track", "floor") in settings.tracks]
    units = translator.units(segments)
    # Lines an earlier run left as needs_translation are tried again (the code or the engine
    # may have changed since); within one run, the checkpoint keeps whatever a round gave.
    cache = {row["key"]: row["record"] for row in _read_jsonl(out_dir / CACHE)
             if "key" in row and row.get("record", {}).get("status") == "ok"} if settings.reuse else {}
    cache.update({row["key"]: row["record"] for row in _read_jsonl(work_dir / CHECKPOINT) if "key" in row})
    keys = {id(u): translator.cache_key(u) for u in units}
    # What the engine is asked, in document order, each text once. Rounds are cut from this list,
    # and a killed run's checkpoint holds whole rounds: a resumed run asks the same rounds.
    from_interpreter = _interpreter_records(units, interpreted or {}, settings)
    todo, asked = [], set()
    for unit in units:
        key = keys[id(unit)]
        if id(unit) in from_interpreter:
            continue
        if key not in cache and (key not in asked or not settings.reuse) and not _edited(unit):
            asked.add(key)
            todo.append(unit)
    order = {s["id"]: i for i, s in enumerate(segments)}
    edited = sum(1 for u in units if _edited(u))
    counters = {"lines": len(units), "segments": len(segments),
                "from_cache": len(units) - edited - len(todo) - len(from_interpreter),
                "from_editor": edited, "from_interpreter": len(from_interpreter), "translated": 0,
                "needs_translation": 0, "rounds": 0}
    size = settings.round_lines
    with progress(len(units), "translate", unit="lines") as bar:
        bar.update(len(units) - len(todo))
        for start in range(0, len(todo), size):
            batch = todo[start:start + size]
            before = {u.id: _earlier(u, segments, order, settings.context_lines) for u in batch}
            done = _known_translations(units, cache, keys) if settings.context_lines else {}
            records = translator.translate_round(batch, before, done)
            if settings.quality_estimate:
                _estimate_quality(batch, records)
            rows = [{"key": keys[id(u)], "id": u.id, "target": u.target, "record": r} for u, r in zip(batch, records)]
            _append_jsonl(work_dir / CHECKPOINT, rows)
            _append_jsonl(out_dir / CACHE, rows)
            cache.update({row["key"]: row["record"] for row in rows})
            counters["rounds"] += 1
            counters["translated"] += len(batch)
            bar.update(len(batch))
    # Read on every run, not cached with the translation: cheap, and current with the agenda (the
    # agenda's forms even where the prompt's glossary is turned off).
    agenda = glossary if settings.glossary else Glossary.from_event(config.event)
    misheard = Misheard.from_glossary(agenda) if settings.quality_estimate else None
    results: dict[str, dict] = {}
    for unit in units:
        edited = _edited(unit)
        if edited:  # an editor's translation wins over the machine's and is not checked again
            pieces = _pieces(unit, {"text": edited, "source": "editor", "engine": None, "model": None,
                                    "glossary_hits": [], "checks": {}, "status": "ok"})
        elif id(unit) in from_interpreter:
            pieces = from_interpreter[id(unit)]
        else:
            pieces = _pieces(unit, cache[keys[id(unit)]])
            if misheard and unit.source == "ja":
                pieces = _marked_misheard(pieces, misheard.find(unit.text))
        for segment, piece in zip(unit.segments, pieces):
            results.setdefault(segment["id"], {})[unit.target] = piece
    counters["needs_translation"] = sum(1 for r in results.values() for t in r.values() if t["status"] != "ok")
    return results, counters


def _marked_misheard(pieces: list[dict], misses: list) -> list[dict]:
    """A machine translation of a line that nearly says an agenda term (misheard.py) is flagged
    for the editor, whatever its score: it renders words nobody said."""
    if not misses:
        return pieces
    return [piece | {"quality": quality.with_near_misses(piece.get("quality") or {}, misses)} for piece in pieces]


def _interpreter_records(units: list[Unit], links: dict, settings: TranslateSettings) -> dict[int, list[dict]]:
    """The interpreter's rendering as the translation of the sentences it renders, as one record
    per segment (``_pieces``), labelled as the interpreter's (never as the speaker's words); those
    sentences are not sent to the model.

    The interpreter's recogniser often keeps two or three floor sentences in one segment
    ("Thank you, Professor Shiroyama. Next, I'd like to invite Mr. Tom Hines, …"), so consecutive
    sentences linked to a shared rendering form one group, rendered once and shared out over the
    group's segments: the same words are never the translation of two sentences. A group is used
    only when every segment of every sentence in it is linked strongly enough, in the target
    language, all by one speaker (a share-out could put one speaker's words on another's line),
    and the joined rendering is in the target script; otherwise the whole group goes to the
    model (a sentence told by the model beside a rendering that also tells it would say it
    twice)."""
    threshold = settings.interpretation.use_min_confidence
    records: dict[int, list[dict]] = {}
    for group in _groups_sharing_renderings(units, links):
        found = [links.get(s["id"]) for unit in group for s in unit.segments]
        target = group[0].target
        speakers = {u.segment.get("speaker") for u in group}
        if len(speakers) > 1 or any(_edited(u) or u.target != target for u in group) or \
                not all(l and l["confidence"] >= threshold and l["language"] == target for l in found):
            continue
        whole = Unit([s for u in group for s in u.segments], group[0].source, target)
        rendered = _rendering_segments(found)
        text = join_texts(list(rendered.values()), target)
        checks = check(whole, text, settings)
        if not (checks["not_empty"] and checks["target_script"]):
            continue
        record = {"text": text, "source": "interpreter", "engine": None, "model": None,
                  "glossary_hits": [], "checks": {}, "status": "ok",
                  "link_confidence": min(l["confidence"] for l in found),
                  "interpretation_ids": list(rendered)}
        pieces = iter(_pieces(whole, record))
        for unit in group:
            records[id(unit)] = [next(pieces) for _ in unit.segments]
    return records


def _rendering_segments(found: list[dict]) -> dict[str, str]:
    """The rendering segments the links name, each once, in the order first named (two links may
    share some: [r1] and [r1, r2] give r1, r2): their ids and texts."""
    rendered: dict[str, str] = {}
    for link in found:
        for rendering_id, text in zip(link["segment_ids"], link["segment_texts"]):
            rendered.setdefault(rendering_id, text)
    return rendered


def _groups_sharing_renderings(units: list[Unit], links: dict) -> list[list[Unit]]:
    """Consecutive sentences of one target language, grouped while each shares a linked
    rendering with the one before it; a sentence sharing none is a group of its own."""
    groups: list[list[Unit]] = []
    previous: set[str] = set()
    for unit in units:
        linked = {i for s in unit.segments for i in (links.get(s["id"]) or {}).get("segment_ids", [])}
        if groups and groups[-1][-1].target == unit.target and linked & previous:
            groups[-1].append(unit)
            previous |= linked
        else:
            groups.append([unit])
            previous = linked
    return groups


def _estimate_quality(units: list[Unit], records: list[dict]) -> None:
    """Each machine translation's quality estimate (quality.py), stored with it (and cached)."""
    answered = [(u, r) for u, r in zip(units, records) if r["text"].strip()]
    similarity = quality.similarities([u.text for u, _ in answered], [r["text"] for _, r in answered])
    for (unit, record), sim in zip(answered, similarity):
        surprised = record.get("source_surprise") if unit.source in quality.SURPRISE_LANGUAGES else None
        record["quality"] = quality.estimate(sim, quality.recognition(unit.segments), record["status"] == "ok",
                                             record.get("source_logprob"), surprised,
                                             quality.invented_numbers(unit.text, record["text"]),
                                             record.get("logprob") if unit.source in quality.ANSWER_LANGUAGES else None,
                                             quality.unsure_numbers(unit.segments, record["text"]))
    for record in records:
        record.setdefault("quality", quality.estimate(None, None, False))


def _earlier(unit: Unit, segments: list[dict], order: dict[str, int], n: int) -> list[dict]:
    """The ``n`` segments said just before the unit in its session (context for the model)."""
    if not n:
        return []
    first = order[unit.id]
    return [s for s in segments[max(0, first - n):first] if s.get("session") == unit.segment.get("session")]


def _known_translations(units: list[Unit], cache: dict, keys: dict) -> dict[str, dict[str, str]]:
    """Checked translations known before a round (earlier rounds, the cache), by target and
    segment id: shown beside the context lines."""
    done: dict[str, dict[str, str]] = {}
    for unit in units:
        record = cache.get(keys[id(unit)]) if not _edited(unit) else None
        if record and record["status"] == "ok":
            for segment, piece in zip(unit.segments, _pieces(unit, record)):
                done.setdefault(unit.target, {})[segment["id"]] = piece["text"]
    return done


def run_stage(ctx: StageContext) -> StageOutput:
    from . import interpretation
    from .llm import load_llm

    data = ctx.inputs[INPUT]
    segments = data["segments"]
    targets = [l for l in ctx.config.event.languages]
    if len(targets) < 2:
        message("translate: the event has one language; nothing to translate")
        return StageOutput({"segments": {}, "interpretation": {}})
    two_track = any(t.role == "interpretation" for t in ctx.config.recording.tracks)
    # Linked on the source text first: the sentences the interpreter rendered need no model.
    before_translation = interpretation.link(segments, {}, ctx.config) if two_track else {}
    llm = load_llm(ctx.config.llm)
    try:
        results, counters = translate_segments(segments, ctx.config, llm, ctx.out_dir, ctx.work_dir,
                                               before_translation)
    finally:
        if hasattr(llm, "close"):
            llm.close()  # the weights go when the stage ends, not when the process does
    links = {}
    if two_track:
        # Linked again with the machine translations (a rendering compares best with a
        # translation in its own language), for the review app and the report.
        links = interpretation.link(segments, results, ctx.config)
        floor = [s for s in segments if s.get("track", "floor") in ctx.config.translate.tracks]
        counters["floor_linked_share"] = round(len(links) / len(floor), 3) if floor else 0.0
    usage = getattr(llm, "usage", {})
    if usage.get("seconds"):
        counters["completion_tokens_per_s"] = round(usage["completion_tokens"] / usage["seconds"], 2)
        counters["llm_calls"] = usage["calls"]
        counters["prompt_tokens"] = usage["prompt_tokens"]
        counters["completion_tokens"] = usage["completion_tokens"]
    if counters["needs_translation"]:
        message(f"translate: {counters['needs_translation']} line(s) marked needs_translation for the editor")
    artifact = {"segments": results, "interpretation": links}
    return StageOutput(artifact, models={"llm": llm.describe()}, counters=counters)


class TranslationRecord(artifacts.Open):
    text: str
    source: str
    status: str
    engine: Optional[str] = None
    model: Optional[str] = None
    glossary_hits: list[str] = []
    checks: dict[str, bool] = {}


class InterpretationLink(artifacts.Open):
    segment_ids: list[str]
    text: str
    confidence: float


class TranslationsArtifact(artifacts.Open):
    segments: dict[str, dict[str, TranslationRecord]]
    interpretation: dict[str, InterpretationLink] = {}


artifacts.register(ARTIFACT, TranslationsArtifact)


def _check_llm_settings(recording: Path, config: Config) -> None:
    """Before anything is written: a GGUF path that does not exist is a one-line error."""
    llm = config.llm
    if llm.engine == "llama-cpp" and llm.model != "packaged" and not Path(llm.model).expanduser().is_file():
        raise PipelineError(f"llm.model: GGUF file not found: {llm.model}")


STAGE = Stage("translate", 3, ("event", "llm", "translate", "recording"), (INPUT,), ARTIFACT, run_stage,
              description="each floor segment into the event's other language(s), checked; the interpreter's renderings linked",
              precheck=_check_llm_settings)
