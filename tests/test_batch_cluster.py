"""Batch on real Dask clusters: a LocalCluster, and `dask scheduler` + two `dask worker` processes.

Three short recordings (two fixtures with a plain English config, the demo clip with the demo
agenda, given per recording by a manifest) up to ``--to transcribe``, compared byte for byte
with one clean ``run`` of each (manifest timings aside). The fault test kills the worker that
is transcribing the demo clip; Dask retries the task and the output equals the clean run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, fixture, write_config

pytestmark = pytest.mark.slow

TO = "transcribe"
TIMINGS = ("elapsed_s", "finished_at")  # what differs between two clean runs, besides side files' mtimes


def _recordings(tmp: Path) -> tuple[Path, list[tuple[str, Path, Path]]]:
    english = write_config(tmp / "english.yaml", languages=("en",))
    demo = ROOT / "configs" / "demo.yaml"
    items = [("jfk", fixture("whisper/jfk.flac"), english),
             ("sample", fixture("pyannote-audio/sample.wav"), english),
             ("demo-clip", ROOT / "recordings" / "demo" / "demo-clip.opus", demo)]
    manifest = tmp / "batch.csv"
    manifest.write_text("recording,config\n" + "".join(f"{r},{c}\n" for _, r, c in items), encoding="utf-8")
    return manifest, items


def _folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file `run` leaves, by relative path; manifest.json without its timings."""
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if not path.is_file() or relative == ".lock" or relative.startswith(".work/"):
            continue
        data = path.read_bytes()
        if relative == "manifest.json":
            manifest = json.loads(data)
            for entry in manifest["stages"].values():
                for key in TIMINGS:
                    entry.pop(key, None)
                # A side file (audio/floor.wav) is stamped "size=...;mtime_ns=...": its time is a timing too.
                entry["outputs"] = {k: v.split(";mtime_ns=")[0] for k, v in entry["outputs"].items()}
            data = json.dumps(manifest, sort_keys=True).encode()
        files[relative] = data
    return files


def _assert_same(batch_folder: Path, reference: Path) -> None:
    got, want = _folder_bytes(batch_folder), _folder_bytes(reference)
    assert sorted(got) == sorted(want), batch_folder
    for relative in want:
        assert got[relative] == want[relative], f"{batch_folder / relative} differs from the clean run"


@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory):
    """The manifest and one clean `run` of each recording (the reference every test compares to)."""
    from pipeline.core.config import load_config
    from pipeline.core.runner import run_pipeline

    tmp = tmp_path_factory.mktemp("batch")
    manifest, items = _recordings(tmp)
    references = {}
    for name, recording, config in items:
        out = tmp / "reference" / name
        run_pipeline(Path(os.path.abspath(recording)), load_config(config), Path(os.path.abspath(config)), out,
                     to_stage=TO)
        references[name] = out
    return manifest, references


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes (one thread each) on 127.0.0.1."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask-logs")
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--dashboard-address", f"127.0.0.1:{_free_port()}"],
                                  cwd=ROOT, env=env, stdout=open(logs / "scheduler.log", "wb"), stderr=subprocess.STDOUT)]
    for number in range(2):
        processes.append(subprocess.Popen(
            [dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--memory-limit", "3GiB",
             "--no-dashboard", "--local-directory", str(logs / f"worker-{number}")],
            cwd=ROOT, env=env, stdout=open(logs / f"worker-{number}.log", "wb"), stderr=subprocess.STDOUT))
    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _batch(manifest: Path, out: Path, **kwargs) -> dict:
    from pipeline.batch import run_batch

    return run_batch([], None, out, manifest=manifest, to_stage=TO, **kwargs)


