"""The editors' journal and applying it: versions, undo, history, re-attachment after a re-run."""

from __future__ import annotations

import json

import pytest

from pipeline.core.artifacts import schema_version
from pipeline.core.storage import write_json
from pipeline.review import apply as review_apply
from pipeline.review.store import NewEdit, StaleVersion, Store
from pipeline.review.words import changes, retime_words, similarity, split_point


def _segment(sid: str, start: float, text: str, language: str = "en", speaker: str = "hines", track: str = "floor",
             step: float = 0.4) -> dict:
    tokens = list(text) if language == "ja" else text.split()
    words, t = [], start
    for token in tokens:
        words.append({"start_s": round(t, 3), "end_s": round(t + step * 0.9, 3),
                      "text": token if language == "ja" else " " + token, "probability": 0.8})
        t += step
    return {"id": sid, "track": track, "start_s": start, "end_s": round(t, 3), "language": language, "text": text,
            "words": words, "confidence": 0.8, "flags": [], "speaker": speaker,
            "speaker_name": {"en": speaker.title(), "ja": speaker}, "speaker_confidence": 0.7, "session": "s1"}


PEOPLE = {"hines": {"name": {"en": "Tom Hines", "ja": "トム・ハインズ"}},
          "iida": {"name": {"en": "Yoichi Iida", "ja": "飯田陽一"}},
          "unknown-1": {"name": {"en": "Unknown speaker 1", "ja": "不明な話者1"}}}


def _aligned(segments: list[dict]) -> dict:
    return {"schema_version": schema_version("aligned.json"), "duration_s": 100.0, "languages": ["en", "ja"], "tracks": [{"name": "floor"}],
            "segments": segments, "people": PEOPLE, "sessions": [{"id": "s1"}],
            "voices": {"spk00": {"person": "hines", "confidence": 0.7, "evidence": []},
                       "spk01": {"person": "unknown-1", "confidence": 0.0, "evidence": []},
                       "spk02": {"person": "iida", "confidence": 0.7, "evidence": []}}}


def _diarization(segments: list[dict]) -> dict:
    voice = {"hines": "spk00", "unknown-1": "spk01", "iida": "spk02"}
    return {"track": "floor", "speakers": sorted(set(voice.values())),
            "turns": [{"start_s": s["start_s"], "end_s": s["end_s"], "speaker": voice[s["speaker"]]} for s in segments]}


FIRST_RUN = [
    _segment("seg-00000", 1.0, "Good morning and welcome to the symposium on export control."),
    _segment("seg-00001", 8.0, "I am Tom Hinds from the embassy in Tokyo.", speaker="unknown-1"),
    _segment("seg-00002", 14.0, "Our second speaker is Mister Eda of the cabinet office.", speaker="unknown-1"),
    _segment("seg-00003", 21.0, "経済安全保障についてお話しします。", language="ja", speaker="iida", step=0.2),
    _segment("seg-00004", 26.0, "Thank you very much for the kind words and the invitation today.", speaker="unknown-1"),
]


def _rerun(segments: list[dict]) -> list[dict]:
    """What a re-run with a longer min-silence does: ids shifted by one (a new segment in front),
    times moved by 60 ms, two neighbours joined, one segment cut in two, one reading changed."""
    shifted = [_segment("seg-00000", 0.2, "Music.", speaker="unknown-1")]
    for s in segments:
        moved = _segment("x", s["start_s"] + 0.06, s["text"], s["language"], s["speaker"], step=(0.2 if s["language"] == "ja" else 0.4))
        shifted.append(moved)
    # seg-00001 and seg-00002 become one segment
    joined = {**shifted[2], "end_s": shifted[3]["end_s"], "text": shifted[2]["text"] + " " + shifted[3]["text"],
              "words": shifted[2]["words"] + shifted[3]["words"]}
    # seg-00004 is cut in two after "words"
    cut_a = _segment("x", shifted[5]["start_s"], "Thank you very much for the kind words", speaker="unknown-1")
    cut_b = _segment("x", cut_a["end_s"] + 0.3, "and the invitation today.", speaker="unknown-1")
    # seg-00000 is read differently by the re-run
    first = _segment("x", shifted[1]["start_s"], "Good morning, welcome to a symposium on exports.")
    result = [shifted[0], first, joined, shifted[4], cut_a, cut_b]
    for i, s in enumerate(result):
        s["id"] = f"seg-{i:05d}"
    return result


