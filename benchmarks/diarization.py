"""Diarization error rate (pyannote.metrics, collar 0.25 s) on the shared fixtures and the demo.

    .venv/bin/python benchmarks/diarization.py

Runs the pipeline up to ``diarize`` on each recording (no agenda: the number of speakers is
unknown) and scores ``diarization.rttm`` against the reference RTTM or truth file. Prints DER,
speakers found vs expected, and the wall time and peak memory of the diarize stage.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_config  # noqa: E402
from pipeline.evaluation.evaluate import (annotation_from_rttm, annotation_from_utterances,  # noqa: E402
                               diarization_error_rate)
from pipeline.core.runner import run_pipeline  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures" / "pyannote-audio"
CASES = [(FIXTURES / f"{name}.wav", FIXTURES / f"{name}.rttm") for name in ("sample", "dev00", "tst00")]
DEMOS = [(ROOT / "recordings/demo/demo-clip.opus", ROOT / "recordings/demo/demo-clip.truth.json"),
         (ROOT / "recordings/demo/demo-symposium.opus", ROOT / "recordings/demo/demo-symposium.truth.json")]


def reference(path: Path):
    if path.suffix == ".rttm":
        return annotation_from_rttm(path)
    truth = json.loads(path.read_text(encoding="utf-8"))
    return annotation_from_utterances([u for u in truth["utterances"] if u.get("track", "floor") == "floor"])


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        config_path = Path(scratch) / "config.yaml"
        config_path.write_text("event:\n  title: {en: benchmark}\n  languages: [en, ja]\n")
        config = load_config(config_path)
        print(f"{'recording':22} {'DER':>6} {'speakers':>9} {'diarize s':>10}")
        for recording, truth in CASES + [d for d in DEMOS if d[0].exists()]:
            out = Path(scratch) / recording.stem
            run_pipeline(recording, config, config_path, out, to_stage="vad")
            started = time.perf_counter()
            run_pipeline(recording, config, config_path, out, from_stage="diarize", to_stage="diarize")
            elapsed = time.perf_counter() - started
            ref, hyp = reference(truth), annotation_from_rttm(out / "diarization.rttm")
            duration = json.loads((out / "ingest.json").read_text())["tracks"][0]["duration_s"]
            der = diarization_error_rate(ref, hyp, duration)
            print(f"{recording.name:22} {der:6.1%} {len(hyp.labels()):4d} of {len(ref.labels()):<3d} {elapsed:10.1f}")
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
