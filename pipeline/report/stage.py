"""Stage ``report``: the post-event report drafted from the reviewed transcript, in every event
language, every statement cited; Markdown, HTML and DOCX renderings beside ``report.json``.

Incremental: a section whose segments did not change since the last draft is kept as it was;
a section an editor wrote by hand is never overwritten (it is marked ``stale`` when the segments
under it changed). See docs/report.md.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from ..core import artifacts
from ..core.config import Config
from ..core.config.report import ReportSettings
from ..core.errors import PipelineError
from ..core.events import message, progress
from ..core.stage import Stage, StageContext, StageOutput
from ..core.storage import read_json
from .compose import HOST_ROLES, Composer, digest
from .draft import OVERVIEW_SENTENCE_WORDS, Claim, Drafter, Tally
from .edits import edits_fingerprint, section_edits
from .grounding import MACHINE, Checker, Embedder
from .source import load_source

# The transcript the report is drafted from: the aligned transcript with the editors'
# corrections applied (the review stage's artifact).
INPUT = "reviewed.json"
TRANSLATIONS = "translations.json"
OUTPUT = "report.json"
SCHEMA_VERSION = 1
# Bump when the drafting changes: sections drafted by an older version are drafted again
# (sections an editor wrote are still never overwritten).
DRAFT_VERSION = 12


class LazyLLM:
    """Loads the model on the first request: a report whose sections are all reused loads none."""

    def __init__(self, config: Config):
        self.config = config
        self._llm = None

    def complete(self, messages, **options) -> str:
        if self._llm is None:
            from ..text.llm import load_llm

            self._llm = load_llm(self.config.llm)
        return self._llm.complete(messages, **options)

    def describe(self) -> dict:
        return self._llm.describe() if self._llm is not None else {"loaded": False}

    @property
    def usage(self) -> dict:
        return getattr(self._llm, "usage", {}) or {}


def settings_hash(config: Config) -> str:
    llm = config.llm.model_dump(mode="json") if hasattr(config, "llm") else None
    return digest({"report": config.report.model_dump(mode="json"), "llm": llm, "version": SCHEMA_VERSION, "draft": DRAFT_VERSION})


def build(config: Config, transcript: dict, translations: dict | None = None, previous: dict | None = None,
          edits: dict | None = None, llm=None, embedder: Embedder | None = None) -> tuple[dict, dict]:
    """The report artifact and its counters. ``llm`` None drafts by rule only (no overview sentences)."""
    settings: ReportSettings = config.report
    source = load_source(config, transcript, translations)
    languages = [lang for lang in config.event.languages if lang in ("en", "ja")] or ["en"]
    if embedder is None and source.segments:
        embedder = Embedder()
    tally = Tally()
    checker = Checker(source, embedder, settings.min_support, settings.support_rank)
    drafter = Drafter(llm if settings.engine == "llm" else None, checker, settings, tally)
    composer = Composer(source, settings, drafter, embedder, languages)
    same_settings = bool(previous) and previous.get("settings_hash") == settings_hash(config)
    before = {s["id"]: s for s in (previous or {}).get("sections", [])} if same_settings else {}
    edits = edits or {}
    sessions = list(config.event.sessions)
    placed = {s.id for s in sessions}
    budgets = section_budgets(config, composer, source, transcript)
    sections, status = [], {"drafted": 0, "reused": 0, "edited": 0, "stale": 0}
    with progress(len(sessions), "report sections", unit="sections") as tracker:
        for index, session in enumerate(sessions):
            sections.append(_session(composer, index, session, budgets.get(session.id, 0.0), before, edits, status))
            tracker.update(1)
    unplaced = [s for s in source.segments if s.get("session") not in placed]
    if unplaced:
        sections.append(_unplaced(composer, unplaced, budgets.get(None, 0.0), status))
    overview = _overview(config, source, drafter, sections, languages, before.get("overview"),
                         edits.get("overview"), status)
    artifact = {"schema_version": SCHEMA_VERSION, "settings_hash": settings_hash(config), "input": INPUT,
                "languages": languages, "title": config.event.title.model_dump(), "date": config.event.date,
                "format": settings.format.model_dump(), "citation_link": settings.citation_link,
                "budget_words": round(total_budget(config, transcript)),
                "sections": [overview, *sections],
                "unattributed_speech_s": source.unattributed_s, "segments": _cited_times(source, [overview, *sections])}
    counters = {**status, **tally.as_dict(), **support_figures(artifact, settings)}
    artifact["checks"] = counters
    return artifact, counters


# English words the overview is given: the agenda and topics sentences (and the model's, when asked for).
OVERVIEW_WORDS = 30
# The header line under the title ("Date: … · Format: …").
HEADER_WORDS = 12


def total_budget(config: Config, transcript: dict) -> float:
    """The report's length in English words: a base and so many words per minute of recording."""
    ends = [s.get("end_s", 0.0) for s in transcript.get("segments", [])]
    minutes = max(transcript.get("duration_s") or 0.0, max(ends, default=0.0)) / 60
    return config.report.max_words_base + config.report.max_words_per_minute * minutes