def _write_run(out, segments):
    write_json(out / "aligned.json", _aligned(segments))
    write_json(out / "diarization.json", _diarization(segments))


def _anchor(segment: dict) -> dict:
    return {k: segment[k] for k in ("track", "start_s", "end_s", "text")} | {"segment_id": segment["id"]}


def _text_edit(store, segment, new_text, editor="Ann", version=None):
    expect = {f"seg:{segment['id']}": store.version(f"seg:{segment['id']}") if version is None else version}
    return store.record(editor, "edit text", [NewEdit("text", f"seg:{segment['id']}", _anchor(segment), {"text": new_text})],
                        expect=expect)


def test_stale_version_is_refused_and_nothing_written(tmp_path):
    store = Store(tmp_path)
    seg = FIRST_RUN[1]
    _text_edit(store, seg, "I am Tom Hines from the embassy in Tokyo.", version=0)
    assert store.version("seg:seg-00001") == 1
    with pytest.raises(StaleVersion) as stale:
        _text_edit(store, seg, "I'm Tom Hines.", editor="Bob", version=0)
    assert "changed by Ann" in str(stale.value) and "version 1" in str(stale.value)
    assert len(store.active_edits()) == 1 and store.version("seg:seg-00001") == 1
    store.close()


def test_edits_persist_in_wal_sqlite_and_undo_keeps_history(tmp_path):
    store = Store(tmp_path)
    _text_edit(store, FIRST_RUN[1], "I am Tom Hines from the embassy in Tokyo.")
    hash_one = store.state_hash()
    store.record("Bob", "mark reviewed", [NewEdit("status", "seg:seg-00001", _anchor(FIRST_RUN[1]), {"status": "reviewed"})])
    assert store.state_hash() != hash_one
    store.close()
    reopened = Store(tmp_path)
    assert reopened._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [e.kind for e in reopened.active_edits()] == ["text", "status"]
    undone_action, undone = reopened.undo_last("Bob")
    assert [e.kind for e in undone] == ["status"]
    assert [e.kind for e in reopened.active_edits()] == ["text"]
    assert reopened.state_hash() == hash_one
    assert [e.undone_by is not None for e in reopened.all_edits()] == [False, True]
    assert reopened.actions()[-1]["label"] == "undo: mark reviewed"
    assert reopened.version("seg:seg-00001") == 3  # edit, status, undo
    reopened.close()


def test_text_edit_keeps_timings_of_untouched_words():
    seg = FIRST_RUN[1]
    words = retime_words(seg, "I am Tom Hines from the U.S. embassy in Tokyo.")
    assert [w["text"].strip() for w in words] == "I am Tom Hines from the U.S. embassy in Tokyo.".split()
    assert words[0] == seg["words"][0]  # untouched: same timing and probability
    hines = words[3]
    assert (hines["start_s"], hines["end_s"]) == (seg["words"][3]["start_s"], seg["words"][3]["end_s"])
    assert hines["probability"] == 1.0  # typed by an editor
    assert all(a["start_s"] <= b["start_s"] for a, b in zip(words, words[1:]))
    ja = retime_words(FIRST_RUN[3], "経済安全保障について説明します。")
    assert "".join(w["text"] for w in ja) == "経済安全保障について説明します。"
    assert all(" " not in w["text"] for w in ja)


def test_split_point_and_changes():
    time_s, first, second = split_point(FIRST_RUN[4], len("Thank you very much for the kind words"))
    assert [w["text"] for w in second][0] == " and"
    assert first[-1]["end_s"] <= time_s <= second[0]["start_s"]
    assert changes("I am Tom Hinds from", "I am Tom Hines from") == [("I am Tom Hin", "d", "e", "s from")]
    assert similarity("Good morning, welcome!", "good morning welcome") == 1.0


