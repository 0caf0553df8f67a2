"""Time and size of publishing: the demo symposium, and a long transcript built from the demo's
utterances (default 3 hours) with its floor audio looped to the same length.

    .venv/bin/python benchmarks/publish.py --run outputs/demo            # after bootstrap.sh demo
    .venv/bin/python benchmarks/publish.py --run outputs/demo --hours 3 --codec flac

``--run`` is an output folder that has reached ``align`` (reviewed.json is used when present,
else every aligned segment is marked reviewed in a scratch copy). Prints wall time, peak memory
and the package's size, per part of the payload. A benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_config  # noqa: E402
from pipeline.publish.package import publish, run_config_path  # noqa: E402


def reviewed_copy(run: Path, scratch: Path) -> Path:
    """A scratch copy of the run whose transcript counts as reviewed (no journal, no aligned.json)."""
    out = scratch / "demo"
    (out / "audio").mkdir(parents=True)
    source = run / "reviewed.json" if (run / "reviewed.json").is_file() else run / "aligned.json"
    transcript = json.loads(source.read_text(encoding="utf-8"))
    for segment in transcript["segments"]:
        segment["review"] = {"status": "reviewed", "version": 1, "edited": False}
    (out / "reviewed.json").write_text(json.dumps(transcript, ensure_ascii=False), encoding="utf-8")
    for name in ("translations.json", "manifest.json", "report.json"):
        if (run / name).is_file():
            shutil.copyfile(run / name, out / name)
    shutil.copyfile(run / "audio" / "floor.wav", out / "audio" / "floor.wav")
    return out


def long_copy(demo: Path, scratch: Path, hours: float) -> Path:
    """The demo's segments repeated back to back (new ids, shifted times, sessions renamed per
    round) until ``hours``; the floor audio looped by ffmpeg to the same length."""
    out = scratch / "long"
    (out / "audio").mkdir(parents=True)
    transcript = json.loads((demo / "reviewed.json").read_text(encoding="utf-8"))
    translations = json.loads((demo / "translations.json").read_text(encoding="utf-8")) \
        if (demo / "translations.json").is_file() else {"segments": {}}
    period = transcript["duration_s"]
    rounds = max(1, math.ceil(hours * 3600 / period))
    segments, sessions, translated = [], [], {}
    for r in range(rounds):
        shift = r * period
        for segment in transcript["segments"]:
            copy = json.loads(json.dumps(segment))
            copy["id"] = f"seg-{len(segments) + 1:06d}"
            copy["start_s"] = round(copy["start_s"] + shift, 3)
            copy["end_s"] = round(copy["end_s"] + shift, 3)
            for word in copy.get("words") or []:
                word["start_s"] = round(word["start_s"] + shift, 3)
                word["end_s"] = round(word["end_s"] + shift, 3)
            if copy.get("session"):
                copy["session"] = f"{copy['session']}-r{r + 1}"
            if segment["id"] in translations["segments"]:
                translated[copy["id"]] = translations["segments"][segment["id"]]
            segments.append(copy)
        for session in transcript.get("sessions") or []:
            copy = dict(session, id=f"{session['id']}-r{r + 1}", start_s=session["start_s"] + shift,
                        end_s=session["end_s"] + shift)
            sessions.append(copy)
    transcript.update(segments=segments, sessions=sessions, duration_s=round(rounds * period, 3))
    (out / "reviewed.json").write_text(json.dumps(transcript, ensure_ascii=False), encoding="utf-8")
    if translated:
        (out / "translations.json").write_text(json.dumps({"segments": translated}, ensure_ascii=False), encoding="utf-8")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-stream_loop", str(rounds - 1),
                    "-i", str(demo / "audio" / "floor.wav"), "-c", "copy", str(out / "audio" / "floor.wav")],
                   check=True)
    return out


def measure(label: str, out: Path, config, target: Path) -> dict:
    started = time.perf_counter()
    summary = publish(out, config, target)
    elapsed = time.perf_counter() - started
    sizes: dict[str, int] = {}
    for path in target.rglob("*"):
        if path.is_file():
            parts = path.relative_to(target).parts
            key = parts[1] if parts[0] == "data" and len(parts) > 2 else ("data/" + parts[1] if parts[0] == "data" else "bag files")
            sizes[key] = sizes.get(key, 0) + path.stat().st_size
    total = sum(sizes.values())
    segments = len(json.loads((out / "reviewed.json").read_text(encoding="utf-8"))["segments"])
    print(f"{label}: {summary['duration_s'] / 3600:.2f} h of audio, {segments} segments: "
          f"published in {elapsed:.1f} s, package {total / 1e6:.1f} MB")
    for key, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"    {key:<22} {size / 1e6:9.2f} MB")
    return {"label": label, "segments": segments, "duration_s": summary["duration_s"], "seconds": round(elapsed, 2),
            "bytes": total, "parts": sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "outputs" / "demo", help="demo output folder (align done)")
    parser.add_argument("--config", type=Path, help="its config (default: recorded in its manifest.json)")
    parser.add_argument("--hours", type=float, default=3.0, help="length of the long transcript")
    parser.add_argument("--codec", choices=["flac", "opus", "mp3"], help="override publish.audio_codec")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    config = load_config(args.config or run_config_path(args.run))
    if args.codec:
        config = config.model_copy(update={"publish": config.publish.model_copy(update={"audio_codec": args.codec})})
    with tempfile.TemporaryDirectory(prefix="publish-bench-") as scratch:
        scratch = Path(scratch)
        demo = reviewed_copy(args.run, scratch)
        figures = [measure("demo", demo, config, scratch / "package-demo")]
        if args.hours > 0:
            long = long_copy(demo, scratch, args.hours)
            figures.append(measure(f"{args.hours:g}-hour transcript", long, config, scratch / "package-long"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (this process): {peak_mb:.0f} MB; ffmpeg runs as a child process")
    if args.json:
        args.json.write_text(json.dumps({"runs": figures, "peak_rss_mb": round(peak_mb)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
