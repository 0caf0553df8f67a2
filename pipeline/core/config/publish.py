"""Settings of the archival package (``python -m pipeline publish``). Every default lives here."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from .base import Strict


class PublishSettings(Strict):
    # bag-info.txt and the catalogue records (OHMS, schema.org, IIIF) carry these.
    rights: str = "All rights reserved by the organizer unless stated otherwise."
    organizer: Optional[str] = None
    contact_email: Optional[str] = None
    # Identifier of the package in the archive (bag-info External-Identifier); default: a slug of
    # the event's English title and date.
    identifier: Optional[str] = None
    # IIIF and JSON-LD need absolute ids: where the package will be served from. The default is a
    # reserved domain (RFC 2606) that says "not yet placed"; set it when the archive's URL is known.
    base_url: str = "https://archive.example.org/packages"
    # The archival copy of the floor audio: FLAC is lossless; Opus/MP3 are small.
    audio_codec: Literal["flac", "opus", "mp3"] = "flac"
    # Bitrate for lossy codecs, kbit/s (ignored for FLAC).
    audio_bitrate_kbps: int = Field(default=64, ge=16, le=320)
    # Also copy the recording exactly as it was given to the pipeline.
    include_original_audio: bool = False
    # Caption line rules (broadcast norms): Japanese in full-width units (half-width counts half),
    # English in characters.
    caption_line_width_ja: float = Field(default=13.0, ge=6)
    caption_line_chars_en: int = Field(default=42, ge=16)
    caption_max_lines: int = Field(default=2, ge=1, le=3)
    caption_max_cue_s: float = Field(default=7.0, gt=1)
    # OHMS index: characters of speech quoted as each session's partial transcript.
    partial_transcript_chars: int = Field(default=200, ge=20)
    # Keywords per session taken from the glossary terms that occur in it.
    max_keywords: int = Field(default=8, ge=0)
