"""The recordings of a batch: where each comes from, which config it uses, which folder it gets.

Recordings come from the command line (all with ``--config``) and/or a manifest file, CSV or
YAML, with the columns ``recording`` and optionally ``config`` (default: ``--config``), ``name``
(the output folder's name) and ``truth`` (a truth JSON to score against). Relative paths in a
manifest are relative to the manifest file.

Each recording gets ``OUT_ROOT/<name>``, the name taken from the file name. Names are stable
across re-runs and additions: a folder whose ``manifest.json`` says it holds another recording
is never reused, the next free ``<name>-2``, ``-3``, ... is taken instead.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from ..core.errors import PipelineError

TRUTH_SUFFIX = ".truth.json"


@dataclass(frozen=True)
class Job:
    name: str
    recording: str  # absolute path, as every worker must see it
    config: str  # absolute path
    out: str  # absolute path: OUT_ROOT/name
    truth: str | None = None
    force: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Entry:
    recording: Path
    config: Path | None
    name: str | None = None
    truth: Path | None = None
    where: str = "command line"


def read_manifest(path: Path) -> list[Entry]:
    """A CSV (header row: recording, config, ...) or YAML (a list of mappings, or {recordings: [...]}) file."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"manifest {path}: file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        rows = [row for row in csv.DictReader(line for line in text.splitlines() if not line.lstrip().startswith("#"))]
        rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in rows]
    elif path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise PipelineError(f"manifest {path}: not valid YAML: {str(e).splitlines()[0]}") from e
        if isinstance(data, dict) and "recordings" in data:
            data = data["recordings"]
        if not isinstance(data, list):
            raise PipelineError(f"manifest {path}: expected a list of {{recording, config}} entries")
        rows = [{"recording": row} if isinstance(row, str) else row for row in data]
    else:
        raise PipelineError(f"manifest {path}: expected a .csv, .yaml or .yml file")
    base = path.parent
    entries = []
    for number, row in enumerate(rows, start=1):
        where = f"manifest {path}: entry {number}"
        if not isinstance(row, dict):
            raise PipelineError(f"{where}: expected a mapping with 'recording' (and optionally 'config')")
        unknown = sorted(set(row) - {"recording", "config", "name", "truth"})
        if unknown:
            raise PipelineError(f"{where}: unknown key '{unknown[0]}' (allowed: recording, config, name, truth)")
        if not row.get("recording"):
            raise PipelineError(f"{where}: 'recording' is missing")

        def resolve(value) -> Path | None:
            return (base / str(value)) if value else None

        entries.append(Entry(resolve(row["recording"]), resolve(row.get("config")),
                             str(row["name"]) if row.get("name") else None, resolve(row.get("truth")), where))
    return entries


def folder_name(recording: Path) -> str:
    """``Panel 2 (JA).mp4`` -> ``Panel-2-JA``: letters, digits, ``._-`` kept, anything else one dash."""
    cleaned = re.sub(r"[^\w.-]+", "-", recording.stem).strip("-.")
    return cleaned or "recording"


def _holds_other_recording(folder: Path, recording: Path) -> bool:
    manifest = folder / "manifest.json"
    if not folder.exists():
        return False
    try:
        held = json.loads(manifest.read_text(encoding="utf-8")).get("recording")
    except (OSError, ValueError, AttributeError):
        # A folder without a readable manifest: ours only if it is empty.
        return any(p for p in folder.iterdir() if p.name not in (".lock", ".work"))
    return held is not None and Path(held).absolute() != recording.absolute()


def plan_jobs(entries: list[Entry], default_config: Path | None, out_root: Path, force: bool = False) -> list[Job]:
    """One job per entry, each with its own output folder under ``out_root``."""
    out_root = Path(os.path.abspath(out_root))
    taken: set[str] = set()
    jobs = []
    for entry in entries:
        config = entry.config or default_config
        if config is None:
            raise PipelineError(f"{entry.where}: {entry.recording} has no config; give --config or a 'config' column")
        recording = Path(os.path.abspath(entry.recording))
        base = folder_name(recording) if entry.name is None else entry.name
        if entry.name is not None and (not re.fullmatch(r"[\w.-]+", base) or base in (".", "..")):
            raise PipelineError(f"{entry.where}: name {base!r}: use letters, digits, '.', '_' and '-' only")
        name, number = base, 1
        while name.lower() in taken or _holds_other_recording(out_root / name, recording):
            number += 1
            name = f"{base}-{number}"
        taken.add(name.lower())
        truth = entry.truth
        if truth is None:
            beside = recording.with_name(folder_name(recording) + TRUTH_SUFFIX)
            truth = beside if beside.is_file() else None
        jobs.append(Job(name, str(recording), os.path.abspath(config), str(out_root / name),
                        os.path.abspath(truth) if truth else None, force))
    return jobs
