"""A full run of a long recording, every stage in one process, as a user runs it: wall time, CPU
time and peak resident memory per stage and in total, then the scores ``evaluate`` can compute.

    nice .venv/bin/python benchmarks/full_run.py --minutes 180            # the 3-hour acceptance run
    nice .venv/bin/python benchmarks/full_run.py --minutes 10 --threads 2  # a quick check that it works
    nice .venv/bin/python benchmarks/full_run.py --minutes 180 --from translate  # re-measure from a stage

``--from STAGE`` reruns that stage and those after it on the earlier stages' artifacts of the same
``--work`` folder (after a change to those stages only); the total then covers those stages, and
each stage's peak memory sits on less than a full run leaves resident before it.

The recording is built like ``long_recording.py`` does, from the demo symposium's utterances
(repeated and shuffled with a fixed seed, pauses of 0.3-2.0 s), with its truth file, so chrF,
word/character error rates and speaker figures can be scored. The pipeline then runs all its
stages, ingest to report, in this process (``run_pipeline``, what ``python -m pipeline run``
does). At every stage boundary the benchmark reads the process's CPU time and its peak resident
memory (``VmHWM`` in /proc/self/status), and resets that peak (``clear_refs``), so each stage's
figure is its own peak on top of what earlier stages left resident.

The demo's utterances repeat in a long recording, and the translate stage reuses a translation
made for the same text. The benchmark switches that reuse off (``translate.reuse: false``) so
every line is translated as in a real event with no repeated sentence; it says how many were.

This is a benchmark, not a test. Timings on a shared machine are noisy: say so when quoting them.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.long_recording import build  # noqa: E402
from pipeline.core.config import load_config  # noqa: E402
from pipeline.core.events import ConsoleSink, Event, reporting_to  # noqa: E402
from pipeline.core.errors import PipelineError  # noqa: E402
from pipeline.core.runner import run_pipeline, select_stages  # noqa: E402
from pipeline.core.storage import read_json  # noqa: E402


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    """Start a new peak: VmHWM becomes the current resident size (Linux, own process)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not allowed here: the per-stage peaks then are the run's peak so far


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class StageMeter:
    """An event sink that measures each stage between its 'started' and 'finished' events."""

    def __init__(self) -> None:
        self.console = ConsoleSink()
        self.rows: list[dict] = []
        self._open: dict | None = None

    def __call__(self, event: Event) -> None:
        if event.kind == "stage_started":
            _reset_peak()
            self._open = {"stage": event.stage, "wall": time.perf_counter(), "cpu": _cpu_s(),
                          "rss_before_mib": _status_kib("VmRSS") / 1024}
        elif event.kind == "stage_finished" and self._open:
            opened = self._open
            self.rows.append({"stage": opened["stage"], "wall_s": round(time.perf_counter() - opened["wall"], 1),
                              "cpu_s": round(_cpu_s() - opened["cpu"], 1),
                              "rss_before_mib": round(opened["rss_before_mib"]),
                              "peak_mib": round(_status_kib("VmHWM") / 1024),
                              "rss_after_mib": round(_status_kib("VmRSS") / 1024)})
            self._open = None
            print(f"  measured: {json.dumps(self.rows[-1])}", flush=True)  # as it goes: a long run may be cut short
        self.console(event)


def benchmark_config(base: Path, target: Path, threads: int | None) -> Path:
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    data["translate"] = {**data.get("translate", {}), "reuse": False}
    if threads:
        data["llm"] = {**data.get("llm", {}), "threads": threads}
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=180)
    parser.add_argument("--recording", type=Path, default=ROOT / "recordings/demo/demo-symposium.opus")
    parser.add_argument("--truth", type=Path, default=ROOT / "recordings/demo/demo-symposium.truth.json")
    parser.add_argument("--config", type=Path, default=ROOT / "configs/demo.yaml")
    parser.add_argument("--work", type=Path, default=Path("/tmp/full-run"))
    parser.add_argument("--threads", type=int, help="llm.threads (default: the config's)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--from", dest="from_stage", help="rerun from this stage on the earlier artifacts in --work")
    args = parser.parse_args()
    if args.from_stage:
        try:
            select_stages(args.from_stage, None)  # a wrong name is refused before minutes of audio are built
        except PipelineError as e:
            parser.error(f"--from: {e}")
    args.work.mkdir(parents=True, exist_ok=True)
    recording = args.work / f"long-{int(args.minutes)}min.opus"
    truth = recording.with_suffix(".truth.json")
    if not recording.exists() or not truth.exists():
        truth = build(args.recording, args.truth, args.minutes, recording)
    duration_s = json.loads(truth.read_text(encoding="utf-8"))["duration_s"]
    out = args.work / f"out-{int(args.minutes)}min"
    config_path = benchmark_config(args.config, args.work / "config.yaml", args.threads)
    print(f"recording: {recording} ({duration_s / 60:.1f} min); output: {out}", flush=True)

    meter = StageMeter()
    started, cpu_started = time.perf_counter(), _cpu_s()
    with reporting_to(meter):
        run_pipeline(recording, load_config(config_path), config_path, out, from_stage=args.from_stage, force=True)
    total = {"stage": "total", "wall_s": round(time.perf_counter() - started, 1), "cpu_s": round(_cpu_s() - cpu_started, 1),
             # The largest stage peak: ru_maxrss is reset with VmHWM at each stage (clear_refs).
             "peak_mib": max([row["peak_mib"] for row in meter.rows] +
                             [round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)])}

    from pipeline.evaluation.evaluate import evaluate, report

    figures = evaluate(out, truth)
    counters = read_json(out / "manifest.json")["stages"].get("translate", {}).get("counters", {})
    print(f"\n{'stage':12} {'wall s':>9} {'x audio':>8} {'CPU s':>9} {'peak MiB':>9} {'RSS before':>11} {'after':>7}")
    for row in meter.rows + [total]:
        print(f"{row['stage']:12} {row['wall_s']:9.1f} {row['wall_s'] / duration_s:8.3f} {row['cpu_s']:9.1f} "
              f"{row['peak_mib']:9d} {row.get('rss_before_mib', ''):>11} {row.get('rss_after_mib', ''):>7}")
    print(f"\ntranslate: {counters.get('translated')} lines translated of {counters.get('lines')}, "
          f"{counters.get('llm_calls')} requests, {counters.get('completion_tokens_per_s')} completion tokens/s")
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps({"duration_s": duration_s, "stages": meter.rows, "total": total,
                                         "translate": counters, "figures": figures}, indent=2, ensure_ascii=False,
                                        default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
