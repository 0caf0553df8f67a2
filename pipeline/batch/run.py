"""The client side of a batch: plan the jobs, get a cluster, submit the stage graph, wait, summarise.

Without ``scheduler`` a ``LocalCluster`` of worker processes (one thread each) sized from the
measured stage peaks (``resources.py``); with ``scheduler="tcp://host:8786"`` the same tasks on
a cluster someone else started (``dask scheduler`` / ``dask worker``), whose workers must see
the recordings, configs and OUT_ROOT under the same paths (a shared file system).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import logging
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

from ..core.config import load_config
from ..core.errors import PipelineError
from ..core.runner import select_stages
from . import resources
from .graph import stage_dependencies, topological
from .jobs import Entry, Job, plan_jobs, read_manifest
from .summary import summarise, table, write_summary
from .tasks import OK, TOPIC, finish_task, run_stage_task

Say = Callable[[str], None]


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def gather_entries(recordings: list[Path], manifest: Path | None) -> list[Entry]:
    entries: list[Entry] = []
    for recording in recordings:
        if recording.suffix.lower() in (".csv", ".yaml", ".yml"):
            entries.extend(read_manifest(recording))  # a manifest given among the recordings
        else:
            entries.append(Entry(recording, None))
    if manifest is not None:
        entries.extend(read_manifest(manifest))
    if not entries:
        raise PipelineError("batch: no recordings given (name files, or a manifest with --manifest)")
    return entries


def check_configs(jobs: list[Job]) -> dict[str, str]:
    """Load each config once, before any work: a bad one fails its recordings with its one line."""
    errors: dict[str, str] = {}
    for path in dict.fromkeys(job.config for job in jobs):
        try:
            load_config(path)
        except PipelineError as e:
            errors[path] = str(e)
    return errors


class Progress:
    """One bar per stage across the batch (tqdm on a terminal), fed by the workers' events.

    Off a terminal (CI, a log file) it prints one line per finished stage instead.
    """

    def __init__(self, batch: str, stages: list[str], names: list[str], say: Say):
        from ..core.events import progress_enabled

        self.batch, self.say = batch, say
        self.enabled = progress_enabled()
        self.fraction: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()
        self.bars = {}
        self.total = len(names)
        if self.enabled:
            from tqdm import tqdm

            width = max(len(s) for s in stages)
            for position, stage in enumerate(stages):
                self.bars[stage] = tqdm(total=self.total, desc=stage.ljust(width), position=position, unit="rec",
                                        bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.1f}/{total} recordings [{elapsed}]")

    def write(self, text: str) -> None:
        if self.enabled:
            from tqdm import tqdm

            tqdm.write(text, file=sys.stderr)
        else:
            self.say(text)

    def _set(self, name: str, stage: str, fraction: float) -> None:
        key = (name, stage)
        fraction = max(self.fraction.get(key, 0.0), fraction)
        self.fraction[key] = fraction
        bar = self.bars.get(stage)
        if bar is not None:
            bar.n = round(sum(v for (_, s), v in self.fraction.items() if s == stage), 2)
            bar.refresh()

    def on_event(self, event) -> None:
        """Handler for ``Client.subscribe_topic``: ``event`` is ``(timestamp, message)``."""
        message = event[1] if isinstance(event, tuple) else event
        if not isinstance(message, dict) or message.get("batch") != self.batch:
            return
        with self.lock:
            name, stage, kind = message["name"], message["stage"], message["kind"]
            if kind == "progress" and message.get("total"):
                self._set(name, stage, min(0.95, message["done"] / message["total"]))
            elif kind == "message":
                self.write(f"{name}: {message['text']}")
            elif kind == "task_done":
                self.done(message.get("result", {}))

    def done(self, result: dict) -> None:
        key = (result.get("name"), result.get("stage"))
        if self.fraction.get(key) == 1.0:
            return
        self._set(*key, 1.0)
        if not self.enabled:
            status = result.get("status")
            detail = f" in {result['elapsed_s']:.1f} s" if status == "ran" else ""
            error = f": {result['error']}" if result.get("error") and status == "failed" else ""
            self.say(f"{key[0]}: {key[1]} {status}{detail}{error}")

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _local_cluster(size: resources.ClusterSize):
    import dask
    from distributed import LocalCluster

    dashboard = ":0" if importlib.util.find_spec("bokeh") else None
    # A worker holds no Dask data, only models: memory is governed by the terminate threshold
    # alone (a worker over 95% of its limit is restarted and its task retried), never paused.
    dask.config.set({"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False,
                     "distributed.worker.memory.pause": False, "distributed.worker.memory.terminate": 0.95})
    # Each worker's engines use every core (transcribe.threads: 0); with several workers on one
    # machine their OpenMP threads must not spin while waiting for a core another worker holds.
    # Waiting passively changes no result, only how idle threads wait.
    env = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")} if size.workers > 1 else {}
    return LocalCluster(n_workers=size.workers, threads_per_worker=size.threads_per_worker, processes=True,
                        memory_limit=f"{size.memory_limit_mb}MiB", dashboard_address=dashboard,
                        host="127.0.0.1", silence_logs=logging.ERROR, env=env)


# Sent by value (a lambda): the scheduler need not have this project installed.
_HAS_BOKEH = lambda: __import__("importlib.util").util.find_spec("bokeh") is not None  # noqa: E731


def _dashboard(client) -> str | None:
    """The dashboard's address, when the scheduler serves one (it needs bokeh there)."""
    try:
        if client.scheduler_info().get("services", {}).get("dashboard") and client.run_on_scheduler(_HAS_BOKEH):
            return client.dashboard_link
    except Exception:
        pass
    return None


