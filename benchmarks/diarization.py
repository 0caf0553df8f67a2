"""Diarization error rate (pyannote.metrics, collar 0.25 s) on the shared fixtures and the demo,
for each speaker-embedding engine.

    .venv/bin/python benchmarks/diarization.py [--engines campplus,resemblyzer] [--no-demo]

Runs the pipeline up to ``diarize`` on each recording with a config that names no people (the
number of speakers is unknown), once per engine, and scores ``diarization.rttm`` against the
reference RTTM or truth file over the whole recording (the pyannote clips: UEM 0-30 s). Prints
one row per recording and engine: DER, its missed / false-alarm / confusion parts, speakers
found vs expected, the share of speech overlapped in the reference and as found, and the wall
time of the diarize stage; then the peak memory of the process.
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
from pipeline.core.runner import run_pipeline  # noqa: E402
from pipeline.evaluation.evaluate import annotation_from_rttm, annotation_from_utterances  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures" / "pyannote-audio"
CASES = [(FIXTURES / f"{name}.wav", FIXTURES / f"{name}.rttm") for name in ("sample", "dev00", "tst00")]
DEMOS = [(ROOT / "recordings/demo/demo-clip.opus", ROOT / "recordings/demo/demo-clip.truth.json"),
         (ROOT / "recordings/demo/demo-symposium.opus", ROOT / "recordings/demo/demo-symposium.truth.json")]


def reference(path: Path):
    if path.suffix == ".rttm":
        return annotation_from_rttm(path)
    truth = json.loads(path.read_text(encoding="utf-8"))
    return annotation_from_utterances([u for u in truth["utterances"] if u.get("track", "floor") == "floor"])


def score(ref, hyp, duration_s: float) -> dict:
    from pyannote.core import Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    detail = DiarizationErrorRate(collar=0.25, skip_overlap=False)(ref, hyp, uem=Segment(0, duration_s), detailed=True)
    total = detail["total"] or 1.0
    return {"der": detail["diarization error rate"], "missed": detail["missed detection"] / total,
            "false_alarm": detail["false alarm"] / total, "confusion": detail["confusion"] / total}


def overlap_share(annotation) -> float:
    speech = annotation.get_timeline().support().duration()
    return annotation.get_overlap().support().duration() / speech if speech else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="campplus,resemblyzer")
    parser.add_argument("--no-demo", action="store_true", help="only the pyannote fixtures")
    args = parser.parse_args()
    recordings = CASES + ([] if args.no_demo else [d for d in DEMOS if d[0].exists()])
    print(f"{'recording':22} {'engine':12} {'DER':>6} {'miss':>6} {'FA':>6} {'conf':>6} {'speakers':>9} "
          f"{'overlap ref/found':>18} {'diarize s':>10}")
    with tempfile.TemporaryDirectory() as scratch:
        for recording, truth in recordings:
            for engine in args.engines.split(","):
                config_path = Path(scratch) / f"{engine}.yaml"
                config_path.write_text("event:\n  title: {en: benchmark}\n  languages: [en, ja]\n"
                                       f"diarize: {{embedding: {engine}}}\n")
                config = load_config(config_path)
                out = Path(scratch) / f"{recording.stem}-{engine}"
                run_pipeline(recording, config, config_path, out, to_stage="vad")
                started = time.perf_counter()
                run_pipeline(recording, config, config_path, out, from_stage="diarize", to_stage="diarize")
                elapsed = time.perf_counter() - started
                ref, hyp = reference(truth), annotation_from_rttm(out / "diarization.rttm")
                duration = json.loads((out / "ingest.json").read_text())["tracks"][0]["duration_s"]
                found = json.loads((out / "diarization.json").read_text())["overlap_share"]
                s = score(ref, hyp, duration)
                print(f"{recording.name:22} {engine:12} {s['der']:6.1%} {s['missed']:6.1%} {s['false_alarm']:6.1%} "
                      f"{s['confusion']:6.1%} {len(hyp.labels()):4d} of {len(ref.labels()):<3d} "
                      f"{overlap_share(ref):8.0%} / {found:<7.0%} {elapsed:10.1f}", flush=True)
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
