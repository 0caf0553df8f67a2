"""Unit tests with a fake engine: language per segment, packing, retries and guards."""


import numpy as np
import soundfile

from pipeline.asr import guards
from pipeline.core.config import GuardSettings, TranscribeSettings
from pipeline.asr.results import Decoded, Word
from pipeline.asr.packing import (SpeechSegment, Window, join_neighbours, one_language, pack_by_language,
                                  settle_short_fragments, split_by_segment, window_audio)
from pipeline.asr.transcribe import plan_chunks, transcribe_chunk

GUARDS = GuardSettings()
SETTINGS = TranscribeSettings()
GAP_S, MAX_WINDOW_S = SETTINGS.gap_s, SETTINGS.max_window_s


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


def test_text_whose_words_fall_on_one_instant_is_dropped():
    # Decoded past the audio it heard: every word timed at the window's end (test_ja_en, MKL kernels).
    invented = _decoded("アップが使用したら、フレームアップを使用することができる", start=13.68, end=13.68)
    assert guards.drop_reason(invented, GUARDS) == guards.DROP_NO_TIME
    assert guards.drop_reason(_decoded("はい", start=5.0, end=5.0), GUARDS) is None  # a squeezed short word stays
    assert guards.drop_reason(_decoded("ありがとうございました", start=14.41, end=14.75), GUARDS) is None


def test_impossible_speaking_rate():
    fast = _decoded("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen", end=1.0)
    assert guards.impossible_rate(fast.text, "en", fast.start_s, fast.end_s, GUARDS)
    # Below 1 s the span counts as 1 s: word timings squeeze short segments.
    assert not guards.impossible_rate("ありがとうございます", "ja", 5.0, 5.4, GUARDS)


def test_windows_hold_one_language_and_at_most_30_s():
    segments = [SpeechSegment(0, 5, "en"), SpeechSegment(5.5, 10, "ja"), SpeechSegment(10.5, 14, "en"),
                SpeechSegment(20, 34, "ja"), SpeechSegment(35, 47, "ja"), SpeechSegment(50, 60, "en")]
    windows = pack_by_language(segments, MAX_WINDOW_S, GAP_S)
    assert [(w.language, [(s.start_s, s.end_s) for s in w.segments]) for w in windows] == [
        ("en", [(0, 5), (10.5, 14), (50, 60)]),
        ("ja", [(5.5, 10), (20, 34)]),
        ("ja", [(35, 47)]),
    ]
    for window in windows:
        assert window.offsets_s[-1] + window.segments[-1].duration_s <= MAX_WINDOW_S


def test_packed_times_map_back_to_the_recording():
    window = Window("en", (SpeechSegment(10.0, 12.0, "en"), SpeechSegment(50.0, 53.0, "en")), GAP_S)
    audio = window_audio(window, lambda start, length: np.ones(int(length * 16000), dtype=np.float32))
    assert len(audio) == int((2.0 + GAP_S + 3.0) * 16000)
    words = [Word(0.5, 1.0, " first", 0.9), Word(1.9, 2.1, " edge", 0.8), Word(2.0 + GAP_S + 0.2, 2.0 + GAP_S + 0.6, " second", 0.9)]
    first, second = split_by_segment([Decoded(0.5, 2.0 + GAP_S + 0.6, "first edge second", words)], window)
    assert [(w.text, w.start_s, w.end_s) for w in first[0].words] == [(" first", 10.5, 11.0), (" edge", 11.9, 12.0)]
    assert [(w.text, w.start_s, w.end_s) for w in second[0].words] == [(" second", 50.2, 50.6)]
    assert first[0].text == "first edge" and second[0].text == "second"


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
        return "en" if abs(float(np.max(np.abs(samples))) - 0.1) < 0.05 else "ja"

    def describe(self):
        return {"engine": "fake"}

    def language_probabilities(self, samples, languages):
        language = self._language_at(samples)
        return {lang: (0.95 if lang == language else 0.05) for lang in languages}

    def decode_batch(self, batch, language, prompt):
        return [self.decode(samples, language, prompt) for samples in batch]

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
    assert engine.decodes == ["en", "ja"]


