"""The event's names and terms: prompts per stretch and language, and the correction pass."""

import numpy as np
import pytest
import soundfile

from pipeline.asr.correct import Corrector
from pipeline.asr.results import Decoded, Word
from pipeline.asr.transcribe import transcribe_chunk
from pipeline.asr.vocabulary import Vocabulary
from pipeline.core.config import TranscribeSettings
from pipeline.core.config.event import Event

EVENT = Event.model_validate({
    "title": {"en": "t"},
    "languages": ["en", "ja"],
    "people": [
        {"id": "shibano", "name": {"en": "Tomoo Shibano", "ja": "柴野相雄"}, "aliases": ["柴野", "しばの", "Shibano"],
         "roles": ["host"]},
        {"id": "hines", "name": {"en": "Tom Hines", "ja": "トム・ハインズ"}, "aliases": ["ハインズ", "Hines"],
         "title": {"en": "Counselor", "ja": "公使参事官"}, "roles": ["speaker"]},
        {"id": "iida", "name": {"en": "Yoichi Iida", "ja": "飯田陽一"}, "aliases": ["飯田", "いいだ", "Iida"],
         "title": {"en": "Cabinet Councillor", "ja": "内閣参事官"}, "roles": ["speaker"]},
        {"id": "aruga", "name": {"en": "Osamu Aruga", "ja": "有賀理"}, "aliases": ["有賀", "あるが", "Aruga"],
         "roles": ["speaker"]},
        {"id": "suarez", "name": {"en": "Gonzalo Suarez", "ja": "ゴンザロ・スアレス"}, "aliases": ["Suarez"],
         "roles": ["speaker"]},
    ],
    "sessions": [
        {"id": "opening", "title": {"en": "Opening"}, "start": "08:00", "end": "08:10",
         "people": [{"person": "shibano", "role": "host"}, {"person": "hines", "role": "speaker"}]},
        {"id": "s1", "title": {"en": "Session 1"}, "start": "08:10", "end": "09:00",
         "people": [{"person": "iida", "role": "speaker"}, {"person": "aruga", "role": "speaker"}]},
        {"id": "s2", "title": {"en": "Session 2"}, "start": "09:00", "end": "10:00",
         "people": [{"person": "suarez", "role": "speaker"}]},
    ],
    "glossary": [
        {"en": "Wassenaar Arrangement", "ja": "ワッセナー・アレンジメント", "reading": "ワッセナーアレンジメント"},
        {"en": "export control", "ja": "輸出管理", "reading": "ユシュツカンリ"},
        {"en": "deemed export", "ja": "みなし輸出", "reading": "ミナシユシュツ"},
    ],
})


def _segment(text, language):
    pieces = [" " + w for w in text.split()] if language == "en" else list(text)
    words = [{"start_s": float(i), "end_s": i + 1.0, "text": w, "probability": 0.9} for i, w in enumerate(pieces)]
    return {"language": language, "text": text, "words": words}


@pytest.fixture(scope="module")
def corrector():
    return Corrector(Vocabulary(EVENT), TranscribeSettings())


def test_prompt_puts_the_people_of_the_sessions_in_play_first_and_keeps_to_its_budget():
    vocabulary = Vocabulary(EVENT)
    # The last stretch of the recording falls on session 2 (and its neighbour, session 1).
    late = vocabulary.ranked("en", 0.9, 1.0)
    assert late[:3] == ["Yoichi Iida", "Osamu Aruga", "Gonzalo Suarez"]
    assert "Wassenaar Arrangement" in late and "Tom Hines" in late
    early = vocabulary.ranked("ja", 0.0, 0.05)
    assert early[:2] == ["柴野相雄", "トム・ハインズ"]
    prompt = vocabulary.prompt("ja", 0.0, 0.05, lambda text: len(text) <= 20)
    assert prompt == "柴野相雄、トム・ハインズ、飯田陽一。" and len(prompt) <= 20
    assert vocabulary.prompt("en", 0, 1, lambda text: False) == ""


