"""How much each kind of evidence contributes to naming voices: switch one off at a time.

    .venv/bin/python benchmarks/align_ablation.py OUT_DIR [--config configs/demo.yaml]
        [--truth recordings/demo/demo-symposium.truth.json] [--markdown docs/ablation.md]

OUT_DIR is a finished run (transcript.json and diarization.json present). For each variant the
align stage alone is re-run on a copy, with the weight of one kind of evidence set to 0, and
scored against the truth: speech time given to the right person, the share of named time that
is the named person (naming precision), voices named, and the median session boundary error.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_config  # noqa: E402
from pipeline.core.events import CollectingSink, reporting_to  # noqa: E402
from pipeline.core.runner import run_pipeline  # noqa: E402
from pipeline.core.storage import read_json  # noqa: E402
from pipeline.evaluation.evaluate import evaluate  # noqa: E402

VARIANTS = {
    "all evidence": {},
    "without self-introductions": {"self_introduction_weight": 0.0},
    "without hand-overs": {"handover_weight": 0.0},
    "without what people say (both)": {"self_introduction_weight": 0.0, "handover_weight": 0.0},
    "without language": {"language_weight": 0.0},
    "without agenda order": {"order_weight": 0.0},
    "only what people say": {"language_weight": 0.0, "order_weight": 0.0},
}
KEEP = ("ingest.json", "vad.json", "transcript.json", "diarization.json", "diarization.rttm", "manifest.json", "audio")


def run_variant(out_dir: Path, config_path: Path, overrides: dict, scratch: Path, truth: Path) -> dict:
    copy = scratch / "out"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir(parents=True)
    for name in KEEP:
        source = out_dir / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        elif source.exists():
            shutil.copy2(source, copy / name)
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    data.setdefault("align", {}).update(overrides)
    # Next to the original so relative paths (enrollment clips) still resolve.
    variant_config = config_path.with_name(f".ablation-{scratch.name}.yaml")
    variant_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        with reporting_to(CollectingSink()):
            run_pipeline(Path(read_json(out_dir / "ingest.json")["recording"]), load_config(variant_config),
                         variant_config, copy, from_stage="align", to_stage="align")
    finally:
        variant_config.unlink()
    floor = evaluate(copy, truth)["floor"]
    voices = read_json(copy / "aligned.json")["voices"]
    named = sum(1 for v in voices.values() if not v["person"].startswith("unknown-"))
    return {"speaker_time_accuracy": floor["speaker_time_accuracy"], "naming_precision": floor["naming_precision"],
            "voices_named": f"{named} of {len(voices)}", "session_boundary_error_s": floor["session_boundary_error_s"]}


def markdown(rows: dict[str, dict]) -> str:
    lines = ["| evidence | speech time to the right person | naming precision | voices named | median session boundary error |",
             "|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['speaker_time_accuracy']:.1%} | {r['naming_precision']:.1%} | {r['voices_named']} | "
                     f"{r['session_boundary_error_s']:.1f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "demo.yaml")
    parser.add_argument("--truth", type=Path, default=ROOT / "recordings" / "demo" / "demo-symposium.truth.json")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, overrides) in enumerate(VARIANTS.items()):
            scratch = Path(tmp) / f"v{index}"
            rows[name] = run_variant(args.out_dir, args.config.resolve(), overrides, scratch, args.truth)
            print(f"{name:34} {rows[name]}", flush=True)
    table = markdown(rows)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
