"""Settings of the processing stages: vad, transcribe, diarize, align, captions.

Every default lives here and nowhere else.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from .base import Strict


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
