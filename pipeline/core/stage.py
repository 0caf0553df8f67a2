"""The stage protocol: what every stage declares, so the runner only walks the table.

A stage reads the JSON artifacts of earlier stages and writes one JSON artifact of its own
(plus side files such as audio or captions). It declares its name, version, the config sections
it reads, the artifacts it reads and writes, and returns with its artifact the models it used
(provenance) and its counters. ``pipeline/stages.py`` holds the ordered table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import Config


@dataclass
class StageContext:
    recording: Path
    config: Config
    config_path: Path
    out_dir: Path
    work_dir: Path  # scratch space kept across a crash, removed when the stage finishes
    inputs: dict[str, dict]  # artifacts read, by file name


@dataclass
class StageOutput:
    artifact: dict
    models: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # side files written, relative to out_dir


@dataclass(frozen=True)
class Stage:
    name: str
    version: int  # bump when the stage's output changes for the same inputs and settings
    settings: tuple[str, ...]  # config sections it depends on ("transcribe", "event.languages")
    reads: tuple[str, ...]  # artifacts of earlier stages
    writes: str  # its own artifact
    run: Callable[[StageContext], StageOutput]
    description: str = ""
    # Checks run before anything is written (bad input must not touch earlier outputs).
    precheck: Callable[[Path, Config], None] | None = None
    # Optional artifacts: hashed into the fingerprint when present, never required.
    reads_optional: tuple[str, ...] = ()
    # Inputs that are not artifacts (an editor's database, a glossary file): out_dir -> {name: hash}.
    # Their hashes join the fingerprint, so a change re-runs the stage.
    external_inputs: Callable[[Path], dict[str, str]] | None = None


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
