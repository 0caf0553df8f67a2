"""Typed schemas of the JSON artifacts stages hand each other, checked when read.

Each artifact carries ``schema_version``. A stage that reads a damaged or foreign file gets
one line naming the file and the first thing wrong, instead of a KeyError deep inside it.
The schemas pin what later stages rely on; stages may add fields (extra keys are allowed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError

from .errors import PipelineError
from .storage import read_json

# The schema version of each artifact this pipeline writes; bump one when its shape changes.
SCHEMA_VERSIONS: dict[str, int] = {"ingest.json": 1, "vad.json": 1, "transcript.json": 1, "diarization.json": 1,
                                   "aligned.json": 1}


SCHEMA_VERSION = 1  # the version of an artifact that registers none


def schema_version(name: str) -> int:
    return SCHEMA_VERSIONS.get(name, SCHEMA_VERSION)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Word(Open):
    start_s: float
    end_s: float
    text: str
    probability: float = Field(ge=0, le=1)


class Segment(Open):
    id: str
    track: str
    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)
    language: str
    text: str
    words: list[Word] = []
    confidence: float = Field(default=1.0, ge=0, le=1)
    flags: list[str] = []


class AlignedSegment(Segment):
    speaker: Optional[str] = None
    session: Optional[str] = None


class TrackInfo(Open):
    name: str
    role: str
    path: str
    duration_s: float = Field(ge=0)


class IngestArtifact(Open):
    recording: str
    tracks: list[TrackInfo] = Field(min_length=1)


class SpeechSpan(Open):
    start_s: float
    end_s: float


class VadArtifact(Open):
    tracks: dict[str, list[SpeechSpan]]


class TranscriptArtifact(Open):
    duration_s: float
    languages: list[str]
    tracks: list[Open]
    segments: list[Segment]


class Turn(Open):
    start_s: float
    end_s: float
    speaker: str


class DiarizationArtifact(Open):
    track: str
    speakers: list[str]
    turns: list[Turn]


class AlignedArtifact(TranscriptArtifact):
    segments: list[AlignedSegment]
    voices: dict[str, Open]
    people: dict[str, Open]
    sessions: list[Open]


SCHEMAS: dict[str, type[BaseModel]] = {
    "ingest.json": IngestArtifact,
    "vad.json": VadArtifact,
    "transcript.json": TranscriptArtifact,
    "diarization.json": DiarizationArtifact,
    "aligned.json": AlignedArtifact,
}


class ChunkSegment(Segment):
    id: Optional[str] = None  # ids are given when the finished chunks are joined


class Checkpoint(Open):
    """A finished transcription chunk kept in the stage's work folder (``.work/transcribe/``)."""

    segments: list[ChunkSegment]
    counters: dict[str, Union[StrictInt, StrictFloat]]


class ManifestEntry(Open):
    """What the runner relies on in a stage's entry of ``manifest.json`` to skip the stage."""

    fingerprint: str
    outputs: dict[str, str]  # relative path -> sha256, or "size=...;mtime_ns=..." for side files


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or '(top level)'}: {first['msg']}"


def checkpoint_problem(data) -> str | None:
    """Why a checkpoint can't be reused as it is (None: it can). Strict: a number written as a
    string is as foreign here as a missing field, and the chunk is cheaper to redo than to trust."""
    try:
        Checkpoint.model_validate(data, strict=True)
    except ValidationError as e:
        return _first_problem(e)
    return None


def manifest_entry_problem(entry) -> str | None:
    """Why a stage's manifest entry can't vouch for its outputs (None: it can)."""
    try:
        ManifestEntry.model_validate(entry, strict=True)
    except ValidationError as e:
        return _first_problem(e)
    return None


def register(name: str, schema: type[BaseModel], version: int = 1) -> None:
    """Later stages (translate, report, ...) add their artifact's schema here."""
    SCHEMAS[name] = schema
    SCHEMA_VERSIONS[name] = version


def read_artifact(path: Path) -> dict:
    """Read a stage artifact and check it against its schema; one line on any problem."""
    path = Path(path)
    try:
        data = read_json(path)
    except FileNotFoundError as e:
        raise PipelineError(f"{path}: not found") from e
    except (OSError, ValueError) as e:
        raise PipelineError(f"{path}: damaged (not valid JSON: {str(e).splitlines()[0]}); "
                            f"run the stage that writes it again") from e
    schema = SCHEMAS.get(path.name)
    if schema is None:
        return data
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: expected a JSON object, found {type(data).__name__}")
    found = data.get("schema_version", schema_version(path.name))
    if found != schema_version(path.name):
        raise PipelineError(f"{path}: schema version {found!r}, but this pipeline reads version "
                            f"{schema_version(path.name)}; run the stage that writes it again")
    try:
        schema.model_validate(data)
    except ValidationError as e:
        raise PipelineError(f"{path}: not a valid {path.stem} artifact: {_first_problem(e)}") from e
    return data
