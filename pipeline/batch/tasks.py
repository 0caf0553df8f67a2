"""What a Dask worker runs: one stage of one recording, through the ordinary runner.

``run_stage_task`` calls ``run_pipeline(..., from_stage=name, to_stage=name)``: the runner
skips by fingerprint, resumes from checkpoints and takes the output-folder lock, so a task
retried after its worker died does exactly what re-running ``run`` does. The task never raises
for a recording's problem: it returns a result (``ran``, ``skipped``, ``failed`` with the
one-line error, or ``not_run`` when a stage it needs failed), so one bad recording never stops
the batch.

Two stages of one recording never run at the same time: the runner keeps one manifest per
folder and its lock refuses a second run. A task that finds the recording busy steps out of
the worker's thread pool (``secede``) while it waits, so the worker runs another recording's
stage meanwhile.

Events (stage started/finished, progress, messages) go to the client as Dask worker events on
the topic ``TOPIC``; the CLI turns them into one bar per stage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import threading
import time
import traceback
from pathlib import Path
from typing import Iterator

import psutil

from ..core.errors import PipelineError
from ..core.events import Event, reporting_to

TOPIC = "pipeline-batch"
OK = ("ran", "skipped")
BATCH_DIR = ".batch"  # OUT_ROOT/.batch: per-recording locks and attempt logs
_PROGRESS_EVERY_S = 0.5


def _worker():
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


class ForwardingSink:
    """Sends a stage's events to the client (throttled), and notes whether the stage was skipped."""

    def __init__(self, batch: str, name: str, stage: str):
        self.batch, self.name, self.stage = batch, name, stage
        self.skipped = False
        self.messages: list[str] = []
        self._last: dict[str, float] = {}
        self._worker = _worker()

    def __call__(self, event: Event) -> None:
        if event.kind == "stage_skipped":
            self.skipped = True
        if event.kind == "message":
            self.messages.append(event.text)
        if event.kind == "progress":
            now = time.monotonic()
            if now - self._last.get(event.text, 0.0) < _PROGRESS_EVERY_S and event.done < event.total:
                return
            self._last[event.text] = now
        self.send(event.kind, event.text, done=event.done, total=event.total)

    def send(self, kind: str, text: str = "", **extra) -> None:
        if self._worker is None:
            return
        try:
            self._worker.log_event(TOPIC, {"batch": self.batch, "name": self.name, "stage": self.stage,
                                           "kind": kind, "text": text, **extra})
        except Exception:  # progress is a courtesy; never fail a stage over it
            pass


