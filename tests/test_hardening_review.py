"""Issue 24, the editors' layer: a voice rename never lands on someone else after a re-run, a
per-segment speaker change always wins over a voice-level one, and the review server neither
answers a deeply nested body with a 500 nor prints a URL before it listens. Unit tests on
hand-made runs."""

from __future__ import annotations

import os

import pytest

from pipeline.core.artifacts import schema_version
from pipeline.core.errors import PipelineError
from pipeline.core.storage import write_json
from pipeline.review import apply as review_apply
from pipeline.review.store import NewEdit, Store

from test_review_store import PEOPLE, _anchor, _segment

SMITH = {"person": "smith", "name": "Sheila Smith"}  # the editor's new name for the voice


def _run(out, segments: list[dict], voice_of: dict[str, str]) -> None:
    """aligned.json and diarization.json: ``voice_of`` maps each segment id to its diarized voice."""
    people = {**PEOPLE, "smith": {"name": {"en": "Unknown speaker 2", "ja": "不明な話者2"}}}
    voices = {}
    for s in segments:
        voices.setdefault(voice_of[s["id"]], {"person": s["speaker"], "confidence": 0.5, "evidence": []})
    write_json(out / "aligned.json", {"schema_version": schema_version("aligned.json"), "duration_s": 60.0,
                                      "languages": ["en", "ja"], "tracks": [{"name": "floor"}], "segments": segments,
                                      "people": people, "sessions": [], "voices": voices})
    write_json(out / "diarization.json", {"track": "floor", "speakers": sorted(set(voice_of.values())),
                                          "turns": [{"start_s": s["start_s"], "end_s": s["end_s"],
                                                     "speaker": voice_of[s["id"]]} for s in segments]})


def _hines_and_smith(shift_s: float = 0.0, smith_as: str = "unknown-1") -> list[dict]:
    """Four segments of Hines and three of the other voice, alternating."""
    lines = [("hines", "Good morning and welcome to the symposium."), (smith_as, "Thank you, it is good to be here."),
             ("hines", "Our first topic is export control."), (smith_as, "Export control has changed a great deal."),
             ("hines", "Tell us how the rules have changed."), (smith_as, "The lists grew longer every year."),
             ("hines", "Thank you all for coming today.")]
    return [_segment(f"seg-{i:05d}", 1.0 + 6 * i + shift_s, text, speaker=who) for i, (who, text) in enumerate(lines)]


def _rename_voice(store, segments, voice_of, voice, payload):
    spans = [[s["start_s"], s["end_s"]] for s in segments if voice_of[s["id"]] == voice]
    store.record("Ann", f"reassign voice {voice}",
                 [NewEdit("voice", f"voice:{voice}", {"voice": voice, "person": None, "spans": spans}, payload)])


def _reviewed(out, store) -> tuple[dict[str, dict], dict]:
    applier, versions = review_apply.build(out, store)
    artifact = applier.artifact(versions)
    return {s["id"]: s for s in artifact["segments"]}, artifact["review_summary"]


def test_voice_rename_is_a_conflict_when_a_rerun_joined_two_voices(tmp_path):
    """Re-run with vad.min_silence_ms 400 joined Hines's and Smith's voices into one: the rename
    of Smith's voice landed on Hines's untouched segments and overrode a per-segment change."""
    first = _hines_and_smith()
    voices = {s["id"]: ("spk00" if s["speaker"] == "hines" else "spk01") for s in first}
    _run(tmp_path, first, voices)
    store = Store(tmp_path)
    _rename_voice(store, first, voices, "spk01", SMITH)
    store.record("Ann", "change speaker", [NewEdit("speaker", "seg:seg-00005", _anchor(first[5]), {"person": "iida"})])
    rerun = _hines_and_smith(shift_s=0.05, smith_as="hines")  # one voice, named Hines by align
    _run(tmp_path, rerun, {s["id"]: "spk00" for s in rerun})
    segments, summary = _reviewed(tmp_path, store)
    assert [segments[f"seg-{i:05d}"]["speaker"] for i in (0, 2, 4, 6)] == ["hines"] * 4  # nobody touched them
    assert segments["seg-00005"]["speaker"] == "iida"  # the per-segment change stands
    assert "smith" not in {s["speaker"] for s in segments.values()}
    [conflict] = summary["conflicts"]
    assert conflict["kind"] == "voice" and "joined voices" in conflict["reason"]
    store.close()