def _edit_first_run(store):
    """An editor's session on the first run: one of every kind of edit."""
    s = FIRST_RUN
    _text_edit(store, s[1], "I am Tom Hines from the embassy in Tokyo.")
    _text_edit(store, s[2], "Our second speaker is Mister Iida of the cabinet office.")
    store.record("Ann", "speaker", [NewEdit("speaker", "seg:seg-00001", _anchor(s[1]), {"person": "hines"})])
    store.record("Ann", "voice", [NewEdit("voice", "voice:spk01", {"voice": "spk01", "person": "unknown-1", "spans":
                                                                   [[x["start_s"], x["end_s"]] for x in s if x["speaker"] == "unknown-1"]},
                                          {"person": "todd", "name": "Todd Willis"})])
    store.record("Ann", "status", [NewEdit("status", "seg:seg-00003", _anchor(s[3]), {"status": "reviewed"})])
    store.record("Ann", "translation", [NewEdit("translation", "seg:seg-00003", _anchor(s[3]),
                                                {"language": "en", "text": "I will talk about economic security."})])
    _text_edit(store, s[0], "Good morning and welcome to the symposium on export controls.")
    offset = len("Thank you very much for the kind words")
    store.record("Ann", "split", [NewEdit("split", "seg:seg-00004", _anchor(s[4]) | {"time_s": split_point(s[4], offset)[0]},
                                          {"offset": offset})])


def test_edits_apply_to_the_run_they_were_made_on(tmp_path):
    _write_run(tmp_path, FIRST_RUN)
    store = Store(tmp_path)
    _edit_first_run(store)
    applier, versions = review_apply.build(tmp_path, store)
    artifact = applier.artifact(versions)
    by_id = {s["id"]: s for s in artifact["segments"]}
    assert by_id["seg-00001"]["text"] == "I am Tom Hines from the embassy in Tokyo."
    # The per-segment speaker change wins over the voice reassignment, although that came later (issue 24).
    assert by_id["seg-00001"]["speaker_name"]["en"] == "Tom Hines"
    assert by_id["seg-00002"]["speaker"] == "todd" and "Iida" in by_id["seg-00002"]["text"]
    assert {"seg-00004.1", "seg-00004.2"} <= set(by_id) and "seg-00004" not in by_id
    assert by_id["seg-00004.2"]["text"] == "and the invitation today."
    # A translation is not a change of what was said: the segment counts as not edited.
    assert by_id["seg-00003"]["review"] == {"status": "reviewed", "version": 2, "edited": False,
                                           "translation": {"en": "I will talk about economic security."}}
    assert artifact["voices"]["spk01"]["person"] == "todd"
    summary = artifact["review_summary"]
    assert summary["conflicts"] == [] and summary["edits_applied"] == 8 and summary["edits_reattached"] == 0
    store.close()


def test_edits_survive_a_rerun_with_other_segments_or_become_conflicts(tmp_path):
    """Regression for the question every editor asks: what happens to my corrections when the
    recognizer is re-run? Ids and times moved; each edit is placed again or listed, none lost."""
    _write_run(tmp_path, FIRST_RUN)
    store = Store(tmp_path)
    _edit_first_run(store)
    _write_run(tmp_path, _rerun(FIRST_RUN))  # the re-run replaces the machine artifacts
    applier, versions = review_apply.build(tmp_path, store)
    artifact = applier.artifact(versions)
    texts = [s["text"] for s in artifact["segments"]]
    joined = next(s for s in artifact["segments"] if "Tokyo" in s["text"])
    # Both word corrections found their passages inside the joined segment.
    assert "Tom Hines from" in joined["text"] and "Mister Iida of" in joined["text"]
    assert joined["speaker"] == "todd"  # the voice that holds that speech now
    ja = next(s for s in artifact["segments"] if s["language"] == "ja")
    assert ja["review"]["status"] == "reviewed" and ja["review"]["translation"]["en"].startswith("I will")
    assert "and the invitation today." in texts  # the split: the re-run already cuts there
    summary = artifact["review_summary"]
    conflicts = {c["kind"] for c in summary["conflicts"]}
    # "export control" -> "controls": the re-run reads "exports" there; the one-segment speaker
    # change: its passage now shares a segment with another sentence, an editor decides.
    assert conflicts == {"text", "speaker"}
    assert summary["edits_applied"] + len(summary["conflicts"]) == len(store.active_edits())
    assert summary["edits_reattached"] == 2 and summary["edits_already_in_transcript"] == 1
    # Dismissing a conflict is itself an edit (never silent), and undo brings it back.
    for conflict in summary["conflicts"]:
        store.record("Ann", "dismiss", [NewEdit("dismiss", f"edit:{conflict['edit']}", {}, {"edit_id": conflict["edit"]})])
    assert review_apply.build(tmp_path, store)[0].conflicts == {}
    store.undo_last("Ann")
    assert len(review_apply.build(tmp_path, store)[0].conflicts) == 1
    store.close()


