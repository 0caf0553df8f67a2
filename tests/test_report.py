"""The report stage with a fake LLM and a fake embedder: structure, checks, fallbacks, bad input,
incremental re-drafting and renderings. Real models on the demo: tests/test_report_demo.py."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.config import load_config
from pipeline.core.config.event import Term
from pipeline.report import grounding
from pipeline.report.grounding import Checker, numbers, proper_nouns
from pipeline.report.source import load_source
from pipeline.report.stage import build, claims_of

CONFIG = """
event:
  title: {en: "Test forum on research security", ja: "研究セキュリティに関するテストフォーラム"}
  date: "2024-05-01"
  languages: [en, ja]
  people:
    - {id: sato, name: {en: "Kenji Sato", ja: "佐藤健二"}, aliases: ["佐藤"], title: {en: "Partner", ja: "パートナー"},
       affiliation: {en: "Sato Law", ja: "佐藤法律事務所"}, languages: [ja], roles: [host]}
    - {id: lee, name: {en: "Anna Lee", ja: "アンナ・リー"}, aliases: ["リー"], title: {en: "Director of Research", ja: "研究部長"},
       affiliation: {en: "Example University", ja: "エグザンプル大学"}, languages: [en], roles: [speaker]}
    - {id: mori, name: {en: "Taro Mori", ja: "森太郎"}, aliases: ["森"], title: {en: "Professor", ja: "教授"},
       affiliation: {en: "University of Tokyo", ja: "東京大学"}, languages: [ja], roles: [panelist]}
    - {id: kato, name: {en: "Yumi Kato", ja: "加藤由美"}, aliases: ["加藤"], title: {en: "Director", ja: "部長"},
       affiliation: {en: "Forum", ja: "フォーラム"}, languages: [ja], roles: [moderator]}
    - {id: interp, name: {en: "Interpreter", ja: "通訳"}, languages: [ja], roles: [interpreter]}
  sessions:
    - {id: opening, title: {en: "Opening", ja: "開会"}, start: "10:00", end: "10:10",
       people: [{person: sato, role: host}, {person: lee, role: speaker}]}
    - {id: panel, title: {en: "Panel", ja: "パネル"}, start: "10:10", end: "10:30",
       people: [{person: kato, role: moderator}, {person: mori, role: panelist}, {person: lee, role: panelist}]}
    - {id: closing, title: {en: "Closing", ja: "閉会"}, start: "10:30", end: "10:40",
       people: [{person: sato, role: host}]}
recording:
  tracks:
    - {name: floor}
    - {name: interp, stream: 1, role: interpretation, language: ja}
