"""Speech recognition engines behind one small interface.

An engine does two things for the transcribe stage: say which language a stretch of audio is
in (probabilities over Whisper's languages), and decode a stretch of audio in a given
language into segments with word timings. Everything else — segmenting, packing, guards,
checkpoints — lives in ``transcribe.py`` and is shared by both engines.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from typing import Protocol

import ctranslate2
import numpy as np

from ..core.config import TranscribeSettings
from ..core.errors import PipelineError
from ..media.audio import SAMPLE_RATE
from . import models
from .results import Decoded, Word

__all__ = ["Decoded", "Word", "Engine", "load_engine", "ENGINES"]

# Frames of 10 ms in Whisper's log-mel features; a full window is 30 s = 3000 frames.
# Language identification reads at most ``transcribe.language_id_max_s`` of a segment: faster-
# whisper's encoder accepts short inputs, which makes identification ~5x cheaper than a window.
FULL_WINDOW_FRAMES = 3000
WINDOW_S = 30.0
LID_MIN_FRAMES = 300  # the encoder needs at least 3 s of frames to say anything
SAMPLING_SEED = 0


class Engine(Protocol):
    def describe(self) -> dict: ...

    def language_probabilities(self, samples: np.ndarray, languages: list[str]) -> dict[str, float]: ...

    def decode(self, samples: np.ndarray, language: str, prompt: str | None) -> list[Decoded]: ...

    def decode_batch(self, batch: list[np.ndarray], language: str, prompt: str | None) -> list[list[Decoded]]: ...

    def decode_speech(self, samples: np.ndarray, language: str, prompt: str | None) -> list[Decoded]: ...


def _restricted(probabilities: dict[str, float], languages: list[str]) -> dict[str, float]:
    """Renormalise Whisper's language probabilities over the event's languages only."""
    picked = {lang: probabilities.get(lang, 0.0) for lang in languages}
    total = sum(picked.values())
    if total <= 0:
        return {lang: 1.0 / len(languages) for lang in languages}
    return {lang: p / total for lang, p in picked.items()}


def _threads(settings: TranscribeSettings) -> int:
    return settings.threads or os.cpu_count() or 1


class FasterWhisperEngine:
    """CTranslate2 Whisper through faster-whisper (int8 on CPU by default)."""

    def __init__(self, settings: TranscribeSettings):
        from faster_whisper import WhisperModel

        self.settings = settings
        self.model_path = models.resolve_ct2_model(settings.model)
        try:
            self.model = WhisperModel(
                self.model_path,
                device="cpu",
                compute_type=settings.compute_type,
                cpu_threads=_threads(settings),
                local_files_only=settings.model == "base",
            )
        except Exception as e:  # the library raises several unrelated types for a bad model
            raise PipelineError(
                f"transcribe.model: cannot load '{settings.model}' with faster-whisper ({e})"
            ) from e

    def describe(self) -> dict:
        return {
            "engine": "faster-whisper",
            "engine_version": version("faster-whisper"),
            "ctranslate2_version": version("ctranslate2"),
            "model": self.settings.model,
            "model_path": self.model_path,
            "compute_type": self.settings.compute_type,
        }

    def _features(self, samples: np.ndarray) -> np.ndarray:
        """Log-mel frames of the samples. The extractor's last frame only covers its padding;
        faster-whisper's own decoding leaves it out, and so do we (kept, it changed readings:
        日本語たときと言ってますか instead of 日本語と聞きといていますか on ReazonSpeech test_ja_1)."""
        return self.model.feature_extractor(samples)[..., :-1]

    def count_tokens(self, text: str) -> int:
        """Tokens a prompt takes (faster-whisper encodes it with a leading space)."""
        return len(self.model.hf_tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)

    def language_probabilities(self, samples, languages):
        samples = samples[: int(self.settings.language_id_max_s * SAMPLE_RATE)]
        features = self._features(samples)
        frames = max(LID_MIN_FRAMES, min(features.shape[-1], FULL_WINDOW_FRAMES))
        padded = np.zeros((features.shape[0], frames), dtype=np.float32)
        padded[:, : min(frames, features.shape[-1])] = features[:, :frames]
        encoded = self.model.encode(padded)
        results = self.model.model.detect_language(encoded)[0]
        return _restricted({token[2:-2]: prob for token, prob in results}, languages)

    def decode_speech(self, samples, language, prompt):
        """A stretch of one-language speech decoded as plain faster-whisper decodes a file: its
        own VAD (default options: pauses under 2 s kept, 400 ms around speech), the speech laid
        end to end, 30-s windows, each conditioned on the text before it."""
        return self.decode(samples, language, prompt, plain=True)

    def decode(self, samples, language, prompt, plain=False):
        # The temperature fallback samples: a fixed seed makes re-runs give the same text.
        ctranslate2.set_random_seed(SAMPLING_SEED)
        segments, _ = self.model.transcribe(
            samples,
            language=language,
            beam_size=self.settings.beam_size,
            word_timestamps=True,
            condition_on_previous_text=plain,
            # Our own guards decide about silence, so they can count what they drop.
            no_speech_threshold=None,
            compression_ratio_threshold=self.settings.guards.max_compression_ratio,
            log_prob_threshold=self.settings.guards.min_avg_logprob,
            initial_prompt=prompt,
            vad_filter=plain,
        )
        return [
            Decoded(
                start_s=s.start,
                end_s=s.end,
                text=s.text.strip(),
                words=[Word(w.start, w.end, w.word, w.probability) for w in (s.words or [])],
                avg_logprob=s.avg_logprob,
                no_speech_prob=s.no_speech_prob,
                compression_ratio=s.compression_ratio,
            )
            for s in segments
        ]


    def decode_batch(self, batch, language, prompt):
        """Decode several windows of one language in one batched pass (~2x faster on CPU).

        Uses faster-whisper's batched pipeline on windows we packed ourselves. It decodes at
        temperature 0 only, so a window whose reading looks degenerate is decoded again with
        ``decode``, which has the usual temperature fallback.
        """
        results = []
        for samples, decoded in zip(batch, self._forward(batch, language, prompt)):
            if any(self._needs_fallback(d) for d in decoded):
                decoded = self.decode(samples, language, prompt)
            results.append(decoded)
        return results

    def decode_once(self, samples, language, prompt):
        """One reading at temperature 0, without the fallback, to compare a segment's reading in
        another language: a reading that would need the fallback (compression or log
        probability past the guards) counts as none, so it loses the comparison. The fallback's
        six temperatures took 11 s per retry, a fifth of the demo symposium's time."""
        decoded = self._forward([samples], language, prompt)[0]
        return [] if any(self._needs_fallback(d) for d in decoded) else decoded

    def _forward(self, batch, language, prompt):
        from faster_whisper import BatchedInferencePipeline
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        tokenizer = Tokenizer(self.model.hf_tokenizer, True, task="transcribe", language=language)
        features = np.stack([pad_or_trim(self._features(samples)) for samples in batch])
        # Never more than the 30-s window the features were trimmed to: faster-whisper rounds the
        # duration *up* to whole seconds for the word alignment, so a packed window of 30.00003 s
        # (sample rounding) asked CTranslate2 to align 3100 frames against 3000, reading past the
        # encoder output: wrong word times, and on the 3-hour benchmark a segfault.
        metadata = [{"offset": 0.0, "duration": min(len(samples) / SAMPLE_RATE, WINDOW_S), "segments": []}
                    for samples in batch]
        outputs = BatchedInferencePipeline(self.model).forward(
            features, tokenizer, metadata, self._batch_options(tokenizer, prompt))
        return [[_from_batched(segment) for segment in output] for output in outputs]

    def _needs_fallback(self, decoded: Decoded) -> bool:
        guards = self.settings.guards
        return decoded.compression_ratio > guards.max_compression_ratio or decoded.avg_logprob < guards.min_avg_logprob

    def _batch_options(self, tokenizer, prompt):
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        return TranscriptionOptions(
            beam_size=self.settings.beam_size, best_of=self.settings.beam_size, patience=1, length_penalty=1,
            repetition_penalty=1, no_repeat_ngram_size=0, log_prob_threshold=self.settings.guards.min_avg_logprob,
            no_speech_threshold=None, compression_ratio_threshold=self.settings.guards.max_compression_ratio, condition_on_previous_text=False, prompt_reset_on_temperature=0.5,
            temperatures=[0.0], initial_prompt=prompt, prefix=None, suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]), without_timestamps=False,
            max_initial_timestamp=1.0, word_timestamps=True, prepend_punctuations="\"'“¿([{-",
            append_punctuations="\"'.。,，!！?？:：”)]}、", multilingual=False, max_new_tokens=None,
            clip_timestamps=[], hallucination_silence_threshold=None, hotwords=None,
        )