def test_japanese_names_with_a_layout_space_are_prompted_and_corrected_as_text_writes_them():
    """A hand-written config may copy a name list's "柴野 相雄" (family and given name apart); the
    prompt and the corrections use "柴野相雄", as running text writes it."""
    data = EVENT.model_dump()
    data["people"][0]["name"]["ja"] = "柴野\u3000相雄"
    data["people"][0]["aliases"] = ["柴野", "しばの", "Shibano", "柴野 相雄"]
    spaced = Event.model_validate(data)
    vocabulary = Vocabulary(spaced)
    assert vocabulary.ranked("ja", 0.0, 0.05)[0] == "柴野相雄"
    assert all(" " not in form and "\u3000" not in form for e in vocabulary.entries for form in e.canonical.values()
               if any("\u3040" <= ch <= "\u9fff" for ch in form))
    assert Vocabulary(spaced).mentioned_in("柴野相雄です")


def test_english_near_misses_become_the_agenda_spelling(corrector):
    segment = corrector.correct(_segment("Thank you, Mr. Suares, and now Mr. Tom Hines.", "en"))
    assert segment["text"] == "Thank you, Mr. Suarez, and now Mr. Tom Hines."
    [change] = segment["corrections"]
    assert change["from"] == "Suares," and change["to"] == "Suarez" and change["kind"] == "person"
    assert change["key"] == "suarez" and "Suarez" in change["evidence"]
    assert [w["text"] for w in segment["words"]][3] == " Suarez,"
    term = corrector.correct(_segment("under the Wassenar Arrangement today", "en"))
    assert term["text"] == "under the Wassenaar Arrangement today"
    assert term["corrections"][0]["kind"] == "term"


def test_english_words_that_are_only_close_stay(corrector):
    for text in ("We will shine a light on it.", "Hi there, suaves people.", "The exports control list."):
        segment = corrector.correct(_segment(text, "en"))
        assert segment["text"] == text and segment["corrections"] == []


def test_japanese_kana_and_homophones_become_the_names_kanji(corrector):
    segment = corrector.correct(_segment("続きまして、芝野さん、お願いします", "ja"))
    assert segment["text"] == "続きまして、柴野さん、お願いします"
    assert segment["corrections"][0]["from"] == "芝野" and segment["corrections"][0]["to"] == "柴野"
    assert corrector.correct(_segment("ここでいいだ参事官にお願いします", "ja"))["text"] == "ここで飯田参事官にお願いします"
    assert corrector.correct(_segment("トム・ハインツさんです", "ja"))["text"] == "トム・ハインズさんです"
    assert corrector.correct(_segment("みなし輸出の管理", "ja"))["corrections"] == []


def test_japanese_grammar_that_reads_like_a_name_stays(corrector):
    # であるが reads アルガ like 有賀, but it is a verb and a particle with no name cue after it.
    for text in ("これはであるが、問題です", "いいだろう", "上野先生"):
        segment = corrector.correct(_segment(text, "ja"))
        assert segment["text"] == text and segment["corrections"] == []
    assert corrector.correct(_segment("あるがでございます", "ja"))["text"] == "有賀でございます"


class PromptRecordingEngine:
    def __init__(self, text):
        self.prompts, self.text = [], text

    def describe(self):
        return {"engine": "fake"}

    def language_probabilities(self, samples, languages):
        return {lang: (0.95 if lang == "en" else 0.05) for lang in languages}

    def decode(self, samples, language, prompt):
        self.prompts.append(prompt)
        duration = len(samples) / 16000
        pieces = [" " + w for w in self.text.split()]
        step = (duration - 0.2) / len(pieces)
        words = [Word(0.1 + i * step, 0.1 + (i + 1) * step, w, 0.5) for i, w in enumerate(pieces)]
        return [Decoded(0.1, duration - 0.1, self.text.strip(), words)]

    def decode_batch(self, batch, language, prompt):
        return [self.decode(samples, language, prompt) for samples in batch]


def _four_seconds(tmp_path):
    """A 4-s recording as one chunk, the test event's vocabulary and a 40-token prompt."""
    wav = tmp_path / "a.wav"
    soundfile.write(wav, np.full(16000 * 4, 0.1, dtype=np.float32), 16000)
    return wav, [{"start_s": 0.0, "end_s": 4.0}], Vocabulary(EVENT), TranscribeSettings(prompt_max_tokens=40)