"""

LINES = [
    ("sato", "ja", "opening", "皆様、おはようございます。本日のフォーラムを開催いたします。"),
    ("lee", "en", "opening", "Research security matters because open science must not be naive."),
    ("lee", "en", "opening", "Our university screens every sponsor against three restricted lists."),
    ("interp", "ja", "opening", "研究セキュリティが重要なのは、開かれた科学が無防備であってはならないからです。"),
    ("kato", "ja", "panel", "森先生、大学には担当者が何人必要でしょうか。"),
    ("mori", "ja", "panel", "輸出管理の担当者は一人か二人という大学が多いです。"),
    ("mori", "ja", "panel", "専門人材の育成が急務です。"),
    ("lee", "en", "panel", "We have a dedicated team of six people."),
    ("unknown-1", "en", "panel", "Some remark by a voice nobody could name."),
]
EN_OF = {"輸出管理の担当者は一人か二人という大学が多いです。": "many universities have only one or two export control staff",
         "専門人材の育成が急務です。": "training specialists is urgent"}
JA_OF = {"Research security matters because open science must not be naive.": "開かれた科学は無防備であってはならないため、研究セキュリティは重要だ",
         "Our university screens every sponsor against three restricted lists.": "大学はすべてのスポンサーを三つの制限リストと照合している",
         "We have a dedicated team of six people.": "六人の専任チームがある"}


def transcript(lines=LINES) -> dict:
    segments = []
    for k, (speaker, language, session, text) in enumerate(lines):
        track = "interp" if speaker == "interp" else "floor"
        segments.append({"id": f"seg-{k + 1:05d}", "track": track, "start_s": 10.0 * k, "end_s": 10.0 * k + 8.0,
                         "language": language, "text": text, "speaker": speaker, "session": session})
    from pipeline.core.artifacts import schema_version

    return {"schema_version": schema_version("reviewed.json"), "duration_s": 10.0 * len(lines), "languages": ["en", "ja"], "tracks": [],
            "segments": segments, "voices": {}, "people": {}, "sessions": []}


class FakeEmbedder:
    """Character-trigram hashing: same-language paraphrases are close, other texts far."""

    def embed(self, texts):
        out = np.zeros((len(texts), 512), dtype=np.float32)
        for row, text in enumerate(texts):
            text = text.lower()
            for i in range(max(len(text) - 2, 1)):
                out[row, zlib.crc32(text[i:i + 3].encode()) % 512] += 1.0
            out[row] /= max(np.linalg.norm(out[row]), 1e-9)
        return out

    @staticmethod
    def describe():
        return {"engine": "fake"}


def lookup(table: dict, text: str):
    key = text.strip().rstrip(".。").lower()
    return next((v for k, v in table.items() if k.rstrip(".。").lower() == key), text)


class FakeLLM:
    """Answers the drafter's prompts from the numbered sentences; ``extra`` points are planted."""

    def __init__(self, extra: list[dict] | None = None, garbage: bool = False):
        self.calls = []
        self.extra = extra or []
        self.garbage = garbage

    def complete(self, messages, *, max_tokens=512, temperature=0.0, json_schema=None):
        prompt = messages[-1]["content"] if len(messages) < 3 else messages[1]["content"]
        self.calls.append(prompt)
        if self.garbage:
            return "Sure! Here is a summary of the speech."
        numbered = re.findall(r"^\[(\d+)\] (.+)$", prompt, flags=re.MULTILINE)
        if prompt.startswith("Translate"):
            target = "Japanese" if "into Japanese" in prompt else "English"
            table = JA_OF if target == "Japanese" else EN_OF
            return json.dumps({"translations": [lookup(table, t) for _, t in numbered]}, ensure_ascii=False)
        points = []
        for number, text in numbered[:2]:
            if prompt.startswith("Points made"):
                points.append({"text": text, "cite": [int(number)]})
            else:
                english, japanese = (text, lookup(JA_OF, text)) if text.isascii() else (lookup(EN_OF, text), text)
                point = {"en": english, "cite": [int(number)]}
                if '"ja"' in prompt:
                    point["ja"] = japanese
                points.append(point)
        if "Sentences said by" in prompt and len(messages) < 3:
            points = self.extra + points
        return json.dumps({"points": points}, ensure_ascii=False)

    def describe(self):
        return {"engine": "fake"}


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "event.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path)


def run(config, llm=None, lines=LINES, **kwargs):
    return build(config, transcript(lines), llm=llm, embedder=FakeEmbedder(), **kwargs)


def texts(report, language=None):
    return [c["text"] for lang, c, _ in claims_of(report) if language in (None, lang)]


def test_sections_follow_the_agenda_and_people_come_from_it(config):
    report, counters = run(config, FakeLLM())
    assert [s["id"] for s in report["sections"]] == ["overview", "session:opening", "session:panel", "session:closing"]
    opening = report["sections"][1]
    assert [p["person"]["id"] for p in opening["parts"]] == ["sato", "lee"]
    lee = opening["parts"][1]["person"]
    assert lee["name"] == {"en": "Anna Lee", "ja": "アンナ・リー"} and lee["title"]["en"] == "Director of Research"
    # Every drafted statement cites segments of the person it is about.
    by_id = {s["id"]: s for s in transcript()["segments"]}
    for _, claim, person in claims_of(report):
        assert claim["cites"]
        if person:
            assert all(by_id[c]["speaker"] == person for c in claim["cites"])
    assert counters["claims_supported"] == counters["claims"]


