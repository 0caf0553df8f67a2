"""Error rate clip by clip: this project's transcribe stage vs plain faster-whisper at its best.

    .venv/bin/python benchmarks/asr_accuracy.py                  # every real fixture with a reference
    .venv/bin/python benchmarks/asr_accuracy.py --json out.json  # also write the figures

Plain faster-whisper gets the settings it does best with on each clip: the same packaged base
weights (int8), beam 5, its own Silero VAD, and the right language given (``ja`` for
Japanese clips; for the code-switched ``test_ja_en`` the better of ``ja``, ``en`` and automatic
detection is reported). Our pipeline gets no hint: it decides the language per segment among
English and Japanese. Scores: English word error rate, Japanese character error rate, and for
mixed clips the mixed rate (English words + Japanese characters as tokens). The five Common
Voice Japanese clips are also scored together (edits over all their characters). English is scored after Whisper's English
text normaliser (so "fifty three" and "53" agree), as published figures are.

Japanese clips also get a *reading* error rate: both texts turned into katakana readings by the
Japanese analyser (GiNZA/Sudachi, the one the correction pass uses) before the characters are
compared. It separates what the model misheard from how it chose to write what it heard right
(お化け/おばけ, 違い/ちがい): the Common Voice references mix kana and kanji by the writer's
taste. It is a second figure, not a replacement; the targets are on characters.

CTranslate2 picks its CPU kernels per machine; run under the settings you want to compare
(``scripts/kernel_matrix.sh`` runs this under three). This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT.parent / "shared" / "fixtures"

os.environ.setdefault("PIPELINE_NO_PROGRESS", "1")

import jiwer  # noqa: E402

from pipeline.evaluation.metrics import character_error_rate, mixed_error_rate, normalise, tokens  # noqa: E402

# (name, audio, reference, language of the speech, metric)
CLIPS = [
    ("jfk", "whisper/jfk.flac", "whisper/jfk.ref.txt", "en", "wer"),
    ("test_en_1", "ReazonSpeech/test_en_1.wav", "ReazonSpeech/test_en_1.ref.txt", "en", "wer"),
    ("test_en_2", "ReazonSpeech/test_en_2.wav", "ReazonSpeech/test_en_2.ref.txt", "en", "wer"),
    ("katiesteve", "azure-speech-sdk/katiesteve_mono.wav", "azure-speech-sdk/katiesteve_mono.ref.tsv", "en", "wer"),
    ("test_ja_1", "ReazonSpeech/test_ja_1.wav", "ReazonSpeech/test_ja_1.ref.txt", "ja", "cer"),
    ("test_ja_en", "ReazonSpeech/test_ja_en.wav", "ReazonSpeech/test_ja_en.ref.txt", "mixed", "mixed"),
] + [
    (f"cv_ja_{p.stem.split('_')[3]}", str(p.relative_to(FIXTURES)), str(p.relative_to(FIXTURES)).replace(".wav", ".ref.txt"),
     "ja", "cer")
    for p in sorted((FIXTURES / "beatrice-trainer").glob("common_voice_ja_*_16k.wav"))
]
# Fillers the ReazonSpeech references keep and Whisper never writes.
FILLERS = {"mhm", "uh", "um", "hmm"}


def reference_text(relative: str) -> str:
    path = FIXTURES / relative
    if path.suffix == ".tsv":
        rows = [r for r in csv.reader((l for l in path.read_text(encoding="utf-8").splitlines()
                                       if not l.startswith("#")), delimiter="\t")]
        return " ".join(r[3] for r in rows[1:] if len(r) > 3)
    return path.read_text(encoding="utf-8").strip()


def _without_fillers(text: str) -> str:
    return " ".join(w for w in normalise(text).split() if w not in FILLERS)


def score(metric: str, reference: str, hypothesis: str) -> tuple[float, int, int]:
    """(rate, edits, reference length)."""
    reference, hypothesis = _without_fillers(reference), _without_fillers(hypothesis)
    if metric == "cer":
        ref = reference.replace(" ", "")
        rate = character_error_rate(reference, hypothesis)
        return rate, round(rate * len(ref)), len(ref)
    if metric == "wer":
        # Whisper's English normaliser (numbers, spellings, contractions), as published WERs use.
        from whisper.normalizers import EnglishTextNormalizer

        normaliser = EnglishTextNormalizer()
        reference, hypothesis = normaliser(reference), normaliser(hypothesis)
        ref = reference.split()
        rate = jiwer.wer(reference, hypothesis or "")
        return rate, round(rate * len(ref)), len(ref)
    ref = tokens(reference)
    rate = mixed_error_rate(reference, hypothesis)
    return rate, round(rate * len(ref)), len(ref)


def reading_error_rate(reference: str, hypothesis: str) -> tuple[float, int, int]:
    """(rate, edits, reference length) over katakana readings (see the module's docstring)."""
    from pipeline.speakers.mentions import japanese_reading

    def read(text: str) -> str:
        return japanese_reading(_without_fillers(text).replace(" ", ""))

    return score("cer", read(reference), read(hypothesis))


def join(texts: list[str], language: str) -> str:
    return ("" if language == "ja" else " ").join(t.strip() for t in texts)


def run_ours(audio: Path, scratch: Path, languages=("en", "ja"), extra: str = "") -> tuple[str, float]:
    from pipeline.core.config import load_config
    from pipeline.core.runner import run_pipeline
    from pipeline.core.storage import read_json

    config = scratch / f"{audio.stem}.yaml"
    config.write_text("event:\n  title: {en: bench}\n  languages: [" + ", ".join(languages) + "]\n" + extra,
                      encoding="utf-8")
    out = scratch / audio.stem
    started = time.perf_counter()
    run_pipeline(audio, load_config(config), config, out, to_stage="transcribe")
    seconds = time.perf_counter() - started
    segments = read_json(out / "transcript.json")["segments"]
    text = "".join(s["text"] if s["language"] == "ja" else " " + s["text"] + " " for s in segments)
    return text, seconds


_PLAIN = {}


def plain_model():
    from faster_whisper import WhisperModel

    from pipeline.asr import models

    if "model" not in _PLAIN:
        _PLAIN["model"] = WhisperModel(str(models.packaged_ct2_base()), device="cpu", compute_type="int8",
                                       cpu_threads=os.cpu_count() or 1)
    return _PLAIN["model"]


def run_plain(audio: Path, language: str | None) -> tuple[str, float]:
    started = time.perf_counter()
    segments, _ = plain_model().transcribe(str(audio), beam_size=5, vad_filter=True, language=language,
                                           multilingual=language is None)
    texts = [s.text for s in segments]
    return join(texts, language or "en"), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", nargs="*", help="clip names")
    parser.add_argument("--transcribe", default="", help="transcribe settings for ours, as YAML flow: '{natural_pause_s: 2}'")
    parser.add_argument("--no-plain", action="store_true", help="only ours (plain figures from --compare)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, audio, ref, language, metric in CLIPS:
            if args.only and name not in args.only:
                continue
            audio_path = FIXTURES / audio
            reference = reference_text(ref)
            extra = f"transcribe: {args.transcribe}\n" if args.transcribe else ""
            ours_text, ours_s = run_ours(audio_path, Path(scratch), extra=extra)
            candidates = ["ja", "en", None] if language == "mixed" else [language]
            plain = []
            for given in ([] if args.no_plain else candidates):
                text, seconds = run_plain(audio_path, given)
                plain.append((score(metric, reference, text), given, text, seconds))
            best = min(plain, key=lambda p: p[0][0]) if plain else ((float("nan"), 0, 0), None, "", 0.0)
            ours = score(metric, reference, ours_text)
            row = {"clip": name, "metric": metric, "ours": round(ours[0], 4), "plain": round(best[0][0], 4),
                   "plain_language": best[1] or "auto", "ours_edits": ours[1], "plain_edits": best[0][1],
                   "ref_len": ours[2], "ours_text": ours_text.strip(), "plain_text": best[2]}
            if metric == "cer":
                row["ours_reading"], row["ours_reading_edits"], row["reading_len"] = reading_error_rate(reference, ours_text)
                row["plain_reading"], row["plain_reading_edits"], _ = reading_error_rate(reference, best[2])
            rows.append(row)
            print(f"{name:16} {metric:5} ours {ours[0]:.3f} plain {best[0][0]:.3f} ({best[1] or 'auto'})", flush=True)
    cv = [r for r in rows if r["clip"].startswith("cv_ja_")]
    print()
    print("| clip | metric | ours | plain faster-whisper (language) | reading error, ours / plain |")
    print("|---|---|---|---|---|")
    for r in rows:
        mark = "" if r["ours"] <= r["plain"] + 1e-9 else " **worse**"
        reading = f"{r['ours_reading']:.3f} / {r['plain_reading']:.3f}" if "ours_reading" in r else ""
        print(f"| {r['clip']} | {r['metric'].upper()} | {r['ours']:.3f}{mark} | {r['plain']:.3f} ({r['plain_language']}) "
              f"| {reading} |")
    if cv:
        length = sum(r["ref_len"] for r in cv)
        ours_all = sum(r["ours_edits"] for r in cv) / length
        plain_all = sum(r["plain_edits"] for r in cv) / length
        kana = sum(r["reading_len"] for r in cv)
        ours_reading = sum(r["ours_reading_edits"] for r in cv) / kana
        plain_reading = sum(r["plain_reading_edits"] for r in cv) / kana
        print(f"| Common Voice ja, all {length} characters ({kana} kana read) | CER | {ours_all:.3f} | {plain_all:.3f} (ja) "
              f"| {ours_reading:.3f} / {plain_reading:.3f} |")
        rows.append({"clip": "cv_ja_all", "metric": "cer", "ours": round(ours_all, 4), "plain": round(plain_all, 4),
                     "ours_reading": round(ours_reading, 4), "plain_reading": round(plain_reading, 4)})
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
