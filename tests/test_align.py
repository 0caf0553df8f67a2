"""Names on voices and sessions on the timeline."""

import pytest

from pipeline.speakers import align
from pipeline.core.config import AlignSettings, load_config
from pipeline.core.errors import PipelineError
from pipeline.core.runner import run_pipeline
from pipeline.core.storage import read_json

from conftest import fixture

AGENDA = """
event:
  title: {en: panel}
  languages: [en, ja]
  people:
    - {id: host, name: {en: Tomoo Shibano, ja: 柴野相雄}, aliases: [柴野], languages: [ja], roles: [host]}
    - {id: hines, name: {en: Tom Hines, ja: トム・ハインズ}, aliases: [ハインズ], languages: [en], roles: [speaker]}
    - {id: iida, name: {en: Yoichi Iida, ja: 飯田陽一}, aliases: [飯田], languages: [ja], roles: [speaker]}
  sessions:
    - {id: opening, title: {en: Opening}, start: "08:00", end: "08:10", people: [{person: host, role: host}, {person: hines, role: speaker}]}
    - {id: s1, title: {en: Session 1}, start: "08:10", end: "08:30", people: [{person: iida, role: speaker}]}
"""


def _config(tmp_path, text=AGENDA):
    path = tmp_path / "agenda.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def _segment(i, start, end, language, text):
    return {"id": f"seg-{i}", "track": "floor", "start_s": start, "end_s": end, "language": language,
            "text": text, "words": [], "confidence": 0.9, "flags": []}


def _turn(start, end, speaker):
    return {"start_s": start, "end_s": end, "speaker": speaker, "confidence": 1.0, "overlap": False}


def test_handover_self_introduction_and_an_unknown_voice(tmp_path):
    config = _config(tmp_path)
    segments = [
        _segment(1, 0, 5, "ja", "それでは開会いたします。まず、ハインズ公使参事官にお願いいたします。"),
        _segment(2, 6, 12, "en", "Thank you. The alliance is stronger than ever."),
        _segment(3, 13, 16, "ja", "ありがとうございました。続きまして、飯田参事官にお願いいたします。"),
        _segment(4, 17, 25, "ja", "内閣官房の飯田です。経済安全保障推進法についてご説明します。"),
        _segment(5, 26, 28, "en", "Can I ask a quick question about deemed exports?"),
    ]
    turns = [_turn(0, 5, "spk00"), _turn(6, 12, "spk01"), _turn(13, 16, "spk00"), _turn(17, 25, "spk02"),
             _turn(26, 28, "spk03")]
    transcript = {"duration_s": 30.0, "languages": ["en", "ja"], "segments": segments}
    result = align.run(config.event, AlignSettings(), transcript, {"track": "floor", "turns": turns}, tmp_path)
    voices = {v: info["person"] for v, info in result["voices"].items()}
    assert voices == {"spk00": "host", "spk01": "hines", "spk02": "iida", "spk03": "unknown-1"}
    assert any("introduced by the previous speaker at 00:00:00" in note for note in result["voices"]["spk01"]["evidence"])
    assert any("introduced themselves" in note for note in result["voices"]["spk02"]["evidence"])
    sessions = {s["id"]: (s["start_s"], s["end_s"]) for s in result["sessions"]}
    # The host's hand-over ("続きまして、飯田参事官に…") opens session 1, as programmes count it.
    assert sessions["opening"] == (0.0, 13) and sessions["s1"][0] == 13
    assert [s["session"] for s in result["segments"]][:2] == ["opening", "opening"]
    assert result["segments"][4]["speaker_name"]["en"] == "Unknown speaker 1"


def test_without_an_agenda_voices_are_speaker_n(tmp_path):
    """The neutral default event lists no one: voices are "Speaker N", not "Unknown speaker N"."""
    from pipeline.core.config import DEFAULT_CONFIG

    event = load_config(DEFAULT_CONFIG).event
    assert event.languages == ["en", "ja"] and not event.people and not event.sessions
    segments = [_segment(1, 0, 5, "en", "Good morning."), _segment(2, 6, 9, "ja", "ありがとうございます。")]
    transcript = {"duration_s": 10.0, "languages": ["en", "ja"], "segments": segments}
    result = align.run(event, AlignSettings(), transcript,
                       {"track": "floor", "turns": [_turn(0, 5, "spk00"), _turn(6, 9, "spk01")]}, tmp_path)
    assert [s["speaker_name"] for s in result["segments"]] == [{"en": "Speaker 1", "ja": "話者1"},
                                                                {"en": "Speaker 2", "ja": "話者2"}]


def test_a_voice_without_evidence_is_not_forced_onto_a_name():
    evidence = {("spk00", "a"): align.Evidence(6.0), ("spk01", "a"): align.Evidence(0.2),
                ("spk00", "b"): align.Evidence(-1.0), ("spk01", "b"): align.Evidence(-1.0)}
    assigned = align.assign(evidence, min_score=1.0)
    assert assigned["spk00"][0] == "a" and assigned["spk01"][0] is None


