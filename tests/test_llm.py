"""The LLM layer's engines on their real code paths: an OpenAI-compatible server on 127.0.0.1,
a tiny randomly initialised Marian model through transformers, and (slow) the packaged GGUF."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.core.config import LlmSettings
from pipeline.core.errors import PipelineError
from pipeline.text.llm import LLM, load_llm


class _Canned(BaseHTTPRequestHandler):
    """Answers /v1/models and /v1/chat/completions like a llama.cpp or vLLM server would."""

    requests: list[dict] = []
    answer = "1. Good morning, everyone."

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        if self.path == "/v1/models":
            self._send(200, {"data": [{"id": "canned"}]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"body": body, "auth": self.headers.get("Authorization")})
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": "not found"})
        if body["model"] != "canned":
            return self._send(400, {"error": f"unknown model {body['model']}"})
        self._send(200, {"choices": [{"message": {"role": "assistant", "content": type(self).answer}}],
                         "usage": {"prompt_tokens": 12, "completion_tokens": 5}})


@pytest.fixture
def server():
    _Canned.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_openai_compatible_engine_against_a_local_server(server, monkeypatch):
    monkeypatch.setenv("TEST_LLM_KEY", "secret")
    llm = load_llm(LlmSettings(engine="openai-compatible", base_url=server, model="canned", api_key_env="TEST_LLM_KEY"))
    assert isinstance(llm, LLM)
    schema = {"type": "object", "properties": {"text": {"type": "string"}}}
    answer = llm.complete([{"role": "user", "content": "1. 皆様、おはようございます。"}], max_tokens=64, json_schema=schema)
    assert answer == "1. Good morning, everyone."
    sent = _Canned.requests[-1]
    assert sent["auth"] == "Bearer secret"
    assert sent["body"]["max_tokens"] == 64 and sent["body"]["temperature"] == 0.0
    assert sent["body"]["response_format"]["json_schema"]["schema"] == schema
    assert llm.usage["completion_tokens"] == 5 and llm.usage["calls"] == 1
    assert llm.describe() == {"engine": "openai-compatible", "model": "canned", "base_url": server, "seed": 0}


def test_openai_compatible_errors_are_one_line(server, monkeypatch):
    with pytest.raises(PipelineError, match=r"answered HTTP 400 .*unknown model") as error:
        load_llm(LlmSettings(engine="openai-compatible", base_url=server, model="other")).complete(
            [{"role": "user", "content": "hi"}])
    assert "\n" not in str(error.value)
    with pytest.raises(PipelineError, match="environment variable NO_SUCH_KEY is not set"):
        load_llm(LlmSettings(engine="openai-compatible", base_url=server, model="canned", api_key_env="NO_SUCH_KEY"))
    with pytest.raises(PipelineError, match="cannot reach http://127.0.0.1:9/v1/models"):
        load_llm(LlmSettings(engine="openai-compatible", base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2))


def test_translate_stage_through_the_http_engine(server, tmp_path):
    """The whole stage over HTTP: the canned server answers every batch with one line, so the
    lines it does not answer are retried alone and then marked, never dropped."""
    from pipeline.core.config import load_config
    from pipeline.core.runner import run_pipeline
    from tests.translate_fakes import CONFIG, TEXTS, read_translations, write_aligned

    config_path = tmp_path / "event.yaml"
    config_path.write_text(CONFIG + f"llm: {{engine: openai-compatible, base_url: '{server}', model: canned}}\n"
                           "translate: {max_retries: 1}\n", encoding="utf-8")
    out = tmp_path / "out"
    write_aligned(out)
    _Canned.answer = "1. Thank you very much for coming today."
    try:
        run_pipeline(config_path, load_config(config_path), config_path, out, from_stage="translate", to_stage="translate")
    finally:
        _Canned.answer = "1. Good morning, everyone."
    segments = read_translations(out)["segments"]
    assert len(segments) == len(TEXTS)
    # Japanese lines without glossary entries got the (English) canned answer; English lines
    # into Japanese cannot pass the script check and are marked for the editor.
    assert segments["seg-00002"]["en"]["status"] == "ok"
    assert segments["seg-00003"]["ja"]["status"] == "needs_translation"
    assert segments["seg-00003"]["ja"]["checks"]["target_script"] is False


@pytest.mark.slow
def test_transformers_engine_with_a_tiny_random_marian_model(tmp_path):
    """A real MarianMTModel (random weights, 2 layers, 64 dims) and a real SentencePiece
    tokenizer built here: the engine's loading, language handling and generation paths run."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["good morning everyone", "export control is one tool", "thank you very much",
                                 "research security matters", "the university of tokyo"] * 20), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(tmp_path / "spm"), vocab_size=40,
                                   character_coverage=1.0, model_type="unigram", bos_id=-1, eos_id=1, unk_id=2,
                                   pad_id=0, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>")
    processor = spm.SentencePieceProcessor(model_file=str(tmp_path / "spm.model"))
    vocab = {processor.id_to_piece(i): i for i in range(processor.get_piece_size())}
    vocab[">>jpn<<"] = len(vocab)
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    for name in ("source.spm", "target.spm"):
        (tmp_path / name).write_bytes((tmp_path / "spm.model").read_bytes())
    tokenizer = MarianTokenizer(str(tmp_path / "source.spm"), str(tmp_path / "target.spm"), str(tmp_path / "vocab.json"))
    torch.manual_seed(0)
    config = MarianConfig(vocab_size=len(vocab), d_model=64, encoder_layers=2, decoder_layers=2,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
                          decoder_ffn_dim=128, max_position_embeddings=128, pad_token_id=0, eos_token_id=1,
                          decoder_start_token_id=0, forced_eos_token_id=1)
    model_dir = tmp_path / "tiny-marian"
    MarianMTModel(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)

    llm = load_llm(LlmSettings(engine="transformers", model=str(model_dir), threads=1))
    out = llm.translate(["good morning everyone", "thank you very much"], "en", "ja", max_tokens=8)
    assert len(out) == 2 and all(isinstance(t, str) for t in out)
    assert llm.usage["calls"] == 1 and llm.usage["completion_tokens"] > 0
    assert llm.describe()["architecture"] == "MarianMTModel"
    with pytest.raises(PipelineError, match="runs translation models only"):
        llm.complete([{"role": "user", "content": "hi"}])
    with pytest.raises(PipelineError, match="transformers could not load"):
        load_llm(LlmSettings(engine="transformers", model=str(tmp_path / "no-such-model")))


