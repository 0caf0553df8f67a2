"""The ``translate`` stage: every floor segment into the event's other language(s).

How a line travels (the way good subtitle translators work, plus checks a small model needs):
1. Neighbouring segments of one direction and session form a batch of numbered lines; the
   lines before and after it are shown as context (not translated), with the session title,
   the speaker's name and the machine translations already made just before (the session's
   rolling memory).
2. Glossary entries (agenda names, titles, affiliations, session titles, event.glossary) found
   in the batch, and only those, are listed in the prompt ("protect_terms: substitute" also
   writes their target forms into the source line).
3. Every output line is checked (not empty, target script, not a copy of the source, plausible
   length, every glossary entry of the source in its canonical target form). A missing or failed
   line is retried alone, then kept with status ``needs_translation`` and the failed checks.
4. Each finished batch is appended to a checkpoint in the stage's scratch folder and to the
   output folder's cache (``cache/translations.jsonl``, keyed by engine, model, prompt version,
   direction, text and the glossary entries in it): a killed run resumes after its last batch,
   and a re-run after an edit translates only the segments whose text changed (and the lines an
   earlier run left as needs_translation).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pydantic import BaseModel

from ..core import artifacts
from ..core.config import Config, TranslateSettings
from ..core.errors import PipelineError
from ..core.events import message, progress
from ..core.stage import Stage, StageContext, StageOutput
from .glossary import Glossary, Hit, missing_forms, prompt_lines, script_language, substitute
from .sentences import join_texts, sentences, share_out

# The artifact this stage reads (the review stage's output; same segment shape as aligned.json).
INPUT = "reviewed.json"
ARTIFACT = "translations.json"
CACHE = Path("cache") / "translations.jsonl"
CHECKPOINT = "batches.jsonl"
PROMPT_VERSION = 6  # bump when prompts or answer parsing change: cached translations are then not reused

LANGUAGE_NAMES = {"en": "English", "ja": "Japanese", "de": "German", "fr": "French", "es": "Spanish",
                  "zh": "Chinese", "ko": "Korean"}
# Plausible output/source length in characters, per direction (Japanese is 2-4x denser).
LENGTH_RATIO = {("en", "ja"): (0.12, 1.6), ("ja", "en"): (0.6, 9.0)}
DEFAULT_LENGTH_RATIO = (0.3, 3.5)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff々〆ヶ]")
_LATIN = re.compile(r"[A-Za-z]")
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

def check(unit: Unit, output: str, settings: TranslateSettings, context: list[str] = ()) -> dict[str, bool]:
    """Named checks of one output line; every value True means the line is usable.

    ``context``: lines shown to the model that are already in the target language; an answer
    that contains one of them copied context instead of translating."""
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
    }


# --- prompts --------------------------------------------------------------------------------

def _speaker(segment: dict, target: str) -> str:
    names = segment.get("speaker_name") or {}
    return names.get(target) or names.get("en") or ""


def _session_title(config: Config, session_id: Optional[str], target: str) -> str:
    for session in config.event.sessions:
        if session.id == session_id:
            return getattr(session.title, target, None) or session.title.en or ""
    return ""


def build_messages(units: list[Unit], before: list[dict], after: list[dict], done: dict[str, str],
                   config: Config, settings: TranslateSettings, extra: str = "",
                   substitute_terms: bool = False) -> list[dict]:
    """System prompt fixed per direction (its tokens stay in llama.cpp's cache from batch to
    batch); the batch's glossary, context and numbered lines in the user message."""
    source, target = units[0].source, units[0].target
    src_name, tgt_name = LANGUAGE_NAMES.get(source, source), LANGUAGE_NAMES.get(target, target)
    system = (f"You are a professional conference translator at a symposium: {config.event.title.en or ''}. "
              f"Translate each numbered {src_name} line into natural, faithful {tgt_name}. Answer with the "
              f"numbered lines only, '1. ...', one per source line, written only in {tgt_name}, with no notes.")
    user = []
    if settings.speaker_context:
        title = _session_title(config, units[0].segment.get("session"), target)
        if title:
            user.append(f"Session: {title}")
    hits = [h for u in units for h in u.hits] if settings.glossary else []
    terms = prompt_lines(hits, source, target)
    if terms:
        user.append(f"Always write these names and terms exactly like this in {tgt_name}:")
        user += terms
    if before:
        user.append("Earlier lines (already translated; do not translate again):")
        for s in before:
            known = done.get(s["id"])
            user.append(f"  {_line_label(s, target, settings)}{s['text'].strip()}" + (f" => {known}" if known else ""))
    if user:
        user.append("")
    user.append(f"Translate these {len(units)} {src_name} line(s) into {tgt_name}:")
    for number, unit in enumerate(units, start=1):
        text = unit.text
        if (settings.protect_terms == "substitute" or substitute_terms) and settings.glossary:
            text = substitute(text, unit.hits, target)
        user.append(f"{number}. {_line_label(unit.segment, target, settings)}{text}")
    if after:
        user.append("")
        user.append("(What is said next, for context only: " +
                    " / ".join(s["text"].strip() for s in after) + ")")
    if extra:
        user.append(extra)
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(user)}]


