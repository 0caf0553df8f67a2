"""Report-stage speed: the demo symposium, and how it grows on a 60-minute transcript.

    .venv/bin/python benchmarks/report.py OUT_DIR [--engine llm|extractive] [--minutes 60] [--json FILE]

OUT_DIR is a run of the demo symposium up to the review stage (reviewed.json), and up to the
translate stage for the figures of a full run (translations.json is then read, as the stage does). The stage's work
(drafting, checks, renderings) is timed on that transcript; then on a long transcript with the
same agenda, each session's speech repeated (fresh ids and times) until the recording lasts
``--minutes``: by default the run's own reviewed segments with their renderings from
translations.json (the default path of a full run), with ``--long-from truth`` the demo truth's
utterances without renderings (the model then translates every chosen sentence). Wall time and CPU time (user +
system of this process, a figure that does not depend on how busy the machine is) are reported,
with the model's calls and tokens and the English words of the rendered report against its
budget. The model writes the overview (one request per language) and translates chosen
sentences without a rendering; what grows with the length is embedding every sentence once,
the rules and the checks.
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
from pipeline.report.genre import genre_figures  # noqa: E402
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


def long_from_run(out_dir: Path, minutes: float) -> tuple[dict, dict | None]:
    """The run's reviewed transcript, each session's segments repeated until ``minutes``, and
    the translate stage's renderings carried over to the copies (None without translations.json)."""
    reviewed = read_json(out_dir / "reviewed.json")
    path = out_dir / "translations.json"
    renderings = read_json(path)["segments"] if path.is_file() else None
    speech = [s for s in reviewed["segments"] if s.get("session")]
    length_s = sum(s["end_s"] - s["start_s"] + 1.0 for s in speech)
    repeats = max(1, int(minutes * 60 / length_s + 0.999))
    segments, copied, clock = [], {}, 0.0
    for session in dict.fromkeys(s["session"] for s in speech):
        for _ in range(repeats):
            fresh = {}
            for segment in (s for s in speech if s["session"] == session):
                fresh[segment["id"]] = f"seg-{len(segments) + 1:05d}"
                duration = segment["end_s"] - segment["start_s"]
                segments.append({**segment, "id": fresh[segment["id"]], "start_s": round(clock, 2),
                                 "end_s": round(clock + duration, 2), "words": []})
                clock += duration + 1.0
            for old_id, new_id in fresh.items():
                if renderings and old_id in renderings:
                    copied[new_id] = {lang: {**r, "sentence": [fresh.get(i, i) for i in r.get("sentence", [])]}
                                      for lang, r in renderings[old_id].items()}
    transcript = {**reviewed, "duration_s": round(clock, 1), "segments": segments}
    return transcript, ({"segments": copied} if renderings is not None else None)


def timed(config, transcript: dict, engine: str, translations: dict | None = None) -> dict:
    config = config.model_copy(update={"report": config.report.model_copy(update={"engine": engine})})
    llm = LazyLLM(config) if engine == "llm" else None
    wall, cpu = time.perf_counter(), cpu_s()
    report, counters = build(config, transcript, translations, llm=llm)
    with tempfile.TemporaryDirectory() as out:
        render_all(report, config, Path(out))
        wall_s, cpu_used = round(time.perf_counter() - wall, 1), round(cpu_s() - cpu, 1)
        length = genre_figures(Path(out), report["languages"])
    return {"segments": len(transcript["segments"]), "duration_min": round(transcript["duration_s"] / 60, 1),
            "wall_s": wall_s, "cpu_s": cpu_used, "claims": counters["claims"],
            "claims_supported": counters["claims_supported"], "words_en": length.get("report_words_en"),
            "budget_words": report["budget_words"], "llm": dict(llm.usage) if llm else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="a demo run up to the review stage")
    parser.add_argument("--engine", choices=["llm", "extractive"], default="llm")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--long-from", choices=["run", "truth"], default="run",
                        help="the long transcript: OUT_DIR's segments and renderings, or the truth's utterances")
    parser.add_argument("--threads", type=int, default=None,
                        help="llm.threads (1 beats 2 on a crowded machine: llama.cpp threads spin-wait)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = load_config(CONFIG)
    if args.threads is not None:
        config = config.model_copy(update={"llm": config.llm.model_copy(update={"threads": args.threads})})
    figures = {"engine": args.engine}
    if not args.skip_demo:
        # The stage reads the translate stage's output when there is one (quotes and points in
        # the other language come from it), as a full run does.
        translations = args.out_dir / "translations.json"
        figures["demo"] = timed(config, read_json(args.out_dir / "reviewed.json"), args.engine,
                                read_json(translations) if translations.is_file() else None)
        figures["demo"]["with_translations"] = translations.is_file()
        print("demo:", json.dumps(figures["demo"]), flush=True)
    if args.long_from == "truth":
        figures["long"] = timed(config, long_transcript(args.minutes), args.engine)
    else:
        transcript, translations = long_from_run(args.out_dir, args.minutes)
        figures["long"] = timed(config, transcript, args.engine, translations)
        figures["long"]["with_translations"] = translations is not None
    print(f"{args.minutes:.0f} min:", json.dumps(figures["long"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
