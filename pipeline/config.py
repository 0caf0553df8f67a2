"""Configuration: one YAML file per event, validated once at load.

Defaults live here and nowhere else. Unknown keys are refused, and every error names the
file, the key path, the bad value and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import PipelineError

LanguageCode = Literal["en", "ja", "de", "fr", "es", "zh", "ko"]
Role = Literal["host", "moderator", "speaker", "panelist", "interpreter"]


class Strict(BaseModel):
    """Base for every config block: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(Strict):
    """A name or title as written in each language (either may be missing)."""

    en: Optional[str] = None
    ja: Optional[str] = None


class Person(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: Bilingual
    # Other ways the person is written or said: kana readings, short forms, romaji orders.
    aliases: list[str] = []
    title: Bilingual = Bilingual()
    affiliation: Bilingual = Bilingual()
    languages: list[LanguageCode] = []
    roles: list[Role] = Field(min_length=1)
    # Short recordings of this person's voice (paths relative to the config file).
    enrollment: list[str] = []


class SessionSlot(Strict):
    person: str
    role: Role


class Session(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: Bilingual
    # Scheduled local times, "HH:MM" or "HH:MM:SS", in the event's time zone.
    start: str = Field(pattern=r"^\d{2}:\d{2}(:\d{2})?$")
    end: str = Field(pattern=r"^\d{2}:\d{2}(:\d{2})?$")
    people: list[SessionSlot] = []


class Event(Strict):
    title: Bilingual
    date: Optional[str] = None
    timezone: str = "UTC"
    languages: list[LanguageCode] = Field(min_length=1)
    people: list[Person] = []
    sessions: list[Session] = []

    @model_validator(mode="after")
    def _references_resolve(self) -> "Event":
        ids = [p.id for p in self.people]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"person id {duplicates[0]!r} is defined more than once")
        owners: dict[str, str] = {}
        for person in self.people:
            for variant in [person.name.en, person.name.ja, *person.aliases]:
                key = (variant or "").strip().lower()
                if key and owners.setdefault(key, person.id) != person.id:
                    raise ValueError(f"name variant {variant!r} belongs to both {owners[key]!r} and {person.id!r}")
        for session in self.sessions:
            if not session.people:
                raise ValueError(f"session {session.id!r} has no people")
            for slot in session.people:
                if slot.person not in ids:
                    raise ValueError(
                        f"session {session.id!r} names person {slot.person!r}, "
                        f"who is not in event.people (known: {', '.join(ids) or 'none'})"
                    )
        return self


class Track(Strict):
    """One audio track to take from the recording."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    # Index among the file's audio streams (0 = first audio stream).
    stream: int = Field(default=0, ge=0)
    # Take one channel of that stream (0 = left); None mixes all channels down to mono.
    channel: Optional[int] = Field(default=None, ge=0)
    role: Literal["floor", "interpretation"] = "floor"
    # For an interpretation track, the language the interpreters speak (None = mixed).
    language: Optional[LanguageCode] = None


class Recording(Strict):
    tracks: list[Track] = [Track(name="floor")]

    @field_validator("tracks")
    @classmethod
    def _one_floor_track(cls, tracks: list[Track]) -> list[Track]:
        floors = [t.name for t in tracks if t.role == "floor"]
        if len(floors) != 1:
            raise ValueError(f"exactly one track must have role 'floor', found {len(floors)}")
        names = [t.name for t in tracks]
        if len(set(names)) != len(names):
            raise ValueError(f"track names must be unique, got {names}")
        return tracks


class VadSettings(Strict):
    threshold: float = Field(default=0.5, gt=0, lt=1)
    min_speech_ms: int = Field(default=250, ge=0)
    # Short: a change of speaker (and of language) often comes with a pause of only 0.3-0.6 s.
    # Neighbouring segments in one language are decoded together again by the transcribe stage.
    min_silence_ms: int = Field(default=250, ge=0)
    speech_pad_ms: int = Field(default=100, ge=0)
    # Longer speech is split so that each segment fits one Whisper window (30 s).
    max_segment_s: float = Field(default=28.0, gt=1, le=30)
    # Audio is read and scanned in blocks of this length to keep memory flat on long files.
    block_s: float = Field(default=600.0, ge=30)


class GuardSettings(Strict):
    """Thresholds that catch text Whisper invents on silence or music, and repetition loops."""

    no_speech_prob: float = Field(default=0.6, ge=0, le=1)
    min_avg_logprob: float = -1.0
    max_compression_ratio: float = Field(default=2.4, gt=1)
    # A word/phrase repeated this many times in a row is a loop.
    max_repeats: int = Field(default=4, ge=2)
    # Characters (ja) or words (en) per second beyond which the text cannot have been said.
    max_chars_per_s_ja: float = 20.0
    max_words_per_s_en: float = 7.0


class TranscribeSettings(Strict):
    engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    # "base" = the packaged weights; or a local folder/file; or a name the engine can fetch.
    model: str = "base"
    compute_type: str = "int8"
    beam_size: int = Field(default=5, ge=1)
    # CPU threads for the engine; 0 = all cores.
    threads: int = Field(default=0, ge=0)
    # Seconds of audio per checkpoint: a killed run resumes after the last finished chunk.
    # Longer chunks give fuller decoding batches; shorter ones lose less work to a crash.
    checkpoint_every_s: float = Field(default=300.0, gt=0)
    # Windows of one language decoded together (faster-whisper); memory grows with it.
    batch_size: int = Field(default=8, ge=1)
    # When a segment decodes with low confidence, also try the event's other language(s).
    retry_other_language_below: float = Field(default=0.55, ge=0, le=1)
    # ... but only when language identification itself was unsure.
    retry_if_language_probability_below: float = Field(default=0.9, ge=0, le=1)
    initial_prompt: Optional[str] = None
    guards: GuardSettings = GuardSettings()


class DiarizeSettings(Strict):
    # A split into several voices must reach this silhouette (cosine) or all is one voice.
    # The fixtures and the demo score 0.31-0.64 for their true number of speakers.
    min_silhouette: float = Field(default=0.15, ge=0, lt=1)
    # Clusters with fewer pieces (~2.4 s each) are folded into the nearest larger one.
    min_cluster_pieces: int = Field(default=2, ge=1)
    # Pauses shorter than this between two turns of one voice are bridged.
    min_pause_s: float = Field(default=0.6, ge=0)
    # A window this close to two voices is marked as possible overlapping speech.
    overlap_margin: float = Field(default=0.03, ge=0)


class AlignSettings(Strict):
    """Weights of the evidence that puts names on voices (see pipeline/align.py)."""

    self_introduction_weight: float = 6.0
    handover_weight: float = 3.0
    language_weight: float = 1.5
    order_weight: float = 1.0
    enrollment_weight: float = 20.0
    # Enrollment similarity above this counts for a person, below against.
    enrollment_threshold: float = 0.75
    # A voice whose best total stays below this keeps "Unknown speaker N".
    min_score: float = 1.0


class CaptionSettings(Strict):
    # Japanese lines are measured in characters, English lines in words.
    max_line_chars_ja: int = Field(default=16, ge=4)
    max_line_words_en: int = Field(default=8, ge=2)
    max_lines: int = Field(default=2, ge=1)
    max_cue_s: float = Field(default=6.0, gt=0.5)
    formats: list[Literal["srt", "vtt"]] = ["srt", "vtt"]


class Config(Strict):
    event: Event
    recording: Recording = Recording()
    vad: VadSettings = VadSettings()
    transcribe: TranscribeSettings = TranscribeSettings()
    diarize: DiarizeSettings = DiarizeSettings()
    align: AlignSettings = AlignSettings()
    captions: CaptionSettings = CaptionSettings()


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
