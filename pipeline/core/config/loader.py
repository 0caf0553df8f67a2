"""The whole config: one YAML file per event, validated once at load.

Unknown keys are refused, and every error names the file, the key path, the bad value and what
is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import PipelineError
from .base import Strict
from .event import Event, Recording
from .processing import AlignSettings, CaptionSettings, DiarizeSettings, TranscribeSettings, VadSettings
from .translate import LlmSettings, TranslateSettings
from .publish import PublishSettings
from .report import ReportSettings


# The neutral event (English and Japanese, no agenda) used when a run names no config.
DEFAULT_CONFIG = Path(__file__).with_name("default.yaml")


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
    report: ReportSettings = ReportSettings()
    # CUDA where an engine's library can use it, else the CPU with one line saying why
    # (pipeline/core/device.py). No stage lists it in its settings: CPU fingerprints do not change.
    device: Literal["auto", "cpu", "cuda"] = "auto"


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
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise PipelineError(f"config {path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from e
    except OSError as e:
        raise PipelineError(f"config {path}: cannot read ({e.strerror})") from e
    try:
        # The C loader: a large agenda (thousands of people, a long glossary) loads in a second.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        raise PipelineError(f"config {path}: not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise PipelineError(f"config {path}: expected a mapping at the top level")
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        raise PipelineError(_format_error(path, e.errors()[0])) from e
    _check_enrollment(path, config)
    _check_model(path, config)
    return config


# An enrollment clip shorter than this cannot give a voice vector: the speaker embedders look at
# windows of 1.5 s (CAM++, local models) or 1.6 s (resemblyzer), and a shorter clip is padded with
# silence, so its vector is mostly the padding's (a 10 ms clip "matched" the host's voice). Two
# seconds is one window and a margin; speakers/embedding.py refuses clips shorter than its window.
ENROLLMENT_MIN_S = 2.0


def _check_enrollment(path: Path, config: Config) -> None:
    import soundfile

    for person in config.event.people:
        for clip in person.enrollment:
            where = f"{path}: event.people[{person.id}].enrollment"
            clip_path = path.parent / clip
            if not clip_path.is_file():
                raise PipelineError(f"{where}: file not found: {clip_path}")
            try:
                info = soundfile.info(str(clip_path))
            except (RuntimeError, soundfile.LibsndfileError) as e:
                raise PipelineError(f"{where}: {clip_path} is not an audio file soundfile can read "
                                    f"(WAV, FLAC, OGG): {str(e).splitlines()[0]}") from e
            if info.frames / max(info.samplerate, 1) < ENROLLMENT_MIN_S:
                raise PipelineError(f"{where}: {clip_path} is {info.frames / max(info.samplerate, 1):.2f} s long "
                                    f"({info.frames} frames); an enrollment clip needs at least "
                                    f"{ENROLLMENT_MIN_S:.0f} s of the person speaking")


# Model names the Whisper libraries know; anything else is taken as a local path.
WHISPER_MODEL_NAMES = {"tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en", "large",
                       "large-v1", "large-v2", "large-v3", "large-v3-turbo", "turbo", "distil-large-v2",
                       "distil-large-v3", "distil-medium.en", "distil-small.en"}


def _check_model(path: Path, config: Config) -> None:
    model = config.transcribe.model
    if model in WHISPER_MODEL_NAMES or "/" not in model and not model.endswith((".pt", ".bin")):
        return  # a name (possibly a hub repository id the user's engine can fetch)
    candidates = [Path(model).expanduser(), path.parent / model]
    if not any(c.exists() for c in candidates) and not _looks_like_repo_id(model):
        raise PipelineError(f"{path}: transcribe.model: no such file or folder: {model} (give 'base' for the packaged "
                            f"model, a Whisper model name, or an existing local path)")


def _looks_like_repo_id(model: str) -> bool:
    """'Systran/faster-whisper-small' style names, which faster-whisper can fetch given a network."""
    parts = model.split("/")
    return len(parts) == 2 and all(parts) and not model.startswith((".", "~")) and not Path(parts[0]).exists()


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
