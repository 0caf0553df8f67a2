"""The whole config: one YAML file per event, validated once at load.

Unknown keys are refused, and every error names the file, the key path, the bad value and what
is allowed.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import PipelineError
from .base import Strict
from .event import Event, Recording
from .processing import AlignSettings, CaptionSettings, DiarizeSettings, TranscribeSettings, VadSettings
from .translate import LlmSettings, TranslateSettings
from .publish import PublishSettings


class Config(Strict):
    event: Event
    recording: Recording = Recording()
    vad: VadSettings = VadSettings()
    transcribe: TranscribeSettings = TranscribeSettings()
    diarize: DiarizeSettings = DiarizeSettings()
    align: AlignSettings = AlignSettings()
    captions: CaptionSettings = CaptionSettings()
    llm: LlmSettings = LlmSettings()
    translate: TranslateSettings = TranslateSettings()
    publish: PublishSettings = PublishSettings()


def _format_error(path: Path, error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key '{key}'"
    value = error.get("input")
    shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
    return f"{path}: {key}: {message}{shown}"


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise PipelineError with one clear line on any problem."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"config {path}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise PipelineError(f"config {path}: not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise PipelineError(f"config {path}: expected a mapping at the top level")
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        raise PipelineError(_format_error(path, e.errors()[0])) from e
    for person in config.event.people:
        for clip in person.enrollment:
            if not (path.parent / clip).is_file():
                raise PipelineError(f"{path}: event.people[{person.id}].enrollment: file not found: {path.parent / clip}")
    return config


def section(config: Config, dotted: str):
    """The settings a stage depends on, by dotted name ("transcribe", "event.languages")."""
    value = config
    for part in dotted.split("."):
        value = getattr(value, part)
    if isinstance(value, list):
        return [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def seconds_of_day(clock: str) -> int:
    """ "08:20" or "08:20:30" -> seconds since midnight."""
    parts = [int(p) for p in clock.split(":")] + [0]
    return parts[0] * 3600 + parts[1] * 60 + parts[2]
