"""Configuration: one YAML file per event, validated once at load. Defaults live in this package only."""

from .base import Bilingual, LanguageCode, Role, Strict
from .event import Event, Person, Recording, Session, SessionSlot, Term, Track
from .loader import DEFAULT_CONFIG, Config, load_config, section, seconds_of_day
from .processing import AlignSettings, CaptionSettings, DiarizeSettings, GuardSettings, TranscribeSettings, VadSettings
from .translate import InterpretationSettings, LlmSettings, TranslateSettings
from .publish import PublishSettings
from .report import ReportSettings

__all__ = ["AlignSettings", "Bilingual", "CaptionSettings", "Config", "DEFAULT_CONFIG", "DiarizeSettings", "Event", "GuardSettings",
           "InterpretationSettings", "LlmSettings",
           "LanguageCode", "Person", "PublishSettings", "Recording", "ReportSettings", "Role", "Session", "SessionSlot", "Strict", "Term", "Track",
           "TranscribeSettings", "TranslateSettings", "VadSettings", "load_config", "section", "seconds_of_day"]