def _from_batched(segment: dict) -> Decoded:
    return Decoded(
        start_s=segment["start"],
        end_s=segment["end"],
        text=segment["text"].strip(),
        words=[Word(w["start"], w["end"], w["word"], w["probability"]) for w in segment.get("words") or []],
        avg_logprob=segment["avg_logprob"],
        no_speech_prob=segment["no_speech_prob"],
        compression_ratio=segment["compression_ratio"],
    )


class OpenAIWhisperEngine:
    """The reference PyTorch implementation; its checkpoint is converted from the packaged weights."""

    def __init__(self, settings: TranscribeSettings):
        import torch
        import whisper

        torch.set_num_threads(_threads(settings))
        self.settings = settings
        self.whisper = whisper
        self.model_path = models.resolve_openai_whisper_model(settings.model)
        try:
            self.model = whisper.load_model(self.model_path, device="cpu")
        except Exception as e:
            raise PipelineError(
                f"transcribe.model: cannot load '{settings.model}' with openai-whisper ({e})"
            ) from e
        if settings.model == "base":
            # A checkpoint loaded from a file gets default alignment heads; word timings need
            # the ones published for this model size.
            self.model.set_alignment_heads(whisper._ALIGNMENT_HEADS["base"])

    def describe(self) -> dict:
        return {
            "engine": "openai-whisper",
            "engine_version": version("openai-whisper"),
            "torch_version": version("torch"),
            "model": self.settings.model,
            "model_path": self.model_path,
            "compute_type": "float32",
        }

    def count_tokens(self, text: str) -> int:
        from whisper.tokenizer import get_tokenizer

        return len(get_tokenizer(multilingual=True).encode(" " + text.strip()))

    def language_probabilities(self, samples, languages):
        audio = self.whisper.pad_or_trim(samples.astype(np.float32))
        mel = self.whisper.log_mel_spectrogram(audio, self.model.dims.n_mels)
        _, probabilities = self.model.detect_language(mel)
        return _restricted(probabilities, languages)

    def decode(self, samples, language, prompt):
        import torch

        torch.manual_seed(SAMPLING_SEED)  # the temperature fallback samples
        result = self.model.transcribe(
            samples.astype(np.float32),
            language=language,
            beam_size=self.settings.beam_size,
            best_of=self.settings.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            no_speech_threshold=None,
            initial_prompt=prompt,
            fp16=False,
            verbose=None,
        )
        return [
            Decoded(
                start_s=s["start"],
                end_s=s["end"],
                text=s["text"].strip(),
                words=[Word(w["start"], w["end"], w["word"], w["probability"]) for w in s.get("words", [])],
                avg_logprob=s["avg_logprob"],
                no_speech_prob=s["no_speech_prob"],
                compression_ratio=s["compression_ratio"],
            )
            for s in result["segments"]
        ]

    def decode_speech(self, samples, language, prompt):
        return self.decode(samples, language, prompt)  # openai-whisper has no VAD of its own

    def decode_batch(self, batch, language, prompt):
        # openai-whisper has no batched decoding; it is the reference engine, not the fast one.
        return [self.decode(samples, language, prompt) for samples in batch]


ENGINES = {"faster-whisper": FasterWhisperEngine, "openai-whisper": OpenAIWhisperEngine}


def load_engine(settings: TranscribeSettings) -> Engine:
    return ENGINES[settings.engine](settings)
