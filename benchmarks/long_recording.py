"""Time and peak memory of the stages on a long recording built from a demo's utterances.

    .venv/bin/python benchmarks/long_recording.py --minutes 60 [--recording R --truth T --config C]

The utterances of a demo (its truth file says where each one is) are repeated and shuffled
with a fixed seed, with pauses of 0.3-2.0 s, into one long Opus file plus its truth file. The
pipeline then runs on it stage by stage, each in its own process, and the wall time and peak
resident memory of every stage are printed; ``evaluate`` scores the result.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000


def build(recording: Path, truth_path: Path, minutes: float, target: Path) -> Path:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "source.wav"
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(recording), "-map", "0:a:0",
                        "-ac", "1", "-ar", str(RATE), str(wav)], check=True)
        audio, _ = soundfile.read(wav, dtype="float32")
    floor = [u for u in truth["utterances"] if u.get("track", "floor") == "floor"]
    rng = random.Random(0)
    pieces, utterances, position = [], [], 0.0
    while position < minutes * 60:
        for u in rng.sample(floor, len(floor)):
            pause = rng.uniform(0.3, 2.0)
            clip = audio[int(u["start_s"] * RATE) : int(u["end_s"] * RATE)]
            pieces += [np.zeros(int(pause * RATE), dtype=np.float32), clip]
            start = position + pause
            position = start + len(clip) / RATE
            utterances.append({**u, "id": f"r{len(utterances):05d}", "start_s": round(start, 3),
                               "end_s": round(position, 3)})
    long_wav = target.with_suffix(".wav")
    soundfile.write(long_wav, np.concatenate(pieces), RATE)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(long_wav), "-c:a", "libopus",
                    "-b:a", "32k", str(target)], check=True)
    long_wav.unlink()
    truth_out = target.with_suffix(".truth.json")
    truth_out.write_text(json.dumps({"recording": target.name, "duration_s": position, "languages": truth["languages"],
                                     "utterances": utterances}, ensure_ascii=False), encoding="utf-8")
    return truth_out


def timed(command: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--recording", type=Path, default=ROOT / "recordings/demo/demo-clip.opus")
    parser.add_argument("--truth", type=Path, default=ROOT / "recordings/demo/demo-clip.truth.json")
    parser.add_argument("--config", type=Path, default=ROOT / "configs/demo.yaml")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "long-recording")
    parser.add_argument("--stages", default="ingest,vad,transcribe,diarize,align,captions")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    recording = args.work / f"long-{int(args.minutes)}min.opus"
    truth = recording.with_suffix(".truth.json")
    if not recording.exists():
        truth = build(args.recording, args.truth, args.minutes, recording)
    out = args.work / f"out-{int(args.minutes)}min"
    print(f"recording: {recording} ({json.loads(truth.read_text())['duration_s'] / 60:.1f} min)")
    for stage in args.stages.split(","):
        wall_s, rss = timed([sys.executable, "-m", "pipeline", "run", str(recording), "--config", str(args.config),
                             "--out", str(out), "--from", stage, "--to", stage, "--force"])
        print(f"  {stage:12} {wall_s:8.1f} s  peak {rss:7.0f} MiB")
    subprocess.run([sys.executable, "-m", "pipeline", "evaluate", str(out), str(truth)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