def test_a_planted_number_and_a_planted_person_are_caught(config):
    planted = [{"text": "the university screens 40 sponsors every year", "cite": [2]},
               {"text": "Dr. John Miller agreed that research security matters", "cite": [1]}]
    # Similarity off (the fake embedder cannot compare languages): the other checks must catch them.
    settings = config.report.model_copy(update={"min_support": 0.0, "support_rank": 999})
    report, counters = run(config.model_copy(update={"report": settings}), FakeLLM(extra=planted))
    drafted = " ".join(texts(report))
    assert "40" not in drafted and "Miller" not in drafted
    assert counters["removed"] >= 2
    reasons = " ".join(counters["failure_examples"])
    assert "number 40" in reasons and "Miller" in reasons


def test_checker_flags_each_kind_of_invention(config):
    source = load_source(config, transcript())
    checker = Checker(source, FakeEmbedder(), min_support=0.0, support_rank=99)
    ok = checker.check("open science must not be naive", "en", ["seg-00002"], "lee")
    assert ok.ok, ok.failures
    both = checker.check("open science must not be naive, and “three restricted lists”", "en",
                         ["seg-00002", "seg-00003"], "lee")
    assert both.ok, both.failures
    assert "number 40" in checker.check("they screen 40 lists", "en", ["seg-00003"], "lee").failures[0]
    assert "not verbatim" in checker.check("she said “science must be closed”", "en", ["seg-00002"], "lee").failures[0]
    assert "not in the transcript" in checker.check("x", "en", ["seg-09999"], "lee").failures[0]
    interpreter = checker.check("研究セキュリティが重要", "ja", ["seg-00004"], "lee")
    assert "interpretation" in interpreter.failures[0]  # the interpreter's words are never the speaker's
    other = checker.check("many universities have one or two staff", "en", ["seg-00006"], "lee")
    assert "spoken by mori" in other.failures[0]
    assert "Oxford" in checker.check("in fact Oxford screens sponsors", "en", ["seg-00003"], "lee").failures[0]
    # Across languages a number written in kanji is found; an unknown name is marked, not dropped.
    assert checker.check("one or two export control staff", "en", ["seg-00006"], "mori").ok
    assert "Professor Yamada" in " ".join(checker.check("Professor Yamada said training is urgent", "en",
                                                        ["seg-00007"], "mori").failures)


def test_numbers_and_proper_nouns():
    assert numbers("四つの柱と一人か二人") == {4.0, 1.0, 2.0}
    assert numbers("一方で、十分に") == set()
    assert numbers("In May, six of the twenty-one staff") == {5.0, 6.0, 21.0}
    assert numbers("one of the pillars") == set()
    assert proper_nouns("research with the G7 and Harvard", "en") == {"G7", "Harvard"}
    assert proper_nouns("It praised the US Japan Alliance's strength", "en") == {"US", "Japan", "Alliance"}
    assert proper_nouns("ハーバード大学とG7", "ja") == {"ハーバード", "G7"}


def test_garbage_from_the_model_falls_back_to_the_speakers_own_sentences(config):
    report, counters = run(config, FakeLLM(garbage=True))
    lee = report["sections"][1]["parts"][1]
    assert [c["origin"] for c in lee["points"]["en"]] == ["extractive", "extractive"]
    assert lee["points"]["en"][0]["text"] in LINES[1][3]
    assert counters["fallbacks"] > 0 and counters["model_failures"] > 0


def test_the_overview_is_drafted_from_checked_points(config):
    report, _ = run(config, FakeLLM())
    overview = report["sections"][0]
    assert overview["sentences"]["en"] and all(c["cites"] for c in overview["sentences"]["en"])
    assert overview["notes"] and "could not be named" in overview["notes"][0]["en"]


