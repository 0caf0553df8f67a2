"""The one audio format every stage reads: 16 kHz mono WAV written by ingest, read in blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

SAMPLE_RATE = 16000  # Hz; what Whisper, silero-vad and the speaker encoder all expect


def read_block(wav: Path, start_s: float, length_s: float) -> np.ndarray:
    """Read ``length_s`` seconds from ``start_s`` as float32 mono samples."""
    start = int(start_s * SAMPLE_RATE)
    frames = int(length_s * SAMPLE_RATE)
    samples, _ = soundfile.read(str(wav), start=start, frames=frames, dtype="float32", always_2d=False)
    return samples
