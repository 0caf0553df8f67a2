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

Several independent requests at once (translation's lines):

    generations = complete_many(llm, [messages, ...], max_tokens=[...], temperature=0.0, stop=("\n",))

``llama-cpp`` decodes them together, one llama.cpp sequence each (``ParallelDecoder``): on a
CPU a decoding step costs about the same for a few sequences as for one, and the shared system
prompt is evaluated once per group. Its answers carry each token's log-probability (a quality
signal). Other engines answer the requests one by one through ``complete``.

Every engine counts tokens and seconds in ``usage`` (for tokens/s figures). Failures a user can
fix (no server, missing or damaged weights) are a one-line ``PipelineError``.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

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


@dataclass
class Generation:
    """One answer of ``complete_many``: the text, and (llama-cpp) each generated token's
    log-probability under the model, for quality estimates."""

    text: str
    logprobs: list[float] | None = None
    # The log-probability of each token of the prompt's scored text (``complete_many``'s
    # ``score``) given what comes before it: how expected the model finds that text.
    scored: list[float] | None = None

    @property
    def mean_logprob(self) -> float | None:
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else None

    @property
    def mean_scored(self) -> float | None:
        return sum(self.scored) / len(self.scored) if self.scored else None


def complete_many(llm, requests: Sequence[list[dict]], *, max_tokens: Sequence[int], temperature: float = 0.0,
                  stop: Sequence[str] = (), score: Sequence[str | None] | None = None) -> list[Generation]:
    """Independent chat requests, answered in order. An engine that decodes several sequences at
    once does; any other answers them one by one through ``complete``. ``stop``: strings that end
    an answer (not included in it). ``score``: per request, a text inside its last user message
    whose tokens' log-probabilities the answer carries (``Generation.scored``; llama-cpp only)."""
    if hasattr(llm, "complete_many"):
        if score is not None:
            return llm.complete_many(requests, max_tokens=max_tokens, temperature=temperature, stop=stop, score=score)
        return llm.complete_many(requests, max_tokens=max_tokens, temperature=temperature, stop=stop)
    answers = []
    for messages, budget in zip(requests, max_tokens):
        text = llm.complete(messages, max_tokens=budget, temperature=temperature)
        answers.append(Generation(_cut_at_stop(text, stop)))
    return answers


def _cut_at_stop(text: str, stop: Sequence[str]) -> str:
    for s in stop:
        if s and s in text:
            text = text[:text.index(s)]
    return text


