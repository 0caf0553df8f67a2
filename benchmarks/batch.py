"""Throughput of the batch command: N copies of the demo clip, sequential `run` vs `batch`.

    .venv/bin/python benchmarks/batch.py                     # 6 copies, --to align, 2 workers
    .venv/bin/python benchmarks/batch.py --copies 6 --to align --workers 2 --json outputs/batch-bench.json

Sequential: one `python -m pipeline run` process per copy, one after the other (each loads its
models, as a person running the CLI would). Batch: one `python -m pipeline batch` over all
copies on a local cluster of ``--workers`` processes. Reports wall times, the speed-up, the
peak memory of every worker (from batch.json: the largest RSS sampled while a stage ran on it),
per-stage time per second of audio, and from those an estimate for an archive of
``--archive`` recordings of ``--archive-minutes`` on ``--machines`` machines.

Time-boxed: each phase stops after ``--time-box`` seconds (the copies done by then count).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "recordings" / "demo" / "demo-clip.opus"
CONFIG = ROOT / "configs" / "demo.yaml"


def _child_peak_mb(process: subprocess.Popen) -> float:
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return round(usage.ru_maxrss / 1024, 1)  # KiB on Linux


def sequential(copies: list[Path], out: Path, to: str, time_box: float, env: dict) -> dict:
    runs, started = [], time.monotonic()
    for copy in copies:
        if time.monotonic() - started > time_box:
            break
        t0 = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "pipeline", "run", str(copy), "--config", str(CONFIG),
                                    "--out", str(out / copy.stem), "--to", to], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = _child_peak_mb(process)
        if process.returncode != 0:
            raise SystemExit(f"run {copy} failed with exit code {process.returncode}")
        manifest = json.loads((out / copy.stem / "manifest.json").read_text())
        runs.append({"recording": copy.name, "wall_s": round(time.monotonic() - t0, 2), "peak_mb": peak,
                     "stages": {k: v["elapsed_s"] for k, v in manifest["stages"].items()}})
    return {"runs": runs, "wall_s": round(time.monotonic() - started, 2), "copies_done": len(runs)}


def batch(copies: list[Path], out: Path, to: str, workers: int, time_box: float, env: dict) -> dict:
    t0 = time.monotonic()
    try:
        process = subprocess.run([sys.executable, "-m", "pipeline", "batch", *map(str, copies), "--config", str(CONFIG),
                                  "--out", str(out), "--to", to, "--workers", str(workers)], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=time_box)
    except subprocess.TimeoutExpired:
        return {"timed_out": True, "wall_s": round(time.monotonic() - t0, 2)}
    wall = round(time.monotonic() - t0, 2)
    summary = json.loads((out / "batch.json").read_text())
    per_worker: dict[str, float] = {}
    for entry in summary["recordings"]:
        for result in entry["stages"].values():
            if result.get("worker") and result.get("peak_mb"):
                per_worker[result["worker"]] = max(per_worker.get(result["worker"], 0.0), result["peak_mb"])
    return {"wall_s": wall, "inside_wall_s": summary["wall_s"], "exit_code": process.returncode,
            "table": process.stdout, "peak_mb_per_worker": per_worker, "peak_mb_per_stage": summary["peak_mb_per_stage"],
            "time_per_stage_s": summary["time_per_stage_s"], "counts": summary["counts"],
            "cluster": summary["cluster"]}


def estimate(per_audio_s: dict[str, float], fixed_s: dict[str, float], efficiency: float, recordings: int,
             minutes: float, machines: int, workers_per_machine: int) -> dict:
    """Archive wall time from per-stage costs: work spread over all worker slots, whole recordings per slot."""
    per_recording = sum(per_audio_s.get(s, 0.0) * minutes * 60 + fixed_s.get(s, 0.0) for s in per_audio_s)
    slots = machines * workers_per_machine
    rounds = math.ceil(recordings / slots)
    wall = rounds * per_recording / max(efficiency, 1e-6)
    return {"per_recording_s": round(per_recording, 1), "slots": slots, "rounds": rounds,
            "wall_s": round(wall, 1), "wall_h": round(wall / 3600, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--to", default="align")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-box", type=float, default=450.0, help="seconds per phase")
    parser.add_argument("--archive", type=int, default=100)
    parser.add_argument("--archive-minutes", type=float, default=60.0)
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--workers-per-machine", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()

    env = {**os.environ, "PIPELINE_NO_PROGRESS": "1", "CT2_FORCE_CPU_ISA": os.environ.get("CT2_FORCE_CPU_ISA", "AVX2"),
           "CT2_USE_MKL": os.environ.get("CT2_USE_MKL", "0")}
    work = args.keep or Path(tempfile.mkdtemp(prefix="batch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    copies = []
    for number in range(1, args.copies + 1):
        copy = work / "recordings" / f"demo-clip-{number}.opus"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CLIP, copy)
        copies.append(copy)
    load_before = os.getloadavg()
    print(f"{args.copies} copies of {CLIP.name}, --to {args.to}, {os.cpu_count()} cores, load {load_before[0]:.1f}",
          file=sys.stderr)
    seq = sequential(copies, work / "sequential", args.to, args.time_box, env)
    print(f"sequential: {seq['copies_done']} runs in {seq['wall_s']:.1f} s", file=sys.stderr)
    par = batch(copies[: seq["copies_done"]], work / "batch", args.to, args.workers, args.time_box, env)
    print(par.get("table", ""), file=sys.stderr)
    load_after = os.getloadavg()

    audio_s = 97.0
    runs = seq["runs"]
    stage_names = list(runs[0]["stages"]) if runs else []
    # Sequential per-stage times include each process's model loading; the batch's per-stage times,
    # on workers that keep their models, are closer to an archive's steady state.
    batch_times = par.get("time_per_stage_s", {})
    done = par.get("counts", {}).get("ok", 0)
    if done:
        per_audio = {s: batch_times.get(s, 0.0) / done / audio_s for s in stage_names}
        source = "the batch's workers (models kept between recordings)"
    else:  # the batch did not finish in its time box: the sequential runs (model loading included)
        per_audio = {s: sum(r["stages"].get(s, 0.0) for r in runs) / max(len(runs), 1) / audio_s for s in stage_names}
        source = "the sequential runs (each loads its models)"
    speedup = round(seq["wall_s"] / par["wall_s"], 2) if par.get("wall_s") and not par.get("timed_out") else None
    efficiency = (speedup or 1.0) / args.workers
    result = {
        "copies": seq["copies_done"], "to": args.to, "workers": args.workers, "cores": os.cpu_count(),
        "load_average_before_after": [round(load_before[0], 1), round(load_after[0], 1)],
        "sequential": seq, "batch": {k: v for k, v in par.items() if k != "table"}, "speedup": speedup,
        "parallel_efficiency": round(efficiency, 2),
        "stage_s_per_audio_s": {s: round(v, 4) for s, v in per_audio.items()},
        "estimate": {
            "assumptions": f"{args.archive} recordings of {args.archive_minutes:.0f} min on {args.machines} machines "
                           f"like this one ({args.workers_per_machine} workers each), stage time linear in audio "
                           f"(measured on the {audio_s:.0f} s clip by {source}), "
                           f"parallel efficiency {efficiency:.2f} as measured here; stages after --to not included",
            **estimate(per_audio, {}, efficiency, args.archive, args.archive_minutes, args.machines,
                       args.workers_per_machine),
        },
    }
    print(json.dumps({k: v for k, v in result.items() if k not in ("sequential",)}, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