def test_panel_questions_and_answers(config):
    report, _ = run(config, FakeLLM())
    qa = report["sections"][2]["qa"]
    assert qa and qa[0]["question"]["person"] == "kato"
    assert {a["person"] for a in qa[0]["answers"]} == {"mori", "lee"}
    answer = next(a for a in qa[0]["answers"] if a["person"] == "lee")
    assert answer["translations"]["ja"]["text"] == "六人の専任チームがある"


def test_empty_transcript_gives_an_honest_draft(config):
    report, counters = run(config, FakeLLM(), lines=[])
    assert counters["claims"] == 0
    assert "nothing to report" in report["sections"][0]["notes"][0]["en"]
    assert all(s["notes"][0]["en"] == "No speech was recorded for this session." for s in report["sections"][1:])


def test_no_named_speakers_gives_an_honest_draft(config):
    lines = [("unknown-1", lang, session, text) for _, lang, session, text in LINES if _ != "interp"]
    report, counters = run(config, FakeLLM(), lines=lines)
    assert counters["claims"] == 0
    notes = " ".join(n["en"] for n in report["sections"][0]["notes"])
    assert "nothing to report" in notes and "could not be named" in notes


def test_a_session_without_speech_says_so(config):
    report, _ = run(config, FakeLLM())
    closing = report["sections"][3]
    assert closing["parts"] == [] and "No speech" in closing["notes"][0]["en"]


def test_only_sections_citing_changed_segments_are_redrafted(config):
    first, _ = run(config, FakeLLM())
    changed = list(LINES)
    changed[6] = ("mori", "ja", "panel", "専門人材の育成と研修が急務です。")
    llm = FakeLLM()
    second, counters = run(config, llm, lines=changed, previous=first)
    status = {s["id"]: s["status"] for s in second["sections"]}
    assert status == {"overview": "drafted", "session:opening": "reused", "session:panel": "drafted",
                      "session:closing": "reused"}
    assert not any("Anna Lee" in c or "Research security" in c for c in llm.calls if c.startswith("Sentences"))


def test_a_section_edited_by_hand_is_never_overwritten(config):
    first, _ = run(config, FakeLLM())
    changed = list(LINES)
    changed[5] = ("mori", "ja", "panel", "輸出管理の担当者は三人という大学が多いです。")
    edits = {"session:panel": {"text": {"en": "The panel agreed on staffing."}, "status": "reviewed"}}
    second, counters = run(config, FakeLLM(), lines=changed, previous=first, edits=edits)
    panel = second["sections"][2]
    assert panel["status"] == "stale" and panel["edited_text"]["en"] == "The panel agreed on staffing."
    assert counters["stale"] == 1


