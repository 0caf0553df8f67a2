"""Unit tests with a fake engine: language per segment, packing, retries and guards."""

from pathlib import Path

import numpy as np
import soundfile

from pipeline import guards
from pipeline.config import GuardSettings, TranscribeSettings
from pipeline.engines import Decoded, Word
from pipeline.transcribe import SpeechSegment, pack_windows, plan_chunks, transcribe_chunk

GUARDS = GuardSettings()


def _decoded(text, start=0.0, end=2.0, prob=0.9, **kwargs):
    return Decoded(start, end, text, [Word(start, end, text, prob)], **kwargs)


def test_silence_hallucination_is_dropped():
    assert guards.drop_reason(_decoded("Thank you.", no_speech_prob=0.9, avg_logprob=-1.5), GUARDS) == guards.DROP_NO_SPEECH
    assert guards.drop_reason(_decoded("ご視聴ありがとうございました", prob=0.4), GUARDS) == guards.DROP_STOCK_PHRASE
    assert guards.drop_reason(_decoded("ご視聴ありがとうございました", prob=0.95), GUARDS) is None


def test_repetition_loops():
    assert guards.drop_reason(_decoded("the the the", compression_ratio=3.1), GUARDS) == guards.DROP_LOOP
    assert guards.longest_repeat_run("はいはいはいはいはい") == 5
    assert guards.longest_repeat_run("export control, export control, export control, export control") == 4
    assert guards.longest_repeat_run("輸出管理の違いについて説明します") < 4
    assert guards.FLAG_REPEATS in guards.flags(_decoded("はいはいはいはいはい", end=5.0), "ja", GUARDS)


def test_speaking_rate_flag():
    fast = _decoded("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen", end=1.0)
    assert guards.FLAG_RATE in guards.flags(fast, "en", GUARDS)


def test_pack_windows_splits_on_language_gap_and_length():
    segments = [SpeechSegment(0, 5, "en"), SpeechSegment(5.5, 10, "en"), SpeechSegment(10.5, 14, "ja"),
                SpeechSegment(20, 25, "ja"), SpeechSegment(25.5, 40, "ja"), SpeechSegment(40.2, 60, "ja")]
    windows = pack_windows(segments)
    assert [[(s.start_s, s.end_s) for s in w] for w in windows] == [
        [(0, 5), (5.5, 10)], [(10.5, 14)], [(20, 25), (25.5, 40)], [(40.2, 60)]]


def test_plan_chunks_groups_by_start_time():
    segments = [{"start_s": s, "end_s": s + 1} for s in (0, 50, 130, 250, 260)]
    assert [len(c) for c in plan_chunks(segments, 120)] == [2, 1, 2]


class FakeEngine:
    """Knows each stretch's true language by its position; decoding in the wrong one is weak."""

    def __init__(self, truth):
        self.truth = truth  # list of (start_s, end_s, language)
        self.decodes = []

    def _language_at(self, samples):
        # The fake audio encodes the language in its amplitude: 0.1 = en, 0.2 = ja.
        return "en" if abs(float(np.median(np.abs(samples))) - 0.1) < 0.05 else "ja"

    def describe(self):
        return {"engine": "fake"}

    def language_probabilities(self, samples, languages):
        language = self._language_at(samples)
        return {lang: (0.95 if lang == language else 0.05) for lang in languages}

    def decode(self, samples, language, prompt):
        self.decodes.append(language)
        duration = len(samples) / 16000
        right = self._language_at(samples) == language
        text = "hello there" if language == "en" else "こんにちは"
        return [_decoded(text, 0.1, duration - 0.1, prob=0.9 if right else 0.2,
                         avg_logprob=-0.2 if right else -1.2)]


def test_each_segment_gets_its_own_language(tmp_path):
    wav = tmp_path / "a.wav"
    audio = np.concatenate([np.full(16000 * 3, 0.1), np.zeros(8000), np.full(16000 * 3, 0.2)]).astype(np.float32)
    soundfile.write(wav, audio, 16000)
    chunk = [{"start_s": 0.0, "end_s": 3.0}, {"start_s": 3.5, "end_s": 6.5}]
    engine = FakeEngine(None)
    result = transcribe_chunk(engine, wav, "floor", chunk, ["en", "ja"], TranscribeSettings())
    assert [s["language"] for s in result["segments"]] == ["en", "ja"]
    assert [s["text"] for s in result["segments"]] == ["hello there", "こんにちは"]
    assert result["counters"]["windows"] == 2 and result["counters"]["language_retries"] == 0
