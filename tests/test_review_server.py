"""The review app's HTTP layer: token, loopback, paths, body limits, validation, concurrency,
and the review stage in the runner. Fast: a fake output folder, Starlette's test client."""

from __future__ import annotations

import asyncio
import json
import wave

import pytest
from starlette.testclient import TestClient

from pipeline.core.errors import PipelineError
from pipeline.core.events import CollectingSink, reporting_to
from pipeline.core.storage import read_json, write_json
from pipeline.review import server
from pipeline.review.server import make_app

from conftest import write_config
from test_review_store import FIRST_RUN, _write_run

TOKEN = "test-token-0123456789"
AUTH = {"X-Review-Token": TOKEN}
BASE = "http://127.0.0.1:8765"


def _out(tmp_path):
    out = tmp_path / "out"
    (out / "audio").mkdir(parents=True)
    segments = [dict(s) for s in FIRST_RUN]
    segments[2] = {**segments[2], "text": "<script>window.pwned = 1</script> Our second speaker is here.",
                   "words": []}
    _write_run(out, segments)
    with wave.open(str(out / "audio" / "floor.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 16000 * 40)
    write_json(out / "ingest.json", {"recording": "x", "tracks": [{"name": "floor", "role": "floor",
                                                                   "path": "audio/floor.wav", "duration_s": 40.0}]})
    return out


@pytest.fixture
def out(tmp_path):
    return _out(tmp_path)


@pytest.fixture
def client(out):
    return TestClient(make_app(out, TOKEN, allowed_hosts=server.LOOPBACK_NAMES), base_url=BASE)


def _raw(app, path: bytes, headers=()) -> int:
    """Send a request with an exact raw path (no client-side normalisation of ``..``)."""
    from urllib.parse import unquote_to_bytes

    scope = {"type": "http", "method": "GET", "path": unquote_to_bytes(path).decode("latin-1"), "raw_path": path,
             "query_string": f"token={TOKEN}".encode(), "headers": [(b"host", b"127.0.0.1:8765"), *headers],
             "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 8765), "client": ("127.0.0.1", 1),
             "root_path": ""}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"]


def test_every_request_needs_the_token(out):
    fresh = TestClient(make_app(out, TOKEN, allowed_hosts=server.LOOPBACK_NAMES), base_url=BASE)
    for path in ("/", "/static/app.js", "/api/state", "/audio/floor", "/export/captions.srt",
                 "/api/segments/seg-00001/history"):
        response = fresh.get(path)
        assert response.status_code == 401, path
        assert "access token" in response.json()["error"]
        assert fresh.get(path, headers={"X-Review-Token": "wrong"}).status_code == 401, path
    # The page sets a strict, http-only cookie so its assets and the audio load without the query.
    page = fresh.get("/", params={"token": TOKEN})
    assert page.status_code == 200
    assert "HttpOnly" in page.headers["set-cookie"] and "SameSite=Strict" in page.headers["set-cookie"]
    assert fresh.get("/static/app.js").status_code == 200
    # Changes need the header: a cookie (which a page elsewhere could make the browser send) is not enough.
    body = {"status": "reviewed", "version": 0, "editor": "Ann"}
    assert fresh.post("/api/segments/seg-00001/status", json=body).status_code == 401
    assert fresh.post("/api/segments/seg-00001/status", json=body, params={"token": TOKEN}).status_code == 401
    assert fresh.post("/api/segments/seg-00001/status", json=body, headers=AUTH).status_code == 200


def test_loopback_only_by_default_and_a_fresh_token_each_start(out, capsys):
    from pipeline.cli import build_parser

    args = build_parser().parse_args(["review", str(out)])
    assert args.host == "127.0.0.1" and not args.allow_remote
    with pytest.raises(PipelineError, match="--allow-remote"):
        server.serve(out, host="0.0.0.0", port=0)
    with pytest.raises(PipelineError, match="aligned.json"):
        server.serve(out / "missing", port=0)
    # On loopback a Host header naming another machine (DNS rebinding) is refused.
    app = make_app(out, TOKEN, allowed_hosts=server.LOOPBACK_NAMES)
    other = TestClient(app, base_url="http://attacker.example:8765")
    assert other.get("/api/state", headers=AUTH).status_code == 403
    assert TestClient(app, base_url="http://localhost:8765").get("/api/state", headers=AUTH).status_code == 200
    with server.ServerThread(out) as one, server.ServerThread(out) as two:
        assert one.token != two.token and one.host == "127.0.0.1"


def test_no_path_outside_the_output_folder(out, tmp_path, client):
    app = make_app(out, TOKEN, allowed_hosts=server.LOOPBACK_NAMES)
    for path in (b"/static/../server.py", b"/static/..%2fserver.py", b"/static/%2e%2e/%2e%2e/core/storage.py",
                 b"/static/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", b"/audio/..%2f..%2fetc%2fpasswd", b"/audio/%2e%2e",
                 b"/export/..%2faligned.json", b"/export/%2e%2e/%2e%2e/aligned.json", b"/../aligned.json",
                 b"/static/..\\server.py"):
        assert _raw(app, path) in (400, 404), path
    assert client.get("/static/server.py", headers=AUTH).status_code == 404  # only the page's own files
    assert client.get("/audio/interpretation", headers=AUTH).status_code == 404  # only ingest.json's tracks
    # A track file that is a symlink to something outside the folder is refused.
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF secret")
    (out / "audio" / "floor.wav").unlink()
    (out / "audio" / "floor.wav").symlink_to(secret)
    response = client.get("/audio/floor", headers=AUTH)
    assert response.status_code == 403 and b"secret" not in response.content
    # ... and so is a track whose path in ingest.json climbs out.
    write_json(out / "ingest.json", {"recording": "x", "tracks": [{"name": "floor", "role": "floor",
                                                                   "path": "../secret.wav", "duration_s": 1}]})
    assert client.get("/audio/floor", headers=AUTH).status_code == 403


def test_audio_answers_range_requests(client):
    whole = client.get("/audio/floor", headers=AUTH)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    size = len(whole.content)
    part = client.get("/audio/floor", headers={**AUTH, "Range": f"bytes={size - 1000}-"})
    assert part.status_code == 206 and part.headers["content-range"] == f"bytes {size - 1000}-{size - 1}/{size}"
    assert part.content == whole.content[-1000:]


def test_bodies_are_size_limited_and_validated(client):
    big = {"text": "x" * (server.MAX_BODY_BYTES + 10), "version": 0, "editor": "Ann"}
    response = client.post("/api/segments/seg-00001/text", json=big, headers=AUTH)
    assert response.status_code == 413 and "larger than" in response.json()["error"]

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(40):
            yield b"x" * 10_000

    streamed = client.post("/api/segments/seg-00001/text", content=chunks(), headers=AUTH)
    assert streamed.status_code == 413
    bad_json = client.post("/api/segments/seg-00001/text", content=b"{not json", headers=AUTH)
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
    cases = [({"text": "x", "version": "new", "editor": "Ann"}, "version"),
             ({"text": "x", "version": 0}, "editor: Field required"),
             ({"text": "", "version": 0, "editor": "Ann"}, "text"),
             ({"text": "x", "version": 0, "editor": "Ann", "admin": True}, "unknown field 'admin'"),
             ({"text": "x", "version": -1, "editor": "Ann"}, "version")]
    for body, expected in cases:
        response = client.post("/api/segments/seg-00001/text", json=body, headers=AUTH)
        assert response.status_code == 422 and expected in response.json()["error"], body
    assert client.post("/api/segments/seg-00001/text", json=[1, 2], headers=AUTH).status_code == 400
    assert "no person" in client.post("/api/segments/seg-00001/speaker", headers=AUTH,
                                      json={"person": "nobody", "version": 0, "editor": "A"}).json()["error"]


def test_page_is_static_text_only_with_a_strict_policy(client):
    page = client.get("/", headers=AUTH)
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"] == "no-referrer"
    script = client.get("/static/app.js", headers=AUTH).text
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "eval(" not in script
    state = client.get("/api/state", headers=AUTH).json()
    assert any("<script>" in s["text"] for s in state["segments"])  # data, shown with textContent


def test_stale_save_gets_a_conflict_and_loses_nothing(client):
    seg = next(s for s in client.get("/api/state", headers=AUTH).json()["segments"] if s["id"] == "seg-00001")
    first = client.post("/api/segments/seg-00001/text", headers=AUTH,
                        json={"text": "I am Tom Hines from the embassy in Tokyo.", "version": seg["version"], "editor": "Ann"})
    assert first.status_code == 200 and first.json()["changed"][0]["version"] == 1
    second = client.post("/api/segments/seg-00001/text", headers=AUTH,
                         json={"text": "I am Tom Hinds from Tokyo.", "version": seg["version"], "editor": "Bob"})
    assert second.status_code == 409
    assert "changed by Ann" in second.json()["error"] and second.json()["segment"]["text"].startswith("I am Tom Hines")
    history = client.get("/api/segments/seg-00001/history", headers=AUTH).json()["history"]
    assert [(h["editor"], h["after"]) for h in history] == [("Ann", "I am Tom Hines from the embassy in Tokyo.")]


def test_voice_split_merge_replace_undo_export(client, out):
    h = AUTH
    state = client.get("/api/state", headers=h).json()
    voice = next(s["voice"] for s in state["segments"] if s["speaker"] == "unknown-1")
    members = [s["id"] for s in state["segments"] if s["voice"] == voice]
    reassigned = client.post(f"/api/voices/{voice}/assign", json={"name": "Todd Willis", "editor": "Ann"}, headers=h)
    assert reassigned.status_code == 200
    changed = reassigned.json()["changed"]
    assert sorted(s["id"] for s in changed) == sorted(members) and len(members) == 3
    assert all(s["name"]["en"] == "Todd Willis" for s in changed)
    seg = next(s for s in changed if s["id"] == "seg-00004")
    split = client.post("/api/segments/seg-00004/split", headers=h,
                        json={"offset": len("Thank you very much for the kind words"), "version": seg["version"], "editor": "Ann"})
    assert split.status_code == 200 and split.json()["reload"]
    ids = [s["id"] for s in client.get("/api/state", headers=h).json()["segments"]]
    assert "seg-00004.1" in ids and "seg-00004" not in ids
    gone = client.post("/api/segments/seg-00004/text", json={"text": "x", "version": seg["version"], "editor": "Bob"},
                       headers=h)
    assert gone.status_code == 409 and "no longer exists" in gone.json()["error"]
    replaced = client.post("/api/replace", json={"find": "Tokyo", "replace": "Tōkyō", "editor": "Ann"}, headers=h)
    assert replaced.json()["count"] == 1
    assert client.post("/api/undo", json={"editor": "Ann"}, headers=h).json()["message"].startswith("undone: replace")
    exported = client.post("/api/export", json={"editor": "Ann"}, headers=h).json()
    srt = client.get(exported["files"][0], headers=h)
    assert srt.status_code == 200 and "Todd Willis" in srt.text and "Tōkyō" not in srt.text
    assert "attachment" in srt.headers["content-disposition"]


def test_review_stage_runs_again_when_edits_change(out, tmp_path, client):
    from pipeline.core.config import load_config
    from pipeline.core.runner import run_pipeline

    config_path = write_config(tmp_path / "c.yaml")
    config = load_config(config_path)
    recording = out / "audio" / "floor.wav"

    def run_review():
        sink = CollectingSink()
        with reporting_to(sink):
            run_pipeline(recording, config, config_path, out, from_stage="review", to_stage="review")
        return sink.messages()

    assert any("'review' running" in m for m in run_review())
    assert any("didn't change, skipping" in m for m in run_review())
    client.post("/api/segments/seg-00001/status", json={"status": "reviewed", "version": 0, "editor": "Ann"}, headers=AUTH)
    assert any("'review' running" in m for m in run_review())
    reviewed = read_json(out / "reviewed.json")
    seg = next(s for s in reviewed["segments"] if s["id"] == "seg-00001")
    assert seg["review"] == {"status": "reviewed", "version": 1, "edited": False}
    assert reviewed["review_summary"]["reviewed"] == 1 and reviewed["review_summary"]["conflicts"] == []
    assert json.loads((out / "manifest.json").read_text())["stages"]["review"]["inputs"]["review/edits.sqlite"]


REPORT = {"sections": [
    {"id": "overview", "kind": "overview", "sentences": {"en": [{"text": "Export control was discussed.",
                                                                "cites": ["seg-00000"], "origin": "llm"}]}},
    {"id": "session:s1", "kind": "session", "title": {"en": "Session one", "ja": "第一部"},
     "parts": [{"person": {"id": "hines", "name": {"en": "Tom Hines"}},
                "points": {"en": [{"text": "Hines introduced himself.", "cites": ["seg-00001"], "origin": "llm"}],
                           "ja": [{"text": "ハインズ氏が自己紹介した。", "cites": ["seg-00001"], "origin": "llm"}]}}],
     "notes": []}],
    "segments": {"seg-00000": {"start_s": 1.0, "end_s": 5.0}, "seg-00001": {"start_s": 8.0, "end_s": 11.6}}}


def test_report_sections_are_approved_and_rewritten_in_the_journal(out, client):
    from pipeline.report.edits import section_edits
    from pipeline.review.store import review_status

    write_json(out / "report.json", REPORT)
    state = client.get("/api/state", headers=AUTH).json()
    assert state["report"]["sections"][1]["id"] == "session:s1"
    assert state["summary"]["sections"] == {"overview": "unreviewed", "session:s1": "unreviewed"}
    approve = client.post("/api/report/sections/overview/status", json={"status": "reviewed", "editor": "Ann"},
                          headers=AUTH)
    assert approve.status_code == 200 and approve.json()["summary"]["sections"]["overview"] == "reviewed"
    rewrite = client.post("/api/report/sections/session:s1/text", headers=AUTH,
                          json={"language": "en", "text": "Tom Hines opened the session.", "editor": "Ann"})
    assert rewrite.json()["summary"]["section_texts"] == {"session:s1": {"en": "Tom Hines opened the session."}}
    assert client.post("/api/report/sections/nope/status", json={"status": "reviewed", "editor": "Ann"},
                       headers=AUTH).status_code == 404
    # What the report and publish wings read from the journal:
    assert section_edits(out) == {"overview": {"status": "reviewed"},
                                  "session:s1": {"text": {"en": "Tom Hines opened the session."}, "editor": "Ann"}}
    status = review_status(out)
    assert (status["report_sections"], status["report_sections_reviewed"], status["report_sections_unreviewed"]) == (2, 1, 1)
    assert status["segments_unreviewed"] == 5 and not status["complete"]


def test_the_machines_changes_to_the_agendas_spelling_are_shown_until_the_editor_undoes_them(tmp_path):
    """The transcribe stage rewrites a slip of an agenda word (DMI総合法律、事務所 → TMI総合法律事務所)
    and records it; the editor sees the change on the segment and, putting the heard words back,
    no longer does."""
    out = _out(tmp_path)
    segments = read_json(out / "aligned.json")["segments"]
    segments[3] = {**segments[3], "text": "TMI総合法律事務所の柴野です。", "words": [],
                   "corrections": [{"from": "DMI総合法律、事務所", "to": "TMI総合法律事務所", "kind": "affiliation",
                                    "evidence": "one slip from agenda affiliation", "start_s": 21.0, "end_s": 22.0}]}
    _write_run(out, segments)
    client = TestClient(make_app(out, TOKEN, allowed_hosts=server.LOOPBACK_NAMES), base_url=BASE)
    seg = next(s for s in client.get("/api/state", headers=AUTH).json()["segments"] if s["id"] == segments[3]["id"])
    assert seg["corrections"] == [{"from": "DMI総合法律、事務所", "to": "TMI総合法律事務所", "kind": "affiliation",
                                   "evidence": "one slip from agenda affiliation"}]
    undone = client.post(f"/api/segments/{seg['id']}/text", headers=AUTH,
                         json={"text": "DMI総合法律、事務所の柴野です。", "version": seg["version"], "editor": "Ann"})
    assert undone.status_code == 200
    seg = next(s for s in client.get("/api/state", headers=AUTH).json()["segments"] if s["id"] == seg["id"])
    assert seg["text"].startswith("DMI") and seg["corrections"] == []