@pytest.mark.slow
def test_packaged_gguf_translates_demo_sentences():
    """The default engine: the packaged model joined, checked and run on the chat template."""
    import sacrebleu

    from pipeline.text.llm_models import PACKAGED_GGUF_BYTES, packaged_gguf

    assert packaged_gguf().stat().st_size == PACKAGED_GGUF_BYTES
    llm = load_llm(LlmSettings(threads=2, context_tokens=1024))
    pairs = [("城山です。日本では今年、経済安全保障推進法が成立しました。",
              "I am Shiroyama. In Japan, the Economic Security Promotion Act was passed this year."),
             ("研究開発は本来、国際的に開かれたものです。", "Research and development is by nature open and international.")]
    outputs = []
    for source, _ in pairs:
        outputs.append(llm.complete([
            {"role": "system", "content": "Translate the Japanese text into English. Answer with the translation only.\n"
                                          "Write these names exactly: 城山 = Shiroyama"},
            {"role": "user", "content": source}], max_tokens=60))
    assert "Shiroyama" in outputs[0]
    assert all(not any("\u3040" <= ch <= "\u9fff" for ch in out) for out in outputs)
    # A loose floor: MODELS.md measured chrF ~59-61 JA->EN on such sentences; a broken engine or
    # chat template scores far below 35.
    assert sacrebleu.corpus_chrf(outputs, [[r for _, r in pairs]]).score > 35
    assert llm.usage["completion_tokens"] > 10


@pytest.mark.slow
def test_packaged_gguf_answers_do_not_depend_on_earlier_requests():
    """Issue 24 item 6, at the engine: requests decoded together give, token for token and to the
    last bit of each log-probability, the same answers whatever was asked before them (each call
    starts from an empty cache and cuts its prompts into batches the same way). llama.cpp's
    results depend on how a prompt's tokens are grouped into batches; reusing an earlier
    request's cache, as llama-cpp-python's create_chat_completion does, changes that grouping."""
    from pipeline.text.llm import complete_many

    llm = load_llm(LlmSettings(threads=2, parallel=2, context_tokens=1024))
    system = {"role": "system", "content": "Translate the Japanese line into English. Answer with the translation only."}
    asked = [[system, {"role": "user", "content": "研究開発は本来、国際的に開かれたものです。"}],
             [system, {"role": "user", "content": "以上で終わります。"}]]
    first = complete_many(llm, asked, max_tokens=[24, 24])
    complete_many(llm, [[system, {"role": "user", "content": "研究開発は本来、国際的に開かれたものですか？"}]], max_tokens=[8])
    again = complete_many(llm, asked, max_tokens=[24, 24])
    assert [g.text for g in again] == [g.text for g in first]
    assert [g.logprobs for g in again] == [g.logprobs for g in first]
    assert all(g.logprobs and all(lp <= 0 for lp in g.logprobs) for g in first)
    # Sampled answers (retries) are seeded from the prompt: the same prompt, the same answer.
    sampled = [complete_many(llm, asked[:1], max_tokens=[24], temperature=0.3)[0].text for _ in range(2)]
    assert sampled[0] == sampled[1]
    llm.close()


