"""Speed, memory and error rate: this project's transcription vs plain openai-whisper and
plain faster-whisper, on the same bilingual audio.

    .venv/bin/python benchmarks/transcription_speed.py                 # the bundled demo clip
    .venv/bin/python benchmarks/transcription_speed.py AUDIO --truth TRUTH.json --config CFG

Each contender runs in its own process; wall time and peak resident memory (ru_maxrss of that
process) are measured from outside. Error rate: English words and Japanese characters as one
token sequence (pipeline.metrics.mixed_error_rate) against the truth file's utterances.
Targets (issue 2): >= 3x faster than plain `whisper` at an equal or lower error rate, and no
more than 1.2x plain faster-whisper's time. This is a benchmark, not a test: run it and report.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.asr import models# noqa: E402
from pipeline.evaluation.metrics import mixed_error_rate  # noqa: E402

VENV_BIN = Path(sys.executable).parent

PLAIN_FASTER_WHISPER = """
import json, sys
from faster_whisper import WhisperModel
model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8")
segments, info = model.transcribe(sys.argv[2], vad_filter=True)
print(json.dumps({"text": " ".join(s.text.strip() for s in segments), "language": info.language}))
"""


def measure(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``command``; return (wall seconds, peak RSS in MiB, completed process)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(command, os.waitstatus_to_exitcode(status),
                                             out.read().decode(), err.read().decode())
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    return wall_s, usage.ru_maxrss / 1024, result


def run_ours(audio: Path, config: Path, scratch: Path) -> tuple[float, float, str]:
    out = scratch / "ours"
    wall_s, rss, _ = measure([sys.executable, "-m", "pipeline", "run", str(audio), "--config", str(config),
                              "--out", str(out), "--to", "transcribe"])
    transcript = json.loads((out / "transcript.json").read_text(encoding="utf-8"))
    return wall_s, rss, " ".join(s["text"] for s in transcript["segments"] if s["track"] == "floor")


def run_plain_whisper(audio: Path, scratch: Path) -> tuple[float, float, str]:
    checkpoint = models.packaged_openai_whisper_base()  # the same base weights, converted
    out = scratch / "whisper"
    wall_s, rss, _ = measure([str(VENV_BIN / "whisper"), str(audio), "--model", str(checkpoint),
                              "--device", "cpu", "--output_dir", str(out), "--output_format", "json",
                              "--verbose", "False"])
    result = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    return wall_s, rss, result["text"]


def run_plain_faster_whisper(audio: Path) -> tuple[float, float, str]:
    wall_s, rss, result = measure([sys.executable, "-c", PLAIN_FASTER_WHISPER,
                                   str(models.packaged_ct2_base()), str(audio)])
    return wall_s, rss, json.loads(result.stdout.strip().splitlines()[-1])["text"]


def reference_text(truth: Path) -> str:
    data = json.loads(truth.read_text(encoding="utf-8"))
    utterances = sorted((u for u in data["utterances"] if u.get("track", "floor") == "floor"),
                        key=lambda u: u["start_s"])
    return " ".join(u["text"] for u in utterances)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", type=Path, nargs="?", default=ROOT / "recordings/demo/demo-clip.opus")
    parser.add_argument("--truth", type=Path, default=ROOT / "recordings/demo/demo-clip.truth.json")
    parser.add_argument("--config", type=Path, default=ROOT / "configs/demo.yaml")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    reference = reference_text(args.truth)
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        models.packaged_openai_whisper_base()  # convert once, outside the timings
        rows["this project"] = run_ours(args.audio, args.config, scratch)
        rows["faster-whisper (base, int8, VAD)"] = run_plain_faster_whisper(args.audio)
        rows["whisper CLI (base, defaults)"] = run_plain_whisper(args.audio, scratch)
    ours_s = rows["this project"][0]
    print(f"audio: {args.audio.name}")
    print(f"{'contender':34} {'wall s':>8} {'peak MiB':>9} {'error rate':>10} {'time / ours':>11}")
    figures = {}
    for name, (wall_s, rss, text) in rows.items():
        error = mixed_error_rate(reference, text)
        figures[name] = {"wall_s": round(wall_s, 2), "peak_rss_mib": round(rss), "error_rate": round(error, 4)}
        print(f"{name:34} {wall_s:8.1f} {rss:9.0f} {error:10.3f} {wall_s / ours_s:11.2f}")
    whisper_s = rows["whisper CLI (base, defaults)"][0]
    faster_s = rows["faster-whisper (base, int8, VAD)"][0]
    print(f"speed-up over plain whisper: {whisper_s / ours_s:.2f}x (target >= 3)")
    print(f"time relative to plain faster-whisper: {ours_s / faster_s:.2f}x (target <= 1.2)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
