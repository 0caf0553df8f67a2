"""Real models on real audio: the acceptance checks of the transcription foundation."""

import re

import jiwer
import pytest

from pipeline.core.config import load_config
from pipeline.core.runner import run_pipeline
from pipeline.core.storage import read_json

from conftest import assert_transcript_invariants, fixture, normalise_en, write_config

pytestmark = pytest.mark.slow

KANA_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def transcribe_fixture(tmp_path_factory, relative, languages):
    out = tmp_path_factory.mktemp("out")
    config_path = write_config(out / "config.yaml", languages)
    run_pipeline(fixture(relative), load_config(config_path), config_path, out / "run")
    return read_json(out / "run" / "transcript.json")


@pytest.fixture(scope="module")
def jfk(tmp_path_factory):
    return transcribe_fixture(tmp_path_factory, "whisper/jfk.flac", ("en", "ja"))


@pytest.fixture(scope="module")
def ja_en(tmp_path_factory):
    return transcribe_fixture(tmp_path_factory, "ReazonSpeech/test_ja_en.wav", ("en", "ja"))


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory):
    return transcribe_fixture(tmp_path_factory, "faster-whisper/multilingual.mp3", ("en", "de"))


def test_jfk_word_error_rate_and_word_timing(jfk):
    reference = fixture("whisper/jfk.ref.txt").read_text(encoding="utf-8")
    hypothesis = " ".join(s["text"] for s in jfk["segments"])
    assert jiwer.wer(normalise_en(reference), normalise_en(hypothesis)) <= 0.05
    assert {s["language"] for s in jfk["segments"]} == {"en"}
    americans = [w for s in jfk["segments"] for w in s["words"] if "Americans" in w["text"]]
    assert len(americans) == 1
    # openai/whisper's own test has the word span t = 1.8 s.
    assert americans[0]["start_s"] - 0.5 <= 1.8 <= americans[0]["end_s"] + 0.5


def test_english_then_japanese_each_in_its_own_script(ja_en):
    english = [s for s in ja_en["segments"] if s["end_s"] <= 11.5]
    japanese = [s for s in ja_en["segments"] if s["start_s"] >= 11.5]
    assert english and japanese
    assert all(s["language"] == "en" and not KANA_KANJI.search(s["text"]) for s in english)
    assert all(s["language"] == "ja" and KANA_KANJI.search(s["text"]) for s in japanese)
    assert "server" in " ".join(s["text"] for s in english).lower()


def test_language_switch_in_one_file(multilingual):
    segments = multilingual["segments"]
    assert {s["language"] for s in segments} == {"en", "de"}
    # The English licence text ends near 29 s; the German rendering follows.
    for segment in segments:
        expected = "en" if segment["end_s"] < 30.0 else "de"
        assert segment["language"] == expected, (segment["start_s"], segment["text"][:40])
    german = " ".join(s["text"] for s in segments if s["language"] == "de")
    assert "Software" in german and "Dokumentation" in german


def test_invariants_on_every_transcript(jfk, ja_en, multilingual):
    for transcript in (jfk, ja_en, multilingual):
        assert_transcript_invariants(transcript)
        assert transcript["provenance"]["models"]["asr"]["engine"] == "faster-whisper"


def test_no_text_is_invented_on_music_and_silence(tmp_path):
    """20 s of chords over noise, then silence: a webinar's waiting room."""
    import numpy as np
    import soundfile

    rate = 16000
    t = np.arange(12 * rate) / rate
    chords = sum(0.08 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    noise = np.random.default_rng(0).normal(scale=0.003, size=20 * rate)
    audio = noise.copy()
    audio[: len(chords)] += chords
    recording = tmp_path / "waiting-room.wav"
    soundfile.write(recording, audio.astype(np.float32), rate)
    config_path = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    run_pipeline(recording, load_config(config_path), config_path, out, to_stage="transcribe")
    assert read_json(out / "transcript.json")["segments"] == []
