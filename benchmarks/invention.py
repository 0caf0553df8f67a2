"""Text that was not said, clip by clip and config by config: ours against plain faster-whisper.

    .venv/bin/python benchmarks/invention.py                          # every fixture x three configs
    .venv/bin/python benchmarks/invention.py --configs symposium --only cv_ja_38843402
    .venv/bin/python benchmarks/invention.py --json out.json

A config carries the event's agenda and glossary, and with them Whisper's prompt; a prompt of
names invites the decoder to recite them where the audio says nothing (issue 23: a Common Voice
clip run under the symposium's config came back with sixty invented words in one second).
Each real fixture with a reference is transcribed under three configs:

- ``neutral``: English and Japanese, no agenda, no glossary (the default event);
- ``demo``: ``configs/demo.yaml`` (13 people, 18 glossary terms);
- ``symposium``: ``configs/symposium-2022.yaml`` (the reference event).

Per cell it counts what a user would call invented: units inserted beyond the reference
(jiwer's alignment; characters for Japanese, words after Whisper's English normaliser for
English, both for mixed clips), segments kept whose speaking rate no person reaches (the guards'
bound), and the error rate. Plain faster-whisper (same weights, int8, beam 5, its VAD, the
language given) is scored the same way: the acceptance is ours ≤ plain in inserted units in
every cell. Clips without a text reference count words outside the reference's speech (the
pyannote meeting clips, from their RTTM); synthetic silence, music and noise count segments
(none may be written).

CTranslate2 picks its kernels per machine: run under the settings you compare
(``CT2_FORCE_CPU_ISA=AVX2 CT2_USE_MKL=0`` are the tests' pinned ones). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
FIXTURES = ROOT.parent / "shared" / "fixtures"
os.environ.setdefault("PIPELINE_NO_PROGRESS", "1")

import numpy as np  # noqa: E402

from asr_accuracy import plain_model, reference_text  # noqa: E402
from pipeline.asr.guards import impossible_rate  # noqa: E402
from pipeline.core.config import GuardSettings, load_config  # noqa: E402
from pipeline.core.runner import run_pipeline  # noqa: E402
from pipeline.core.storage import read_json  # noqa: E402
from pipeline.evaluation.metrics import inserted_units  # noqa: E402

CONFIGS = {
    "neutral": None,
    "demo": ROOT / "configs" / "demo.yaml",
    "symposium": ROOT / "configs" / "symposium-2022.yaml",
}

# (name, audio, reference (None: RTTM speech only, or no speech at all), language, unit)
TEXT_CLIPS = [
    ("jfk", "whisper/jfk.flac", "whisper/jfk.ref.txt", "en"),
    ("test_en_1", "ReazonSpeech/test_en_1.wav", "ReazonSpeech/test_en_1.ref.txt", "en"),
    ("test_en_2", "ReazonSpeech/test_en_2.wav", "ReazonSpeech/test_en_2.ref.txt", "en"),
    ("katiesteve", "azure-speech-sdk/katiesteve_mono.wav", "azure-speech-sdk/katiesteve_mono.ref.tsv", "en"),
    ("ami_headset", "lhotse/ami__ES2011a.Headset-0-40s-46s.wav", "lhotse/ami__ES2011a.Headset-0-40s-46s.ref.tsv", "en"),
    ("librispeech", "lhotse/mix_cut_test__audio__storage__2412-153948-0000.flac",
     "lhotse/mix_cut_test__audio__storage__2412-153948-0000.ref.txt", "en"),
    ("pyannote_sample", "pyannote-audio/sample.wav", "pyannote-audio/sample.stm", "en"),
    ("test_ja_1", "ReazonSpeech/test_ja_1.wav", "ReazonSpeech/test_ja_1.ref.txt", "ja"),
    ("julius", "julius-segmentation-kit/sample.wav", "julius-segmentation-kit/sample.ref.txt", "ja"),
    ("test_ja_en", "ReazonSpeech/test_ja_en.wav", "ReazonSpeech/test_ja_en.ref.txt", "mixed"),
] + [
    (f"cv_ja_{p.stem.split('_')[3]}", str(p.relative_to(FIXTURES)), str(p.relative_to(FIXTURES)).replace(".wav", ".ref.txt"),
     "ja")
    for p in sorted((FIXTURES / "beatrice-trainer").glob("common_voice_ja_*_16k.wav"))
]
SPEECH_CLIPS = [("dev00", "pyannote-audio/dev00.wav", "pyannote-audio/dev00.rttm"),
                ("tst00", "pyannote-audio/tst00.wav", "pyannote-audio/tst00.rttm")]
QUIET_CLIPS = ("silence", "music", "noise")
# Reference speech is widened by this much before a word counts as outside it (RTTM edges are
# hand-placed; word timings drift by a few tenths of a second).
SPEECH_MARGIN_S = 0.5


def quiet_audio(kind: str, path: Path) -> Path:
    """Twenty seconds with no speech: near-silence, chords over noise (a waiting room), or noise."""
    import soundfile

    rate = 16000
    rng = np.random.default_rng(0)
    t = np.arange(20 * rate) / rate
    if kind == "silence":
        audio = rng.normal(scale=0.0005, size=t.size)
    elif kind == "music":
        audio = sum(0.08 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * (0.6 + 0.4 * np.sin(np.pi * t))
        audio = audio + rng.normal(scale=0.003, size=t.size)
    else:  # pink-ish noise: white noise through a one-pole low-pass, at speech level
        white = rng.normal(scale=0.05, size=t.size)
        audio = np.zeros_like(white)
        for i in range(1, white.size):
            audio[i] = 0.97 * audio[i - 1] + 0.03 * white[i] * 8
    soundfile.write(path, audio.astype(np.float32), rate)
    return path


def reference_of(relative: str) -> str:
    if relative.endswith(".stm"):
        lines = (FIXTURES / relative).read_text(encoding="utf-8").splitlines()
        return " ".join(" ".join(line.split()[5:]) for line in lines if line.strip())
    text = reference_text(relative)
    if relative.startswith("julius"):  # the repository's kana transcript; its orthographic form is in the comment
        return "今日はいい天気だ"
    return text


def rttm_speech(relative: str) -> list[tuple[float, float]]:
    spans = []
    for line in (FIXTURES / relative).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            spans.append((float(fields[3]), float(fields[3]) + float(fields[4])))
    return spans


def words_outside(segments: list[dict], speech: list[tuple[float, float]]) -> int:
    outside = 0
    for segment in segments:
        for word in segment.get("words") or []:
            middle = (word["start_s"] + word["end_s"]) / 2
            if not any(s - SPEECH_MARGIN_S <= middle <= e + SPEECH_MARGIN_S for s, e in speech):
                outside += 1
    return outside


def event_config(scratch: Path, name: str, transcribe: str = "") -> Path:
    """The config file for a column; ``transcribe`` (YAML flow) overrides transcribe settings."""
    if CONFIGS[name] is None:
        text = "event:\n  title: {en: neutral}\n  languages: [en, ja]\n"
    elif not transcribe:
        return CONFIGS[name]
    else:
        text = CONFIGS[name].read_text(encoding="utf-8")
    path = scratch / f"{name}.yaml"
    path.write_text(text + (f"\ntranscribe: {transcribe}\n" if transcribe else ""), encoding="utf-8")
    return path


def run_ours(audio: Path, config_path: Path, out: Path) -> tuple[list[dict], dict]:
    run_pipeline(audio, load_config(config_path), config_path, out, to_stage="transcribe")
    transcript = read_json(out / "transcript.json")
    counters = read_json(out / "manifest.json")["stages"]["transcribe"].get("counters", {})
    return transcript["segments"], counters


def joined(segments: list[dict]) -> str:
    return "".join(s["text"] if s["language"] == "ja" else " " + s["text"] + " " for s in segments)


def run_plain(audio: Path, language: str) -> list[dict]:
    """Plain faster-whisper at its best, as segment dicts like ours (for the rate count)."""
    segments, _ = plain_model().transcribe(str(audio), beam_size=5, vad_filter=True, word_timestamps=True,
                                           language=None if language == "mixed" else language)
    spoken = "ja" if language == "mixed" else language
    return [{"start_s": s.start, "end_s": s.end, "text": s.text.strip(), "language": spoken,
             "words": [{"start_s": w.start, "end_s": w.end, "text": w.word, "probability": w.probability}
                       for w in s.words or []]} for s in segments]


def impossible(segments: list[dict], guards: GuardSettings) -> int:
    return sum(1 for s in segments if impossible_rate(s["text"], s["language"], s["start_s"], s["end_s"], guards))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--only", nargs="*", help="clip names")
    parser.add_argument("--no-plain", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--show", action="store_true", help="print our text per cell")
    parser.add_argument("--transcribe", default="", help="transcribe settings for ours, as YAML flow: '{glossary_prompt: false}'")
    args = parser.parse_args()
    guards = GuardSettings()
    rows = []
    wanted = (lambda name: not args.only or name in args.only)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for name, audio, ref, language in [c for c in TEXT_CLIPS if wanted(c[0])]:
            reference = reference_of(ref)
            plain = None
            if not args.no_plain:
                plain_segments = run_plain(FIXTURES / audio, language)
                plain = inserted_units(reference, joined(plain_segments), language)
                plain.update(impossible=impossible(plain_segments, guards))
            for config in args.configs:
                segments, counters = run_ours(FIXTURES / audio, event_config(scratch, config, args.transcribe), scratch / f"{name}-{config}")
                ours = inserted_units(reference, joined(segments), language)
                row = {"clip": name, "config": config, "unit": language, **{f"ours_{k}": v for k, v in ours.items()},
                       "ours_impossible": impossible(segments, guards), "segments": len(segments),
                       "dropped": {k: v for k, v in counters.items() if k.startswith("dropped_") and v},
                       "text": joined(segments).strip()}
                if plain:
                    row.update({f"plain_{k}": v for k, v in plain.items()})
                rows.append(row)
                _print_row(row, args.show)
        for name, audio, rttm in [c for c in SPEECH_CLIPS if wanted(c[0])]:
            speech = rttm_speech(rttm)
            plain_outside = None if args.no_plain else words_outside(run_plain(FIXTURES / audio, "en"), speech)
            for config in args.configs:
                segments, counters = run_ours(FIXTURES / audio, event_config(scratch, config, args.transcribe), scratch / f"{name}-{config}")
                row = {"clip": name, "config": config, "unit": "en", "ours_outside_speech": words_outside(segments, speech),
                       "plain_outside_speech": plain_outside, "ours_impossible": impossible(segments, guards),
                       "segments": len(segments), "text": joined(segments).strip()}
                rows.append(row)
                _print_row(row, args.show)
        for kind in [k for k in QUIET_CLIPS if wanted(k)]:
            audio = quiet_audio(kind, scratch / f"{kind}.wav")
            for config in args.configs:
                segments, _ = run_ours(audio, event_config(scratch, config, args.transcribe), scratch / f"{kind}-{config}")
                row = {"clip": kind, "config": config, "segments": len(segments), "text": joined(segments).strip()}
                rows.append(row)
                _print_row(row, args.show)
    _print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _print_row(row: dict, show: bool) -> None:
    parts = [f"{row['clip']:16} {row['config']:9}"]
    if "ours_inserted" in row:
        parts.append(f"inserted ours {row['ours_inserted']:3d}" + (f" plain {row['plain_inserted']:3d}" if "plain_inserted" in row else ""))
        parts.append(f"error ours {row['ours_rate']:.3f}" + (f" plain {row['plain_rate']:.3f}" if "plain_rate" in row else ""))
    if "ours_outside_speech" in row:
        parts.append(f"words outside speech ours {row['ours_outside_speech']} plain {row['plain_outside_speech']}")
    parts.append(f"segments {row['segments']}")
    if row.get("ours_impossible"):
        parts.append(f"IMPOSSIBLE RATE KEPT {row['ours_impossible']}")
    print("  ".join(parts), flush=True)
    if show:
        print("    ", row["text"][:300], flush=True)


def _print_table(rows: list[dict]) -> None:
    print()
    print("| clip | config | inserted, ours / plain | error rate, ours / plain | impossible-rate segments kept | segments |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "ours_inserted" in r:
            plain_inserted = r.get("plain_inserted", "")
            worse = " **more**" if plain_inserted != "" and r["ours_inserted"] > plain_inserted else ""
            print(f"| {r['clip']} | {r['config']} | {r['ours_inserted']}{worse} / {plain_inserted} "
                  f"| {r['ours_rate']:.3f} / {r.get('plain_rate', float('nan')):.3f} | {r['ours_impossible']} | {r['segments']} |")
        elif "ours_outside_speech" in r:
            print(f"| {r['clip']} | {r['config']} | {r['ours_outside_speech']} / {r['plain_outside_speech']} words outside speech "
                  f"| | {r['ours_impossible']} | {r['segments']} |")
        else:
            print(f"| {r['clip']} | {r['config']} | | | | {r['segments']} (none allowed) |")
    cv = [r for r in rows if r["clip"].startswith("cv_ja_")]
    for config in dict.fromkeys(r["config"] for r in cv):
        cells = [r for r in cv if r["config"] == config]
        length = sum(r["ours_length"] for r in cells)
        ours = sum(r["ours_edits"] for r in cells) / length
        plain = sum(r.get("plain_edits", 0) for r in cells) / length
        print(f"| Common Voice ja, all {length} characters | {config} | | CER {ours:.3f} / {plain:.3f} | | |")


if __name__ == "__main__":
    main()