def test_the_prompt_reaches_the_decoder_and_an_echo_of_it_is_dropped(tmp_path):
    wav, chunk, vocabulary, settings = _four_seconds(tmp_path)
    engine = PromptRecordingEngine(" Tom Hines, Tomoo Shibano.")
    result = transcribe_chunk(engine, wav, "floor", chunk, ["en", "ja"], settings, vocabulary, 100.0,
                              Corrector(vocabulary, settings))
    # A 4-s chunk is read without the prompt first; that reading names agenda people, so it is
    # read again with the prompt.
    assert engine.prompts[0] is None and engine.prompts[1].startswith("Tomoo Shibano, Tom Hines")
    assert result["segments"] == [] and result["counters"]["dropped_prompt_echo_on_weak_audio"] == 1
    assert 0 < result["counters"]["prompt_tokens_max"] <= 40
    engine = PromptRecordingEngine(" Welcome, Mr. Tom Heinz and Mr. Suares.")
    result = transcribe_chunk(engine, wav, "floor", chunk, ["en", "ja"], settings.model_copy(update={"glossary_prompt": False}),
                              vocabulary, 100.0, Corrector(vocabulary, settings))
    assert engine.prompts[0] is None
    [segment] = result["segments"]
    assert "Suarez" in segment["text"] and result["counters"]["corrections"] == len(segment["corrections"]) >= 1


def test_a_short_reading_that_names_no_one_is_not_given_the_agenda(tmp_path):
    """Issue 23: a short clip with no agenda people in it is not given the agenda to recite."""
    wav, chunk, vocabulary, settings = _four_seconds(tmp_path)
    engine = PromptRecordingEngine(" The weather is fine today.")
    result = transcribe_chunk(engine, wav, "floor", chunk, ["en", "ja"], settings, vocabulary, 100.0,
                              Corrector(vocabulary, settings))
    assert engine.prompts == [None]
    assert [s["text"] for s in result["segments"]] == ["The weather is fine today."]
    assert result["counters"]["prompt_free_readings"] == 1 and result["counters"]["prompt_tokens_max"] == 0
    # A near-miss of a name ("Suares" for Suarez) is a mention: the prompt is used.
    engine = PromptRecordingEngine(" Thank you, Mr. Suares.")
    transcribe_chunk(engine, wav, "floor", chunk, ["en", "ja"], settings, vocabulary, 100.0, Corrector(vocabulary, settings))
    assert engine.prompts[0] is None and engine.prompts[1].startswith("Tomoo Shibano")
    # A long stretch is given the prompt at once.
    engine = PromptRecordingEngine(" The weather is fine today.")
    transcribe_chunk(engine, wav, "floor", chunk, ["en", "ja"], settings.model_copy(update={"prompt_on_mention_below_s": 2}),
                     vocabulary, 100.0, Corrector(vocabulary, settings))
    assert engine.prompts[0].startswith("Tomoo Shibano")


def test_a_name_is_found_as_a_word_not_inside_one():
    vocabulary = Vocabulary(EVENT)
    assert vocabulary.mentioned_in("Thank you, Mr. Hines.") and vocabulary.mentioned_in("柴野さん、お願いします")
    assert not vocabulary.mentioned_in("These machines are fast.")


def test_japanese_readings_off_by_a_long_vowel_or_first_kana_need_a_name_cue(corrector):
    assert corrector.correct(_segment("内閣官房のイーダーでございます", "ja"))["text"] == "内閣官房の飯田でございます"
    assert corrector.correct(_segment("アインズ様、ありがとうございました", "ja"))["text"] == "ハインズ様、ありがとうございました"
    # Without a cue after them, the same near-misses stay.
    assert corrector.correct(_segment("イーダーの件", "ja"))["corrections"] == []
    assert corrector.correct(_segment("アインズの本", "ja"))["corrections"] == []


def test_an_unknown_kanji_pair_one_character_off_a_name_is_corrected_only_before_a_cue(corrector):
    assert corrector.correct(_segment("内閣官房の移田でございます", "ja"))["text"] == "内閣官房の飯田でございます"
    assert corrector.correct(_segment("移田の件", "ja"))["corrections"] == []


