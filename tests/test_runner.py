"""Stage skipping, selective re-runs and crash resume."""

import signal
import subprocess
import sys
import time

import pytest

from pipeline.asr import transcribe
from pipeline.core.config import load_config
from pipeline.asr.engines import Decoded, Word
from pipeline.core.events import CollectingSink, reporting_to
from pipeline.core.runner import run_pipeline
from pipeline.stages import STAGE_NAMES
from pipeline.core.storage import read_json

from conftest import ROOT, assert_transcript_invariants, fixture, write_config


class ConstantEngine:
    def describe(self):
        return {"engine": "constant"}

    def language_probabilities(self, samples, languages):
        return {lang: 1.0 / len(languages) for lang in languages}

    def decode_batch(self, batch, language, prompt):
        return [self.decode(samples, language, prompt) for samples in batch]

    def decode(self, samples, language, prompt):
        end = len(samples) / 16000
        return [Decoded(0.0, end, "words here", [Word(0.0, end / 2, " words", 0.9), Word(end / 2, end, " here", 0.9)])]


@pytest.fixture
def fake_models(monkeypatch):
    """A constant ASR engine and a fake LLM: the runner's behaviour, not the models', is tested."""
    from translate_fakes import FakeLLM

    monkeypatch.setattr(transcribe, "load_engine", lambda settings: ConstantEngine())
    monkeypatch.setattr("pipeline.text.llm.load_llm", lambda settings: FakeLLM())


def _run(config_path, out, recording=None, **kwargs):
    with reporting_to(CollectingSink()) as sink:
        run_pipeline(recording or fixture("whisper/jfk.flac"), load_config(config_path), config_path, out, **kwargs)
    messages = sink.messages()
    return {name: next((m.split("'")[2].strip() for m in messages if f"'{name}'" in m and "running" in m
                        or f"'{name}'" in m and "skipping" in m), None) for name in STAGE_NAMES}


def _ran(outcome):
    return [name for name, word in outcome.items() if word == "running"]


def test_unchanged_stages_are_skipped_and_settings_rerun_only_what_they_affect(tmp_path, fake_models):
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    assert _ran(_run(config, out)) == STAGE_NAMES
    assert _ran(_run(config, out)) == []

    write_config(config, extra="captions: {max_lines: 1}\n")
    assert _ran(_run(config, out)) == ["captions"]

    write_config(config, extra="captions: {max_lines: 1}\ntranscribe: {beam_size: 2}\n")
    # Everything downstream of the transcript, but not diarize, which reads only the audio.
    downstream = STAGE_NAMES[STAGE_NAMES.index("transcribe"):]
    assert _ran(_run(config, out)) == [name for name in downstream if name != "diarize"]

    manifest = read_json(out / "manifest.json")
    assert manifest["stages"]["transcribe"]["settings"]["transcribe"]["beam_size"] == 2
    assert manifest["stages"]["ingest"]["inputs"]["recording"]
    assert manifest["stages"]["vad"]["models"]["vad"].startswith("silero-vad v6")
    transcript = read_json(out / "transcript.json")
    assert transcript["provenance"]["fingerprint"] == manifest["stages"]["transcribe"]["fingerprint"]


def test_a_stage_reruns_alone_and_a_deleted_output_is_remade(tmp_path, fake_models):
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out)
    assert _ran(_run(config, out, from_stage="vad", to_stage="vad", force=True)) == ["vad"]
    (out / "captions" / "captions.srt").unlink()
    assert _ran(_run(config, out)) == ["captions"]
    assert (out / "captions" / "captions.srt").exists()


def test_stage_without_its_inputs_says_which_to_run(tmp_path):
    from pipeline.core.errors import PipelineError

    config = write_config(tmp_path / "c.yaml")
    _run(config, tmp_path / "out", to_stage="ingest")
    with pytest.raises(PipelineError, match=r"stage 'transcribe' needs .*vad.json, which stage 'vad' writes; run with --from vad"):
        _run(config, tmp_path / "out", from_stage="transcribe")


@pytest.mark.slow
def test_killed_transcription_resumes_from_finished_chunks(tmp_path):
    """Kill the CLI during transcription; the next run reuses the chunks already done."""
    recording = fixture("faster-whisper/multilingual.mp3")
    config = write_config(tmp_path / "c.yaml", ("en", "de"), extra="transcribe: {checkpoint_every_s: 10}\n")
    command = [sys.executable, "-m", "pipeline", "run", str(recording), "--config", str(config), "--to", "transcribe"]
    first = subprocess.Popen(command + ["--out", str(tmp_path / "out")], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = tmp_path / "out" / ".work" / "transcribe"
    deadline = time.time() + 300
    while not list(work.glob("*/floor-chunk-*.json")) and time.time() < deadline and first.poll() is None:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = len(list(work.glob("*/floor-chunk-*.json")))
    assert done_before >= 1 and not (tmp_path / "out" / "transcript.json").exists()

    second = subprocess.run(command + ["--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert f"reused {done_before} finished chunk(s)" in second.stderr
    counters = read_json(tmp_path / "out" / "manifest.json")["stages"]["transcribe"]["counters"]
    assert counters["chunks_reused"] == done_before and counters["chunks_transcribed"] >= 1
    assert not work.exists()  # scratch space is cleaned once the stage finished

    clean = subprocess.run(command + ["--out", str(tmp_path / "clean")], cwd=ROOT, capture_output=True, text=True)
    assert clean.returncode == 0
    resumed, uninterrupted = (read_json(tmp_path / d / "transcript.json") for d in ("out", "clean"))
    assert_transcript_invariants(resumed)
    strip = lambda t: [(s["start_s"], s["language"], s["text"]) for s in t["segments"]]
    assert strip(resumed) == strip(uninterrupted)


def test_a_run_without_config_uses_the_neutral_event_and_says_so(tmp_path, fake_models, capsys):
    """A newcomer's first command names no config: the neutral English/Japanese event is used,
    said in one line, and recorded in the manifest like any config."""
    from pipeline.cli import main
    from pipeline.core.config import DEFAULT_CONFIG

    assert main(["run", str(fixture("whisper/jfk.flac")), "--out", str(tmp_path / "out"), "--to", "vad"]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "no --config" in line]
    assert len(said) == 1 and "English and Japanese" in said[0]
    assert read_json(tmp_path / "out" / "manifest.json")["config"] == str(DEFAULT_CONFIG)