def test_voice_rename_follows_the_same_voice_under_another_label(tmp_path):
    """The same voice after a re-run (other label, times moved a little): the rename is placed."""
    first = _hines_and_smith()
    voices = {s["id"]: ("spk00" if s["speaker"] == "hines" else "spk01") for s in first}
    _run(tmp_path, first, voices)
    store = Store(tmp_path)
    _rename_voice(store, first, voices, "spk01", SMITH)
    rerun = _hines_and_smith(shift_s=0.08)
    _run(tmp_path, rerun, {s["id"]: ("spk01" if s["speaker"] == "hines" else "spk00") for s in rerun})  # labels swapped
    segments, summary = _reviewed(tmp_path, store)
    assert [segments[f"seg-{i:05d}"]["speaker"] for i in range(7)] == ["hines", "smith"] * 3 + ["hines"]
    assert summary["conflicts"] == [] and summary["edits_reattached"] == 1
    store.close()


def test_voice_rename_is_a_conflict_when_a_rerun_cut_the_voice_in_two(tmp_path):
    first = _hines_and_smith()
    voices = {s["id"]: ("spk00" if s["speaker"] == "hines" else "spk01") for s in first}
    _run(tmp_path, first, voices)
    store = Store(tmp_path)
    _rename_voice(store, first, voices, "spk01", SMITH)
    rerun = _hines_and_smith()
    cut = {"seg-00001": "spk01", "seg-00003": "spk02", "seg-00005": "spk03"}  # no voice holds most of it
    _run(tmp_path, rerun, {s["id"]: cut.get(s["id"], "spk00") for s in rerun})
    segments, summary = _reviewed(tmp_path, store)
    assert "smith" not in {s["speaker"] for s in segments.values()}
    assert [c["kind"] for c in summary["conflicts"]] == ["voice"]
    store.close()


def test_per_segment_speaker_change_wins_over_a_later_voice_rename(tmp_path):
    first = _hines_and_smith()
    voices = {s["id"]: ("spk00" if s["speaker"] == "hines" else "spk01") for s in first}
    _run(tmp_path, first, voices)
    store = Store(tmp_path)
    store.record("Ann", "change speaker", [NewEdit("speaker", "seg:seg-00003", _anchor(first[3]), {"person": "iida"})])
    offset = len("Export control has changed")
    store.record("Ann", "split", [NewEdit("split", "seg:seg-00003", _anchor(first[3]) | {"time_s": 20.0},
                                          {"offset": offset})])
    _rename_voice(store, first, voices, "spk01", SMITH)  # later, voice-level
    segments, summary = _reviewed(tmp_path, store)
    assert segments["seg-00003.1"]["speaker"] == segments["seg-00003.2"]["speaker"] == "iida"  # split parts keep it
    assert segments["seg-00001"]["speaker"] == segments["seg-00005"]["speaker"] == "smith"
    assert summary["conflicts"] == []
    store.close()


# --- the review server -------------------------------------------------------------------------

def test_review_api_bounds_nesting_before_parsing(tmp_path):
    """100,000 nested "[" made json.loads raise RecursionError: HTTP 500. Now 422, one line."""
    from starlette.testclient import TestClient

    from pipeline.review import server
    from test_review_server import AUTH, BASE, TOKEN, _out

    client = TestClient(server.make_app(_out(tmp_path), TOKEN, allowed_hosts=server.LOOPBACK_NAMES), base_url=BASE,
                        raise_server_exceptions=False)
    for body in (b"[" * 100_000, b'{"editor": "Ann", "text": ' + b"[" * 40 + b"]" * 40 + b"}"):
        response = client.post("/api/segments/seg-00001/text", content=body, headers=AUTH)
        assert response.status_code == 422, response.text
        assert "nests deeper than" in response.json()["error"]
    # Brackets inside strings are text, not nesting.
    text = "[" * 200 + " I am Tom Hines."
    answer = client.post("/api/segments/seg-00001/text", json={"editor": "Ann", "text": text, "version": 0}, headers=AUTH)
    assert answer.status_code == 200, answer.text


def test_review_server_binds_before_printing_the_url(tmp_path, capsys):
    """A busy port: one line naming it, and no URL with a fresh token printed for a server that
    never listened."""
    import socket

    from pipeline.review import server
    from test_review_server import _out

    out = _out(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(PipelineError, match=rf"--port {port}: cannot listen on 127.0.0.1:{port}: .*choose another --port"):
            server.serve(out, "127.0.0.1", port)
    assert "token=" not in capsys.readouterr().out


def test_review_command_prints_a_url_that_answers(tmp_path):
    """The other way round: once the URL is printed, the server is listening."""
    import subprocess
    import sys
    import urllib.request

    from conftest import ROOT
    from test_review_server import _out

    out = _out(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "review", str(out), "--port", "0"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = process.stdout.readline()
        url = line.split(": ", 1)[1].strip()
        with urllib.request.urlopen(url.replace("/?", "/api/state?"), timeout=10) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
