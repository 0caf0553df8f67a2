"""Sizing a local cluster from the measured memory peak of each stage.

A worker runs one stage at a time (one thread), but keeps the models of the stages it ran
before (they are cached per process), so its memory limit is the largest peak among the stages
it may run, plus a margin. ``MEASURED_PEAK_MB`` is the resident memory of a worker process
measured at the end of each stage (``benchmarks/batch.py``, the demo clip, 2-core machine);
the peaks of a previous batch in the same OUT_ROOT (``batch.json``) raise them where larger,
so a season of long recordings sizes itself after its first batch. A stage not measured yet
(a stage added to the table since) gets ``UNMEASURED_STAGE_MB``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import psutil

# Worker process RSS, MiB, the largest sampled while the stage ran (benchmarks/batch.py, demo clip,
# --to align, 2 workers, 2-core machine, 2026-11-28): a worker that ran earlier stages keeps their
# models, so later stages include them. Measured: ingest 146, vad 194 (722 on a worker holding
# Whisper), transcribe 984, diarize 666; a sequential `run` to align peaks at 1089-1165 MiB,
# which bounds align with everything loaded. captions adds no model (taken as align's).
MEASURED_PEAK_MB = {
    "ingest": 150,
    "vad": 730,
    "transcribe": 990,
    "diarize": 1000,
    "align": 1170,
    "captions": 1170,
}
# The LLM stages (translate, report) load a 1.9 GB GGUF model; until they are measured,
# assume a model of that size plus its context and the worker's other caches.
UNMEASURED_STAGE_MB = 3500
MARGIN = 1.3  # the worker is restarted at 95% of its limit: leave room for a longer recording
MIN_WORKER_MB = 1024


@dataclass(frozen=True)
class ClusterSize:
    workers: int
    memory_limit_mb: int
    threads_per_worker: int
    reason: str  # one line: what bounded the number of workers


def stage_peaks(stage_names: list[str], out_root: Path | None = None) -> dict[str, int]:
    """The expected peak per stage: the measured table, raised by the last batch's own peaks."""
    peaks = {name: MEASURED_PEAK_MB.get(name, UNMEASURED_STAGE_MB) for name in stage_names}
    if out_root is not None:
        for name, mb in previous_peaks(out_root).items():
            if name in peaks:
                peaks[name] = max(peaks[name], int(mb))
    return peaks


def previous_peaks(out_root: Path) -> dict[str, float]:
    try:
        data = json.loads((Path(out_root) / "batch.json").read_text(encoding="utf-8"))
        peaks = data.get("sizing_peak_mb_per_stage") or data.get("peak_mb_per_stage") or {}
        return {k: float(v) for k, v in peaks.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def size_cluster(peaks: dict[str, int], jobs: int, workers: int | None = None,
                 cores: int | None = None, available_mb: int | None = None) -> ClusterSize:
    """Processes with one thread each: as many as cores, jobs and memory allow (or ``workers``)."""
    cores = cores or os.cpu_count() or 1
    if available_mb is None:
        available_mb = psutil.virtual_memory().available // (1024 * 1024)
    limit = max(MIN_WORKER_MB, int(math.ceil(max(peaks.values(), default=MIN_WORKER_MB) * MARGIN / 64) * 64))
    fit = max(1, int(available_mb * 0.9) // limit)
    if workers:
        reason = f"--workers {workers}"
        if workers > fit:
            reason += f" (memory fits only {fit} at {limit} MiB each: workers may be restarted)"
        return ClusterSize(workers, limit, 1, reason)
    candidates = {"cores": cores, "memory": fit, "recordings": max(1, jobs)}
    bound = min(candidates, key=lambda k: candidates[k])
    count = candidates[bound]
    reason = f"{count} worker(s): bounded by {bound} ({cores} cores, {available_mb} MiB available, " \
             f"{limit} MiB per worker from the largest stage peak x{MARGIN})"
    return ClusterSize(count, limit, 1, reason)