def _cpu_kernels() -> str:
    """The instruction sets llama.cpp was built with ("AVX2 AVX512 AVX512_VNNI ..."): answers differ
    in their last bits between builds, so provenance names the one that made them."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return " ".join(part.split("=")[0].strip() for part in info.split("|")
                    if part.strip().endswith("= 1") and "AVX" in part)


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
            # Read into memory, not mapped: llama.cpp repacks most weights for the CPU's matrix
            # kernels into memory of its own, and with a mapping the file's pages stay resident
            # beside that copy (measured: 1,764 MiB resident mapped, 1,168 MiB read; same answers).
            self._llama = llama_cpp.Llama(model_path=str(self.path), n_ctx=settings.context_tokens,
                                          n_threads=_threads(settings), seed=settings.seed, use_mmap=False,
                                          verbose=False)
        except (ValueError, RuntimeError) as e:
            raise PipelineError(f"llm.model: llama.cpp could not load {self.path} ({e})") from e
        self.usage = new_usage()
        self._parallel: ParallelDecoder | None = None

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

    def complete_many(self, requests: Sequence[list[dict]], *, max_tokens: Sequence[int], temperature: float = 0.0,
                      stop: Sequence[str] = (), score: Sequence[str | None] | None = None) -> list[Generation]:
        if self._parallel is None:
            self._parallel = ParallelDecoder(self._llama, self.settings)
        started = time.perf_counter()
        prompts = [self._parallel.prompt_tokens(messages) for messages in requests]
        spans = [self._parallel.span(messages, text, tokens) if text else None
                 for messages, text, (tokens, _) in zip(requests, score or [None] * len(requests), prompts)]
        answers, evaluated = self._parallel.run([tokens for tokens, _ in prompts], [turn for _, turn in prompts],
                                                list(max_tokens), temperature, tuple(stop), spans)
        _count(self.usage, {"prompt_tokens": evaluated, "completion_tokens": sum(len(a.logprobs or ()) for a in answers)},
               started, calls=len(requests))
        return answers

    def tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False))

    def describe(self) -> dict:
        return {"engine": "llama-cpp", "model": self.label, "file": self.path.name,
                "llama_cpp_python": package_version("llama-cpp-python"), "cpu_kernels": _cpu_kernels(),
                "seed": self.settings.seed}

    def close(self) -> None:
        """Free the weights and contexts now (a stage ends; the next one needs the memory)."""
        if self._parallel is not None:
            self._parallel.close()
            self._parallel = None
        if self._llama is not None:
            self._llama.close()
            self._llama = None


# Sampling of a retry (temperature > 0), as llama-cpp-python's defaults.
_TOP_K, _TOP_P, _MIN_P = 40, 0.95, 0.05


class ParallelDecoder:
    """Independent prompts decoded together in one llama.cpp context, one sequence each.

    Why: on a CPU the cost of a decoding step is mostly reading the weights, so a step for
    several sequences costs little more than a step for one; and prompts that share their
    beginning (the system prompt) have it evaluated once, then share its cache cells.

    Every call starts from an empty cache, and how its prompts are cut into llama.cpp batches
    depends only on the prompts themselves. That matters: llama.cpp's results depend (in the
    last bits, and sometimes in the chosen token) on how tokens were grouped into batches, so
    reusing a cache left by an earlier call (as llama-cpp-python's own prefix reuse does) makes
    an answer depend on what was asked before; a resumed run would then differ from an
    uninterrupted one. Sampling at temperature > 0 is seeded from the prompt itself.

    The one thing kept between calls is the system turn's cache state: a prompt's system turn
    (everything before the user's words) is always evaluated alone, in an empty cache, so its
    cells are the same whenever and wherever it is computed; they are saved the first time
    (``llama_state_seq_get_data``) and written into each round's fresh cache instead of being
    evaluated again. The system turn is two thirds of a translation request's
    tokens, and prompt evaluation most of a CPU's time (docs/translation.md).
    """

    # System-turn states kept (a few MB each: one per direction and session in translation).
    MAX_SAVED_PREFIXES = 32

    def __init__(self, llama, settings: LlmSettings):
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._lib, self._llama, self.settings = llama_cpp, llama, settings
        model = llama._model.model
        self.vocab = llama_cpp.llama_model_get_vocab(model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        eos = llama._model.token_get_text(llama.token_eos()) if llama.token_eos() != -1 else ""
        bos = llama._model.token_get_text(llama.token_bos()) if llama.token_bos() != -1 else ""
        # The same chat template as create_chat_completion (llama-cpp-python's "chat_template.default").
        self.formatter = Jinja2ChatFormatter(template=llama.metadata["tokenizer.chat_template"], eos_token=eos,
                                             bos_token=bos)
        self.n_seq = settings.parallel
        self.n_ctx = settings.context_tokens
        self.n_batch = 512
        params = llama_cpp.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = self.n_ctx, self.n_batch, self.n_batch
        params.n_seq_max = self.n_seq
        params.n_threads = params.n_threads_batch = _threads(settings)
        params.kv_unified = True  # one cache: the shared system prompt's cells serve every sequence
        params.no_perf = True
        self.ctx = llama_cpp.llama_init_from_model(model, params)
        if not self.ctx:
            raise PipelineError(f"llm.parallel: llama.cpp could not make a context for {self.n_seq} sequences "
                                f"of {self.n_ctx} tokens; lower llm.parallel or llm.context_tokens")
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._saved_prefixes: dict[tuple[int, ...], bytes] = {}

    def _tokens(self, messages: list[dict]) -> list[int]:
        prompt = self.formatter(messages=messages).prompt
        return self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def prompt_tokens(self, messages: list[dict]) -> tuple[list[int], int]:
        """The prompt's tokens, and how many of them are its system turn (the tokens it shares
        with the same conversation whose last user message is empty; 0 without a system turn)."""
        tokens = self._tokens(messages)
        if len(messages) < 2 or messages[0].get("role") != "system":
            return tokens, 0
        empty = self._tokens(messages[:-1] + [{**messages[-1], "content": ""}])
        shared = 0
        while shared < min(len(tokens), len(empty)) - 1 and tokens[shared] == empty[shared]:
            shared += 1
        return tokens, shared if shared >= 8 else 0

    def span(self, messages: list[dict], text: str, tokens: list[int]) -> tuple[int, int] | None:
        """Where ``text`` (its last occurrence in the last message) lies in the prompt's
        ``tokens``, as [start, end); None when it is not there. The prompt cut before and after
        the text is tokenized alone; a token merged across the cut (" 研") belongs to the text."""
        prompt = self.formatter(messages=messages).prompt
        content = messages[-1].get("content") or ""
        at, inside = prompt.rfind(content), content.rfind(text)
        if at < 0 or inside < 0 or not text:
            return None

        def common(cut: int) -> int:
            head = self._llama.tokenize(prompt[:cut].encode("utf-8"), add_bos=False, special=True)
            n = 0
            while n < min(len(head), len(tokens)) and head[n] == tokens[n]:
                n += 1
            return n

        start, end = common(at + inside), common(at + inside + len(text))
        return (start, end) if end > start else None

    def close(self) -> None:
        if self.ctx:
            self._lib.llama_batch_free(self.batch)
            self._lib.llama_free(self.ctx)
            self.ctx = None

    # -- planning: which prompts go together ---------------------------------------------------

    def _rounds(self, prompts: list[list[int]], budgets: list[int]) -> list[list[int]]:
        """Consecutive prompts, at most n_seq at a time and within the context (their own tokens
        and answers; a shared prefix is counted once per prompt, to stay simple and safe)."""
        rounds, current, used = [], [], 0
        for i, (prompt, budget) in enumerate(zip(prompts, budgets)):
            need = len(prompt) + budget
            if need > self.n_ctx:
                raise PipelineError(f"llm.context_tokens: a request of {len(prompt)} prompt tokens and {budget} "
                                    f"answer tokens does not fit in {self.n_ctx} tokens; raise llm.context_tokens")
            if current and (len(current) == self.n_seq or used + need > self.n_ctx):
                rounds.append(current)
                current, used = [], 0
            current.append(i)
            used += need
        return rounds + ([current] if current else [])

    @staticmethod
    def _groups(prompts: list[list[int]], prefixes: list[int]) -> list[tuple[list[int], int]]:
        """Prompts with the same system turn, as (members, length of the system turn), in the
        order of their first member; prompts without one are left out."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (prompt, prefix) in enumerate(zip(prompts, prefixes)):
            if prefix:
                groups.setdefault(tuple(prompt[:prefix]), []).append(i)
        return [(members, prefixes[members[0]]) for members in groups.values()]

    # -- decoding --------------------------------------------------------------------------------

    def run(self, prompts: list[list[int]], prefixes: list[int], budgets: list[int], temperature: float,
            stop: tuple[str, ...], spans: list[tuple[int, int] | None] | None = None) -> tuple[list[Generation], int]:
        """Answers in order, and the number of prompt tokens evaluated (saved system turns not
        counted). ``spans``: per prompt, the tokens [start, end) whose log-probabilities to give."""
        answers: list[Generation | None] = [None] * len(prompts)
        spans = spans or [None] * len(prompts)
        evaluated = 0
        for members in self._rounds(prompts, budgets):
            found, n = self._round([prompts[i] for i in members], [prefixes[i] for i in members],
                                   [budgets[i] for i in members], temperature, stop, [spans[i] for i in members])
            evaluated += n
            for i, answer in zip(members, found):
                answers[i] = answer
        return answers, evaluated

    def _decode(self, items: list[tuple[int, int, int, bool, int]]) -> None:
        """(token, position, sequence, wants logits, next token) in llama.cpp batches of at most
        n_batch, cut the same way whatever came before. A token that wants logits leaves them in
        ``self._logits_of[sequence]``, or, when the next token is given (>= 0, a scored prompt
        token), that token's log-probability in ``self._scored[sequence]``."""
        lib, batch = self._lib, self.batch
        for start in range(0, len(items), self.n_batch):
            part = items[start:start + self.n_batch]
            for k, (token, position, seq, logits, _) in enumerate(part):
                batch.token[k], batch.pos[k], batch.logits[k] = token, position, logits
                batch.n_seq_id[k], batch.seq_id[k][0] = 1, seq
            batch.n_tokens = len(part)
            code = lib.llama_decode(self.ctx, batch)
            if code != 0:
                raise PipelineError(f"llm: llama.cpp could not decode a batch (code {code}); "
                                    "lower llm.parallel or raise llm.context_tokens")
            for k, (_, _, seq, logits, following) in enumerate(part):
                if logits and following >= 0:
                    self._scored.setdefault(seq, []).append(_logprob(self._logits(k), following))
                elif logits:
                    self._logits_of[seq] = self._logits(k).copy()

    def _logits(self, row: int):
        import numpy as np

        pointer = self._lib.llama_get_logits_ith(self.ctx, row)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))

    def _system_turn_state(self, tokens: list[int]) -> tuple[bytes, int]:
        """The cells of a system turn, and the tokens evaluated to make them (0 when saved). It
        is evaluated alone in an empty cache, so its cells never depend on what else was asked."""
        lib, key = self._lib, tuple(tokens)
        if key in self._saved_prefixes:
            return self._saved_prefixes[key], 0
        lib.llama_memory_clear(self.memory, True)
        self._decode([(token, p, 0, False, -1) for p, token in enumerate(tokens)])
        size = lib.llama_state_seq_get_size(self.ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        if lib.llama_state_seq_get_data(self.ctx, buffer, size, 0) != size:
            raise PipelineError("llm: llama.cpp could not save a prompt's cache state; lower llm.parallel")
        if len(self._saved_prefixes) >= self.MAX_SAVED_PREFIXES:
            self._saved_prefixes.pop(next(iter(self._saved_prefixes)))
        self._saved_prefixes[key] = bytes(buffer)
        return self._saved_prefixes[key], len(tokens)

    def _restore(self, state: bytes, seq: int) -> None:
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if self._lib.llama_state_seq_set_data(self.ctx, buffer, len(state), seq) != len(state):
            raise PipelineError("llm: llama.cpp could not restore a prompt's cache state; lower llm.parallel "
                                "or raise llm.context_tokens")

    def _round(self, prompts: list[list[int]], prefixes: list[int], budgets: list[int], temperature: float,
               stop: tuple[str, ...], spans: list[tuple[int, int] | None]) -> tuple[list[Generation], int]:
        import numpy as np

        lib = self._lib
        evaluated = 0
        groups = self._groups(prompts, prefixes)
        states = []
        for members, shared in groups:
            state, n = self._system_turn_state(prompts[members[0]][:shared])
            states.append(state)
            evaluated += n
        lib.llama_memory_clear(self.memory, True)  # no state from an earlier call (see the class)
        suffix_from = [0] * len(prompts)
        for (members, shared), state in zip(groups, states):
            holder = members[0]
            self._restore(state, holder)
            for other in members[1:]:
                lib.llama_memory_seq_cp(self.memory, holder, other, -1, -1)
            for m in members:
                suffix_from[m] = shared
        items = []
        for s, (prompt, span) in enumerate(zip(prompts, spans)):
            # The logits at position p are the next token's distribution: a scored token's
            # log-probability is read at the position before it.
            first, end = (span[0] - 1, span[1] - 1) if span else (0, 0)
            items += [(prompt[p], p, s, p == len(prompt) - 1 or first <= p < end,
                       prompt[p + 1] if first <= p < end and p < len(prompt) - 1 else -1)
                      for p in range(suffix_from[s], len(prompt))]
        evaluated += len(items)
        self._logits_of = logits = {}
        self._scored: dict[int, list[float]] = {}
        self._decode(items)
        rngs = [np.random.default_rng(int.from_bytes(hashlib.sha256(
            f"{self.settings.seed}:{','.join(map(str, p))}".encode()).digest()[:8], "little")) for p in prompts]
        tokens: list[list[int]] = [[] for _ in prompts]
        logprobs: list[list[float]] = [[] for _ in prompts]
        positions = [len(p) for p in prompts]
        active = list(range(len(prompts)))
        while active:
            still = []
            for s in active:
                token, logprob = self._choose(logits[s], temperature, rngs[s])
                if lib.llama_vocab_is_eog(self.vocab, token):
                    continue
                tokens[s].append(token)
                logprobs[s].append(logprob)
                if len(tokens[s]) >= budgets[s] or (stop and self._stopped(tokens[s], stop)):
                    continue
                still.append(s)
            active = still
            if not active:
                break
            self._decode([(tokens[s][-1], positions[s], s, True, -1) for s in active])
            for s in active:
                positions[s] += 1
        answers = []
        for s in range(len(prompts)):
            text = self._llama.detokenize(tokens[s]).decode("utf-8", errors="replace")
            answers.append(Generation(_cut_at_stop(text, stop), logprobs[s], self._scored.get(s)))
        return answers, evaluated

    def _stopped(self, tokens: list[int], stop: tuple[str, ...]) -> bool:
        tail = self._llama.detokenize(tokens[-4:]).decode("utf-8", errors="ignore")
        return any(s in tail for s in stop)

    @staticmethod
    def _choose(logits, temperature: float, rng) -> tuple[int, float]:
        """Greedy at temperature 0; else top-k/top-p/min-p sampling. Returns the token and its
        log-probability under the model (temperature 1)."""
        import numpy as np

        top = float(logits.max())
        if temperature <= 0:
            token = int(np.argmax(logits))
        else:
            candidates = np.argpartition(-logits, _TOP_K)[:_TOP_K]
            candidates = candidates[np.argsort(-logits[candidates], kind="stable")]
            weights = np.exp((logits[candidates] - top) / temperature)
            weights /= weights.sum()
            keep = max(1, int(np.searchsorted(np.cumsum(weights), _TOP_P) + 1))
            keep = min(keep, int((weights >= _MIN_P * weights[0]).sum()))
            weights = weights[:keep] / weights[:keep].sum()
            token = int(candidates[rng.choice(keep, p=weights)])
        return token, _logprob(logits, token)


def _logprob(logits, token: int) -> float:
    """log softmax(logits)[token]: a generated token's and a scored prompt token's alike."""
    import numpy as np

    top = float(logits.max())
    return float(logits[token]) - (top + float(np.log(np.exp(logits - top).sum())))


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


def _count(usage: dict, reported: dict, started: float, calls: int = 1) -> None:
    usage["calls"] += calls
    usage["prompt_tokens"] += int(reported.get("prompt_tokens") or 0)
    usage["completion_tokens"] += int(reported.get("completion_tokens") or 0)
    usage["seconds"] += time.perf_counter() - started


ENGINES = {"llama-cpp": LlamaCppLLM, "openai-compatible": OpenAICompatibleLLM, "transformers": TransformersTranslator}


def load_llm(settings: LlmSettings) -> LLM:
    """The engine the settings name, loaded and ready (weights checked, endpoint reached)."""
    return ENGINES[settings.engine](settings)
