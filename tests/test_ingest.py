"""Ingest: stream selection, and one-line errors for bad input that leave earlier outputs alone."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from pipeline.media import ingest
from pipeline.core.config import load_config
from pipeline.core.errors import PipelineError

from conftest import ROOT, fixture, write_config


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "notes.mp3").write_text("this is not audio\n")
    (folder / "empty.wav").write_bytes(b"")
    soundfile.write(folder / "silent-zero.wav", np.zeros(0, dtype=np.float32), 16000)
    ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=5", "-an", str(folder / "video-only.mp4"))
    ffmpeg("-i", str(fixture("whisper/jfk.flac")), str(folder / "full.wav"))
    data = (folder / "full.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 2])
    return folder


CASES = [
    ("missing.wav", "file not found"),
    ("notes.mp3", "not a media file ffmpeg can read"),
    ("empty.wav", "file is empty"),
    ("silent-zero.wav", "audio is empty (0 s of audio)"),
    ("video-only.mp4", "has no audio stream"),
    ("truncated.wav", "truncated: the file declares 11.0 s but only 5.5 s of audio is present"),
]


def _tree_digest(folder):
    digest = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


@pytest.fixture(scope="module")
def earlier_output(tmp_path_factory):
    """A finished ingest + vad run whose files must survive every bad input."""
    folder = tmp_path_factory.mktemp("earlier")
    config = write_config(folder / "config.yaml")
    subprocess.run([sys.executable, "-m", "pipeline", "run", str(fixture("whisper/jfk.flac")), "--config",
                    str(config), "--out", str(folder / "out"), "--to", "vad"], check=True, cwd=ROOT,
                   capture_output=True)
    return folder


@pytest.mark.parametrize("name,problem", CASES)
def test_bad_input_is_one_line_and_harmless(bad_inputs, earlier_output, name, problem):
    before = _tree_digest(earlier_output / "out")
    recording = bad_inputs / name
    result = subprocess.run([sys.executable, "-m", "pipeline", "run", str(recording), "--config",
                             str(earlier_output / "config.yaml"), "--out", str(earlier_output / "out")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: recording {recording}: ") and problem in lines[0], lines[0]
    assert _tree_digest(earlier_output / "out") == before


def test_bad_config_is_one_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("event:\n  title: {en: x}\n  languages: [en]\nvad: {threshold: 2}\n")
    result = subprocess.run([sys.executable, "-m", "pipeline", "run", str(fixture("whisper/jfk.flac")),
                             "--config", str(config), "--out", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {config}: vad.threshold: Input should be less than 1 (got 2)"
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def two_stream_file(tmp_path_factory):
    """A floor stream (stereo: 440 Hz left, 880 Hz right) and an interpretation stream (660 Hz)."""
    path = tmp_path_factory.mktemp("multi") / "two-streams.mkv"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-f", "lavfi", "-i", "sine=frequency=880:duration=2",
           "-f", "lavfi", "-i", "sine=frequency=660:duration=2",
           "-filter_complex", "[0:a][1:a]join=inputs=2:channel_layout=stereo[floor]",
           "-map", "[floor]", "-map", "2:a", "-c:a", "flac", str(path))
    return path


def _dominant_hz(wav):
    samples, rate = soundfile.read(wav)
    spectrum = np.abs(np.fft.rfft(samples))
    return np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))]


def test_configured_streams_and_channels_are_taken(tmp_path, two_stream_file):
    config = load_config(write_config(tmp_path / "c.yaml", extra=(
        "recording:\n  tracks:\n"
        "    - {name: floor, stream: 0, channel: 1, role: floor}\n"
        "    - {name: interp, stream: 1, role: interpretation, language: en}\n")))
    artifact = ingest.run(two_stream_file, config, tmp_path / "out", tmp_path / "staging")
    assert [len(artifact["audio_streams"]), artifact["audio_streams"][0]["channels"]] == [2, 2]
    floor, interp = (tmp_path / "out" / t["path"] for t in artifact["tracks"])
    assert soundfile.info(floor).samplerate == 16000 and soundfile.info(floor).channels == 1
    assert abs(_dominant_hz(floor) - 880) < 5
    assert abs(_dominant_hz(interp) - 660) < 5
    assert artifact["tracks"][1]["role"] == "interpretation"


def test_missing_stream_is_named(tmp_path, two_stream_file):
    config = load_config(write_config(tmp_path / "c.yaml", extra="recording:\n  tracks:\n    - {name: floor, stream: 2}\n"))
    with pytest.raises(PipelineError, match=r"recording.tracks\[0\].stream=2 but the file has 2 audio stream\(s\) \(0..1\)"):
        ingest.check_tracks(ingest.probe(two_stream_file), config.recording.tracks)
