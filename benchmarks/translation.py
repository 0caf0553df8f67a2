"""Translation quality and speed on the demo symposium.

    nice .venv/bin/python benchmarks/translation.py stage --out outputs/demo           # default engine, end to end
    nice .venv/bin/python benchmarks/translation.py stage --out outputs/demo --set llm.parallel=1 --set translate.context_lines=2
    nice .venv/bin/python benchmarks/translation.py ablation                            # table: glossary x context
    nice .venv/bin/python benchmarks/translation.py whisper --out outputs/demo          # Whisper task=translate, JA->EN
    nice .venv/bin/python benchmarks/translation.py links --out outputs/demo-interpreted  # interpretation links

- ``stage``: the translate stage (default settings, or those given with ``--set
  section.key=value``) on a finished run (up to align or review), in a copy of the folder;
  reports stage time against the recording's length, the process's CPU time, tokens, peak RSS
  (ru_maxrss), and everything ``evaluate`` reports about translation (chrF, checked share,
  names, the quality estimate's figures).
- ``ablation``: the stage on the truth's own source sentences (perfect recognition: the table
  isolates translation from recognition errors), per direction, with and without the glossary,
  with and without context (neighbour lines, the session's recent translations, speaker and
  session), and with target forms substituted into the source (``protect_terms: substitute``).
- ``whisper``: the packaged Whisper base model with ``task="translate"`` on the audio of the
  run's Japanese floor segments, scored like the stage (same segments, same matching).
- ``links``: the stage on a two-track run; share of floor speech linked and link accuracy.

Figures go to stdout and, with --json, to a file. CPU timings are noisy on a shared machine.
This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_config  # noqa: E402
from pipeline.core.events import CollectingSink, reporting_to  # noqa: E402
from pipeline.core.runner import run_pipeline  # noqa: E402
from pipeline.core.storage import read_json, write_json  # noqa: E402
from pipeline.evaluation import evaluate as ev  # noqa: E402

TRUTH = ROOT / "recordings" / "demo" / "demo-symposium.truth.json"
CONFIG = ROOT / "configs" / "demo.yaml"
DEMO = ROOT / "recordings" / "demo" / "demo-symposium.opus"


def variant_config(base: Path, target: Path, translate: dict, llm: dict | None = None, sets: list[str] = ()) -> Path:
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    data["translate"] = {**data.get("translate", {}), **translate}
    if llm:
        data["llm"] = llm
    for assignment in sets:  # "section.key=value", the value read as YAML
        name, value = assignment.split("=", 1)
        section, key = name.split(".", 1)
        data.setdefault(section, {})[key] = yaml.safe_load(value)
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".work", ".lock", "translations.json", "cache",
                                                                  "captions*"))
    return target


def run_translate(out: Path, config_path: Path, recording: Path = DEMO) -> dict:
    config = load_config(config_path)
    start = "review" if not (out / "reviewed.json").is_file() else "translate"
    sink = CollectingSink()
    with reporting_to(sink):
        run_pipeline(recording, config, config_path, out, from_stage=start, to_stage="translate")
    return read_json(out / "manifest.json")["stages"]["translate"]


def cmd_stage(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = copy_run(args.out, Path(tmp) / "out")
        config_path = variant_config(args.config, Path(tmp) / "config.yaml", {}, sets=args.set)
        started, cpu_started = time.perf_counter(), time.process_time()
        entry = run_translate(out, config_path, args.recording)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        duration = read_json(out / "reviewed.json")["duration_s"]
        figures = ev.evaluate(out, args.truth)["floor"]
        keep = {k: v for k, v in figures.items()
                if k.startswith(("chrf", "name", "term", "checked", "stage_glossary", "link", "qe_"))}
        if args.keep:
            shutil.copytree(out, args.keep, dirs_exist_ok=True)
    return {"settings": args.set, "stage_s": entry["elapsed_s"], "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "recording_s": round(duration, 1),
            "ratio_to_recording": round(entry["elapsed_s"] / duration, 3), "counters": entry["counters"],
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2), **keep}


def truth_as_reviewed(truth: dict, config, out: Path, limit: int | None = None) -> None:
    """A reviewed.json whose floor segments are the truth's utterances (perfect recognition);
    with ``limit``, only the first ``limit`` utterances of each language."""
    people = {p.id: p for p in config.event.people}
    segments = []
    taken: dict[str, int] = {}
    for u in truth["utterances"]:
        if u.get("track", "floor") != "floor":
            continue
        taken[u["language"]] = taken.get(u["language"], 0) + 1
        if limit and taken[u["language"]] > limit:
            continue
        person = people.get(u["person"])
        segments.append({"id": u["id"], "track": "floor", "start_s": u["start_s"], "end_s": u["end_s"],
                         "language": u["language"], "text": u["text"], "words": [], "speaker": u["person"],
                         "speaker_name": person.name.model_dump() if person else {}, "session": u.get("session")})
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "reviewed.json", {"schema_version": 1, "duration_s": truth["duration_s"], "languages": ["en", "ja"],
                                       "tracks": [{"name": "floor"}], "segments": segments, "voices": {},
                                       "people": {}, "sessions": []})


VARIANTS = {
    "glossary+context": {},
    "glossary, no context": {"context_lines": 0, "speaker_context": False},
    "no glossary, context": {"glossary": False},
    "no glossary, no context": {"glossary": False, "context_lines": 0, "speaker_context": False},
    "glossary substituted+context": {"protect_terms": "substitute"},
}


def score_reference_run(out: Path, truth: dict, glossary) -> dict:
    import sacrebleu

    from pipeline.evaluation.translation import term_accuracy
    from pipeline.evaluation.evaluate import Match

    translations = read_json(out / "translations.json")["segments"]
    floor = [u for u in truth["utterances"] if u.get("track", "floor") == "floor"]
    result = {}
    for source, target in (("ja", "en"), ("en", "ja")):
        pairs = [(u["translation"], translations[u["id"]][target]["text"])
                 for u in floor if u["language"] == source and u["id"] in translations]
        result[f"chrf_{source}_{target}"] = round(sacrebleu.corpus_chrf([h for _, h in pairs], [[r for r, _ in pairs]]).score, 1)
    matches = [Match(u, [{"id": u["id"]}]) for u in floor if u["id"] in translations]
    accuracy = term_accuracy(matches, translations, ["en", "ja"], glossary)
    result.update({k: (round(v, 3) if isinstance(v, float) else v) for k, v in accuracy.items()})
    records = [t for r in translations.values() for t in r.values()]
    result["checked_share"] = round(sum(r["status"] == "ok" for r in records) / len(records), 3)
    return result


def cmd_ablation(args) -> dict:
    from pipeline.text.glossary import Glossary

    truth = read_json(args.truth)
    table = {}
    names = args.variants.split(";") if args.variants else list(VARIANTS)
    for name in names:
        keep = args.keep / name.replace(" ", "_").replace(",", "").replace("+", "_") if args.keep else None
        with tempfile.TemporaryDirectory() as tmp:
            tmp = keep or tmp
            out = Path(tmp) / "out"
            Path(tmp).mkdir(parents=True, exist_ok=True)
            config_path = variant_config(args.config, Path(tmp) / "config.yaml", VARIANTS[name])
            config = load_config(config_path)
            truth_as_reviewed(truth, config, out, args.limit)
            started = time.perf_counter()
            entry = run_translate(out, config_path)
            table[name] = {**score_reference_run(out, truth, Glossary.from_event(config.event)),
                           "stage_s": entry["elapsed_s"], "tokens_per_s": entry["counters"].get("completion_tokens_per_s"),
                           "wall_s": round(time.perf_counter() - started, 1)}
        print(name, json.dumps(table[name]), flush=True)
    return table


def cmd_whisper(args) -> dict:
    import numpy as np
    import sacrebleu
    import soundfile
    from faster_whisper import WhisperModel

    from pipeline.asr.models import packaged_ct2_base

    truth = read_json(args.truth)
    transcript = read_json(args.out / ("reviewed.json" if (args.out / "reviewed.json").is_file() else "aligned.json"))
    audio, rate = soundfile.read(args.out / "audio" / "floor.wav", dtype="float32")
    model = WhisperModel(str(packaged_ct2_base()), device="cpu", compute_type="int8", cpu_threads=2)
    floor = [s for s in transcript["segments"] if s.get("track", "floor") == "floor"]
    started = time.perf_counter()
    translations = {}
    for s in floor:
        if s["language"] != "ja":
            continue
        clip = audio[int(s["start_s"] * rate):int(s["end_s"] * rate)]
        pieces, _ = model.transcribe(np.ascontiguousarray(clip), task="translate", language="ja", beam_size=5,
                                     condition_on_previous_text=False, vad_filter=False)
        translations[s["id"]] = {"en": {"text": " ".join(p.text.strip() for p in pieces)}}
    elapsed = time.perf_counter() - started
    utterances = [u for u in truth["utterances"] if u.get("track", "floor") == "floor" and u["language"] == "ja"]
    matches = ev.match([s for s in floor if s["language"] == "ja"], utterances)
    pairs = [(m.utterance["translation"], " ".join(translations[s["id"]]["en"]["text"] for s in m.segments))
             for m in matches]
    return {"chrf_ja_en": round(sacrebleu.corpus_chrf([h for _, h in pairs], [[r for r, _ in pairs]]).score, 1),
            "seconds": round(elapsed, 1), "segments": len(translations),
            "examples": [[r, h] for r, h in pairs[:5]]}


def cmd_partial(args) -> dict:
    """Score whatever a (possibly unfinished) run has cached so far: only the truth utterances
    whose matched segments are all translated count. For runs cut short by a deadline."""
    import sacrebleu

    from pipeline.text.glossary import Glossary
    from pipeline.evaluation.translation import term_accuracy

    translations: dict = {}
    for line in args.cache.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        translations.setdefault(row["id"], {})[row["target"]] = row["record"]
    transcript = read_json(args.out / ("reviewed.json" if (args.out / "reviewed.json").is_file() else "aligned.json"))
    floor = [s for s in transcript["segments"] if s.get("track", "floor") == "floor"]
    truth = [u for u in read_json(args.truth)["utterances"] if u.get("track", "floor") == "floor"]
    matches = [m for m in ev.match(floor, truth) if m.segments and all(s["id"] in translations for s in m.segments)]
    result = {"utterances_scored": len(matches), "utterances": len(truth)}
    for source, target in (("ja", "en"), ("en", "ja")):
        pairs = [(m.utterance["translation"], ("" if target == "ja" else " ").join(
            translations[s["id"]].get(target, {}).get("text", "") for s in m.segments))
            for m in matches if m.utterance["language"] == source]
        if pairs:
            result[f"chrf_{source}_{target}"] = round(sacrebleu.corpus_chrf([h for _, h in pairs], [[r for r, _ in pairs]]).score, 1)
            result[f"utterances_{source}_{target}"] = len(pairs)
    glossary = Glossary.from_event(load_config(args.config).event)
    result.update(term_accuracy(matches, translations, ["en", "ja"], glossary))
    records = [t for r in translations.values() for t in r.values()]
    result["checked_share"] = round(sum(r["status"] == "ok" for r in records) / len(records), 3) if records else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["stage", "ablation", "whisper", "links", "partial"])
    parser.add_argument("--cache", type=Path, help="partial: a cache/translations.jsonl of a run")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "demo")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--recording", type=Path, default=DEMO)
    parser.add_argument("--truth", type=Path, default=TRUTH)
    parser.add_argument("--variants", help="ablation: names separated by ; among: " + "; ".join(VARIANTS))
    parser.add_argument("--limit", type=int, help="ablation: first N truth utterances per language only")
    parser.add_argument("--keep", type=Path, help="stage/links: copy the translated folder here")
    parser.add_argument("--set", action="append", default=[], help="stage/links: section.key=value (YAML value)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.command == "links":
        args.config = args.config if args.config != CONFIG else ROOT / "configs" / "demo-interpreted.yaml"
        args.recording = args.recording if args.recording != DEMO else ROOT / "recordings" / "demo" / "demo-symposium-interpreted.mka"
    result = {"stage": cmd_stage, "links": cmd_stage, "ablation": cmd_ablation, "whisper": cmd_whisper,
              "partial": cmd_partial}[args.command](args)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