class PeakMemory:
    """Peak resident memory of this process and its children (ffmpeg) while a stage runs."""

    def __init__(self, every_s: float = 0.2):
        self.every_s = every_s
        self.peak = 0
        self._stop = threading.Event()
        self._process = psutil.Process()

    def _sample(self) -> None:
        try:
            rss = self._process.memory_info().rss
            for child in self._process.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    rss += child.memory_info().rss
        except psutil.Error:
            return
        self.peak = max(self.peak, rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def __enter__(self) -> "PeakMemory":
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._sample()
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return round(self.peak / (1024 * 1024), 1)


def batch_dir(job: dict) -> Path:
    return Path(job["out"]).parent / BATCH_DIR


@contextlib.contextmanager
def recording_turn(job: dict) -> Iterator[float]:
    """Hold the recording (one stage at a time per folder); yields the seconds spent waiting.

    An advisory ``flock`` on ``OUT_ROOT/.batch/locks/NAME.lock``: the kernel drops it when a worker
    dies, so a killed task never blocks its retry.
    """
    locks = batch_dir(job) / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / f"{job['name']}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    waited = 0.0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            started = time.monotonic()
            seceded = _secede()
            fcntl.flock(fd, fcntl.LOCK_EX)
            if seceded:
                from distributed import rejoin

                rejoin()
            waited = time.monotonic() - started
        yield waited
    finally:
        os.close(fd)  # closing drops the lock


def _secede() -> bool:
    if _worker() is None:
        return False
    try:
        from distributed import secede

        secede()
        return True
    except Exception:
        return False


def _attempt_log(job: dict, stage: str) -> Path:
    folder = batch_dir(job) / "attempts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{job['name']}.{stage}"


def _log_attempt(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _attempts(path: Path, batch: str) -> list[dict]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("batch") == batch:
                records.append(record)
    return records


def _note_attempt(job: dict, stage: str, batch: str) -> int:
    """Log this try in ``OUT_ROOT/.batch/attempts/NAME.STAGE``; returns its number within this batch.

    A task runs again when its worker died mid-stage, and also when a worker holding its (small)
    result died before the next stage fetched it: Dask recomputes lost results.
    """
    path = _attempt_log(job, stage)
    worker = _worker()
    _log_attempt(path, {"batch": batch, "event": "start", "pid": os.getpid(), "host": socket.gethostname(),
                        "worker": getattr(worker, "address", None),
                        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    return sum(1 for r in _attempts(path, batch) if r.get("event") == "start")


def _earlier_run(job: dict, stage: str, batch: str) -> dict | None:
    """The finished try of this batch that ran the stage, if one did (a recomputation then skips)."""
    return next((r for r in _attempts(_attempt_log(job, stage), batch)
                 if r.get("event") == "end" and r.get("status") == "ran"), None)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def run_stage_task(job: dict, stage: str, batch: str, *upstream: dict) -> dict:
    """Run one stage of one recording; ``upstream`` are the results of the stages it needs."""
    result = {"name": job["name"], "stage": stage, "status": "not_run", "elapsed_s": 0.0,
              "peak_mb": None, "worker": getattr(_worker(), "address", None), "attempts": 0}
    blocked = [u for u in upstream if u.get("status") not in OK]
    if blocked:
        result["error"] = f"not run: stage '{blocked[0]['stage']}' {blocked[0]['status']}"
        return result
    from ..core.config import load_config
    from ..core.runner import run_pipeline

    sink = ForwardingSink(batch, job["name"], stage)
    try:
        with recording_turn(job) as waited:
            result["attempts"] = _note_attempt(job, stage, batch)
            result["waited_s"] = round(waited, 2)
            config = load_config(job["config"])
            started = time.monotonic()
            with PeakMemory() as memory, reporting_to(sink):
                run_pipeline(Path(job["recording"]), config, Path(job["config"]), Path(job["out"]),
                             from_stage=stage, to_stage=stage, force=job.get("force", False))
            result["elapsed_s"] = round(time.monotonic() - started, 2)
            result["peak_mb"] = memory.peak_mb
            result["status"] = "skipped" if sink.skipped else "ran"
            earlier = _earlier_run(job, stage, batch) if sink.skipped else None
            if earlier is not None:  # this batch ran it; this try only recomputed a lost result
                result.update(status="ran", elapsed_s=earlier["elapsed_s"], peak_mb=earlier["peak_mb"],
                              worker=earlier.get("worker"))
            else:
                _log_attempt(_attempt_log(job, stage), {"batch": batch, "event": "end", "status": result["status"],
                                                        "elapsed_s": result["elapsed_s"], "peak_mb": result["peak_mb"],
                                                        "worker": result["worker"]})
    except PipelineError as e:
        result.update(status="failed", error=_first_line(e))
    except Exception as e:  # a bug in a stage: reported like a bad input, the batch goes on
        traceback.print_exc()
        result.update(status="failed", error=f"{type(e).__name__}: {_first_line(e)}")
    if sink.messages:
        result["messages"] = sink.messages
    sink.send("task_done", result["status"], result=result)
    return result


def finish_task(job: dict, batch: str, *stage_results: dict) -> dict:
    """After the last stage: the recording's duration and, where a truth file exists, its scores."""
    out = Path(job["out"])
    summary: dict = {"name": job["name"]}
    try:
        ingest = json.loads((out / "ingest.json").read_text(encoding="utf-8"))
        summary["audio_s"] = ingest.get("duration_s")
    except (OSError, ValueError, AttributeError):
        summary["audio_s"] = None
    if job.get("truth") and all(r.get("status") in OK for r in stage_results) and (out / "transcript.json").exists():
        try:
            from ..evaluation import evaluate

            summary["scores"] = evaluate.evaluate(out, Path(job["truth"]))
        except PipelineError as e:
            summary["scores_error"] = _first_line(e)
        except Exception as e:
            summary["scores_error"] = f"{type(e).__name__}: {_first_line(e)}"
    return summary
