"""``OUT_ROOT/batch.json`` and the table on screen: per recording, status, duration, time per stage,
error rates where a truth file exists; per stage, the peak memory of the workers that ran it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..core.storage import write_json
from .jobs import Job

OK = ("ran", "skipped")
SUMMARY = "batch.json"


def summarise(jobs: list[Job], order: list[str], results: dict[tuple[str, str], dict], extras: dict[str, dict],
              bad_configs: dict[str, str], cluster: dict, *, started_at: dt.datetime, wall_s: float,
              previous_peaks: dict[str, float] | None = None) -> dict:
    previous_peaks = previous_peaks or {}
    recordings = []
    for job in jobs:
        entry = {"name": job.name, "recording": job.recording, "config": job.config, "out": job.out,
                 "truth": job.truth}
        if job.config in bad_configs:
            entry.update(status="failed", error=bad_configs[job.config], stages={})
            recordings.append(entry)
            continue
        stages = {}
        for stage in order:
            result = results.get((job.name, stage), {"status": "not_run"})
            stages[stage] = {k: result.get(k) for k in ("status", "elapsed_s", "peak_mb", "attempts", "waited_s",
                                                        "worker", "error", "messages") if result.get(k) is not None}
        failed = next(((s, r) for s, r in stages.items() if r["status"] == "failed"), None)
        extra = extras.get(job.name, {})
        entry.update(
            status="ok" if failed is None and all(r["status"] in OK for r in stages.values()) else "failed",
            audio_s=extra.get("audio_s"),
            stage_s=round(sum(r.get("elapsed_s") or 0.0 for r in stages.values()), 2),
            stages=stages,
        )
        if failed is not None:
            entry["error"] = f"stage '{failed[0]}': {failed[1].get('error', 'failed')}"
        if "scores" in extra:
            entry["scores"] = extra["scores"]
        if "scores_error" in extra:
            entry["scores_error"] = extra["scores_error"]
        recordings.append(entry)
    ran = [(stage, r) for e in recordings for stage, r in e.get("stages", {}).items() if r["status"] == "ran"]
    peaks: dict[str, float] = {}
    times: dict[str, float] = {}
    for stage, r in ran:
        if r.get("peak_mb") is not None:
            peaks[stage] = max(peaks.get(stage, 0.0), r["peak_mb"])
        times[stage] = round(times.get(stage, 0.0) + (r.get("elapsed_s") or 0.0), 2)
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_s": round(wall_s, 2),
        "stages": order,
        "cluster": cluster,
        "counts": {"recordings": len(recordings), "ok": sum(e["status"] == "ok" for e in recordings),
                   "failed": sum(e["status"] != "ok" for e in recordings)},
        "time_per_stage_s": times,
        "peak_mb_per_stage": peaks,
        # what the next batch in this OUT_ROOT sizes its workers from: the largest peak seen so far
        "sizing_peak_mb_per_stage": {s: max(v, previous_peaks.get(s, 0.0)) for s, v in
                                     {**previous_peaks, **peaks}.items()},
        "recordings": recordings,
    }


def write_summary(out_root: Path, summary: dict) -> Path:
    path = Path(out_root) / SUMMARY
    write_json(path, summary)
    return path


def _cell(result: dict | None) -> str:
    if not result:
        return "-"
    status = result["status"]
    if status == "ran":
        return f"{result.get('elapsed_s') or 0:.1f}" + ("*" if (result.get("attempts") or 1) > 1 else "")
    return {"skipped": "skip", "failed": "FAIL", "not_run": "-"}.get(status, status)


def _scores(entry: dict) -> str:
    floor = (entry.get("scores") or {}).get("floor")
    if not floor:
        return "n/a" if not entry.get("scores_error") else "error"
    parts = []
    for key, label in (("english_wer", "WER"), ("japanese_cer", "CER"), ("diarization_error_rate", "DER")):
        if floor.get(key) is not None:
            parts.append(f"{label} {floor[key]:.1%}")
    return " ".join(parts) or "n/a"


def table(summary: dict) -> str:
    stages = summary["stages"]
    header = ["recording", "status", "audio s", "time s", *stages, "errors"]
    rows = []
    for e in summary["recordings"]:
        audio = f"{e['audio_s']:.0f}" if e.get("audio_s") is not None else "-"
        rows.append([e["name"], e["status"], audio, f"{e.get('stage_s', 0):.1f}",
                     *[_cell(e.get("stages", {}).get(s)) for s in stages], _scores(e)])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts = summary["counts"]
    lines.append(f"{counts['ok']} of {counts['recordings']} recording(s) done, {counts['failed']} failed, "
                 f"in {summary['wall_s']:.1f} s (stage times in seconds; * = retried after a worker died)")
    for e in summary["recordings"]:
        if e["status"] != "ok" and e.get("error"):
            lines.append(f"  {e['name']}: {e['error']}")
    return "\n".join(lines)