def test_interpretation_track_is_labelled_interpreter(tmp_path):
    config = _config(tmp_path)
    segments = [_segment(1, 0, 5, "en", "I'm Tom Hines."),
                {**_segment(2, 2, 7, "ja", "ハインズです。"), "track": "interpretation"}]
    result = align.run(config.event, AlignSettings(), {"duration_s": 8.0, "segments": segments},
                       {"track": "floor", "turns": [_turn(0, 5, "spk00")]}, tmp_path)
    assert [s["speaker"] for s in result["segments"]] == ["hines", "interpreter"]
    assert result["segments"][1]["session"] == result["segments"][0]["session"]


@pytest.mark.parametrize("people,sessions,message", [
    ("    - {id: a, name: {en: Ann Lee}, aliases: [Lee], roles: [host]}\n"
     "    - {id: b, name: {en: Bo Lee}, aliases: [lee], roles: [speaker]}\n", "",
     r"name variant 'lee' belongs to both 'a' and 'b'"),
    ("    - {id: a, name: {en: Ann}, roles: [host]}\n",
     "  sessions:\n    - {id: s1, title: {en: S}, start: '08:00', end: '08:10', people: []}\n",
     r"session 's1' has no people"),
])
def test_bad_agenda_is_refused_before_any_audio(tmp_path, people, sessions, message):
    text = "event:\n  title: {en: x}\n  languages: [en]\n  people:\n" + people + sessions
    with pytest.raises(PipelineError, match=message):
        _config(tmp_path, text)


@pytest.mark.slow
def test_two_callers_named_from_their_self_introductions(tmp_path):
    """pyannote's sample.wav: "This is Diane in New Jersey." / "And I'm Sheila in Texas"."""
    config_path = tmp_path / "call.yaml"
    config_path.write_text("""
event:
  title: {en: call}
  languages: [en]
  people:
    - {id: sheila, name: {en: Sheila}, languages: [en], roles: [speaker]}
    - {id: diane, name: {en: Diane}, languages: [en], roles: [speaker]}
  sessions:
    - {id: call, title: {en: Call}, start: "10:00", end: "10:01",
       people: [{person: sheila, role: speaker}, {person: diane, role: speaker}]}
""", encoding="utf-8")
    out = tmp_path / "out"
    # An English-only call: translate has nothing to do, so captions come without loading the LLM.
    run_pipeline(fixture("pyannote-audio/sample.wav"), load_config(config_path), config_path, out, to_stage="captions")
    aligned = read_json(out / "aligned.json")
    speaker_at = lambda t: next(s["speaker"] for s in aligned["segments"] if s["start_s"] <= t <= s["end_s"])
    assert speaker_at(13.0) == "diane"   # "This is Diane in New Jersey."
    assert speaker_at(15.0) == "sheila"  # "And I'm Sheila in Texas"
    assert speaker_at(25.0) == "sheila"
    assert "Diane: " in (out / "captions" / "captions.srt").read_text(encoding="utf-8")


def test_enrollment_clips_decide_between_silent_voices(tmp_path):
    """Two voices that never say a name: the enrollment similarity picks who is who."""
    import numpy as np

    config = _config(tmp_path)
    segments = [_segment(1, 0, 5, "en", "The alliance is strong."), _segment(2, 6, 9, "en", "Indeed it is.")]
    voice = {"seg-1": "spk00", "seg-2": "spk01"}
    a, b = np.eye(256)[0], np.eye(256)[1]
    centres = {"spk00": a, "spk01": b}
    enrollment = {"hines": b * 0.95 + a * 0.05, "host": a}
    evidence = align.gather_evidence(config.event, segments, voice, [], AlignSettings(), centres,
                                     {k: v / np.linalg.norm(v) for k, v in enrollment.items()})
    assigned = align.assign(evidence, AlignSettings().min_score)
    assert assigned["spk01"][0] == "hines"
    assert any("enrollment clip similarity 1.00" in n for n in evidence[("spk01", "hines")].notes)


def test_missing_enrollment_clip_is_named(tmp_path):
    """Checked again when the align stage runs: the clip may have gone since the config loaded."""
    config = _config(tmp_path)
    people = [p.model_copy(update={"enrollment": ["clips/hines.wav"]}) if p.id == "hines" else p
              for p in config.event.people]
    event = config.event.model_copy(update={"people": people})
    with pytest.raises(PipelineError, match=r"event.people\[hines\].enrollment: file not found: .*clips/hines.wav"):
        align.run(event, AlignSettings(), {"duration_s": 1.0, "segments": []}, {"track": "floor", "turns": []}, tmp_path)


def test_a_one_word_first_run_joins_the_only_other_run():
    from pipeline.speakers.align import split_at_voice_changes

    words = [{"start_s": 0.0, "end_s": 0.4, "text": " So"},
             {"start_s": 0.5, "end_s": 0.9, "text": " thank"}, {"start_s": 1.0, "end_s": 1.4, "text": " you"},
             {"start_s": 1.5, "end_s": 1.9, "text": " all"}]
    segment = {"id": "seg-1", "start_s": 0.0, "end_s": 2.0, "text": "So thank you all", "words": words}
    turns = [{"start_s": 0.0, "end_s": 0.45, "speaker": "A"}, {"start_s": 0.45, "end_s": 2.0, "speaker": "B"}]
    result = split_at_voice_changes([segment], turns)
    assert [s["id"] for s in result] == ["seg-1"] and result[0]["text"] == "So thank you all"