@pytest.mark.slow
def test_saved_system_turns_give_the_answers_of_a_fresh_engine():
    """System turns are evaluated once and their cache state written back later; an engine that
    saved them while answering other requests (in another order, beside other system turns)
    answers a round to the last bit as a freshly loaded engine does: a resumed run is
    byte-identical."""
    from pipeline.text.llm import complete_many

    def system(direction: str) -> dict:
        return {"role": "system", "content": f"Translate the line into {direction}. Answer with the translation only."}

    round_ = [[system("English"), {"role": "user", "content": "以上で終わります。"}],
              [system("Japanese"), {"role": "user", "content": "Thank you for joining us today."}],
              [system("English"), {"role": "user", "content": "研究開発は本来、国際的に開かれたものです。"}]]
    warmed = load_llm(LlmSettings(threads=2, parallel=3, context_tokens=1024))
    complete_many(warmed, [[system("Japanese"), {"role": "user", "content": "Good morning."}]], max_tokens=[8])
    before = warmed.usage["prompt_tokens"]
    answers = complete_many(warmed, round_, max_tokens=[24, 24, 24])
    japanese_turn = warmed._parallel.prompt_tokens(round_[1])[1]
    warmed_cost = warmed.usage["prompt_tokens"] - before
    warmed.close()
    fresh = load_llm(LlmSettings(threads=2, parallel=3, context_tokens=1024))
    again = complete_many(fresh, round_, max_tokens=[24, 24, 24])
    # The warmed engine did not evaluate the Japanese system turn again; the English one is
    # evaluated once for its two requests by both.
    assert fresh.usage["prompt_tokens"] - warmed_cost == japanese_turn > 8
    fresh.close()
    assert [g.text for g in again] == [g.text for g in answers]
    assert [g.logprobs for g in again] == [g.logprobs for g in answers]


@pytest.mark.slow
def test_a_scored_text_gets_the_log_probabilities_of_its_own_tokens():
    """``score``: the log-probability of each token of a text inside the prompt, read while the
    prompt is evaluated (a quality signal: a misheard source line is text the model does not
    expect). They agree with llama-cpp-python's own evaluation of the same tokens, a garbled line
    scores lower than the line as said, and the answers are those of an unscored call."""
    import numpy as np

    from pipeline.text.llm import complete_many

    system = {"role": "system", "content": "Translate the Japanese line into English. Answer with the translation only."}
    said = "研究開発は本来、国際的に開かれたものです。"
    misheard = "研究開発は本来、国際的に開かれ多物です。"
    asked = [[system, {"role": "user", "content": f"Speaker: {line}"}] for line in (said, misheard)]
    llm = load_llm(LlmSettings(threads=2, parallel=2, context_tokens=1024))
    plain = complete_many(llm, asked, max_tokens=[24, 24])
    scored = complete_many(llm, asked, max_tokens=[24, 24], score=[said, misheard])
    assert [g.text for g in scored] == [g.text for g in plain] and plain[0].scored is None
    tokens, _ = llm._parallel.prompt_tokens(asked[0])
    start, end = llm._parallel.span(asked[0], said, tokens)
    assert llm._llama.detokenize(tokens[start:end]).decode().strip() == said  # " 研" is one token
    assert len(scored[0].scored) == end - start
    llm.close()

    import llama_cpp

    reference = llama_cpp.Llama(model_path=str(llm.path), n_ctx=1024, n_threads=2, logits_all=True, verbose=False)
    reference.eval(tokens)
    logits = np.array(reference.scores[start - 1:end - 1])
    top = logits.max(axis=1, keepdims=True)
    expected = logits[np.arange(end - start), tokens[start:end]] - (top[:, 0] + np.log(np.exp(logits - top).sum(axis=1)))
    # The same tokens, the same model; llama.cpp's sums differ with how the prompt was cut into
    # batches (here the system turn is a saved state), by up to ~0.3 on a token (measured).
    difference = np.abs(np.array(scored[0].scored) - expected)
    assert difference.max() < 0.6 and difference.mean() < 0.15
    assert scored[1].mean_scored < scored[0].mean_scored - 0.2
