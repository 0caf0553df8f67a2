"""Settings of the LLM layer (``llm:``, shared by translation and the report) and of the
``translate`` stage (``translate:``). Every default lives here and nowhere else."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from .base import Strict


class LlmSettings(Strict):
    # "llama-cpp": a GGUF file run in-process (the packaged Qwen2.5-Coder-1.5B-Instruct by default);
    # "openai-compatible": an HTTP endpoint (llama.cpp server, vLLM, Ollama) with a bigger model;
    # "transformers": a seq2seq translation model (Marian, NLLB) by name or local folder.
    engine: Literal["llama-cpp", "openai-compatible", "transformers"] = "llama-cpp"
    # llama-cpp: "packaged" or a path to a .gguf file; openai-compatible: the served model's name;
    # transformers: a local folder or a name the library may fetch (only when asked for).
    model: str = "packaged"
    # Expected sha256 of a GGUF given by path (checked once per file, then remembered by size+mtime).
    sha256: Optional[str] = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # openai-compatible: e.g. "http://127.0.0.1:8080/v1"; the key is read from this environment variable.
    base_url: Optional[str] = None
    api_key_env: Optional[str] = None
    timeout_s: float = Field(default=120.0, gt=0)
    # CPU threads for llama-cpp / transformers; 0 = all cores.
    threads: int = Field(default=0, ge=0)
    context_tokens: int = Field(default=4096, ge=512)
    # llama-cpp: independent requests (translation's lines) decoded together, at most this many
    # at a time, sharing one context of context_tokens; 1 = one at a time.
    parallel: int = Field(default=8, ge=1, le=64)
    seed: int = 0

    @model_validator(mode="after")
    def _endpoint_given(self) -> "LlmSettings":
        if self.engine == "openai-compatible" and not self.base_url:
            raise ValueError("engine 'openai-compatible' needs base_url (e.g. http://127.0.0.1:8080/v1)")
        return self


class InterpretationSettings(Strict):
    """Linking floor segments to the interpreter's renderings (two-track recordings)."""

    # The interpreter starts this many seconds after the speaker (simultaneous interpretation).
    min_lag_s: float = Field(default=-1.0, le=5)
    max_lag_s: float = Field(default=8.0, gt=0, le=30)
    # A link weaker than this is not stored.
    min_confidence: float = Field(default=0.35, ge=0, le=1)
    # A sentence whose every segment is linked at least this strongly (linked before any machine
    # translation, on the source text) takes the interpreter's rendering as its translation,
    # labelled as the interpreter's ("source": "interpreter"), and the model is not asked.
    # 1.01 = never. On the two-track demo: 0.4 gave 36 % of the sentences, 97.1 % of them right
    # (0.35: 39 %, 94.7 %; 0.5: 11 %, 100 %).
    use_min_confidence: float = Field(default=0.4, ge=0, le=1.01)


class TranslateSettings(Strict):
    # Sentences asked at once (one request each; the llama-cpp engine decodes up to llm.parallel
    # of them together). A killed run resumes after its last finished round.
    round_lines: int = Field(default=8, ge=1, le=64)
    # Earlier lines of the session shown as context (with their translations when an earlier
    # round made them). Off by default: they did not change chrF measurably (docs/translation.md)
    # and were 40 % of the prompt tokens, which cost about half as much as generated ones.
    context_lines: int = Field(default=0, ge=0, le=10)
    # The recogniser cuts speech at pauses, often mid-sentence ("Since it is time," / "we now
    # open the symposium."). Consecutive segments of one speaker that end mid-sentence are
    # joined into one sentence of at most ``max_unit_chars`` source characters (gaps of at most
    # ``max_join_gap_s``) and translated as one line; the translation is shared back out over
    # the segments in proportion to their source length (each record keeps the whole sentence).
    sentence_units: bool = True
    max_unit_chars: int = Field(default=240, ge=20)
    max_join_gap_s: float = Field(default=1.5, ge=0)
    # The agenda's names, titles, affiliations and session titles plus event.glossary; only the
    # entries found in a batch go into its prompt.
    glossary: bool = True
    # How glossary entries found in a line reach the model: "prompt" lists them in the system
    # prompt; "substitute" also writes the target form into the source line before translating.
    protect_terms: Literal["prompt", "substitute"] = "prompt"
    # The speaker's name and the session's title go into the prompt.
    speaker_context: bool = True
    # The targets whose lines carry the speaker's name before them (with speaker_context). Into
    # English the packaged model wrote that label into the translation ("Tomoo Shibano continued,
    # ..."): 84 of the 3-hour run's 1,574 sentences into English with it, 1 without, and demo
    # JA->EN chrF 44.3 against 43.5; into Japanese the label helps (EN->JA chrF 24.2 with it, 20.1
    # without). A bigger model may take both (docs/translation.md).
    speaker_label_into: list[str] = ["ja"]
    # A line whose output fails a check is retried alone this many times, then marked
    # "needs_translation" for the editor (never dropped, never left in the source language).
    max_retries: int = Field(default=2, ge=0, le=5)
    # Output/source length bounds (characters) per direction, checked only for sources of at
    # least min_check_chars characters.
    min_check_chars: int = Field(default=12, ge=1)
    max_tokens_per_line: int = Field(default=160, ge=16)
    # Reuse a translation made before for the same text, glossary and engine (the output folder's
    # cache, and a sentence said twice in one run). Off: every line is asked (benchmarks/full_run.py,
    # whose long recording repeats the demo's sentences).
    reuse: bool = True
    # A quality estimate for every machine translation (model confidence and source/translation
    # similarity, see pipeline/text/quality.py): the review app lists the weakest lines first.
    quality_estimate: bool = True
    # Which tracks are machine-translated (the interpretation track already is a translation).
    tracks: list[str] = ["floor"]
    interpretation: InterpretationSettings = InterpretationSettings()
