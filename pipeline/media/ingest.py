"""Stage ``ingest``: probe the recording, pick the configured audio tracks, decode each to
16 kHz mono 16-bit WAV.

Everything that can be wrong with the input file is found here, before any artifact is
written, and reported as one line naming the file and the problem.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import soundfile

from ..core.config import Config, Track
from ..core.errors import PipelineError
from ..core.events import progress
from ..core.storage import atomic_path
from .audio import SAMPLE_RATE
from ..core.stage import Stage, StageContext, StageOutput

# A decoded track shorter than the container claims by more than this is a truncated file.
TRUNCATION_TOLERANCE_S = 0.5
TRUNCATION_TOLERANCE_RATIO = 0.02
ARTIFACT = "ingest.json"


@dataclass(frozen=True)
class AudioStream:
    index: int  # position among the file's audio streams
    codec: str
    channels: int
    sample_rate: int
    duration_s: float | None
    language: str | None


@dataclass(frozen=True)
class ProbeResult:
    path: Path
    format_name: str
    duration_s: float | None
    audio_streams: list[AudioStream]


def _first_error_line(stderr: bytes | None) -> str:
    lines = [line.strip() for line in (stderr or b"").decode(errors="replace").splitlines()]
    useful = [line for line in lines if line]
    return useful[-1] if useful else "unknown error"


def _float_or_none(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def probe(path: Path) -> ProbeResult:
    """List the audio streams of ``path``; raise PipelineError if it is not readable media."""
    if not path.exists():
        raise PipelineError(f"recording {path}: file not found")
    if not path.is_file():
        raise PipelineError(f"recording {path}: not a file")
    if path.stat().st_size == 0:
        raise PipelineError(f"recording {path}: file is empty (0 bytes)")
    try:
        # Absolute: a relative name starting with "-" would reach ffprobe as an option.
        info = ffmpeg.probe(str(path.absolute()))
    except ffmpeg.Error as e:
        raise PipelineError(
            f"recording {path}: not a media file ffmpeg can read ({_first_error_line(e.stderr)})"
        ) from e
    except FileNotFoundError as e:
        raise PipelineError("ffprobe not found on PATH; run scripts/bootstrap.sh to install ffmpeg") from e
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    audio = [
        AudioStream(
            index=i,
            codec=s.get("codec_name", "?"),
            channels=int(s.get("channels", 0)),
            sample_rate=int(s.get("sample_rate", 0)),
            duration_s=_float_or_none(s.get("duration")),
            language=s.get("tags", {}).get("language"),
        )
        for i, s in enumerate(streams)
    ]
    fmt = info.get("format", {})
    return ProbeResult(path, fmt.get("format_name", "?"), _float_or_none(fmt.get("duration")), audio)


def _declared_wav_seconds(path: Path) -> tuple[float, float] | None:
    """For a RIFF/WAVE file: (seconds its header declares, seconds its bytes hold), else None."""
    with open(path, "rb") as f:
        header = f.read(12)
        if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        byte_rate = None
        while chunk := f.read(8):
            if len(chunk) < 8:
                return None
            kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind == b"fmt ":
                fmt = f.read(size + size % 2)
                byte_rate = int.from_bytes(fmt[8:12], "little")
            elif kind == b"data":
                present = path.stat().st_size - f.tell()
                if not byte_rate:
                    return None
                if size in (0, 0xFFFFFFFF):  # streaming writers leave the size unset
                    return (0.0, 0.0) if present == 0 else None
                return size / byte_rate, min(size, present) / byte_rate
            else:
                f.seek(size + size % 2, 1)
    return None


def check_tracks(probed: ProbeResult, tracks: list[Track]) -> None:
    """Every configured track must exist in the file, hold audio, and be complete."""
    if not probed.audio_streams:
        raise PipelineError(f"recording {probed.path}: has no audio stream")
    declared = _declared_wav_seconds(probed.path)
    if (probed.duration_s is not None and probed.duration_s <= 0) or declared == (0.0, 0.0):
        raise PipelineError(f"recording {probed.path}: audio is empty (0 s of audio)")
    if declared and declared[0] - declared[1] > TRUNCATION_TOLERANCE_S:
        raise PipelineError(
            f"recording {probed.path}: truncated: the file declares {declared[0]:.1f} s but only "
            f"{declared[1]:.1f} s of audio is present"
        )
    count = len(probed.audio_streams)
    for i, track in enumerate(tracks):
        if track.stream >= count:
            raise PipelineError(
                f"recording {probed.path}: recording.tracks[{i}].stream={track.stream} but the file "
                f"has {count} audio stream(s) (0..{count - 1})"
            )
        channels = probed.audio_streams[track.stream].channels
        if track.channel is not None and track.channel >= channels:
            raise PipelineError(
                f"recording {probed.path}: recording.tracks[{i}].channel={track.channel} but audio "
                f"stream {track.stream} has {channels} channel(s)"
            )


def _expected_duration(probed: ProbeResult, track: Track) -> float | None:
    return probed.audio_streams[track.stream].duration_s or probed.duration_s


def decode_track(probed: ProbeResult, track: Track, target: Path) -> float:
    """Decode one track to a 16 kHz mono WAV at ``target`` (atomically); return its duration.

    A whole stream is decoded with PyAV's resampler, the one faster-whisper decodes a file with:
    the ffmpeg program's resampler (another libswresample version) differs by a sample value or
    two, enough to change Whisper's reading of a word (ReazonSpeech test_en_2: "inference" or
    "in front"), so our transcript and plain faster-whisper's would differ for no reason. One
    channel of a stream (``channel``) goes through the ffmpeg program's pan filter.
    """
    expected_s = _expected_duration(probed, track)
    if track.channel is None:
        with atomic_path(target) as tmp:
            duration_s = _decode_with_pyav(probed, track, tmp, expected_s)
            _check_complete(probed, track, duration_s, expected_s)
        return duration_s
    stream = ffmpeg.input(str(probed.path.absolute()))[f"a:{track.stream}"]
    # Passed as a raw -af option: ffmpeg-python's filter() would escape the '=' inside pan's spec.
    channel_filter = {"af": f"pan=mono|c0=c{track.channel}"}  # only a chosen channel comes this way
    with atomic_path(target) as tmp:
        command = (
            ffmpeg.output(stream, str(tmp), format="wav", acodec="pcm_s16le", ac=1, ar=SAMPLE_RATE,
                          **channel_filter)
            .global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1", "-nostats")
            .overwrite_output()
        )
        process = command.run_async(pipe_stdout=True, pipe_stderr=True)
        with progress(expected_s or 0, f"decode {track.name}") as tracker:
            for raw in process.stdout:
                key, _, value = raw.decode(errors="replace").strip().partition("=")
                if key == "out_time_us" and value.isdigit():
                    tracker.set(min(int(value) / 1e6, tracker.total or float("inf")))
        stderr = process.stderr.read()
        if process.wait() != 0:
            raise PipelineError(
                f"recording {probed.path}: decoding audio stream {track.stream} failed "
                f"({_first_error_line(stderr)})"
            )
        duration_s = soundfile.info(str(tmp)).duration
        _check_complete(probed, track, duration_s, expected_s)
    return duration_s


def _decode_with_pyav(probed: ProbeResult, track: Track, tmp: Path, expected_s: float | None) -> float:
    import av

    written = 0
    try:
        with av.open(str(probed.path.absolute())) as container, \
                soundfile.SoundFile(str(tmp), "w", SAMPLE_RATE, 1, "PCM_16", format="WAV") as out, \
                progress(expected_s or 0, f"decode {track.name}") as tracker:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            # Frame by frame (a 3-hour file never sits in memory); None flushes the resampler.
            for frame in itertools.chain(container.decode(container.streams.audio[track.stream]), [None]):
                for piece in resampler.resample(frame):
                    samples = piece.to_ndarray().reshape(-1)
                    out.write(samples)
                    written += len(samples)
                tracker.set(min(written / SAMPLE_RATE, tracker.total or float("inf")))
    except (av.FFmpegError, IndexError) as e:
        raise PipelineError(f"recording {probed.path}: decoding audio stream {track.stream} failed ({e})") from e
    return written / SAMPLE_RATE


OGG_TAIL_BYTES = 65536  # an Ogg page is at most ~64 KB, so the last page header lies in this tail


def ogg_stream_finished(path: Path) -> bool:
    """True when the file's last Ogg page carries the end-of-stream flag (RFC 3533 requires it).

    A cut-off Ogg/Opus file decodes without any error and ffprobe reads its duration from the
    last page that survived, so the duration cannot reveal the cut; the missing flag does.
    """
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - OGG_TAIL_BYTES))
        tail = f.read()
    last = tail.rfind(b"OggS")
    return last >= 0 and last + 5 < len(tail) and bool(tail[last + 5] & 0x04)


def _check_complete(probed: ProbeResult, track: Track, decoded_s: float, expected_s: float | None) -> None:
    if decoded_s <= 0:
        raise PipelineError(f"recording {probed.path}: audio stream {track.stream} is empty (0 s of audio)")
    if "ogg" in probed.format_name.split(",") and not ogg_stream_finished(probed.path):
        raise PipelineError(f"recording {probed.path}: truncated: the Ogg stream has no end-of-stream page "
                            f"(the file was cut short after {decoded_s:.1f} s)")
    if expected_s is None:
        return
    missing_s = expected_s - decoded_s
    if missing_s > max(TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_RATIO * expected_s):
        raise PipelineError(
            f"recording {probed.path}: truncated: the file declares {expected_s:.1f} s but only "
            f"{decoded_s:.1f} s of audio stream {track.stream} could be decoded"
        )


def run(recording: Path, config: Config, out_dir: Path, staging: Path) -> dict:
    """Probe and decode; return the ingest artifact (written by the runner)."""
    probed = probe(recording)
    check_tracks(probed, config.recording.tracks)
    # Decode every track into a staging folder first, so that a failure on the second track
    # leaves the previous run's audio untouched.
    decoded = {t.name: decode_track(probed, t, staging / f"{t.name}.wav") for t in config.recording.tracks}
    # The WAVs and ingest.json are one unit. The old artifact goes before the first WAV is
    # replaced: if anything fails from here until the runner writes the new one (a full disk, an
    # unwritable ingest.json, a kill), no ingest.json vouches for audio it does not describe, and
    # a later ``--from vad`` asks for ingest instead of skipping on mismatched audio.
    (out_dir / ARTIFACT).unlink(missing_ok=True)
    tracks = []
    for track in config.recording.tracks:
        wav = out_dir / "audio" / f"{track.name}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / f"{track.name}.wav", wav)
        duration_s = decoded[track.name]
        tracks.append(
            {
                "name": track.name,
                "role": track.role,
                "language": track.language,
                "source_stream": track.stream,
                "source_channel": track.channel,
                "path": str(wav.relative_to(out_dir)),
                "sample_rate": SAMPLE_RATE,
                "duration_s": round(duration_s, 3),
            }
        )
    return {
        "recording": str(recording),
        "format": probed.format_name,
        "duration_s": probed.duration_s,
        "audio_streams": [vars(s) for s in probed.audio_streams],
        "tracks": tracks,
    }


def _precheck(recording: Path, config: Config) -> None:
    check_tracks(probe(recording), config.recording.tracks)


def run_stage(ctx: StageContext) -> StageOutput:
    artifact = run(ctx.recording, ctx.config, ctx.out_dir, ctx.work_dir)
    return StageOutput(artifact, models={"decoder": "ffmpeg"}, files=[t["path"] for t in artifact["tracks"]])


STAGE = Stage("ingest", 2, ("recording",), (), ARTIFACT, run_stage,
              description="decode the configured audio tracks to 16 kHz mono WAV", precheck=_precheck)