def _check_remote_memory(client, peaks: dict[str, int], say: Say) -> dict:
    workers = client.scheduler_info().get("workers", {})
    need = max(peaks.values(), default=0)
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    small = [l for l in limits if l and l / 2**20 < need]
    if small:
        say(f"warning: {len(small)} of {len(limits)} workers have a memory limit below the largest stage peak "
            f"({need} MiB); they may be restarted mid-stage")
    return {"workers": len(workers), "memory_limit_mb": [round(l / 2**20) for l in limits],
            "threads": [w.get("nthreads") for w in workers.values()]}


def run_batch(recordings: list[Path], config: Path | None, out_root: Path, *, manifest: Path | None = None,
              scheduler: str | None = None, workers: int | None = None, from_stage: str | None = None,
              to_stage: str | None = None, force: bool = False, say: Say = _say) -> dict:
    """Run the batch and return its summary (also written to ``OUT_ROOT/batch.json``)."""
    started_at = dt.datetime.now(dt.timezone.utc)
    wall_started = time.monotonic()
    stages = select_stages(from_stage, to_stage)
    names = [s.name for s in stages]
    deps = stage_dependencies(stages)
    order = topological(deps, names)
    out_root = Path(out_root)
    if out_root.exists() and not out_root.is_dir():
        raise PipelineError(f"--out {out_root}: exists and is not a folder")
    jobs = plan_jobs(gather_entries(recordings, manifest), config, out_root, force)
    out_root.mkdir(parents=True, exist_ok=True)
    bad_configs = check_configs(jobs)
    runnable = [job for job in jobs if job.config not in bad_configs]
    peaks = resources.stage_peaks(names, out_root)
    batch = uuid.uuid4().hex

    stack = contextlib.ExitStack()
    with stack:
        from distributed import Client

        if scheduler:
            try:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
            except (OSError, TimeoutError) as e:
                raise PipelineError(f"--scheduler {scheduler}: cannot connect ({e})") from e
            cluster_info = {"scheduler": scheduler, **_check_remote_memory(client, peaks, say)}
            say(f"batch: {len(jobs)} recording(s) on {scheduler} ({cluster_info['workers']} workers)")
        else:
            size = resources.size_cluster(peaks, len(runnable), workers)
            cluster = stack.enter_context(_local_cluster(size))
            client = stack.enter_context(Client(cluster))
            cluster_info = {"scheduler": "local", "workers": size.workers, "memory_limit_mb": size.memory_limit_mb,
                            "threads_per_worker": size.threads_per_worker, "sizing": size.reason}
            say(f"batch: {len(jobs)} recording(s) on a local cluster: {size.reason}")
        link = _dashboard(client)
        if link:
            say(f"dashboard: {link}")
        cluster_info["dashboard"] = link

        progress = Progress(batch, order, [j.name for j in runnable], say)
        stack.callback(progress.close)
        client.subscribe_topic(TOPIC, progress.on_event)
        stack.callback(lambda: client.unsubscribe_topic(TOPIC))

        futures: dict[tuple[str, str], object] = {}
        finals = {}
        for index, job in enumerate(runnable):
            spec = job.as_dict()
            for stage in order:
                upstream = [futures[(job.name, d)] for d in deps[stage]]
                futures[(job.name, stage)] = client.submit(run_stage_task, spec, stage, batch, *upstream,
                                                           key=(f"{stage}-{batch}", index), pure=False)
            finals[job.name] = client.submit(finish_task, spec, batch, *[futures[(job.name, s)] for s in order],
                                             key=(f"summary-{batch}", index), pure=False)

        results: dict[tuple[str, str], dict] = {}
        from distributed import wait

        wait(list(futures.values()) + list(finals.values()))
        for job in runnable:
            for stage in order:
                result = _result(futures[(job.name, stage)], job.name, stage)
                blocked = [d for d in deps[stage] if results[(job.name, d)]["status"] not in OK]
                if blocked and "error_from_dask" in result:  # the error is the upstream one, passed on
                    result = {**result, "status": "not_run",
                              "error": f"not run: stage '{blocked[0]}' {results[(job.name, blocked[0])]['status']}"}
                result.pop("error_from_dask", None)
                results[(job.name, stage)] = result
                progress.done(result)
        extras = {}
        for name, future in finals.items():
            extras[name] = future.result() if future.status == "finished" else {"name": name}

    summary = summarise(jobs, order, results, extras, bad_configs, cluster_info, started_at=started_at,
                        wall_s=time.monotonic() - wall_started, previous_peaks=resources.previous_peaks(out_root))
    write_summary(out_root, summary)
    return summary


def _result(future, name: str, stage: str) -> dict:
    """A task's result; a task Dask gave up on (its workers kept dying) becomes a failed stage."""
    if future.status == "finished":
        return future.result()
    try:
        error = future.exception()
        line = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    except Exception as e:  # cancelled
        line = f"{type(e).__name__}"
    return {"name": name, "stage": stage, "status": "failed", "error": line, "elapsed_s": 0.0, "peak_mb": None,
            "error_from_dask": True}


def print_table(summary: dict, file=None) -> None:
    print(table(summary), file=file or sys.stdout)
