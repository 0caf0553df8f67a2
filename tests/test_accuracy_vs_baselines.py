"""Accuracy against the plain engines on the same clips (real models, real audio)."""

import pytest
from faster_whisper import WhisperModel

from pipeline.asr import models
from pipeline.core.config import load_config
from pipeline.evaluation.metrics import character_error_rate, mixed_error_rate
from pipeline.core.runner import run_pipeline
from pipeline.core.storage import read_json

from conftest import FIXTURES, assert_transcript_invariants, fixture, write_config

pytestmark = pytest.mark.slow

COMMON_VOICE_JA = sorted((FIXTURES / "beatrice-trainer").glob("common_voice_ja_*_16k.wav"))


def _ours(tmp_path, recording, languages=("en", "ja"), extra=""):
    config_path = write_config(tmp_path / "c.yaml", languages, extra)
    out = tmp_path / recording.stem
    run_pipeline(recording, load_config(config_path), config_path, out, to_stage="transcribe")
    transcript = read_json(out / "transcript.json")
    assert_transcript_invariants(transcript)
    return transcript


def test_japanese_cer_is_no_worse_than_plain_faster_whisper(tmp_path):
    assert len(COMMON_VOICE_JA) == 5
    plain = WhisperModel(str(models.packaged_ct2_base()), device="cpu", compute_type="int8")
    ours_errors, plain_errors = [], []
    for clip in COMMON_VOICE_JA:
        reference = clip.with_name(clip.name.replace(".wav", ".ref.txt")).read_text(encoding="utf-8")
        transcript = _ours(tmp_path, clip)
        assert {s["language"] for s in transcript["segments"]} == {"ja"}
        ours_errors.append(character_error_rate(reference, "".join(s["text"] for s in transcript["segments"])))
        segments, _ = plain.transcribe(str(clip), beam_size=5)
        plain_errors.append(character_error_rate(reference, "".join(s.text for s in segments)))
    ours_mean, plain_mean = sum(ours_errors) / 5, sum(plain_errors) / 5
    print(f"CER ours {ours_mean:.3f} {ours_errors} plain faster-whisper {plain_mean:.3f} {plain_errors}")
    assert ours_mean <= plain_mean + 1e-9


def test_openai_whisper_engine_on_converted_weights(tmp_path):
    """The second engine: the packaged CTranslate2 weights converted to an openai-whisper checkpoint."""
    transcript = _ours(tmp_path, fixture("whisper/jfk.flac"), extra="transcribe: {engine: openai-whisper}\n")
    reference = fixture("whisper/jfk.ref.txt").read_text(encoding="utf-8")
    assert mixed_error_rate(reference, " ".join(s["text"] for s in transcript["segments"])) <= 0.05
    americans = [w for s in transcript["segments"] for w in s["words"] if "Americans" in w["text"]]
    assert americans and americans[0]["start_s"] - 0.5 <= 1.8 <= americans[0]["end_s"] + 0.5
    assert transcript["provenance"]["models"]["asr"]["engine"] == "openai-whisper"
