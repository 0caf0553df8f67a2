"""Runs that can't corrupt each other, and one-line errors where a traceback used to be.

Each test is named after the defect it pins (found by trying the pipeline as a hostile user).
"""

import ast
import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.asr import transcribe
from pipeline.cli import main as cli_main
from pipeline.core import artifacts, runner
from pipeline.core.config import load_config
from pipeline.core.errors import PipelineError
from pipeline.core.events import CollectingSink, reporting_to
from pipeline.core.lock import OutputLock
from pipeline.core.runner import run_pipeline
from pipeline.core.storage import read_json
from pipeline.media import ingest

from conftest import ROOT, fixture, write_config
from test_runner import ConstantEngine

JFK = "whisper/jfk.flac"


@pytest.fixture
def fake_engine(monkeypatch):
    monkeypatch.setattr(transcribe, "load_engine", lambda settings: ConstantEngine())


def _run(config_path, out, recording=None, **kwargs) -> list[str]:
    with reporting_to(CollectingSink()) as sink:
        run_pipeline(recording or fixture(JFK), load_config(config_path), config_path, out, **kwargs)
    return sink.messages()


def _ran(messages: list[str]) -> list[str]:
    return [m.split("'")[1] for m in messages if m.endswith("running")]


def _cli(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def _one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# --- 2. runs that can't corrupt each other -------------------------------------------------

def test_second_run_into_a_busy_folder_stops_naming_the_holder(tmp_path):
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out):
        result = _cli("run", fixture(JFK), "--config", config, "--out", out, "--to", "ingest")
    _one_line_error(result, "is in use by another run (pid", str(os.getpid()))
    assert not (out / "ingest.json").exists()


