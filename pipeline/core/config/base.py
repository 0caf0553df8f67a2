"""Shared pieces of every config block."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict

LanguageCode = Literal["en", "ja", "de", "fr", "es", "zh", "ko"]
Role = Literal["host", "moderator", "speaker", "panelist", "interpreter"]


class Strict(BaseModel):
    """Base for every config block: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(Strict):
    """A name or title as written in each language (either may be missing)."""

    en: Optional[str] = None
    ja: Optional[str] = None