def test_merge_and_find_replace_group_undo(tmp_path):
    _write_run(tmp_path, FIRST_RUN)
    store = Store(tmp_path)
    a, b = FIRST_RUN[1], FIRST_RUN[2]
    store.record("Ann", "merge", [NewEdit("merge", "seg:seg-00001", _anchor(a) | {"next": _anchor(b)}, {})],
                 expect={"seg:seg-00001": 0, "seg:seg-00002": 0})
    applier, _ = review_apply.build(tmp_path, store)
    assert "seg-00002" not in applier.segments
    assert applier.segments["seg-00001"]["text"].endswith("in Tokyo. Our second speaker is Mister Eda of the cabinet office.")
    assert applier.segments["seg-00001"]["end_s"] == b["end_s"]
    store.undo_last("Ann")
    assert "seg-00002" in review_apply.build(tmp_path, store)[0].segments


def test_review_stage_fingerprint_follows_the_journal(tmp_path):
    from pipeline.review.store import journal_inputs

    _write_run(tmp_path, FIRST_RUN)
    assert journal_inputs(tmp_path) == {"review/edits.sqlite": "no edits"}
    store = Store(tmp_path)
    _text_edit(store, FIRST_RUN[1], "I am Tom Hines from the embassy in Tokyo.")
    first = journal_inputs(tmp_path)
    store.record("Ann", "status", [NewEdit("status", "seg:seg-00001", _anchor(FIRST_RUN[1]), {"status": "reviewed"})])
    assert journal_inputs(tmp_path) != first
    store.undo_last("Ann")
    assert journal_inputs(tmp_path) == first
    status = review_apply.review_status(tmp_path)
    assert status["segments"] == 5 and status["segments_unreviewed"] == 5 and not status["complete"]
    assert review_apply.editor_translations(tmp_path) == {}
    json.dumps(review_apply.build(tmp_path, store)[0].artifact({}))  # the artifact is plain JSON
    store.close()


def test_marks_on_every_part_of_a_joined_segment_are_placed_together(tmp_path):
    """An editor reviews in order; a re-run that joins two reviewed segments gives one reviewed
    segment, and their translations, in order, become its translation."""
    _write_run(tmp_path, FIRST_RUN)
    store = Store(tmp_path)
    for seg, translation in ((FIRST_RUN[1], "東京の大使館のトム・ハインズです。"), (FIRST_RUN[2], "二人目の登壇者は内閣府の飯田さんです。")):
        store.record("Ann", "status", [NewEdit("status", f"seg:{seg['id']}", _anchor(seg), {"status": "reviewed"})])
        store.record("Ann", "translation", [NewEdit("translation", f"seg:{seg['id']}", _anchor(seg),
                                                    {"language": "ja", "text": translation})])
    store.record("Ann", "status", [NewEdit("status", "seg:seg-00004", _anchor(FIRST_RUN[4]), {"status": "reviewed"})])
    _write_run(tmp_path, _rerun(FIRST_RUN))
    applier, versions = review_apply.build(tmp_path, store)
    joined = next(s for s in applier.artifact(versions)["segments"] if "Tokyo" in s["text"])
    assert joined["review"]["status"] == "reviewed"
    assert joined["review"]["translation"]["ja"] == "東京の大使館のトム・ハインズです。二人目の登壇者は内閣府の飯田さんです。"
    # seg-00004 was cut in two by the re-run: both halves of a reviewed segment are reviewed.
    assert list(applier.conflicts.values()) == []
    halves = [s for s in applier.artifact(versions)["segments"] if s["text"].startswith(("Thank you", "and the"))]
    assert [s["review"]["status"] for s in halves] == ["reviewed", "reviewed"]
    store.close()