def _line_label(segment: dict, target: str, settings: TranslateSettings) -> str:
    speaker = _speaker(segment, target) if settings.speaker_context else ""
    return f"({speaker}) " if speaker and not speaker.lower().startswith("unknown") else ""


def parse_numbered(answer: str, count: int) -> dict[int, str]:
    """Numbered lines back to their positions; a single unnumbered answer for a single line."""
    found: dict[int, str] = {}
    for line in answer.strip().splitlines():
        m = _NUMBERED.match(line)
        if m:
            number = int(m.group(1) or m.group(2))
            if 1 <= number <= count and number not in found:
                found[number] = _clean(m.group(3))
    if not found and count == 1 and answer.strip():
        found[1] = _clean(" ".join(answer.strip().splitlines()))
    return found


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

    def batches(self, units: list[Unit]) -> list[list[Unit]]:
        batches: list[list[Unit]] = []
        for unit in units:
            last = batches[-1] if batches else None
            if (last and len(last) < self.settings.batch_lines and last[-1].target == unit.target
                    and last[-1].source == unit.source and last[-1].segment.get("session") == unit.segment.get("session")):
                last.append(unit)
            else:
                batches.append([unit])
        return batches

    def cache_key(self, unit: Unit) -> str:
        payload = json.dumps({"engine": self.described.get("engine"), "model": self.described.get("model"),
                              "prompt": PROMPT_VERSION, "source": unit.source, "target": unit.target,
                              "text": unit.text,
                              "glossary": sorted(h.entry.key() for h in unit.hits) if self.settings.glossary else [],
                              "protect": self.settings.protect_terms}, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def translate_batch(self, batch: list[Unit], before: list[dict], after: list[dict],
                        done: dict[str, str]) -> list[dict]:
        answers = self._ask(batch, before, after, done)
        records = []
        for unit, answer in zip(batch, answers):
            context = [s["text"] for s in before + after if s["language"] == unit.target]
            attempts = [(answer, check(unit, answer, self.settings, context))] if answer is not None else []
            retries = 0
            while (not attempts or not all(attempts[-1][1].values())) and retries < self.settings.max_retries:
                retries += 1
                failed = [k for k, ok in attempts[-1][1].items() if not ok] if attempts else ["missing"]
                # The last try writes the glossary's target forms into the source line itself: the
                # small model sometimes ignores a listed term however it is asked (基礎研究 came
                # back as 基礎的な研究 twice on the demo).
                last_try = "glossary" in failed and retries == self.settings.max_retries
                retry = self._ask([unit], before, after, done, self._retry_note(unit, failed), retry=retries,
                                  substitute_terms=last_try)[0]
                if retry is not None:
                    attempts.append((retry, check(unit, retry, self.settings, context)))
            records.append(self._record(unit, attempts, retries))
        return records

    def _retry_note(self, unit: Unit, failed: list[str]) -> str:
        tgt = LANGUAGE_NAMES.get(unit.target, unit.target)
        notes = [f"Write the whole translation in {tgt}."]
        if "glossary" in failed:
            forms = missing_forms(unit.hits, "", unit.target)
            notes.append("The translation must contain: " + ", ".join(forms) + ".")
        return " ".join(notes)

    def _ask(self, batch: list[Unit], before, after, done, extra: str = "", retry: int = 0,
             substitute_terms: bool = False) -> list[str | None]:
        if not self.instructable:  # a seq2seq model: plain texts in, texts out
            texts = [substitute(u.text, u.hits, u.target) if self.settings.protect_terms == "substitute"
                     else u.text for u in batch]
            return list(self.llm.translate(texts, batch[0].source, batch[0].target))
        messages = build_messages(batch, before, after, done, self.config, self.settings, extra, substitute_terms)
        # A retry samples a little, so it does not repeat the failed answer word for word.
        answer = self.llm.complete(messages, max_tokens=sum(self._budget(u) for u in batch),
                                   temperature=0.3 if retry else 0.0)
        found = parse_numbered(answer, len(batch))
        return [tidy(unlabelled(found[i], batch[i - 1].segment), batch[0].target) if i in found else None
                for i in range(1, len(batch) + 1)]

    def _budget(self, unit: Unit) -> int:
        """Tokens an answer line may take: enough for a faithful rendering of this source (a
        Japanese character or ~4 English letters is about one token), never a runaway."""
        return min(self.settings.max_tokens_per_line * len(unit.segments), 24 + int(2 * len(unit.text)))

    def _record(self, unit: Unit, attempts: list[tuple[str, dict]], retries: int) -> dict:
        if attempts:
            text, checks = max(attempts, key=lambda a: (sum(a[1].values()), a[1]["target_script"]))
        else:
            text, checks = "", {"not_empty": False}
        ok = all(checks.values())
        return {"text": text, "source": "machine", "engine": self.described.get("engine"),
                "model": self.described.get("model"),
                "glossary_hits": [h.entry.forms.get(unit.target) for h in unit.hits if h.entry.forms.get(unit.target)],
                "checks": checks, "status": "ok" if ok else "needs_translation", "attempts": 1 + retries}


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


def translate_segments(segments: list[dict], config: Config, llm, out_dir: Path, work_dir: Path) -> tuple[dict, dict]:
    """Translations by segment id and target language, plus counters."""
    glossary = Glossary.from_event(config.event) if config.translate.glossary else Glossary([])
    translator = Translator(llm, glossary, config)
    # Context and order come from the translated tracks only (not the interpreter's track).
    segments = [s for s in segments if s.get("track", "floor") in config.translate.tracks]
    units = translator.units(segments)
    # Lines an earlier run left as needs_translation are tried again (the code or the engine
    # may have changed since); within one run, the checkpoint keeps whatever a batch gave.
    cache = {row["key"]: row["record"] for row in _read_jsonl(out_dir / CACHE)
             if "key" in row and row.get("record", {}).get("status") == "ok"}
    cache.update({row["key"]: row["record"] for row in _read_jsonl(work_dir / CHECKPOINT) if "key" in row})
    results: dict[str, dict] = {}
    counters = {"lines": len(units), "segments": len(segments), "from_cache": 0, "translated": 0, "needs_translation": 0, "batches": 0}
    order = {s["id"]: i for i, s in enumerate(segments)}
    context_n = config.translate.context_lines
    done: dict[str, dict[str, str]] = {}  # target -> {segment id: checked translation}
    batches = translator.batches(units)
    with progress(len(units), "translate", unit="lines") as bar:
        for batch in batches:
            todo = [u for u in batch if translator.cache_key(u) not in cache and not _edited(u)]
            if todo:
                first, last = order[todo[0].id], order[todo[-1].segments[-1]["id"]]
                before = segments[max(0, first - context_n):first] if context_n else []
                after_n = config.translate.context_after_lines
                after = segments[last + 1:last + 1 + after_n] if after_n else []
                records = translator.translate_batch(todo, before, after, done.get(todo[0].target, {}))
                rows = [{"key": translator.cache_key(u), "id": u.id, "target": u.target, "record": r}
                        for u, r in zip(todo, records)]
                _append_jsonl(work_dir / CHECKPOINT, rows)
                _append_jsonl(out_dir / CACHE, rows)
                cache.update({row["key"]: row["record"] for row in rows})
                counters["batches"] += 1
                counters["translated"] += len(todo)
            counters["from_cache"] += sum(1 for u in batch if u not in todo and not _edited(u))
            counters["from_editor"] = counters.get("from_editor", 0) + sum(1 for u in batch if _edited(u))
            for unit in batch:
                edited = _edited(unit)
                if edited:  # an editor's translation wins over the machine's and is not checked again
                    record = {"text": edited, "source": "editor", "engine": None, "model": None,
                              "glossary_hits": [], "checks": {}, "status": "ok"}
                else:
                    record = cache[translator.cache_key(unit)]
                for segment, piece in zip(unit.segments, _pieces(unit, record)):
                    results.setdefault(segment["id"], {})[unit.target] = piece
                    if record["status"] == "ok":
                        done.setdefault(unit.target, {})[segment["id"]] = piece["text"]
            bar.update(len(batch))
    counters["needs_translation"] = sum(1 for r in results.values() for t in r.values() if t["status"] != "ok")
    return results, counters


def run_stage(ctx: StageContext) -> StageOutput:
    from . import interpretation
    from .llm import load_llm

    data = ctx.inputs[INPUT]
    segments = data["segments"]
    targets = [l for l in ctx.config.event.languages]
    if len(targets) < 2:
        message("translate: the event has one language; nothing to translate")
        return StageOutput({"segments": {}, "interpretation": {}})
    llm = load_llm(ctx.config.llm)
    results, counters = translate_segments(segments, ctx.config, llm, ctx.out_dir, ctx.work_dir)
    links = {}
    if any(t.role == "interpretation" for t in ctx.config.recording.tracks):
        links = interpretation.link(segments, results, ctx.config)
        floor = [s for s in segments if s.get("track", "floor") in ctx.config.translate.tracks]
        counters["floor_linked_share"] = round(len(links) / len(floor), 3) if floor else 0.0
    usage = getattr(llm, "usage", {})
    if usage.get("seconds"):
        counters["completion_tokens_per_s"] = round(usage["completion_tokens"] / usage["seconds"], 2)
        counters["llm_calls"] = usage["calls"]
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


STAGE = Stage("translate", 2, ("event", "llm", "translate", "recording"), (INPUT,), ARTIFACT, run_stage,
              description="each floor segment into the event's other language(s), checked; the interpreter's renderings linked",
              precheck=_check_llm_settings)
