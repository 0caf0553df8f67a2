"""Batch command, fast parts: naming, manifests, the stage graph, sizing, summary, task results, device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.batch.graph import stage_dependencies, topological
from pipeline.batch.jobs import Entry, folder_name, plan_jobs, read_manifest
from pipeline.batch.resources import UNMEASURED_STAGE_MB, size_cluster, stage_peaks
from pipeline.batch.summary import summarise, table
from pipeline.batch.tasks import finish_task, run_stage_task
from pipeline.core import device
from pipeline.core.errors import PipelineError
from pipeline.core.stage import Stage
from pipeline.stages import STAGE_NAMES, STAGES

from conftest import write_config


def _stage(name, reads=(), writes=None, optional=()):
    return Stage(name, 1, (), tuple(reads), writes or f"{name}.json", lambda ctx: None, reads_optional=tuple(optional))


def test_graph_follows_reads_and_writes_of_the_real_table():
    deps = stage_dependencies(STAGES)
    producer = {s.writes: s.name for s in STAGES}
    for stage in STAGES:
        assert sorted(deps[stage.name]) == sorted({producer[r] for r in stage.reads if r in producer} |
                                                  {producer[r] for r in stage.reads_optional
                                                   if r in producer and STAGE_NAMES.index(producer[r]) < STAGE_NAMES.index(stage.name)})
    assert topological(deps, STAGE_NAMES)[0] == "ingest"
    # transcribe and diarize both read ingest + vad only: independent of each other
    assert "transcribe" not in deps["diarize"] and "diarize" not in deps["transcribe"]


def test_graph_is_generic_and_orders_optional_reads_like_a_sequential_run():
    stages = [_stage("a"), _stage("b", ["a.json"]), _stage("c", ["a.json"], optional=["d.json"]),
              _stage("d", ["b.json"]), _stage("e", ["c.json", "d.json"], optional=["b.json"])]
    deps = stage_dependencies(stages)
    assert deps == {"a": [], "b": ["a"], "c": ["a"], "d": ["c", "b"], "e": ["c", "d", "b"]}
    assert topological(deps, [s.name for s in stages]) == ["a", "b", "c", "d", "e"]
    # selecting from the middle (--from c): producers outside the selection are not waited for
    assert stage_dependencies(stages[2:]) == {"c": [], "d": ["c"], "e": ["c", "d"]}


def test_folder_names_are_taken_from_the_file_and_collision_safe(tmp_path):
    assert folder_name(Path("/x/Panel 2 (JA).mp4")) == "Panel-2-JA"
    assert folder_name(Path("/x/talk.v2.opus")) == "talk.v2"
    assert folder_name(Path("/x/講演.wav")) == "講演"
    config = write_config(tmp_path / "c.yaml")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = tmp_path / "a" / "talk.wav", tmp_path / "b" / "talk.wav"
    out = tmp_path / "out"
    planned = plan_jobs([Entry(one, None), Entry(two, None)], config, out)
    assert [j.name for j in planned] == ["talk", "talk-2"]
    # A later batch with only the second file must not take the first one's folder.
    (out / "talk").mkdir(parents=True)
    (out / "talk" / "manifest.json").write_text(json.dumps({"recording": str(one), "stages": {}}))
    assert [j.name for j in plan_jobs([Entry(two, None)], config, out)] == ["talk-2"]
    assert [j.name for j in plan_jobs([Entry(one, None)], config, out)] == ["talk"]


def test_truth_beside_the_recording_is_found(tmp_path):
    config = write_config(tmp_path / "c.yaml")
    (tmp_path / "clip.opus").write_bytes(b"")
    (tmp_path / "clip.truth.json").write_text("{}")
    (job,) = plan_jobs([Entry(tmp_path / "clip.opus", None)], config, tmp_path / "out")
    assert job.truth == str(tmp_path / "clip.truth.json")
    assert job.out == str(tmp_path / "out" / "clip")


def test_manifest_csv_and_yaml(tmp_path):
    (tmp_path / "m.csv").write_text("recording,config\n# a comment\nrec/one.wav,c1.yaml\nrec/two.wav,\n")
    entries = read_manifest(tmp_path / "m.csv")
    assert [e.recording for e in entries] == [tmp_path / "rec/one.wav", tmp_path / "rec/two.wav"]
    assert [e.config for e in entries] == [tmp_path / "c1.yaml", None]
    (tmp_path / "m.yaml").write_text("- {recording: one.wav, config: c.yaml, name: first}\n- two.wav\n")
    entries = read_manifest(tmp_path / "m.yaml")
    assert entries[0].name == "first" and entries[1].config is None
    with pytest.raises(PipelineError, match=r"m\.csv: file not found"):
        read_manifest(tmp_path / "missing" / "m.csv")
    (tmp_path / "bad.yaml").write_text("- {recording: one.wav, confg: c.yaml}\n")
    with pytest.raises(PipelineError, match=r"bad\.yaml: entry 1: unknown key 'confg'"):
        read_manifest(tmp_path / "bad.yaml")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(PipelineError, match="expected a .csv"):
        read_manifest(tmp_path / "m.txt")
    with pytest.raises(PipelineError, match="has no config"):
        plan_jobs(read_manifest(tmp_path / "m.yaml")[1:], None, tmp_path / "out")


def test_cluster_size_from_stage_peaks(tmp_path):
    peaks = stage_peaks(["ingest", "transcribe", "a-new-llm-stage"])
    assert peaks["a-new-llm-stage"] == UNMEASURED_STAGE_MB
    size = size_cluster({"transcribe": 1000}, jobs=6, cores=2, available_mb=20000)
    assert (size.workers, size.threads_per_worker) == (2, 1) and size.memory_limit_mb == 1344
    assert size_cluster({"transcribe": 1000}, jobs=6, cores=16, available_mb=4000).workers == 2  # memory-bound
    assert size_cluster({"transcribe": 1000}, jobs=1, cores=16, available_mb=64000).workers == 1
    # A previous batch's measured peaks raise the table's.
    (tmp_path / "batch.json").write_text(json.dumps({"peak_mb_per_stage": {"transcribe": 5000}}))
    assert stage_peaks(["transcribe"], tmp_path)["transcribe"] == 5000


def test_stage_task_reports_errors_instead_of_raising(tmp_path):
    job = {"name": "x", "recording": str(tmp_path / "missing.wav"), "config": str(write_config(tmp_path / "c.yaml")),
           "out": str(tmp_path / "out" / "x")}
    result = run_stage_task(job, "ingest", "batch-id")
    assert result["status"] == "failed" and "missing.wav" in result["error"] and "\n" not in result["error"]
    assert not (tmp_path / "out" / "x" / "ingest.json").exists()
    after = run_stage_task(job, "vad", "batch-id", result)
    assert after["status"] == "not_run" and "ingest" in after["error"]
    job["config"] = str(tmp_path / "nope.yaml")
    assert run_stage_task(job, "ingest", "batch-id")["error"].endswith("nope.yaml: file not found")
    assert finish_task(job, "batch-id", result) == {"name": "x", "audio_s": None}


def test_summary_table_and_counts(tmp_path):
    import datetime as dt

    config = write_config(tmp_path / "c.yaml")
    jobs = plan_jobs([Entry(tmp_path / "a.wav", None), Entry(tmp_path / "b.wav", None)], config, tmp_path / "out")
    results = {("a", "ingest"): {"status": "ran", "elapsed_s": 1.5, "peak_mb": 100.0, "attempts": 2},
               ("a", "vad"): {"status": "skipped", "elapsed_s": 0.1, "peak_mb": 120.0},
               ("b", "ingest"): {"status": "failed", "error": "recording b.wav: not a media file"},
               ("b", "vad"): {"status": "not_run", "error": "not run: stage 'ingest' failed"}}
    extras = {"a": {"audio_s": 12.0, "scores": {"floor": {"english_wer": 0.05, "japanese_cer": None}}}}
    summary = summarise(jobs, ["ingest", "vad"], results, extras, {}, {"scheduler": "local"},
                        started_at=dt.datetime.now(dt.timezone.utc), wall_s=3.0)
    assert summary["counts"] == {"recordings": 2, "ok": 1, "failed": 1}
    assert summary["peak_mb_per_stage"] == {"ingest": 100.0}
    by_name = {e["name"]: e for e in summary["recordings"]}
    assert by_name["b"]["error"] == "stage 'ingest': recording b.wav: not a media file"
    text = table(summary)
    assert "1.5*" in text and "skip" in text and "WER 5.0%" in text and "FAIL" in text
    assert "b: stage 'ingest': recording b.wav: not a media file" in text


def test_device_auto_falls_back_to_cpu_with_a_reason(monkeypatch):
    monkeypatch.delenv(device.ENV, raising=False)
    monkeypatch.setattr(device, "cuda_devices", lambda library: (0, "CTranslate2 sees no CUDA device"))
    choice = device.resolve_device("auto")
    assert choice.device == "cpu" and "CTranslate2 sees no CUDA device" in choice.reason
    assert choice.compute_type("int8") == "int8"  # CPU results unchanged
    assert device.resolve_device("cuda").device == "cpu"
    monkeypatch.setattr(device, "cuda_devices", lambda library: (1, ""))
    gpu = device.resolve_device("auto", "torch")
    assert gpu.cuda and gpu.compute_type("int8") == "float16"
    monkeypatch.setenv(device.ENV, "cpu")
    assert device.resolve_device("auto").device == "cpu"
    monkeypatch.setenv(device.ENV, "tpu")
    with pytest.raises(PipelineError, match="PIPELINE_DEVICE"):
        device.resolve_device("auto")


def test_device_probe_on_this_machine_never_raises():
    for library in ("ctranslate2", "torch", "llama_cpp"):
        count, why = device.cuda_devices(library)
        assert count >= 0 and (count or why)


def test_device_setting_defaults_to_auto_and_stays_out_of_fingerprints(tmp_path):
    from pipeline.core.config import load_config

    assert load_config(write_config(tmp_path / "c.yaml")).device == "auto"
    assert load_config(write_config(tmp_path / "g.yaml", extra="device: cpu\n")).device == "cpu"
    with pytest.raises(PipelineError, match="device"):
        load_config(write_config(tmp_path / "bad.yaml", extra="device: gpu\n"))
    assert not any("device" in s for stage in STAGES for s in stage.settings)


def test_a_recomputed_stage_keeps_its_run_and_attempts_count_per_batch(tmp_path):
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "tone.wav", 0.1 * np.sin(np.arange(16000) / 10.0).astype(np.float32), 16000)
    job = {"name": "tone", "recording": str(tmp_path / "tone.wav"), "config": str(write_config(tmp_path / "c.yaml")),
           "out": str(tmp_path / "out" / "tone")}
    first = run_stage_task(job, "ingest", "batch-1")
    assert (first["status"], first["attempts"]) == ("ran", 1) and first["peak_mb"] > 0
    # Dask recomputes a result lost with its worker: the stage skips, the summary still says it ran.
    again = run_stage_task(job, "ingest", "batch-1")
    assert (again["status"], again["attempts"], again["elapsed_s"]) == ("ran", 2, first["elapsed_s"])
    later = run_stage_task(job, "ingest", "batch-2")
    assert (later["status"], later["attempts"]) == ("skipped", 1)


def test_progress_off_a_terminal_prints_one_line_per_finished_stage():
    from pipeline.batch.run import Progress

    lines: list[str] = []
    progress = Progress("b1", ["ingest", "transcribe"], ["a", "b"], lines.append)
    assert not progress.enabled  # PIPELINE_NO_PROGRESS in tests
    progress.on_event((0.0, {"batch": "other", "name": "a", "stage": "ingest", "kind": "message", "text": "x"}))
    progress.on_event((0.0, {"batch": "b1", "name": "a", "stage": "transcribe", "kind": "progress", "done": 5, "total": 10}))
    progress.on_event((0.0, {"batch": "b1", "name": "a", "stage": "transcribe", "kind": "message",
                             "text": "transcribe: resumed"}))
    result = {"name": "a", "stage": "transcribe", "status": "ran", "elapsed_s": 2.5}
    progress.on_event((0.0, {"batch": "b1", "name": "a", "stage": "transcribe", "kind": "task_done", "result": result}))
    progress.done(result)  # the client's own pass after the batch: not printed twice
    assert lines == ["a: transcribe: resumed", "a: transcribe ran in 2.5 s"]
    assert progress.fraction[("a", "transcribe")] == 1.0
