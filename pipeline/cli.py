"""Command line: a thin layer over ``core.runner.run_pipeline``, the function the tests call."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .evaluation import evaluate

from .asr import models
from .core.storage import write_json
from .core.config import DEFAULT_CONFIG, load_config
from .core.errors import PipelineError
from .core.runner import run_pipeline
from .stages import STAGE_NAMES, STAGES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline's stages on a recording")
    run.add_argument("recording", type=Path, help="audio or video file (mp4, m4a, webm, mkv, mp3, wav, flac, ...)")
    run.add_argument("--config", type=Path, help="event config, e.g. configs/demo.yaml (default: a neutral English/Japanese "
                     "event with no agenda)")
    run.add_argument("--out", type=Path, required=True, help="output folder")
    run.add_argument("--from", dest="from_stage", choices=STAGE_NAMES, help="first stage to run")
    run.add_argument("--to", dest="to_stage", choices=STAGE_NAMES, help="last stage to run")
    run.add_argument("--force", action="store_true", help="re-run the selected stages even if unchanged")
    evaluate = commands.add_parser("evaluate", help="score an output folder against a ground-truth file")
    evaluate.add_argument("output", type=Path, help="output folder of a run")
    evaluate.add_argument("truth", type=Path, help="truth JSON (see recordings/demo/*.truth.json)")
    evaluate.add_argument("--json", type=Path, help="also write the figures to this file")
    publish = commands.add_parser("publish", help="build the archival package (a BagIt bag) from a reviewed output folder")
    publish.add_argument("output", type=Path, help="output folder of a run (reads reviewed.json)")
    publish.add_argument("--to", dest="package", type=Path, required=True, help="package folder to create")
    publish.add_argument("--config", type=Path, help="event config (default: the one the run recorded in manifest.json)")
    publish.add_argument("--allow-unreviewed", action="store_true",
                         help="publish even while segments or report sections are unreviewed (recorded in the package)")
    batch = commands.add_parser("batch", help="run many recordings on Dask (a local cluster or --scheduler)")
    batch.add_argument("recordings", type=Path, nargs="*", help="recordings, and/or manifest files (.csv/.yaml: recording, config)")
    batch.add_argument("--config", type=Path, help="event config for recordings without one in a manifest")
    batch.add_argument("--out", type=Path, required=True, help="output root: one folder per recording, plus batch.json")
    batch.add_argument("--manifest", type=Path, help="CSV or YAML file with columns recording, config (name, truth optional)")
    batch.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")
    batch.add_argument("--workers", type=int, help="local worker processes (default: sized from cores and memory)")
    batch.add_argument("--from", dest="from_stage", choices=STAGE_NAMES, help="first stage to run")
    batch.add_argument("--to", dest="to_stage", choices=STAGE_NAMES, help="last stage to run")
    batch.add_argument("--force", action="store_true", help="re-run the selected stages even if unchanged")
    review = commands.add_parser("review", help="open the editors' review app on an output folder (prints its URL)")
    review.add_argument("output", type=Path, help="output folder of a run (with aligned.json)")
    review.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    review.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    review.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host (the token is still required)")
    from .agenda.command import add_arguments as agenda_arguments

    agenda_arguments(commands.add_parser("agenda", help="draft the event config from the event's own page(s); "
                                                        "--check CONFIG shows a config as a table"))
    commands.add_parser("stages", help="list the stages in order")
    commands.add_parser("prepare-models", help="join and convert the packaged model weights (done by bootstrap)")
    return parser


def _default_config() -> Path:
    print("no --config: a neutral event (English and Japanese, no agenda; voices stay \"Speaker N\"); "
          "draft your event's config with `python -m pipeline agenda PAGE`", file=sys.stderr)
    return DEFAULT_CONFIG


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "stages":
            for stage in STAGES:
                print(f"{stage.name:<12} {stage.description}  ({', '.join(stage.reads) or 'the recording'} -> {stage.writes})")
        elif args.command == "evaluate":
            if args.json and args.json.is_dir():
                raise PipelineError(f"--json {args.json}: is a folder; give a file name")
            figures = evaluate.evaluate(args.output, args.truth)
            print(evaluate.report(figures))
            if args.json:
                write_json(args.json, figures)
        elif args.command == "agenda":
            from .agenda.command import run as run_agenda

            return run_agenda(args)
        elif args.command == "review":
            from .review import server

            server.serve(args.output, args.host, args.port, args.allow_remote)
        elif args.command == "prepare-models":
            print(models.packaged_ct2_base())
            print(models.packaged_openai_whisper_base())
            from .text.llm_models import packaged_gguf

            print(packaged_gguf())  # the LLM for translation and the report (22 slices joined, sha256 checked)
        elif args.command == "publish":
            from .publish.package import publish, run_config_path

            config_path = args.config or run_config_path(args.output)
            summary = publish(args.output, load_config(config_path), args.package, args.allow_unreviewed)
            print(f"package written to {args.package} ({summary['review']['source']}, "
                  f"review: {'incomplete, allowed' if summary['review']['allowed_unreviewed'] else 'complete'})")
        elif args.command == "batch":
            from .batch import print_table, run_batch

            summary = run_batch(args.recordings, args.config, args.out, manifest=args.manifest, scheduler=args.scheduler,
                                workers=args.workers, from_stage=args.from_stage, to_stage=args.to_stage, force=args.force)
            print_table(summary)
            return 0 if summary["counts"]["failed"] == 0 else 1
        elif args.command == "run":
            config_path = args.config or _default_config()
            config = load_config(config_path)
            run_pipeline(args.recording, config, config_path, args.out, args.from_stage, args.to_stage, args.force)
    except PipelineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0
