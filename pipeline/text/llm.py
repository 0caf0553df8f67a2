"""The one LLM layer: engines behind one small interface, used by translation and the report.

    llm = load_llm(config.llm)
    text = llm.complete([{"role": "system", "content": ...}, {"role": "user", "content": ...}],
                        max_tokens=256, temperature=0.0, json_schema=None)
    llm.describe()  # {"engine": ..., "model": ..., ...} for provenance

Engines:
- ``llama-cpp``: a GGUF file in-process (the packaged Qwen2.5-Coder-1.5B-Instruct by default).
- ``openai-compatible``: ``POST {base_url}/chat/completions`` (llama.cpp server, vLLM, Ollama).
- ``transformers``: a seq2seq translation model (Marian, NLLB); it translates only
  (``translate(texts, source, target)``); ``complete`` is refused with a clear line.

Every engine counts tokens and seconds in ``usage`` (for tokens/s figures). Failures a user can
fix (no server, missing or damaged weights) are a one-line ``PipelineError``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..core.config.translate import LlmSettings
from ..core.errors import PipelineError
from ..core.stage import package_version


@runtime_checkable
class LLM(Protocol):
    def complete(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
                 json_schema: dict | None = None) -> str: ...

    def describe(self) -> dict: ...


def _threads(settings: LlmSettings) -> int:
    return settings.threads or os.cpu_count() or 1


def new_usage() -> dict:
    return {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "seconds": 0.0}


class LlamaCppLLM:
    """A GGUF model run in-process by llama-cpp-python with the model's own chat template."""

    def __init__(self, settings: LlmSettings):
        from .llm_models import PACKAGED_MODEL_LABEL, resolve_gguf

        try:
            import llama_cpp
        except ImportError as e:
            raise PipelineError("llm.engine 'llama-cpp' needs llama-cpp-python; run scripts/bootstrap.sh") from e
        self.path = resolve_gguf(settings.model, settings.sha256)
        self.label = PACKAGED_MODEL_LABEL if settings.model == "packaged" else self.path.name
        self.settings = settings
        try:
            self._llama = llama_cpp.Llama(model_path=str(self.path), n_ctx=settings.context_tokens,
                                          n_threads=_threads(settings), seed=settings.seed, verbose=False)
        except (ValueError, RuntimeError) as e:
            raise PipelineError(f"llm.model: llama.cpp could not load {self.path} ({e})") from e
        self.usage = new_usage()

    def complete(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
                 json_schema: dict | None = None) -> str:
        options = {}
        if json_schema is not None:
            options["response_format"] = {"type": "json_object", "schema": json_schema}
        started = time.perf_counter()
        answer = self._llama.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                    temperature=temperature, seed=self.settings.seed, **options)
        _count(self.usage, answer.get("usage") or {}, started)
        return answer["choices"][0]["message"]["content"] or ""

    def tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False))

    def describe(self) -> dict:
        return {"engine": "llama-cpp", "model": self.label, "file": self.path.name,
                "llama_cpp_python": package_version("llama-cpp-python"), "seed": self.settings.seed}