@pytest.mark.slow
def test_two_runs_started_together_leave_one_clean_result(tmp_path):
    """The survivor's output equals a clean run's; the other stops with one line (exit 2)."""
    config = write_config(tmp_path / "c.yaml")
    command = ["run", fixture(JFK), "--config", config, "--to", "transcribe"]
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline", *map(str, command), "--out", str(tmp_path / "shared")],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    assert any("in use by another run" in err for code, err in results if code == 2), results
    clean = _cli(*command, "--out", tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr
    for name in ("ingest.json", "vad.json", "transcript.json"):
        assert (tmp_path / "shared" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name
    again = _cli(*command, "--out", tmp_path / "shared")
    assert again.stderr.count("didn't change, skipping") == 3


def test_a_replaced_side_file_reruns_its_stage(tmp_path, fake_engine):
    """Side files are stamped (size, mtime): a WAV replaced behind the artifact's back is noticed."""
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    wav = out / "audio" / "floor.wav"
    shutil.copy(fixture("pyannote-audio/sample.wav"), wav)
    assert _ran(_run(config, out, to_stage="vad")) == ["ingest"]  # same ingest.json again: vad skipped


def _fail_writing(monkeypatch, name: str, code: int, reason: str):
    """Make the runner's artifact write of ``name`` fail as the OS would; returns the real writer."""
    real_write = runner.write_json

    def failing_write(path, data):
        if Path(path).name == name:
            raise OSError(code, reason, str(path))
        return real_write(path, data)

    monkeypatch.setattr(runner, "write_json", failing_write)
    return real_write


def test_failed_ingest_does_not_leave_new_audio_trusted_under_old_artifact(tmp_path, fake_engine, monkeypatch):
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    real_write = _fail_writing(monkeypatch, "ingest.json", errno.EACCES, "Permission denied")
    with pytest.raises(PipelineError, match=r"stage 'ingest': cannot write .*ingest.json \(Permission denied\)"):
        _run(config, out, recording=fixture("pyannote-audio/sample.wav"), to_stage="vad")
    monkeypatch.setattr(runner, "write_json", real_write)
    # The old ingest.json no longer vouches for the new WAV: the next run decodes again.
    assert _ran(_run(config, out, recording=fixture("pyannote-audio/sample.wav"), to_stage="vad")) == ["ingest", "vad"]
    assert read_json(out / "ingest.json")["recording"].endswith("sample.wav")


@pytest.mark.parametrize("damage", ["", "{\"stages\": {\"ingest\"", "[]", "{\"stages\": {\"ingest\": {}}}",
                                    "{\"stages\": {\"ingest\": {\"fingerprint\": 3}}}"])
@pytest.mark.parametrize("force", [False, True])
def test_damaged_manifest_does_not_break_later_runs(tmp_path, fake_engine, damage, force):
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    (out / "manifest.json").write_text(damage)
    assert _ran(_run(config, out, to_stage="vad", force=force)) == ["ingest", "vad"]
    assert read_json(out / "manifest.json")["stages"]["vad"]["fingerprint"]


@pytest.mark.parametrize("damage", ["{\"segm", "[]", "{\"segments\": 3, \"counters\": {}}"])
def test_damaged_checkpoint_chunk_is_redone(tmp_path, fake_engine, damage):
    config = write_config(tmp_path / "c.yaml", extra="transcribe: {checkpoint_every_s: 5}\n")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    fingerprint = _fingerprint_of(config, out, "transcribe")
    work = out / ".work" / "transcribe" / fingerprint[:16]
    work.mkdir(parents=True)
    (work / "floor-chunk-00000.json").write_text(damage)
    _run(config, out, to_stage="transcribe")
    counters = read_json(out / "manifest.json")["stages"]["transcribe"]["counters"]
    assert counters["chunks_reused"] == 0 and counters["chunks_transcribed"] >= 1


def test_force_clears_checkpoints(tmp_path, fake_engine):
    """A checkpoint that parses but is wrong would be resumed; --force trusts no scratch."""
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    work = out / ".work" / "transcribe" / _fingerprint_of(config, out, "transcribe")[:16]
    work.mkdir(parents=True)
    bogus = {"segments": [{"track": "floor", "start_s": 0.0, "end_s": 1.0, "language": "en", "text": "BOGUS",
                           "words": [], "confidence": 1.0, "flags": []}], "counters": {}}
    (work / "floor-chunk-00000.json").write_text(json.dumps(bogus))
    _run(config, out, from_stage="transcribe", to_stage="transcribe", force=True)
    assert "BOGUS" not in (out / "transcript.json").read_text()


def _fingerprint_of(config_path, out, stage_name):
    from pipeline.core.config import section
    from pipeline.stages import STAGES

    stage = next(s for s in STAGES if s.name == stage_name)
    config = load_config(config_path)
    return runner.fingerprint(stage, {n: section(config, n) for n in stage.settings},
                              runner._stage_inputs(stage, fixture(JFK), out))


# --- one-line errors instead of tracebacks -----------------------------------------------

def test_out_that_is_a_file_or_under_a_file(tmp_path):
    config = write_config(tmp_path / "c.yaml")
    (tmp_path / "taken").write_text("x")
    _one_line_error(_cli("run", fixture(JFK), "--config", config, "--out", tmp_path / "taken"),
                    "exists and is not a folder")
    _one_line_error(_cli("run", fixture(JFK), "--config", config, "--out", tmp_path / "taken" / "sub"),
                    "cannot create the output folder")


def test_disk_full_names_the_stage_and_file(tmp_path, fake_engine, monkeypatch):
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    _fail_writing(monkeypatch, "transcript.json", errno.ENOSPC, "No space left on device")
    with pytest.raises(PipelineError, match=r"stage 'transcribe': disk full while writing .*transcript.json"):
        _run(config, out, to_stage="transcribe")
    assert (out / "vad.json").exists() and not (out / "transcript.json").exists()


def test_non_utf8_config(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes("event:\n  title: {en: シンポ}\n  languages: [en]\n".encode("shift_jis"))
    with pytest.raises(PipelineError, match=r"c.yaml: not UTF-8 text"):
        load_config(path)


def test_enrollment_clip_that_is_not_audio(tmp_path):
    (tmp_path / "katie.wav").write_text("not audio")
    config = write_config(tmp_path / "c.yaml", extra="  people:\n    - {id: katie, name: {en: Katie}, roles: [speaker], "
                          "enrollment: [katie.wav]}\n")
    with pytest.raises(PipelineError, match=r"enrollment: .*katie.wav is not an audio file"):
        load_config(config)


@pytest.mark.parametrize("setting, message", [
    ("transcribe: {compute_type: int3}", "transcribe.compute_type"),
    ("transcribe: {model: ./models/whisper-large.pt}", "transcribe.model: no such file or folder"),
])
def test_bad_model_settings_are_caught_at_load(tmp_path, setting, message):
    with pytest.raises(PipelineError, match=message.replace(".", r"\.")):
        load_config(write_config(tmp_path / "c.yaml", extra=setting + "\n"))


def test_truncated_artifact_with_from(tmp_path, fake_engine):
    """The damaged file is named before any work starts (the subprocess never loads a model)."""
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    text = (out / "vad.json").read_text()
    (out / "vad.json").write_text(text[: len(text) // 2])
    result = _cli("run", fixture(JFK), "--config", config, "--out", out, "--from", "transcribe", "--to", "transcribe")
    _one_line_error(result, "vad.json: damaged (not valid JSON")


def test_artifact_of_the_wrong_shape_is_named(tmp_path, fake_engine):
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    data = read_json(out / "vad.json")
    data["tracks"]["floor"][0]["start_s"] = "soon"
    (out / "vad.json").write_text(json.dumps(data))
    with pytest.raises(PipelineError, match=r"vad.json: not a valid vad artifact: tracks.floor.0.start_s"):
        _run(config, out, from_stage="transcribe", to_stage="transcribe")


@pytest.mark.parametrize("truth, message", [
    ({"utterances": [{"id": "u1", "person": "a", "language": "en", "start_s": "0", "end_s": 1, "text": "x"}]},
     "utterances[0].start_s has the wrong type"),
    ({"utterances": [], "sessions": [{"id": "s1"}]}, "sessions[0] lacks start_s"),
])
def test_evaluate_names_bad_truth(tmp_path, truth, message, fake_engine):
    config = write_config(tmp_path / "c.yaml")
    _run(config, tmp_path / "out", to_stage="transcribe")
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    with pytest.raises(PipelineError, match=message.replace("[", r"\[").replace("]", r"\]")):
        from pipeline.evaluation.evaluate import evaluate

        evaluate(tmp_path / "out", tmp_path / "truth.json")


def test_evaluate_json_into_a_folder(tmp_path, fake_engine):
    config = write_config(tmp_path / "c.yaml")
    _run(config, tmp_path / "out", to_stage="transcribe")
    (tmp_path / "truth.json").write_text(json.dumps({"utterances": []}))
    assert cli_main(["evaluate", str(tmp_path / "out"), str(tmp_path / "truth.json"), "--json", str(tmp_path)]) == 2


def test_evaluate_refuses_a_stale_aligned_transcript(tmp_path, fake_engine):
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="align")
    write_config(config, extra="transcribe: {beam_size: 2}\n")
    _run(config, out, to_stage="transcribe")  # a new transcript; align not re-run
    (tmp_path / "truth.json").write_text(json.dumps({"utterances": []}))
    from pipeline.evaluation.evaluate import evaluate

    with pytest.raises(PipelineError, match=r"aligned.json: stale"):
        evaluate(out, tmp_path / "truth.json")


def test_recording_named_like_an_option(tmp_path):
    shutil.copy(fixture(JFK), tmp_path / "-jfk.flac")
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        probed = ingest.probe(Path("./-jfk.flac"))
    finally:
        os.chdir(previous)
    assert probed.audio_streams and probed.duration_s == pytest.approx(11.0, abs=0.1)


def test_truncated_ogg_opus_is_refused(tmp_path):
    data = (ROOT / "recordings" / "demo" / "demo-clip.opus").read_bytes()
    (tmp_path / "cut.opus").write_bytes(data[: len(data) // 2])
    config = load_config(write_config(tmp_path / "c.yaml"))
    with pytest.raises(PipelineError, match=r"cut.opus: truncated: the Ogg stream has no end-of-stream page"):
        ingest.run(tmp_path / "cut.opus", config, tmp_path / "out", tmp_path / "staging")
    assert ingest.ogg_stream_finished(ROOT / "recordings" / "demo" / "demo-clip.opus")


def test_artifacts_follow_the_umask(tmp_path, fake_engine):
    previous = os.umask(0o022)
    try:
        _run(write_config(tmp_path / "c.yaml"), tmp_path / "out", to_stage="vad")
    finally:
        os.umask(previous)
    for name in ("ingest.json", "vad.json", "manifest.json"):
        assert (tmp_path / "out" / name).stat().st_mode & 0o777 == 0o644, name


@pytest.mark.slow  # 6 s: the fast suite stays under a minute
def test_a_large_agenda_loads(tmp_path):
    """4 MB of agenda (20,000 people): loaded with the C YAML loader and a one-pass duplicate check
    (it took 144 s before; `python benchmarks/config_load.py` times it)."""
    people = "".join(f"    - {{id: p{i}, name: {{en: Person {i}, ja: 人物{i}}}, aliases: [Alias{i}, 別名{i}], "
                     f"title: {{en: Professor of Things {i}}}, roles: [speaker]}}\n" for i in range(20000))
    path = write_config(tmp_path / "c.yaml", extra="  people:\n" + people)
    assert path.stat().st_size > 3_000_000
    started = time.perf_counter()
    assert len(load_config(path).event.people) == 20000
    print(f"4 MB agenda loaded in {time.perf_counter() - started:.1f} s")


# --- 1. layout ------------------------------------------------------------------------------

def test_no_module_imports_another_modules_private_names():
    offenders = []
    for path in (ROOT / "pipeline").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("pipeline")):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private:
                    offenders.append(f"{path.relative_to(ROOT)}: from {'.' * node.level}{node.module} import {private}")
    assert not offenders, offenders


def test_stages_lists_the_table():
    result = _cli("stages")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    from pipeline.stages import STAGE_NAMES

    assert names == STAGE_NAMES and "captions" in names and "export" not in names


# --- issue 24: nothing an editor or archivist made is ever lost -------------------------------

def _checkpoint_of_first_chunk(config, out) -> Path:
    work = out / ".work" / "transcribe" / _fingerprint_of(config, out, "transcribe")[:16]
    work.mkdir(parents=True, exist_ok=True)
    return work / "floor-chunk-00000.json"


@pytest.mark.parametrize("chunk", [
    {"segments": [{"x": 1}], "counters": {}},                                   # parseable, not segments
    {"segments": [], "counters": {"windows": "two"}},                          # counters that are not numbers
    {"segments": [{"track": "floor", "start_s": "0", "end_s": 1.0, "language": "en", "text": "x"}], "counters": {}},
])
def test_malformed_checkpoint_chunk_is_validated_set_aside_and_redone(tmp_path, fake_engine, chunk):
    """A checkpoint is checked against the artifact schema before reuse: a bad one never becomes
    transcript.json (nor a TypeError); it is set aside and its chunk transcribed again."""
    config = write_config(tmp_path / "c.yaml", extra="transcribe: {checkpoint_every_s: 5}\n")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    _checkpoint_of_first_chunk(config, out).write_text(json.dumps(chunk))
    messages = _run(config, out, to_stage="transcribe")
    assert any("checkpoint floor-chunk-00000.json is damaged" in m and "set aside" in m for m in messages), messages
    counters = read_json(out / "manifest.json")["stages"]["transcribe"]["counters"]
    assert counters["chunks_reused"] == 0 and counters["chunks_transcribed"] >= 1
    transcript = artifacts.read_artifact(out / "transcript.json")
    said = {word for s in transcript["segments"] for word in s["text"].split()}
    assert said == {"words", "here"}  # what the engine said, nothing of the bad chunk


def test_a_good_checkpoint_is_still_reused(tmp_path, fake_engine):
    config = write_config(tmp_path / "c.yaml", extra="transcribe: {checkpoint_every_s: 5}\n")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    good = {"segments": [{"track": "floor", "start_s": 0.5, "end_s": 1.0, "language": "en", "text": "KEPT",
                          "words": [], "confidence": 1.0, "flags": []}], "counters": {"windows": 1}}
    _checkpoint_of_first_chunk(config, out).write_text(json.dumps(good))
    _run(config, out, to_stage="transcribe")
    assert read_json(out / "manifest.json")["stages"]["transcribe"]["counters"]["chunks_reused"] == 1
    assert "KEPT" in (out / "transcript.json").read_text()


@pytest.mark.parametrize("outputs", [3, ["ingest.json"], {"ingest.json": 3}, {"ingest.json": None}])
def test_manifest_entry_of_the_wrong_shape_runs_the_stage_again(tmp_path, fake_engine, outputs):
    """Valid JSON, wrong shape (a stage's outputs an int, a list, hashes that are numbers): the
    entry vouches for nothing and the stage runs again, without an AttributeError."""
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    manifest = read_json(out / "manifest.json")
    manifest["stages"]["ingest"]["outputs"] = outputs
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert _ran(_run(config, out, to_stage="vad")) == ["ingest"]  # same bytes again: vad stays skipped
    assert isinstance(read_json(out / "manifest.json")["stages"]["ingest"]["outputs"]["ingest.json"], str)
    result = _cli("run", fixture(JFK), "--config", config, "--out", out, "--to", "vad")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


def test_failed_ingest_leaves_no_artifact_vouching_for_the_new_audio(tmp_path, fake_engine, monkeypatch):
    """ingest.json unwritable after the new WAV was decoded: a later ``--from vad`` must not say
    "didn't change, skipping" over audio that ingest.json does not describe."""
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "out"
    _run(config, out, to_stage="vad")
    _fail_writing(monkeypatch, "ingest.json", errno.EACCES, "Permission denied")
    other = fixture("pyannote-audio/sample.wav")
    with pytest.raises(PipelineError, match=r"stage 'ingest': cannot write .*ingest.json"):
        _run(config, out, recording=other, to_stage="vad")
    monkeypatch.undo()
    import soundfile

    assert soundfile.info(str(out / "audio" / "floor.wav")).duration > 20  # the new recording (JFK is 11 s)
    with pytest.raises(PipelineError, match=r"stage 'vad' needs .*ingest.json, which stage 'ingest' writes"):
        _run(config, out, recording=other, from_stage="vad", to_stage="vad")
    result = _cli("run", other, "--config", config, "--out", out, "--from", "vad", "--to", "vad")
    _one_line_error(result, "ingest.json", "run with --from ingest")


def test_storage_reads_the_umask_without_changing_it(tmp_path, monkeypatch):
    """Setting the umask to 0 to read it, even for a moment, gives files another thread creates
    then the wrong mode (the review server and Dask workers run threads)."""
    from pipeline.core import storage

    real_umask = os.umask
    calls = []
    monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or real_umask(mask))
    previous = real_umask(0o027)
    try:
        storage.write_text(tmp_path / "a.txt", "x")
        assert calls == []
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640
        assert storage.current_umask() == 0o027
        assert storage.umask_from_a_probe() == 0o027  # where /proc is not there to ask
    finally:
        real_umask(previous)


@pytest.mark.parametrize("start", ["25:99:00", "24:00", "08:60", "08:20:61"])
def test_session_times_must_be_times_of_day(tmp_path, start):
    config = write_config(tmp_path / "c.yaml", extra=(
        "  people:\n    - {id: ann, name: {en: Ann}, roles: [host]}\n"
        f"  sessions:\n    - {{id: s1, title: {{en: Opening}}, start: \"{start}\", end: \"09:00\", "
        "people: [{person: ann, role: host}]}\n"))
    with pytest.raises(PipelineError, match=rf"c.yaml: event.sessions.0.start: not a time of day: hours 00-23, "
                                            rf"minutes and seconds 00-59 \(got '{start}'\)"):
        load_config(config)
    write_config(config, extra=(  # the last second of the day is one
        "  people:\n    - {id: ann, name: {en: Ann}, roles: [host]}\n"
        "  sessions:\n    - {id: s1, title: {en: Opening}, start: \"23:59:59\", end: \"00:00\", "
        "people: [{person: ann, role: host}]}\n"))
    assert load_config(config).event.sessions[0].start == "23:59:59"


@pytest.mark.parametrize("manifest", ["[]", "3", '{"config": 7}', "{torn"], ids=["list", "number", "config-not-a-path", "torn"])
def test_readers_of_a_run_survive_a_manifest_of_the_wrong_shape(tmp_path, manifest):
    """Every reader that looks up the run's config in manifest.json (translation and report
    scoring, the review app's title and export) treats a manifest of another shape as naming no
    config: a fallback or one line, never an AttributeError."""
    from pipeline.report.score import config_of

    (tmp_path / "manifest.json").write_text(manifest)
    assert runner.recorded_config(tmp_path) is None
    with pytest.raises(PipelineError, match="manifest.json: names no config"):
        config_of(tmp_path)


def test_recorded_config_reads_a_good_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"stages": {}, "config": "configs/demo.yaml"}))
    assert runner.recorded_config(tmp_path) == "configs/demo.yaml"
    assert runner.recorded_config(tmp_path / "missing") is None
