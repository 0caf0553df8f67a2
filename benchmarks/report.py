"""Report-stage speed: the demo symposium, and how it grows on a 60-minute transcript.

    .venv/bin/python benchmarks/report.py OUT_DIR [--engine llm|extractive] [--minutes 60] [--json FILE]

OUT_DIR is a run of the demo symposium up to the review stage (reviewed.json). The stage's work
(drafting, checks, renderings) is timed on that transcript; then on a long transcript built from
the demo truth's own utterances (each session's floor speech repeated, with fresh ids and times,
until the recording lasts ``--minutes``), with the same agenda. Wall time and CPU time (user +
system of this process, a figure that does not depend on how busy the machine is) are reported,
with the model's calls and tokens. Map steps see bounded context, so the number of model calls
depends on the number of (session, speaker) parts, not on the length; what grows is embedding
every sentence once and ranking each claim against all segments.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_config  # noqa: E402
from pipeline.core.storage import read_json  # noqa: E402
from pipeline.report.render import render_all  # noqa: E402
from pipeline.report.stage import LazyLLM, build  # noqa: E402

TRUTH = ROOT / "recordings" / "demo" / "demo-symposium.truth.json"
CONFIG = ROOT / "configs" / "demo.yaml"


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def long_transcript(minutes: float) -> dict:
    """The demo truth's floor utterances, each session's speech repeated until ``minutes``."""
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    floor = [u for u in truth["utterances"] if u.get("track", "floor") == "floor"]
    length_s = sum(u["end_s"] - u["start_s"] + 1.0 for u in floor)
    repeats = max(1, int(minutes * 60 / length_s + 0.999))
    segments, clock = [], 0.0
    for session in dict.fromkeys(u["session"] for u in floor):
        for _ in range(repeats):
            for u in (u for u in floor if u["session"] == session):
                duration = u["end_s"] - u["start_s"]
                segments.append({"id": f"seg-{len(segments) + 1:05d}", "track": "floor", "start_s": round(clock, 2),
                                 "end_s": round(clock + duration, 2), "language": u["language"], "text": u["text"],
                                 "speaker": u["person"], "session": session, "words": [], "confidence": 1.0})
                clock += duration + 1.0
    from pipeline.core.artifacts import schema_version

    return {"schema_version": schema_version("reviewed.json"), "duration_s": round(clock, 1),
            "languages": ["en", "ja"], "tracks": [], "segments": segments, "voices": {}, "people": {},
            "sessions": []}


def timed(config, transcript: dict, engine: str) -> dict:
    config = config.model_copy(update={"report": config.report.model_copy(update={"engine": engine})})
    llm = LazyLLM(config) if engine == "llm" else None
    wall, cpu = time.perf_counter(), cpu_s()
    report, counters = build(config, transcript, llm=llm)
    with tempfile.TemporaryDirectory() as out:
        render_all(report, config, Path(out))
    return {"segments": len(transcript["segments"]), "duration_min": round(transcript["duration_s"] / 60, 1),
            "wall_s": round(time.perf_counter() - wall, 1), "cpu_s": round(cpu_s() - cpu, 1),
            "claims": counters["claims"], "claims_supported": counters["claims_supported"],
            "llm": dict(llm.usage) if llm else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="a demo run up to the review stage")
    parser.add_argument("--engine", choices=["llm", "extractive"], default="llm")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="llm.threads (1 beats 2 on a crowded machine: llama.cpp threads spin-wait)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = load_config(CONFIG)
    if args.threads is not None:
        config = config.model_copy(update={"llm": config.llm.model_copy(update={"threads": args.threads})})
    figures = {"engine": args.engine}
    if not args.skip_demo:
        figures["demo"] = timed(config, read_json(args.out_dir / "reviewed.json"), args.engine)
        print("demo:", json.dumps(figures["demo"]), flush=True)
    figures["long"] = timed(config, long_transcript(args.minutes), args.engine)
    print(f"{args.minutes:.0f} min:", json.dumps(figures["long"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
