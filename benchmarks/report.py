"""Report-stage speed: the demo symposium, and how it grows on a 60-minute transcript.

    .venv/bin/python benchmarks/report.py OUT_DIR [--engine llm|extractive] [--minutes 60] [--json FILE]

OUT_DIR is a run of the demo symposium up to the review stage (reviewed.json), and up to the
translate stage for the figures of a full run (translations.json is then read, as the stage does). The stage's work
(drafting, checks, renderings) is timed on that transcript; then on a long transcript with the
same agenda, each session's speech repeated (fresh ids and times) until the recording lasts
``--minutes``: by default the run's own reviewed segments with their renderings from
translations.json (the default path: parts written in the language spoken), with
``--long-from truth`` the demo truth's utterances without renderings (every part written in
both languages). Wall time and CPU time (user +
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
    return {"segments": len(transcript["segments"]), "duration_min": round(transcript["duration_s"] / 60, 1),
            "wall_s": round(time.perf_counter() - wall, 1), "cpu_s": round(cpu_s() - cpu, 1),
            "claims": counters["claims"], "claims_supported": counters["claims_supported"],
            "llm": dict(llm.usage) if llm else None}


def compare_japanese(out_dir: Path, config) -> dict:
    """Japanese from the source (the bilingual map step's ja points in OUT/report.json) against
    translating that report's English points (``japanese_from: translate``'s second step)."""
    import copy

    from pipeline.report.draft import Drafter, Tally
    from pipeline.report.grounding import Checker, Embedder
    from pipeline.report.score import key_point_recall
    from pipeline.report.source import load_source

    report = read_json(out_dir / "report.json")
    source = load_source(config, read_json(out_dir / "reviewed.json"))
    checker = Checker(source, Embedder(), config.report.min_support, config.report.support_rank)
    llm = LazyLLM(config)
    drafter = Drafter(llm, checker, config.report, Tally())
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    parts = [p for s in report["sections"] for p in s.get("parts", [])]
    english = [c for p in parts for c in p["points"].get("en", []) if c["origin"] == "llm"]
    from_source = [c for p in parts for c in p["points"].get("ja", []) if c["origin"] == "llm"]
    wall, cpu = time.perf_counter(), cpu_s()
    translated = []
    for k in range(0, len(english), 8):
        batch = english[k:k + 8]
        translated += drafter.translate([c["text"] for c in batch], "en", "ja", [c["cites"] for c in batch])
    wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
    variant, k = copy.deepcopy(report), 0
    for part in (p for s in variant["sections"] for p in s.get("parts", [])):
        new = []
        for claim in part["points"].get("en", []):
            if claim["origin"] == "llm":
                if translated[k] is not None:
                    new.append(translated[k].as_dict())
                k += 1
        kept = [c for c in part["points"].get("ja", []) if c["origin"] != "llm"]
        if new or kept:
            part["points"]["ja"] = new or kept
    passed = [t for t in translated if t is not None]

    def mean_support(claims: list[tuple[str, list[str]]]) -> float:
        scores = [checker.support(text, cites)[0] for text, cites in claims]
        return round(sum(scores) / len(scores), 3) if scores else 0.0

    return {"source": {"ja_points_kept": len(from_source),
                       "mean_similarity": mean_support([(c["text"], c["cites"]) for c in from_source]),
                       "key_point_recall_ja": key_point_recall(report, truth["key_points"])["ja"]},
            "translate": {"english_points": len(english), "translations_passing": len(passed),
                          "mean_similarity": mean_support([(t.text, t.cites) for t in passed]),
                          "key_point_recall_ja": key_point_recall(variant, truth["key_points"])["ja"],
                          "extra_calls": llm.usage.get("calls"), "extra_wall_s": round(wall, 1),
                          "extra_cpu_s": round(cpu, 1)}}


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
    parser.add_argument("--compare-japanese", action="store_true",
                        help="with OUT_DIR/report.json drafted from the source: compare with translating its English")
    args = parser.parse_args()
    config = load_config(CONFIG)
    if args.threads is not None:
        config = config.model_copy(update={"llm": config.llm.model_copy(update={"threads": args.threads})})
    figures = {"engine": args.engine}
    if args.compare_japanese:
        figures["japanese"] = compare_japanese(args.out_dir, config)
        print(json.dumps(figures["japanese"], ensure_ascii=False, indent=1), flush=True)
        return
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