class OpenAICompatibleLLM:
    """Any server speaking the OpenAI chat-completions protocol."""

    def __init__(self, settings: LlmSettings):
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.usage = new_usage()
        self._key = None
        if settings.api_key_env:
            self._key = os.environ.get(settings.api_key_env)
            if not self._key:
                raise PipelineError(f"llm.api_key_env: environment variable {settings.api_key_env} is not set")
        self._request("GET", "/models", None, timeout_s=min(10.0, settings.timeout_s))  # fail before any work

    def _request(self, method: str, path: str, body: dict | None, timeout_s: float) -> dict:
        url = self.base_url + path
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            if path == "/models" and e.code in (404, 405):
                return {}  # the server is there; it just does not list models
            detail = e.read()[:200].decode("utf-8", "replace").replace("\n", " ")
            raise PipelineError(f"llm.base_url: {url} answered HTTP {e.code} ({detail})") from e
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise PipelineError(f"llm.base_url: cannot reach {url} ({reason}); start the server or fix base_url") from e
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError as e:
            raise PipelineError(f"llm.base_url: {url} did not answer JSON") from e

    def complete(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
                 json_schema: dict | None = None) -> str:
        body = {"model": self.settings.model, "messages": messages, "max_tokens": max_tokens,
                "temperature": temperature, "seed": self.settings.seed}
        if json_schema is not None:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "answer", "schema": json_schema}}
        started = time.perf_counter()
        answer = self._request("POST", "/chat/completions", body, self.settings.timeout_s)
        _count(self.usage, answer.get("usage") or {}, started)
        try:
            return answer["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as e:
            raise PipelineError(f"llm.base_url: {self.base_url} answered without choices[0].message.content") from e

    def describe(self) -> dict:
        return {"engine": "openai-compatible", "model": self.settings.model, "base_url": self.base_url,
                "seed": self.settings.seed}


# Language codes of the multilingual seq2seq families (NLLB / M2M-style, Marian multi-target).
_NLLB_CODES = {"en": "eng_Latn", "ja": "jpn_Jpan", "de": "deu_Latn", "fr": "fra_Latn", "es": "spa_Latn",
               "zh": "zho_Hans", "ko": "kor_Hang"}
_MARIAN_TARGETS = {"en": ">>eng<<", "ja": ">>jpn<<", "de": ">>deu<<", "fr": ">>fra<<", "es": ">>spa<<",
                   "zh": ">>zho<<", "ko": ">>kor<<"}


class TransformersTranslator:
    """A seq2seq translation model (Marian/opus-mt, NLLB) through transformers, greedy decoding."""

    def __init__(self, settings: LlmSettings):
        try:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        except ImportError as e:
            raise PipelineError("llm.engine 'transformers' needs transformers; "
                                "pip install -r requirements/translate.txt") from e
        self.settings = settings
        local = Path(settings.model).expanduser()
        source = str(local) if local.exists() else settings.model
        torch.set_num_threads(_threads(settings))
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local.exists())
            self.model = AutoModelForSeq2SeqLM.from_pretrained(source, local_files_only=local.exists()).eval()
        except (OSError, ValueError) as e:
            raise PipelineError(f"llm.model: transformers could not load {settings.model!r} "
                                f"({str(e).splitlines()[0]})") from e
        self.usage = new_usage()

    def complete(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
                 json_schema: dict | None = None) -> str:
        raise PipelineError("llm.engine 'transformers' runs translation models only; "
                            "use llama-cpp or openai-compatible for instructions")

    def translate(self, texts: list[str], source: str, target: str, max_tokens: int = 256) -> list[str]:
        import torch

        tokenizer, kwargs = self.tokenizer, {}
        vocab = tokenizer.get_vocab()
        if _NLLB_CODES.get(source) in vocab and _NLLB_CODES.get(target) in vocab:
            tokenizer.src_lang = _NLLB_CODES[source]
            kwargs["forced_bos_token_id"] = vocab[_NLLB_CODES[target]]
        elif _MARIAN_TARGETS.get(target) in vocab:
            texts = [f"{_MARIAN_TARGETS[target]} {t}" for t in texts]
        started = time.perf_counter()
        batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
        with torch.inference_mode():
            output = self.model.generate(**batch, max_new_tokens=max_tokens, num_beams=1, do_sample=False, **kwargs)
        decoded = tokenizer.batch_decode(output, skip_special_tokens=True)
        _count(self.usage, {"prompt_tokens": int(batch["input_ids"].numel()),
                            "completion_tokens": int(output.numel())}, started)
        return [d.strip() for d in decoded]

    def describe(self) -> dict:
        return {"engine": "transformers", "model": self.settings.model,
                "transformers": package_version("transformers"),
                "architecture": type(self.model).__name__}


def _count(usage: dict, reported: dict, started: float) -> None:
    usage["calls"] += 1
    usage["prompt_tokens"] += int(reported.get("prompt_tokens") or 0)
    usage["completion_tokens"] += int(reported.get("completion_tokens") or 0)
    usage["seconds"] += time.perf_counter() - started


ENGINES = {"llama-cpp": LlamaCppLLM, "openai-compatible": OpenAICompatibleLLM, "transformers": TransformersTranslator}


def load_llm(settings: LlmSettings) -> LLM:
    """The engine the settings name, loaded and ready (weights checked, endpoint reached)."""
    return ENGINES[settings.engine](settings)
