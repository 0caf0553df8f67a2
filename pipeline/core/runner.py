"""Walk the stage table: skip what didn't change, run the rest, record how each artifact was made.

A stage's fingerprint is the hash of its name, version, the config sections it reads and the
hashes of the artifacts it reads. A stage whose fingerprint matches the manifest and whose
outputs are still on disk, unchanged, is skipped. One run at a time holds the output folder.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

from .. import __version__
from . import artifacts
from .config import Config, section
from .errors import PipelineError
from .events import emit, in_stage
from .lock import OutputLock
from .memory import release
from .stage import Stage, StageContext
from .storage import read_json, sha256_of, write_json

MANIFEST = "manifest.json"
SCRATCH = ".work"


def stage_table() -> list[Stage]:
    from ..stages import STAGES  # the table imports every stage module; only load it when running

    return STAGES


def select_stages(from_stage: str | None, to_stage: str | None) -> list[Stage]:
    stages = stage_table()
    names = [s.name for s in stages]
    for given in (from_stage, to_stage):
        if given is not None and given not in names:
            raise PipelineError(f"unknown stage '{given}'; stages are: {', '.join(names)}")
    first = names.index(from_stage) if from_stage else 0
    last = names.index(to_stage) if to_stage else len(stages) - 1
    if first > last:
        raise PipelineError(f"--from {from_stage} comes after --to {to_stage}")
    return stages[first : last + 1]


def fingerprint(stage: Stage, settings: dict, inputs: dict[str, str]) -> str:
    payload = json.dumps({"stage": stage.name, "version": stage.version, "settings": settings, "inputs": inputs},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def side_file_stamp(path: Path) -> str:
    """Size and modification time: cheap on a 3-hour WAV, and changes whenever the file is replaced."""
    stat = path.stat()
    return f"size={stat.st_size};mtime_ns={stat.st_mtime_ns}"


class Manifest:
    """``manifest.json``: how every artifact in the output folder was made.

    A damaged manifest (torn, empty, edited by hand) is not fatal: it is set aside and every
    stage counts as not yet run, so the next run rebuilds what it cannot vouch for.
    """

    def __init__(self, out_dir: Path):
        self.path = out_dir / MANIFEST
        self.data = {"stages": {}}
        if self.path.exists():
            try:
                data = read_json(self.path)
            except (OSError, ValueError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("stages"), dict):
                self.data = data
            else:
                emit("message", f"{self.path} is damaged; set aside as {MANIFEST}.damaged, stages will run again")
                self.path.replace(self.path.with_name(MANIFEST + ".damaged"))

    def entry(self, name: str) -> dict | None:
        """The stage's entry when it has the shape the runner relies on; a damaged one (outputs
        that are not a map of names to hashes, ...) vouches for nothing: the stage runs again."""
        entry = self.data["stages"].get(name)
        return entry if artifacts.manifest_entry_problem(entry) is None else None

    def record(self, name: str, entry: dict, recording: Path, config_path: Path) -> None:
        self.data.update({"pipeline_version": __version__, "recording": str(recording), "config": str(config_path)})
        self.data["stages"][name] = entry
        write_json(self.path, self.data)


def recorded_config(out_dir: Path) -> str | None:
    """The config path a run recorded in its manifest.json, or None when there is none (no
    manifest, a damaged one, one of another shape): readers fall back, they never crash on it."""
    try:
        data = read_json(Path(out_dir) / MANIFEST)
    except (OSError, ValueError):
        return None
    recorded = data.get("config") if isinstance(data, dict) else None
    return recorded if isinstance(recorded, str) and recorded else None


def _outputs_unchanged(out_dir: Path, entry: dict) -> bool:
    for relative, recorded in entry["outputs"].items():
        path = out_dir / relative
        if not path.is_file():
            return False
        if recorded.startswith("size="):
            if side_file_stamp(path) != recorded:
                return False
        elif sha256_of(path) != recorded:
            return False  # the artifact was changed by hand or by another run
    return True


def prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise PipelineError(f"--out {out_dir}: exists and is not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PipelineError(f"--out {out_dir}: cannot create the output folder ({e.strerror})") from e
    # A probe of this process's own: two runs started together must not delete each other's.
    try:
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".write-test-"):
            pass
    except OSError as e:
        raise PipelineError(f"--out {out_dir}: the output folder is not writable ({e.strerror})") from e


def run_pipeline(recording: Path, config: Config, config_path: Path, out_dir: Path,
                 from_stage: str | None = None, to_stage: str | None = None, force: bool = False) -> Manifest:
    stages = select_stages(from_stage, to_stage)
    # Probe before anything is written: bad input must not touch earlier outputs.
    if stages[0].precheck is not None:
        stages[0].precheck(recording, config)
    prepare_out_dir(out_dir)
    with OutputLock(out_dir):
        manifest = Manifest(out_dir)
        for stage in stages:
            with in_stage(stage.name):
                try:
                    _run_stage(stage, recording, config, config_path, out_dir, manifest, force)
                finally:
                    release()  # the stage's models go now: a run's peak is its largest stage's
    return manifest


def _stage_inputs(stage: Stage, recording: Path, out_dir: Path) -> dict[str, str]:
    if not stage.reads:
        return {"recording": sha256_of(recording)}
    hashes = {}
    for name in stage.reads:
        path = out_dir / name
        if not path.exists():
            from ..stages import producer_of

            producer = producer_of(name)
            raise PipelineError(f"stage '{stage.name}' needs {path}, which stage '{producer}' writes; "
                                f"run with --from {producer}")
        hashes[name] = sha256_of(path)
    for name in stage.reads_optional:
        if (out_dir / name).exists():
            hashes[name] = sha256_of(out_dir / name)
    if stage.external_inputs is not None:
        hashes.update(stage.external_inputs(out_dir))
    return hashes


def _run_stage(stage: Stage, recording: Path, config: Config, config_path: Path, out_dir: Path,
               manifest: Manifest, force: bool) -> None:
    settings = {name: section(config, name) for name in stage.settings}
    inputs = _stage_inputs(stage, recording, out_dir)
    print_ = fingerprint(stage, settings, inputs)
    previous = manifest.entry(stage.name)
    if not force and previous and previous["fingerprint"] == print_ and _outputs_unchanged(out_dir, previous):
        emit("stage_skipped", f"Stage '{stage.name}' didn't change, skipping")
        return
    emit("stage_started", f"Stage '{stage.name}' running")
    scratch = out_dir / SCRATCH / stage.name
    if force:
        shutil.rmtree(scratch, ignore_errors=True)  # --force means from scratch: no checkpoint is trusted
    work_dir = scratch / print_[:16]
    work_dir.mkdir(parents=True, exist_ok=True)
    loaded = {name: artifacts.read_artifact(out_dir / name) for name in (*stage.reads, *stage.reads_optional)
              if (out_dir / name).exists()}
    context = StageContext(recording, config, config_path, out_dir, work_dir, loaded)
    started = time.time()
    try:
        output = stage.run(context)
        provenance = {"stage": stage.name, "stage_version": stage.version, "pipeline_version": __version__,
                      "fingerprint": print_, "settings": settings, "inputs": inputs, "models": output.models}
        # No timestamp inside the artifact: a re-run that produces the same content produces the
        # same bytes, so the stages after it stay skipped. When it was made lives in the manifest.
        # The runner stamps the schema version, so every artifact carries the one read_artifact expects.
        write_json(out_dir / stage.writes, {**output.artifact, "schema_version": artifacts.schema_version(stage.writes),
                                            "provenance": provenance})
        outputs = {stage.writes: sha256_of(out_dir / stage.writes)}
        outputs.update({relative: side_file_stamp(out_dir / relative) for relative in output.files})
        elapsed_s = round(time.time() - started, 2)
        finished_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        manifest.record(stage.name, {**provenance, "outputs": outputs, "counters": output.counters,
                                     "elapsed_s": elapsed_s, "finished_at": finished_at}, recording, config_path)
    except OSError as e:
        raise PipelineError(_os_error_line(stage, e)) from e
    shutil.rmtree(scratch, ignore_errors=True)
    emit("stage_finished", f"Stage '{stage.name}' done in {elapsed_s:.1f} s", data={"elapsed_s": elapsed_s})


def _os_error_line(stage: Stage, error: OSError) -> str:
    where = error.filename or "the output folder"
    if error.errno == errno.ENOSPC:
        return f"stage '{stage.name}': disk full while writing {where}; free space and run again to resume"
    return f"stage '{stage.name}': cannot write {where} ({error.strerror or error})"