def test_batch_on_a_local_cluster_equals_run_and_reports_failures(batch_inputs, tmp_path):
    manifest, references = batch_inputs
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("event: {title: {en: x}, languages: [en], colour: blue}\n")
    (tmp_path / "not-media.wav").write_text("not audio")
    extra = tmp_path / "more.yaml"
    extra.write_text(f"- {{recording: {manifest.parent / 'x.wav'}, config: {bad_config}}}\n"
                     f"- {{recording: {tmp_path / 'not-media.wav'}, config: {manifest.parent / 'english.yaml'}}}\n")
    from pipeline.batch import run_batch

    out = tmp_path / "out"
    summary = run_batch([manifest, extra], None, out, to_stage=TO, workers=2)
    by_name = {e["name"]: e for e in summary["recordings"]}
    assert summary["cluster"]["workers"] == 2 and summary["cluster"]["threads_per_worker"] == 1
    for name, reference in references.items():
        assert by_name[name]["status"] == "ok", by_name[name]
        _assert_same(out / name, reference)
    # Bad inputs: one line each, the others unaffected.
    assert by_name["x"]["status"] == "failed" and "unknown key 'event.colour'" in by_name["x"]["error"]
    assert by_name["not-media"]["status"] == "failed" and "not-media.wav" in by_name["not-media"]["error"]
    assert "\n" not in by_name["not-media"]["error"] and not (out / "x").exists()
    saved = json.loads((out / "batch.json").read_text())
    assert saved["counts"] == {"recordings": 5, "ok": 3, "failed": 2}
    assert set(saved["peak_mb_per_stage"]) == {"ingest", "vad", "transcribe"}
    assert by_name["demo-clip"]["audio_s"] == pytest.approx(97, abs=1)
    assert by_name["demo-clip"]["scores"]["floor"]["english_wer"] is not None  # demo-clip.truth.json beside it

    # A re-run does only the missing work: everything is skipped.
    again = _batch(manifest, out, workers=2)
    assert all((s["status"], s["attempts"]) == ("skipped", 1) for e in again["recordings"] for s in e["stages"].values())
    assert set(again["sizing_peak_mb_per_stage"]) == {"ingest", "vad", "transcribe"}  # kept for the next sizing


def test_batch_through_a_scheduler_equals_run(batch_inputs, dask_cluster, tmp_path):
    manifest, references = batch_inputs
    summary = _batch(manifest, tmp_path / "out", scheduler=dask_cluster)
    assert summary["cluster"]["scheduler"] == dask_cluster and summary["cluster"]["workers"] == 2
    assert summary["counts"] == {"recordings": 3, "ok": 3, "failed": 0}
    for name, reference in references.items():
        _assert_same(tmp_path / "out" / name, reference)
    workers = {s["worker"] for e in summary["recordings"] for s in e["stages"].values()}
    assert len(workers) == 2  # both workers took stages


def test_worker_killed_during_transcription_is_retried_and_output_equals_a_clean_run(batch_inputs, dask_cluster, tmp_path):
    manifest, references = batch_inputs
    out = tmp_path / "out"
    attempts = out / ".batch" / "attempts" / "demo-clip.transcribe"
    outcome: dict = {}

    def batch() -> None:
        try:
            outcome["summary"] = _batch(manifest, out, scheduler=dask_cluster)
        except BaseException as e:  # reported by the main thread
            outcome["error"] = e

    runner = threading.Thread(target=batch)
    runner.start()
    deadline = time.monotonic() + 240
    while not attempts.exists() and time.monotonic() < deadline and runner.is_alive():
        time.sleep(0.05)
    assert attempts.exists(), outcome
    victim = json.loads(attempts.read_text().splitlines()[0])["pid"]  # the worker process transcribing it
    time.sleep(3.0)  # into the decoding, well before the end (~15 s for the clip)
    assert not (out / "demo-clip" / "transcript.json").exists()
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=300)
    assert not runner.is_alive() and "error" not in outcome, outcome
    summary = outcome["summary"]
    by_name = {e["name"]: e for e in summary["recordings"]}
    assert summary["counts"]["ok"] == 3, summary
    assert by_name["demo-clip"]["stages"]["transcribe"]["attempts"] >= 2
    for name, reference in references.items():
        _assert_same(out / name, reference)