def _corrector_with(person_id: str, en: str, ja: str, aliases: list[str], affiliation_ja: str | None = None,
                    terms: list[dict] = ()) -> Corrector:
    """A corrector for the test event with one more person on the agenda (and more glossary terms)."""
    base = EVENT.people[0]
    extra = {"affiliation": base.affiliation.model_copy(update={"ja": affiliation_ja})} if affiliation_ja else {}
    person = base.model_copy(update={"id": person_id, "name": base.name.model_copy(update={"en": en, "ja": ja}),
                                     "aliases": aliases, **extra})
    glossary = [*EVENT.glossary, *(EVENT.glossary[0].model_copy(update={"aliases": [], **t}) for t in terms)]
    event = EVENT.model_copy(update={"people": [*EVENT.people, person], "glossary": glossary})
    return Corrector(Vocabulary(event), TranscribeSettings())


def _changed(corrector: Corrector, cases: list[tuple[str, set[str]]]) -> list[str]:
    """The Japanese texts of ``cases`` (text, people scheduled) that the corrector changed."""
    return [text for text, in_play in cases if corrector.correct(_segment(text, "ja"), in_play)["corrections"]]


def test_a_known_word_one_kanji_off_a_name_moves_only_to_someone_scheduled_here_with_evidence():
    corrector = _corrector_with("shiroyama", "Hideaki Shiroyama", "城山英明", ["城山", "Shiroyama"])
    here = {"shiroyama", "shibano"}
    # An honorific after it (恋山 is a dictionary word, one kanji off 城山).
    segment = corrector.correct(_segment("恋山先生、ありがとうございました", "ja"), here)
    assert segment["text"] == "城山先生、ありがとうございました"
    assert "honorific" in segment["corrections"][0]["evidence"]
    # Read character by character, 白山 is シロヤマ: a self-introduction is enough.
    assert corrector.correct(_segment("白山です。", "ja"), here)["text"] == "城山です。"
    # Not scheduled around here, or no evidence beyond the cue: left alone.
    assert corrector.correct(_segment("恋山先生、ありがとうございました", "ja"), {"shibano"})["corrections"] == []
    assert corrector.correct(_segment("恋山です。", "ja"), here)["corrections"] == []
    assert corrector.correct(_segment("白山の雪", "ja"), here)["corrections"] == []


def test_a_right_family_name_is_completed_into_the_full_name_only_on_an_exact_reading():
    corrector = _corrector_with("sahashi", "Ryo Sahashi", "佐橋亮", ["佐橋", "Sahashi"])
    segment = corrector.correct(_segment("東京大学の佐橋領准教授より", "ja"))
    assert segment["text"] == "東京大学の佐橋亮准教授より" and segment["corrections"][0]["from"] == "佐橋領"
    # A right form is not swallowed by a near (not exact) reading around it.
    assert corrector.correct(_segment("大使館のトム・ハインズ様", "ja"))["text"] == "大使館のトム・ハインズ様"


def test_a_kana_name_one_mora_off_moves_only_to_someone_scheduled_here_with_an_honorific():
    corrector = _corrector_with("willis", "Todd Willis", "トッド・ウィリス", ["ウィリス", "Willis"])
    # ウィ is one mora: リリス is one slip from ウィリス, two kana edits (beyond the kana threshold).
    segment = corrector.correct(_segment("リリスさん、国務省の立場からいかがでしょうか。", "ja"), {"willis"})
    assert segment["text"] == "ウィリスさん、国務省の立場からいかがでしょうか。"
    assert "one mora off" in segment["corrections"][0]["evidence"]
    # Not scheduled around here, no honorific after it, or two morae off: left alone.
    assert _changed(corrector, [
        ("リリスさん、いかがでしょうか。", {"hines"}),
        ("リリスの物語", {"willis"}),
        ("ジジスさん、どうぞ。", {"willis"}),
    ]) == []


def test_a_word_read_as_a_name_is_moved_in_a_self_introduction_that_names_the_persons_affiliation():
    asai = ("asai", "Yosuke Asai", "浅井洋介", ["浅井", "Asai"], "経済産業省貿易経済協力局")
    corrector = _corrector_with(*asai)
    # 浅い (shallow) reads アサイ, as 浅井 does; the affiliation before it says who is speaking.
    segment = corrector.correct(_segment("経済産業省の浅いです。外国ユーザーリストは", "ja"), {"asai"})
    assert segment["text"] == "経済産業省の浅井です。外国ユーザーリストは"
    assert "introduced as of '経済産業省'" in segment["corrections"][0]["evidence"]
    # Not after the affiliation, not scheduled here, or not a self-introduction: left alone.
    assert _changed(corrector, [
        ("この川の浅いです。", {"asai"}),
        ("経済産業省の浅いです。", {"hines"}),
        ("経済産業省の浅い議論", {"asai"}),
    ]) == []
    # The affiliation itself misheard (経済産業賞) and corrected first: a second look sees it.
    meti = {"en": "METI", "ja": "経済産業省", "reading": "ケイザイサンギョウショウ"}
    segment = _corrector_with(*asai, terms=[meti]).correct(_segment("経済産業賞の浅いです。", "ja"), {"asai"})
    assert segment["text"] == "経済産業省の浅井です。" and len(segment["corrections"]) == 2