def test_prompt_echo_is_dropped_only_on_weak_audio():
    prompt = "Tom Hines, Yoichi Iida, export control."
    assert guards.drop_reason(_decoded("Tom Hines, Yoichi Iida.", prob=0.4), GUARDS, prompt) == guards.DROP_PROMPT_ECHO
    assert guards.drop_reason(_decoded("Tom Hines.", prob=0.95), GUARDS, prompt) is None
    assert guards.drop_reason(_decoded("Tom Hines.", prob=0.4), GUARDS, prompt) is None  # one name is said
    assert guards.drop_reason(_decoded("Thank you, Tom Hines.", prob=0.4), GUARDS, prompt) is None
    # Three entries or more and nothing else: dropped however sure the decoder is (seen on music).
    assert guards.drop_reason(_decoded("Iida, export control, Tom Hines.", prob=0.95), GUARDS, prompt) == guards.DROP_PROMPT_ECHO
    assert guards.drop_reason(_decoded("Yoichi Iida, export control.", prob=0.95), GUARDS, prompt) is None
    assert guards.drop_reason(_decoded("飯田陽一、輸出管理", prob=0.3), GUARDS, "柴野相雄、飯田陽一、輸出管理。") == guards.DROP_PROMPT_ECHO
    assert guards.drop_reason(_decoded("飯田陽一、輸出管理", prob=0.95), GUARDS, "柴野相雄、飯田陽一、輸出管理。") is None
    assert guards.drop_reason(_decoded("飯田陽一です", prob=0.3), GUARDS, "柴野相雄、飯田陽一、輸出管理。") is None


def test_guard_thresholds_come_from_the_settings():
    strict = GuardSettings(low_confidence=0.95, max_repeats=2, max_words_per_s_en=1.0)
    assert guards.flags(_decoded("yes yes", end=2.0, prob=0.9), "en", strict) == [
        guards.FLAG_REPEATS, guards.FLAG_LOW_CONFIDENCE]
    assert guards.flags(_decoded("yes yes", end=2.0, prob=0.9), "en", GUARDS) == []


def test_a_short_unsure_fragment_takes_the_language_around_it():
    segments = [SpeechSegment(0, 5, "ja", 0.99, "en"), SpeechSegment(5.4, 6.1, "en", 0.6, "ja"),
                SpeechSegment(6.5, 12, "ja", 0.98, "en")]
    settled = settle_short_fragments(segments, 2.0, 0.9, 1.5)
    assert [s.language for s in settled] == ["ja", "ja", "ja"]
    assert settled[1].runner_up == "en"  # the retry can still read it as English
    sure = [segments[0], SpeechSegment(5.4, 6.1, "en", 0.97, "ja"), segments[2]]
    assert [s.language for s in settle_short_fragments(sure, 2.0, 0.9, 1.5)] == ["ja", "en", "ja"]
    # Neighbours that disagree, or are far away, leave it alone.
    mixed = [segments[0], segments[1], SpeechSegment(6.5, 12, "en", 0.98, "ja")]
    assert settle_short_fragments(mixed, 2.0, 0.9, 1.5)[1].language == "en"
    far = [segments[0], SpeechSegment(9.0, 9.7, "en", 0.6, "ja")]
    assert settle_short_fragments(far, 2.0, 0.9, 1.5)[1].language == "en"


class _RunnerUpEngine:
    """Reads any audio in the runner-up language at the given word probability."""

    def __init__(self, probability):
        self.probability = probability

    def decode(self, samples, language, prompt):
        return [_decoded("まとまと", 0.1, 1.8, prob=self.probability)]


def test_the_runner_up_language_wins_a_retry_only_with_a_confident_reading(tmp_path):
    from pipeline.asr.rounds import second_guess
    from pipeline.asr.transcribe import new_counters

    wav = tmp_path / "a.wav"
    soundfile.write(wav, np.full(16000 * 2, 0.1, dtype=np.float32), 16000)
    unsure = SpeechSegment(0.0, 2.0, "en", 0.63, "ja")
    weak_english = [_decoded("that matters", 0.1, 1.9, prob=0.3)]
    settings = TranscribeSettings()
    for runner_up_probability, kept in ((0.49, "en"), (0.6, "ja")):
        counters = new_counters()
        language, probability, _ = second_guess(_RunnerUpEngine(runner_up_probability), wav, unsure, "en",
                                                weak_english, settings, counters)
        assert counters["language_retries"] == 1
        assert (language, probability) == (kept, 0.63 if kept == "en" else 0.37)
    # Both below the guard's line: better than the first reading is not enough.
    assert settings.guards.low_confidence == 0.5


def test_same_language_neighbours_are_one_stretch():
    segments = [SpeechSegment(0, 4, "ja", 0.95), SpeechSegment(4.6, 9, "ja", 0.97), SpeechSegment(12, 14, "ja", 0.97)]
    assert [(s.start_s, s.end_s) for s in join_neighbours(segments, 0.9, 1.5, 30.0)] == [(0, 9), (12, 14)]
    assert len(join_neighbours(segments, 0.9, 0.3, 30.0)) == 3


