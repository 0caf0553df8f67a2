"""Stage ``report``: the post-event report drafted from the reviewed transcript, in every event
language, every statement cited; Markdown, HTML and DOCX renderings beside ``report.json``.

Incremental: a section whose segments did not change since the last draft is kept as it was;
a section an editor wrote by hand is never overwritten (it is marked ``stale`` when the segments
under it changed). See docs/report.md.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..core import artifacts
from ..core.config import Config
from ..core.config.report import ReportSettings
from ..core.errors import PipelineError
from ..core.events import message, progress
from ..core.stage import Stage, StageContext, StageOutput
from ..core.storage import read_json
from .compose import Composer, digest
from .draft import Claim, Drafter, Tally
from .edits import edits_fingerprint, section_edits
from .grounding import Checker, Embedder
from .source import load_source

# The transcript the report is drafted from: the aligned transcript with the editors'
# corrections applied (the review stage's artifact).
INPUT = "reviewed.json"
TRANSLATIONS = "translations.json"
OUTPUT = "report.json"
SCHEMA_VERSION = 1
# Bump when the drafting changes: sections drafted by an older version are drafted again
# (sections an editor wrote are still never overwritten).
DRAFT_VERSION = 5


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
    """The report artifact and its counters. ``llm`` None drafts extractively."""
    settings: ReportSettings = config.report
    source = load_source(config, transcript, translations)
    languages = [lang for lang in config.event.languages if lang in ("en", "ja")] or ["en"]
    if embedder is None and source.segments:
        embedder = Embedder()
    tally = Tally()
    checker = Checker(source, embedder, settings.min_support, settings.support_rank)
    drafter = Drafter(llm if settings.engine == "llm" else None, checker, settings, tally, config.event.glossary)
    composer = Composer(source, settings, drafter, embedder, languages)
    same_settings = bool(previous) and previous.get("settings_hash") == settings_hash(config)
    before = {s["id"]: s for s in (previous or {}).get("sections", [])} if same_settings else {}
    edits = edits or {}
    sessions = list(config.event.sessions)
    placed = {s.id for s in sessions}
    sections, status = [], {"drafted": 0, "reused": 0, "edited": 0, "stale": 0}
    composer.begin()  # quotes to translate are collected over every drafted section: one request per language pair
    with progress(len(sessions), "report sections", unit="sections") as tracker:
        for index, session in enumerate(sessions):
            sections.append(_session(composer, index, session, before, edits, status))
            tracker.update(1)
    unplaced = [s for s in source.segments if s.get("session") not in placed]
    if unplaced:
        sections.append(_unplaced(composer, unplaced, before, edits, status))
    composer.finish_translations()
    overview = _overview(config, source, composer, drafter, sections, languages, before.get("overview"),
                         edits.get("overview"), status)
    artifact = {"schema_version": SCHEMA_VERSION, "settings_hash": settings_hash(config), "input": INPUT,
                "languages": languages, "title": config.event.title.model_dump(), "date": config.event.date,
                "format": settings.format.model_dump(), "citation_link": settings.citation_link,
                "sections": [overview, *sections],
                "unattributed_speech_s": source.unattributed_s, "segments": _cited_times(source, [overview, *sections])}
    counters = {**status, **tally.as_dict(), **support_figures(artifact, settings)}
    artifact["checks"] = counters
    return artifact, counters


def _session(composer: Composer, index: int, session, before: dict, edits: dict, status: dict) -> dict:
    section_id = f"session:{session.id}"
    current = composer.session_hash(session.id)
    old = before.get(section_id)
    edit = edits.get(section_id)
    if old is not None and (old.get("input_hash") == current or (edit or {}).get("text")):
        section = {**old, "status": "reused"}  # unchanged, or written by an editor: never re-drafted
    else:
        section = composer.session_section(index, session)
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


def _unplaced(composer: Composer, segments: list[dict], before: dict, edits: dict, status: dict) -> dict:
    """Speech outside every agenda session (or an agenda without sessions): one section of its own."""
    from ..core.config import Bilingual, Session, SessionSlot

    people = list(dict.fromkeys(s["speaker"] for s in segments))
    session = Session(id="other", title=Bilingual(en="Other speech", ja="その他の発言"), start="00:00", end="00:00",
                      people=[SessionSlot(person=p, role=composer.people[p].roles[0]) for p in people])
    section = composer.session_section(1, session, segments)
    section.update(id="session:other", status="drafted")
    status["drafted"] += 1
    return section


def _overview(config: Config, source, composer: Composer, drafter: Drafter, sections: list[dict],
              languages: list[str], old: dict | None, edit: dict | None, status: dict) -> dict:
    cited = sorted({c for s in sections for p in s.get("parts", []) for cs in p["points"].values()
                    for claim in cs for c in claim["cites"]})
    texts = [[i, source.by_id[i]["text"]] for i in cited if i in source.by_id]
    section = {"id": "overview", "kind": "overview", "input_hash": digest(texts), "notes": [], "sentences": {}}
    if old is not None and old.get("input_hash") == section["input_hash"]:
        section = {**old, "status": "reused"}
    else:
        section["status"] = "drafted"
        heard = [s for s in sections if s.get("parts")]
        if heard:
            firsts = [s["parts"][0]["segments"][0] for s in heard]
            names = {lang: [s["title"].get(lang) or s["title"].get("en") for s in heard] for lang in languages}
            section["agenda"] = {"cites": firsts, "origin": "agenda",
                                 "en": f"The symposium was held in {len(heard)} parts: " + "; ".join(names.get("en", [])) + ".",
                                 "ja": f"シンポジウムは{len(heard)}部で構成された：" + "、".join(names.get("ja", [])) + "。"}
        for language in languages:
            by_part = [[Claim(c["text"], c["cites"], c["origin"]) for c in p["points"].get(language, [])
                        if c["origin"] in ("llm", "extractive") and c["cites"]]
                       for s in heard for p in s["parts"] if p["person"]["role"] not in ("host", "moderator")]
            section["sentences"][language] = [c.as_dict() for c in drafter.overview(spread(by_part), language)]
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


# Points the overview is written from, at most.
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
    """Every drafted claim of the report: (language, claim dict, person id or None)."""
    for section in report["sections"]:
        for language, claims in section.get("sentences", {}).items():
            for claim in claims:
                yield language, claim, None
        for part in section.get("parts", []):
            for language, claims in part["points"].items():
                for claim in claims:
                    yield language, claim, part["person"]["id"]


def supported(claim: dict, settings: ReportSettings) -> bool:
    """A claim counts as supported when it is the speaker's own sentence, a known rendering of
    it, or a drafted claim that passed every check with enough similarity."""
    if claim["origin"] in ("extractive", "original") or claim["origin"].startswith("translation:"):
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
            f"{counters['removed']} removed by the checks, {counters['fallbacks']} parts drafted extractively; "
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