def test_a_full_name_misheard_as_a_whole_is_corrected_only_for_someone_scheduled_here_before_an_honorific():
    corrector = _corrector_with("shiroyama", "Hideaki Shiroyama", "城山英明", ["城山", "Shiroyama"])
    # 白山 read by character is シロヤマ; ひでやく is two kana from ヒデアキ.
    segment = corrector.correct(_segment("センター長の白山ひでやく先生、よろしくお願いいたします。", "ja"), {"shiroyama"})
    assert segment["text"] == "センター長の城山英明先生、よろしくお願いいたします。"
    assert segment["corrections"][0]["evidence"].startswith("full name")
    # Not scheduled here, no honorific after it, or a given name too far off: left alone.
    assert _changed(corrector, [
        ("白山ひでやく先生、", {"hines"}),
        ("白山ひでやくの本", {"shiroyama"}),
        ("白山ひで薬先生", {"shiroyama"}),
    ]) == []


def test_a_run_one_slip_from_an_agenda_title_or_affiliation_becomes_the_agendas_spelling():
    """The recogniser's worst slips on the reference events are the organizers' own words: one
    character off (DMI for TMI, a comma inside), or read the same in other characters (公使参事官
    as 公司3時間). Each change is recorded for the editor; a run said right, or an ordinary
    phrase, is left alone."""
    event = Event.model_validate({
        "title": {"en": "t"}, "languages": ["en", "ja"],
        "people": [{"id": "shibano", "name": {"en": "Tomoo Shibano", "ja": "柴野相雄"}, "aliases": ["柴野"],
                    "affiliation": {"en": "TMI Associates", "ja": "TMI総合法律事務所"}, "roles": ["host"]},
                   {"id": "hines", "name": {"en": "Tom Hines", "ja": "トム・ハインズ"}, "aliases": ["ハインズ"],
                    "title": {"en": "Minister-Counselor", "ja": "経済・科学担当公使参事官"}, "roles": ["speaker"]}],
    })
    corrector = Corrector(Vocabulary(event), TranscribeSettings())
    segment = corrector.correct(_segment("DMI総合法律、事務所の柴野でございます。", "ja"))
    assert segment["text"] == "TMI総合法律事務所の柴野でございます。"
    change = segment["corrections"][0]
    assert (change["from"], change["to"], change["kind"]) == ("DMI総合法律、事務所", "TMI総合法律事務所", "affiliation")
    assert [w["text"] for w in segment["words"]][-3:] == ["ま", "す", "。"]  # the words after it keep their timings
    heard = corrector.correct(_segment("経済科学担当公司3時間のトム・ハインズ様、", "ja"))
    assert heard["text"] == "経済・科学担当公使参事官のトム・ハインズ様、"
    assert corrector.correct(_segment("TMI総合法律事務所の柴野です。", "ja"))["corrections"] == []
    assert corrector.correct(_segment("会議は3時間の予定です。", "ja"))["corrections"] == []
    # Another real office or post one character off (the minister, 相, for the ministry, 省) stays.
    ministry = Event.model_validate({"title": {"en": "t"}, "languages": ["en", "ja"], "people": [
        {"id": "asai", "name": {"en": "Yosuke Asai", "ja": "浅井洋介"},
         "affiliation": {"en": "METI", "ja": "経済産業省"}, "roles": ["speaker"]}]})
    corrector = Corrector(Vocabulary(ministry), TranscribeSettings())
    assert corrector.correct(_segment("経済産業相が発表しました。", "ja"))["corrections"] == []
    assert corrector.correct(_segment("経済産業賞の浅井です。", "ja"))["text"] == "経済産業省の浅井です。"