def test_renderings(config, tmp_path):
    from pipeline.report.render import render_all

    report, _ = run(config, FakeLLM())
    files = render_all(report, config, tmp_path)
    assert set(files) == {"report.en.md", "report.en.html", "report.ja.md", "report.ja.html", "report.docx"}
    english = (tmp_path / "report.en.md").read_text(encoding="utf-8")
    assert "Anna Lee, Director of Research, Example University noted that" in english
    assert "[[00:10]](#t=10.0)" in english
    page = (tmp_path / "report.ja.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in page and 'href="#t=10.0"' in page and "アンナ・リー" in page
    import docx

    assert any("Anna Lee" in p.text for p in docx.Document(str(tmp_path / "report.docx")).paragraphs)


def test_japanese_from_the_translated_english_draft(config):
    # The fake embedder cannot compare languages: rank checks off.
    settings = config.report.model_copy(update={"japanese_from": "translate", "support_rank": 999, "min_support": 0.0})
    report, _ = run(config.model_copy(update={"report": settings}), FakeLLM())
    lee = report["sections"][1]["parts"][1]
    assert lee["points"]["ja"][0]["origin"] == "translation:llm"


def test_stage_runs_from_the_table(config, tmp_path, monkeypatch):
    from pipeline.core.runner import run_pipeline
    from pipeline.core.storage import write_json
    from pipeline.report import stage as report_stage

    monkeypatch.setattr(report_stage, "Embedder", FakeEmbedder)
    monkeypatch.setattr(grounding, "Embedder", FakeEmbedder)
    config_path = tmp_path / "event.yaml"
    settings = config.report.model_copy(update={"engine": "extractive"})
    config = config.model_copy(update={"report": settings})
    out = tmp_path / "out"
    out.mkdir()
    write_json(out / report_stage.INPUT, transcript())
    recording = tmp_path / "rec.opus"
    recording.write_bytes(b"")
    run_pipeline(recording, config, config_path, out, from_stage="report", to_stage="report")
    assert (out / "report.json").is_file() and (out / "report.en.md").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["report"]["counters"]["claims"] > 0


def test_a_clause_keeps_names_and_i_capitalised():
    from pipeline.report.draft import clause

    assert clause("Shiroyama said that research is open.", "en") == "research is open"
    assert clause("Shiroyama is discussing open research.", "en", {"Shiroyama"}) == "Shiroyama is discussing open research"
    assert clause("I'd like to talk about it.", "en") == "I'd like to talk about it"
    assert clause("研究は開かれていると述べた。", "ja") == "研究は開かれている"
    assert clause("Shiroyamaは、研究は開かれている。", "ja") == "研究は開かれている"


def test_a_share_of_a_translated_sentence_is_not_a_rendering_of_its_segment(config):
    lines = [("mori", "ja", "panel", "輸出管理の担当者は、"), ("mori", "ja", "panel", "一人か二人という大学が多いです。")]
    whole = {"sentence": ["seg-00001", "seg-00002"], "sentence_text": "Many universities have one or two staff."}
    translations = {"segments": {
        "seg-00001": {"en": {"text": "Many universities", "source": "machine", "status": "ok"} | whole},
        "seg-00002": {"en": {"text": "have one or two staff.", "source": "machine", "status": "ok"} | whole}}}
    source = load_source(config, transcript(lines), translations)
    both = source.text_rendering("輸出管理の担当者は、一人か二人という大学が多いです。", ["seg-00001", "seg-00002"], "en")
    assert both["text"] == "Many universities have one or two staff."
    assert source.text_rendering("輸出管理の担当者は、", ["seg-00001"], "en") is None


def test_a_moderator_framing_the_discussion_gets_points_and_questions_stay_in_the_qa(config):
    lines = list(LINES)
    lines.insert(4, ("kato", "ja", "panel", "最初の論点は、大学の担当者の不足です。"))
    report, _ = run(config, FakeLLM(), lines=lines)
    moderator = next(p for p in report["sections"][2]["parts"] if p["person"]["id"] == "kato")
    said = [c["text"] for claims in moderator["points"].values() for c in claims]
    assert any("担当者の不足" in t for t in said)
    assert not any("何人必要" in t for t in said)  # the question is in the Q&A, not a point
    assert report["sections"][2]["qa"][0]["question"]["person"] == "kato"


def test_the_designation_does_not_repeat_what_the_title_names():
    from pipeline.report.compose import designation

    card = {"name": {"en": "Hideaki Shiroyama"}, "title": {"en": "Director of Institute for Future Initiatives"},
            "affiliation": {"en": "Institute for Future Initiatives, The University of Tokyo"},
            "honorific": {"en": "Professor", "ja": "教授"}}
    assert designation(card, "en") == ("Professor Hideaki Shiroyama, Director of Institute for Future Initiatives, "
                                       "The University of Tokyo")
    card["title"]["en"] = "Partner (Attorney)"
    card["affiliation"]["en"] = "TMI Associates"
    assert designation(card, "en").endswith("Partner (Attorney), TMI Associates")


def test_the_events_terms_said_in_a_part_are_given_to_the_model_with_their_rendering(config):
    glossary = [{"en": "export control", "ja": "輸出管理"}, {"en": "research security", "ja": "研究セキュリティ"},
                {"en": "deemed export", "ja": "みなし輸出"}]
    config = config.model_copy(update={"event": config.event.model_copy(update={
        "glossary": [Term.model_validate(t) for t in glossary]}),
        "report": config.report.model_copy(update={"points_written_in": "both"})})
    llm = FakeLLM()
    run(config, llm)
    mori = next(c for c in llm.calls if "Sentences said by" in c and "輸出管理の担当者" in c)
    lee = next(c for c in llm.calls if "Sentences said by" in c and "open science" in c)
    # Each part hears only the terms said in its own sentences (English or Japanese form).
    assert "export control = 輸出管理" in mori and "research security" not in mori
    assert "research security = 研究セキュリティ" in lee and "deemed export" not in lee


RENDERINGS = {"seg-00006": {"en": {"text": "Many universities have only one or two export control staff.",
                                 "source": "machine", "status": "ok"}},
              "seg-00007": {"en": {"text": "Training specialists is urgent.", "source": "machine", "status": "ok"}},
              "seg-00002": {"ja": {"text": "開かれた科学は無防備であってはならないため、研究セキュリティは重要だ。",
                                 "source": "machine", "status": "ok"}},
              "seg-00003": {"ja": {"text": "当大学はすべてのスポンサーを三つの制限リストと照合しています。",
                                 "source": "machine", "status": "ok"}}}


def test_a_point_is_written_in_the_language_spoken_and_rendered_into_the_other(config):
    renderings = RENDERINGS
    # Every part here is one sentence: "drafted" asks the model for its point all the same.
    settings = config.report.model_copy(update={"min_support": 0.0, "support_rank": 999,
                                                "one_sentence_parts": "drafted"})
    llm = FakeLLM()
    report, _ = build(config.model_copy(update={"report": settings}), transcript(), {"segments": renderings},
                      llm=llm, embedder=FakeEmbedder())
    asked = [c for c in llm.calls if "Sentences said by" in c]
    mori = next(c for c in asked if "輸出管理の担当者" in c)
    lee = next(c for c in asked if "open science" in c)
    # Each request asks for one language only: the one its sentences were said in.
    assert '"ja": "..."' in mori and '"en": "..."' not in mori
    assert '"en": "..."' in lee and '"ja": "..."' not in lee
    parts = {(s["session"], p["person"]["id"]): p for s in report["sections"] for p in s.get("parts", [])}
    mori_en = parts[("panel", "mori")]["points"]["en"]
    lee_ja = parts[("opening", "lee")]["points"]["ja"]
    assert {"text": renderings["seg-00006"]["en"]["text"], "origin": "translation:machine"}.items() <= mori_en[0].items()
    assert any(c["text"] == renderings["seg-00002"]["ja"]["text"] and c["origin"] == "translation:machine"
               for c in lee_ja)
    assert all(c["origin"] != "llm" for c in mori_en + lee_ja)  # the model wrote no point across languages
    # Before the translate stage has run there is nothing to render from: both languages are asked for.
    llm = FakeLLM()
    build(config.model_copy(update={"report": settings}), transcript(), llm=llm, embedder=FakeEmbedder())
    mori = next(c for c in llm.calls if "Sentences said by" in c and "輸出管理の担当者" in c)
    assert '"en": "..."' in mori and '"ja": "..."' in mori


def test_a_one_sentence_part_is_reported_as_said_without_a_request(config):
    settings = config.report.model_copy(update={"min_support": 0.0, "support_rank": 999})
    llm = FakeLLM()
    report, _ = build(config.model_copy(update={"report": settings}), transcript(), {"segments": RENDERINGS},
                      llm=llm, embedder=FakeEmbedder())
    # Every part is one sentence; those with a rendering into the other language are not sent
    # to the model, the one without (Lee's panel sentence) is, written in both languages.
    asked = [c for c in llm.calls if "Sentences said by" in c]
    assert len(asked) == 1 and "team of six" in asked[0] and '"ja": "..."' in asked[0]
    parts = {(s["session"], p["person"]["id"]): p for s in report["sections"] for p in s.get("parts", [])}
    mori = parts[("panel", "mori")]
    assert [(c["text"], c["origin"]) for c in mori["points"]["ja"]] == [
        ("輸出管理の担当者は一人か二人という大学が多いです。", "extractive"), ("専門人材の育成が急務です。", "extractive")]
    assert [(c["text"], c["origin"]) for c in mori["points"]["en"]] == [
        (RENDERINGS["seg-00006"]["en"]["text"], "translation:machine"),
        (RENDERINGS["seg-00007"]["en"]["text"], "translation:machine")]
    # Both sentences are already reported as said: no quote repeats one.
    assert mori.get("quote") is None
    # Without a rendering of the other language (before the translate stage) the model still drafts both.
    llm = FakeLLM()
    build(config.model_copy(update={"report": settings}), transcript(), llm=llm, embedder=FakeEmbedder())
    assert any("輸出管理の担当者" in c for c in llm.calls if "Sentences said by" in c)


def test_a_japanese_part_of_several_sentences_is_reported_as_said_by_default(config):
    # One point per speaker: Mori's two Japanese sentences make one part.
    settings = config.report.model_copy(update={"min_support": 0.0, "support_rank": 999, "max_points_per_speaker": 1})

    def mori_of(update: dict):
        llm = FakeLLM()
        report, _ = build(config.model_copy(update={"report": settings.model_copy(update=update)}), transcript(),
                          {"segments": RENDERINGS}, llm=llm, embedder=FakeEmbedder())
        part = next(p for s in report["sections"] for p in s.get("parts", []) if p["person"]["id"] == "mori")
        asked = any("輸出管理の担当者" in c for c in llm.calls if "Sentences said by" in c)
        return part, asked

    mori, asked = mori_of({})
    assert not asked
    assert [(c["text"], c["origin"]) for c in mori["points"]["ja"]] == [
        ("輸出管理の担当者は一人か二人という大学が多いです。", "extractive"), ("専門人材の育成が急務です。", "extractive")]
    assert [c["origin"] for c in mori["points"]["en"]] == ["translation:machine", "translation:machine"]
    assert mori["quote"] is None  # every point is the speaker's own words already
    # At most ``quoted_sentences_per_part``: the most central one (the two are equally far from
    # their centroid under the fake embedder; the longer wins).
    mori, asked = mori_of({"quoted_sentences_per_part": 1})
    assert not asked and [c["text"] for c in mori["points"]["ja"]] == ["輸出管理の担当者は一人か二人という大学が多いです。"]
    assert [c["text"] for c in mori["points"]["en"]] == [RENDERINGS["seg-00006"]["en"]["text"]]
    # For a model that summarises Japanese, the part is drafted.
    mori, asked = mori_of({"quote_parts_in": []})
    assert asked and any(c["origin"] == "llm" for c in mori["points"]["ja"])


def test_the_context_is_cut_into_one_part_per_point_so_the_points_cover_the_whole_talk():
    from pipeline.report.draft import parts_of, points_schema

    assert parts_of(8, 3) == [[0, 1, 2], [3, 4], [5, 6, 7]]
    assert parts_of(2, 3) == [[0], [1]]  # fewer sentences than points: one part each
    assert points_schema(["en", "ja"], 3)["properties"]["points"]["maxItems"] == 3


def test_an_answer_cut_off_at_the_token_cap_keeps_the_points_it_finished():
    from pipeline.report.draft import parse_json

    cut = '{"points": [{"en": "a", "cite": [1]}, {"en": "b", "cite": [2]}, {"en": "c'
    assert parse_json(cut) == {"points": [{"en": "a", "cite": [1]}, {"en": "b", "cite": [2]}]}
    assert parse_json('Sure: {"translations": ["x"]} done') == {"translations": ["x"]}
    assert parse_json("Sure! Here is a summary.") is None


def test_a_greeting_addressed_to_someone_is_a_courtesy_not_a_point():
    from pipeline.report.source import _COURTESY

    assert _COURTESY.match("Shibano, and good morning.") and _COURTESY.match("柴野さん、ありがとうございます。")
    assert not _COURTESY.match("Research security is key, thank you.")


class CopyingLLM(FakeLLM):
    """Writes the source sentence itself into the other language's field, as the small model often
    does, for the sentence about screening sponsors."""

    def complete(self, messages, **options):
        answer = json.loads(super().complete(messages, **options))
        for point in answer.get("points", []):
            if "screens" in point.get("en", "") and "ja" in point:
                point["ja"] = point["en"]
        return json.dumps(answer, ensure_ascii=False)


def test_a_point_that_failed_in_one_language_gets_the_known_rendering_of_what_the_other_cites(config):
    rendering = {"ja": {"text": "当大学はすべてのスポンサーを三つの制限リストと照合しています。", "source": "machine",
                        "status": "ok"}}
    # Similarity off (the fake embedder cannot compare languages): only the copy fails.
    settings = config.report.model_copy(update={"min_support": 0.0, "support_rank": 999, "points_written_in": "both"})
    report, counters = build(config.model_copy(update={"report": settings}), transcript(),
                             {"segments": {"seg-00003": rendering}}, llm=CopyingLLM(), embedder=FakeEmbedder())
    assert any("not written in ja" in f for f in counters["failure_examples"])
    lee = next(p for s in report["sections"] for p in s.get("parts", [])
               if p["person"]["id"] == "lee" and s["session"] == "opening")
    japanese = lee["points"]["ja"]
    # The other part's point was written in Japanese; this part's comes as rendered.
    assert any(c["origin"] == "llm" for c in japanese)
    assert any(c["text"] == rendering["ja"]["text"] and c["origin"] == "translation:machine" for c in japanese)
    assert not any("screens" in c["text"] for c in japanese)  # the copied English never stands as Japanese


def test_a_clause_the_recogniser_closed_too_early_is_one_sentence_with_the_next():
    from pipeline.report.source import split_run

    def segment(k, text, language="ja"):
        return {"id": f"seg-{k}", "start_s": 2.0 * k, "end_s": 2.0 * k + 1.5, "language": language, "text": text,
                "speaker": "mori", "session": "panel"}

    cut = split_run([segment(1, "国内の居住者であっても。"), segment(2, "外国の強い影響下にある場合は、管理の対象になります。"),
                     segment(3, "大学は確認しなければなりませんが。担当者は一人か二人です。"), segment(4, "以上です。")])
    assert [(s.text, s.segments) for s in cut] == [
        ("国内の居住者であっても。外国の強い影響下にある場合は、管理の対象になります。", ("seg-1", "seg-2")),
        ("大学は確認しなければなりませんが。担当者は一人か二人です。", ("seg-3",)), ("以上です。", ("seg-4",))]
    english = split_run([segment(1, "We screen them, but. It is hard.", "en")])
    assert [s.text for s in english] == ["We screen them, but.", "It is hard."]


def test_the_overview_reads_points_from_every_part_of_the_event():
    from pipeline.report.draft import Claim
    from pipeline.report.stage import spread

    parts = [[Claim(f"{p}{k}", [f"seg-{p}{k}"], "extractive") for k in range(n)] for p, n in zip("abc", (6, 1, 3))]
    assert [c.text for c in spread(parts, 5)] == ["a0", "a1", "b0", "c0", "c1"]
    assert len(spread(parts, 99)) == 10