def test_guards_and_packing_do_not_load_ctranslate2():
    import subprocess
    import sys

    code = ("import sys; import pipeline.asr.guards, pipeline.asr.packing, pipeline.asr.vocabulary, "
            "pipeline.asr.correct; print('ctranslate2' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_text_decoded_as_one_stretch_goes_back_to_the_speech_it_was_said_in():
    from pipeline.asr.packing import split_at_pauses

    words = [Word(0.0, 0.5, " Thank", 0.9), Word(0.5, 1.0, " you.", 0.9), Word(1.6, 2.0, " Next", 0.9),
             Word(2.0, 2.4, " question.", 0.9)]
    pieces = split_at_pauses([Decoded(0.0, 2.4, "Thank you. Next question.", words)], [1.3, 5.0])
    assert [(p.text, p.start_s, p.end_s) for p in pieces] == [("Thank you.", 0.0, 1.0), ("Next question.", 1.6, 2.4)]
    assert split_at_pauses([Decoded(0.0, 2.4, "Thank you. Next question.", words)], []) [0].text == "Thank you. Next question."


def test_a_prompt_name_written_at_very_low_probability_is_flagged():
    prompt = "柴野相雄、トム・ハインズ、輸出管理。"
    words = [Word(0.0, 0.3, "柴", 0.03), Word(0.3, 0.6, "野", 0.04), Word(0.6, 1.5, "といった分野", 0.8)]
    invented = Decoded(0.0, 1.5, "柴野といった分野", words)
    assert guards.unsure_prompt_words(invented, prompt, GUARDS) == ["柴", "野"]
    assert guards.FLAG_UNSURE_PROMPT_WORD in guards.flags(invented, "ja", GUARDS, prompt)
    said = Decoded(0.0, 1.5, "柴野でございます", [Word(0.0, 0.6, "柴野", 0.36), Word(0.6, 1.5, "でございます", 0.9)])
    assert guards.FLAG_UNSURE_PROMPT_WORD not in guards.flags(said, "ja", GUARDS, prompt)
    assert guards.FLAG_UNSURE_PROMPT_WORD not in guards.flags(invented, "ja", GUARDS, None)


class WholeStretchEngine(FakeEngine):
    """A fake engine that can also decode a one-language stretch whole, as plain faster-whisper."""

    def __init__(self):
        super().__init__(None)
        self.stretches = []

    def decode_speech(self, samples, language, prompt):
        self.stretches.append(len(samples) / 16000)
        duration = len(samples) / 16000
        words = [Word(1.0, 1.5, " こんにちは", 0.9), Word(4.0, 4.5, " さようなら", 0.9)]
        return [Decoded(1.0, duration - 0.1, "こんにちはさようなら", words)]


def test_a_chunk_all_in_one_language_is_decoded_whole_as_plain_whisper_would(tmp_path):
    wav_audio = np.concatenate([np.zeros(8000), np.full(16000 * 2, 0.2), np.zeros(16000 * 2),
                                np.full(16000 * 2, 0.2), np.zeros(8000)]).astype(np.float32)
    engine = WholeStretchEngine()
    wav = tmp_path / "a.wav"
    soundfile.write(wav, wav_audio, 16000)
    chunk = [{"start_s": 0.5, "end_s": 2.5}, {"start_s": 4.5, "end_s": 6.5}]
    result = transcribe_chunk(engine, wav, "floor", chunk, ["en", "ja"], TranscribeSettings(), duration_s=7.0,
                              limits=(0.2, 7.0))
    # All the audio between the limits went to the engine once; the text is cut back at the pause.
    assert engine.stretches == [6.8] and engine.decodes == []
    assert result["counters"]["one_language_chunks"] == 1
    assert [(s["text"], s["start_s"]) for s in result["segments"]] == [("こんにちは", 1.2), ("さようなら", 4.2)]
    # Short fragments that agree count as a whole; one long unsure or other-language segment does not.
    short = [SpeechSegment(0, 1.5, "ja", 0.99), SpeechSegment(2, 3.3, "ja", 0.75), SpeechSegment(4, 5.5, "ja", 0.97)]
    assert one_language(short, 0.9, 2.0) == "ja"
    assert one_language([*short, SpeechSegment(6, 9, "ja", 0.8)], 0.9, 2.0) is None
    assert one_language([*short, SpeechSegment(6, 9, "en", 0.99)], 0.9, 2.0) is None


def test_a_packed_window_a_hair_over_30_s_is_aligned_within_the_encoders_frames(monkeypatch):
    """faster-whisper rounds a batched window's duration up to whole seconds for the word
    alignment; a window of 30 s plus sample rounding asked CTranslate2 for 3100 frames of a
    3000-frame encoder output (out-of-bounds reads; a segfault on the 3-hour benchmark). The
    engine never hands the batched pipeline more than the 30 s its features hold."""
    import faster_whisper

    from pipeline.asr.engines import FasterWhisperEngine

    seen = []

    def forward(self, features, tokenizer, metadata, options):
        seen.extend(m["duration"] for m in metadata)
        return [[] for _ in metadata]

    monkeypatch.setattr(faster_whisper.BatchedInferencePipeline, "forward", forward)
    engine = FasterWhisperEngine(TranscribeSettings(threads=1))
    over = np.zeros(30 * 16000 + 5, dtype=np.float32)
    engine._forward([over, np.zeros(12 * 16000, dtype=np.float32)], "en", None)
    assert seen == [30.0, 12.0]