def section_budgets(config: Config, composer: Composer, source, transcript: dict) -> dict:
    """Each session's English words for what its speakers said: what is left of the report's
    budget once the overview, the header and every designation are paid for, shared out by the
    session's speech time. A session's budget depends only on who spoke where and for how long,
    so correcting a word elsewhere leaves it (and its draft) unchanged."""
    fixed, speech = {}, {}
    for index, session in enumerate(config.event.sessions):
        segments = [s for s in source.segments if s.get("session") == session.id]
        if segments:
            fixed[session.id] = composer.fixed_words(index, session, segments)
            speech[session.id] = sum(s["end_s"] - s["start_s"] for s in segments)
    placed = {s.id for s in config.event.sessions}
    unplaced = [s for s in source.segments if s.get("session") not in placed]
    if unplaced:
        speech[None] = sum(s["end_s"] - s["start_s"] for s in unplaced)
        fixed[None] = 10 * len({s["speaker"] for s in unplaced})
    overview = OVERVIEW_WORDS + OVERVIEW_SENTENCE_WORDS * config.report.overview_sentences
    left = total_budget(config, transcript) - overview - HEADER_WORDS - sum(fixed.values())
    total_speech = sum(speech.values()) or 1.0
    return {key: max(0.0, left) * seconds / total_speech for key, seconds in speech.items()}


def _session(composer: Composer, index: int, session, budget: float, before: dict, edits: dict, status: dict) -> dict:
    section_id = f"session:{session.id}"
    current = composer.session_hash(session.id, budget)
    old = before.get(section_id)
    edit = edits.get(section_id)
    if old is not None and (old.get("input_hash") == current or (edit or {}).get("text")):
        section = {**old, "status": "reused"}  # unchanged, or written by an editor: never re-drafted
    else:
        section = composer.session_section(index, session, budget)
        section["status"] = "drafted"
    section = _with_edit(section, edit, old, current)
    status[section["status"]] += 1
    return section


def _with_edit(section: dict, edit: dict | None, old: dict | None, current: str) -> dict:
    if not edit:
        return section
    if edit.get("text"):
        # The editor's words stand; the segments under them changing only marks them stale.
        base = old or section
        drafted_from = base.get("edited_from_hash") or base.get("input_hash")
        return {**base, "edited_text": edit["text"], "edited_from_hash": drafted_from,
                "status": "stale" if drafted_from != current else "edited", "review_status": edit.get("status")}
    return {**section, "review_status": edit.get("status")}


def _unplaced(composer: Composer, segments: list[dict], budget: float, status: dict) -> dict:
    """Speech outside every agenda session (or an agenda without sessions): one section of its own."""
    from ..core.config import Bilingual, Session, SessionSlot

    people = list(dict.fromkeys(s["speaker"] for s in segments))
    session = Session(id="other", title=Bilingual(en="Other speech", ja="その他の発言"), start="00:00", end="00:00",
                      people=[SessionSlot(person=p, role=composer.people[p].roles[0]) for p in people])
    section = composer.session_section(1, session, budget, segments)
    section.update(id="session:other", status="drafted")
    status["drafted"] += 1
    return section


