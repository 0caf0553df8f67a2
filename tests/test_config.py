from pathlib import Path

import pytest

from pipeline.core.config import load_config
from pipeline.core.errors import PipelineError

ROOT = Path(__file__).resolve().parents[1]


def test_symposium_config_has_the_published_agenda():
    config = load_config(ROOT / "configs" / "symposium-2022.yaml")
    assert config.event.languages == ["en", "ja"]
    people = {p.id: p for p in config.event.people}
    assert people["hines"].name.en == "Tom Hines"
    assert people["iida"].name.ja == "飯田陽一"
    assert [s.id for s in config.event.sessions] == ["opening", "session-1", "session-2", "session-3", "closing"]
    panel = next(s for s in config.event.sessions if s.id == "session-3")
    assert {slot.role for slot in panel.people} == {"moderator", "panelist"}


def _write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_key_is_named(tmp_path):
    path = _write(tmp_path, "event:\n  title: {en: x}\n  languages: [en]\ntranscribe:\n  beem_size: 3\n")
    with pytest.raises(PipelineError, match=r"unknown key 'transcribe.beem_size'"):
        load_config(path)


def test_bad_value_names_key_value_and_allowed(tmp_path):
    path = _write(tmp_path, "event:\n  title: {en: x}\n  languages: [en, jp]\n")
    with pytest.raises(PipelineError) as error:
        load_config(path)
    message = str(error.value)
    assert "event.languages.1" in message and "'jp'" in message and "'ja'" in message


def test_bad_engine_lists_choices(tmp_path):
    path = _write(tmp_path, "event:\n  title: {en: x}\n  languages: [en]\ntranscribe: {engine: whisperx}\n")
    with pytest.raises(PipelineError, match=r"transcribe.engine.*'faster-whisper'.*'openai-whisper'.*got 'whisperx'"):
        load_config(path)


AGENDA_HEAD = "event:\n  title: {en: x}\n  languages: [en]\n  people:\n    - {id: ann, name: {en: Ann}, roles: [host]}\n"


@pytest.mark.parametrize("rest,message", [
    ('  sessions:\n    - {id: s1, title: {en: S}, start: "08:00", end: "08:10", people: [{person: bob, role: speaker}]}\n',
     r"session 's1' names person 'bob'"),
    ("    - {id: ann, name: {en: Ann B}, roles: [speaker]}\n", r"person id 'ann' is defined more than once"),
])
def test_agenda_references(tmp_path, rest, message):
    with pytest.raises(PipelineError, match=message):
        load_config(_write(tmp_path, AGENDA_HEAD + rest))


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(PipelineError, match=r"config .*nope.yaml: file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(PipelineError, match=r"not valid YAML"):
        load_config(_write(tmp_path, "event: [unclosed\n"))


def test_tracks_need_exactly_one_floor(tmp_path):
    path = _write(tmp_path, "event:\n  title: {en: x}\n  languages: [en]\n"
                            "recording:\n  tracks:\n    - {name: a, role: interpretation}\n")
    with pytest.raises(PipelineError, match=r"recording.tracks: exactly one track must have role 'floor'"):
        load_config(path)


def test_missing_enrollment_clip_is_refused_at_load(tmp_path):
    path = _write(tmp_path, "event:\n  title: {en: x}\n  languages: [en]\n  people:\n"
                            "    - {id: ann, name: {en: Ann}, roles: [host], enrollment: [ann.wav]}\n")
    with pytest.raises(PipelineError, match=r"event.people\[ann\].enrollment: file not found: .*ann.wav"):
        load_config(path)