def _overview(config: Config, source, drafter: Drafter, sections: list[dict], languages: list[str],
              old: dict | None, edit: dict | None, status: dict) -> dict:
    # What each part told, per language (the host's running of the event aside), from what was
    # said in that language or a person's rendering of it: the model repeats what it is shown,
    # and a machine translation's slips (美国・ジャapan同盟) should not reach the overview too.
    by_part = {}
    for lang in languages:
        told = [[c for sentence in p["sentences"].get(lang, []) for c in sentence["clauses"]
                 if c["origin"] == "reported:rule" and c.get("form") != "question"]
                for s in sections for p in s.get("parts", []) if p["person"]["role"] not in HOST_ROLES]
        human = [[c for c in cs if (c.get("from") or {}).get("source") not in MACHINE] for cs in told]
        pool = human if sum(map(len, human)) >= OVERVIEW_MIN_POINTS else told
        by_part[lang] = [[Claim(c["text"], c["cites"], c["origin"]) for c in cs] for cs in pool]
    texts = sorted({(c.text, tuple(c.cites)) for parts in by_part.values() for cs in parts for c in cs})
    section = {"id": "overview", "kind": "overview", "input_hash": digest([list(t) for t in texts]), "notes": [],
               "sentences": {}}
    if old is not None and old.get("input_hash") == section["input_hash"]:
        section = {**old, "status": "reused"}
    else:
        section["status"] = "drafted"
        heard = [s for s in sections if s.get("parts")]
        if heard:
            section["agenda"] = agenda_sentence(config, heard[0]["parts"][0]["segments"][:1])
        topics = topics_sentence(config, source)
        if topics:
            section["topics"] = topics
        for language in languages:
            pool = spread(by_part[language])
            section["sentences"][language] = [c.as_dict() for c in drafter.overview(pool, language)]
    if not source.segments:
        section["notes"].append({"en": "The transcript holds no speech by a named person of the agenda: there is "
                                       "nothing to report yet.",
                                 "ja": "議事録には登壇者として特定された発言がありません。報告する内容はまだありません。"})
    if source.unattributed_s:
        section["notes"].append({"en": f"{source.unattributed_s:.0f} s of speech by voices that could not be named "
                                       f"is not summarised.",
                                 "ja": f"話者を特定できなかった発言（{source.unattributed_s:.0f}秒）は要約に含めていません。"})
    section = _with_edit(section, edit, old, section["input_hash"])
    status[section["status"]] = status.get(section["status"], 0) + 1
    return section


_MONTHS = "January February March April May June July August September October November December".split()


def agenda_sentence(config: Config, cites: list[str]) -> dict:
    """"“Title” was held on September 29, 2022." / 「「題」が2022年9月29日に開催された。」 from the agenda."""
    title = config.event.title
    date = config.event.date or ""
    found = re.match(r"(\d{4})-(\d{2})-(\d{2})$", date)
    when_en = f" on {_MONTHS[int(found.group(2)) - 1]} {int(found.group(3))}, {found.group(1)}" if found else ""
    when_ja = f"{found.group(1)}年{int(found.group(2))}月{int(found.group(3))}日に" if found else ""
    return {"cites": cites, "origin": "agenda",
            "en": f"“{title.en or title.ja}” was held{when_en}.",
            "ja": f"「{title.ja or title.en}」が{when_ja}開催された。"}


# The event's terms the topics sentence names, at most, and how many people must have said one.
TOPICS = 5
TOPIC_SPEAKERS = 2


def topics_sentence(config: Config, source) -> dict | None:
    """"The discussion covered export control, research security, …" / 「議論は輸出管理、…に及んだ。」:
    the event's glossary terms that most people said (in either language), each citing where it
    was first said. None when fewer than two terms were shared."""
    said: dict[int, dict] = {}
    for k, term in enumerate(config.event.glossary):
        # Latin forms as whole words ("EAR" is not in "research"), Japanese ones anywhere.
        forms = [re.compile(r"(?<![A-Za-z])" + re.escape(f) + r"(?![A-Za-z])", re.IGNORECASE) if f.isascii()
                 else re.compile(re.escape(f.replace("・", ""))) for f in (term.en, term.ja, *term.aliases) if f]
        for segment in source.segments:
            text = segment["text"].replace("・", "")
            if any(f.search(text) for f in forms):
                entry = said.setdefault(k, {"people": set(), "first": segment["id"]})
                entry["people"].add(segment["speaker"])
    shared = sorted((k for k, e in said.items() if len(e["people"]) >= TOPIC_SPEAKERS),
                    key=lambda k: (-len(said[k]["people"]), k))[:TOPICS]
    if len(shared) < 2:
        return None
    terms = [config.event.glossary[k] for k in sorted(shared)]
    # A name of a list, a law or an arrangement takes its article ("the Entity List").
    english = [f"the {t.en}" if len(t.en.split()) > 1 and t.en[:1].isupper() else t.en for t in terms]
    return {"cites": [said[k]["first"] for k in sorted(shared)], "origin": "agenda",
            "en": "The discussion covered " + ", ".join(english[:-1]) + f" and {english[-1]}.",
            "ja": "議論は" + "、".join(t.ja for t in terms) + "に及んだ。"}


# The overview is written from human words only when there are at least this many of them.
OVERVIEW_MIN_POINTS = 4
# Clauses the overview is written from, at most.
OVERVIEW_POINTS = 16


def spread(by_part: list[list[Claim]], limit: int = OVERVIEW_POINTS) -> list[Claim]:
    """At most ``limit`` points taken evenly from every part (each part's first point, then each
    one's second, …), in the order of the event: the first points of the event alone left the
    overview about its opening."""
    chosen: set[int] = set()
    for depth in range(max((len(p) for p in by_part), default=0)):
        for claims in by_part:
            if depth < len(claims) and len(chosen) < limit:
                chosen.add(id(claims[depth]))
    return [c for claims in by_part for c in claims if id(c) in chosen]


def _cited_times(source, sections: list[dict]) -> dict:
    """Start and end of every cited segment: citations resolve without the transcript at hand."""
    ids = set()

    def walk(value):
        if isinstance(value, dict):
            ids.update(value.get("cites", []))
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(sections)
    return {i: {"start_s": source.by_id[i]["start_s"], "end_s": source.by_id[i]["end_s"],
                "speaker": source.by_id[i].get("speaker")} for i in sorted(ids) if i in source.by_id}


def claims_of(report: dict):
    """Every statement of the report: (language, claim dict, person id or None): the overview's
    sentences and every clause of every part's sentences (a question's topic is its asker's)."""
    for section in report["sections"]:
        for language, claims in section.get("sentences", {}).items():
            for claim in claims:
                yield language, claim, None
        for part in section.get("parts", []):
            for language, sentences in part.get("sentences", {}).items():
                for sentence in sentences:
                    for clause in sentence.get("clauses", []):
                        yield language, clause, clause.get("person") or part["person"]["id"]


def supported(claim: dict, settings: ReportSettings) -> bool:
    """A claim counts as supported when it is the agenda's, the speaker's own sentence (or its
    rendering) in reported speech passing the hard checks, or a model's sentence that passed
    every check with enough similarity."""
    if claim["origin"] in ("agenda", "original") or claim["origin"].startswith("reported:rule"):
        return bool(claim.get("checks", {}).get("ok", True))
    checks = claim.get("checks", {})
    return bool(checks.get("ok")) and (checks.get("support") or 0) >= settings.min_support \
        and (checks.get("rank") or 99) <= settings.support_rank


def support_figures(report: dict, settings: ReportSettings) -> dict:
    claims = list(claims_of(report))
    drafted = [c for _, c, _ in claims if c["origin"] == "llm"]
    return {"claims": len(claims), "claims_drafted_kept": len(drafted),
            "claims_supported": sum(supported(c, settings) for _, c, _ in claims),
            "claims_marked": sum(c.get("status") == "marked" for _, c, _ in claims)}


def run_stage(ctx: StageContext) -> StageOutput:
    from .render import render_all

    previous = None
    previous_path = ctx.out_dir / OUTPUT
    if previous_path.exists():
        try:
            previous = read_json(previous_path)
        except (OSError, ValueError):
            message(f"{previous_path} is damaged; every section is drafted again")
    llm = LazyLLM(ctx.config) if ctx.config.report.engine == "llm" else None
    started = time.perf_counter()
    artifact, counters = build(ctx.config, ctx.inputs[INPUT], ctx.inputs.get(TRANSLATIONS), previous,
                               section_edits(ctx.out_dir), llm)
    counters["seconds"] = round(time.perf_counter() - started, 1)
    if llm is not None:
        counters["llm"] = llm.usage
    files = render_all(artifact, ctx.config, ctx.out_dir)
    message(f"report: {counters['claims']} statements, {counters['claims_supported']} supported; "
            f"{counters['removed']} removed by the checks, {counters['marked']} marked for the editor; "
            f"sections drafted {counters['drafted']}, reused {counters['reused']}, stale {counters['stale']}")
    models = {"embeddings": Embedder.describe()}
    if llm is not None:
        models["llm"] = llm.describe()
    return StageOutput(artifact, models=models, counters=counters, files=files)


def precheck(recording: Path, config: Config) -> None:
    if not hasattr(config, "report"):
        raise PipelineError("config: no 'report' section model (pipeline/core/config/loader.py)")


class ReportArtifact(artifacts.Open):
    schema_version: int
    languages: list[str]
    sections: list[artifacts.Open]


artifacts.register(OUTPUT, ReportArtifact)

_LLM = ("llm",) if "llm" in Config.model_fields else ()
STAGE = Stage("report", DRAFT_VERSION, ("report", "event", *_LLM), (INPUT,), OUTPUT, run_stage,
              description="post-event report: cited, checked, both languages",
              reads_optional=(TRANSLATIONS,), external_inputs=edits_fingerprint)
