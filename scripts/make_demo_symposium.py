#!/usr/bin/env python3
"""Generate the demo symposium: an 8 minute bilingual webinar recording with ground truth.

The agenda (configs/demo.yaml, configs/demo-interpreted.yaml) is written by hand the way an
organizer publishes one, never from this script's data, so that the demo cannot suit the method.

Writes
    recordings/demo/demo-symposium.opus                 the floor track, as a published webinar is
    recordings/demo/demo-symposium-interpreted.mka      stream 0 the same floor track, stream 1 the
                                                        simultaneous interpretation
    recordings/demo/demo-symposium.truth.json           who says what, in which language, exactly when
    recordings/demo/voice-similarity.json               how far apart the voices are for a speaker encoder

The event is a shortened replay of the 2022 US–Japan symposium: people, agenda and script are in
scripts/demo_symposium_data.py. It opens with hold music, then the host opens, hands over by
name, and the sessions follow; the panel has quick exchanges and one overlap. The interpretation
track revoices every line in the other language 2–3 s after it starts, as interpreters do.

Truth times are exact sample positions of each trimmed synthesized line in the mix. A session
runs from the start of its first line to the end of its last line on the floor track.

Run it through scripts/make_demo_symposium.sh, which prepares .venv-demo/. All randomness comes
from fixed seeds, so the same tool versions give the same files. Synthesized speech is cached in
.venv-demo/tts-cache/ (keyed by voice and text), which makes reruns quick.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demo_audio import (BITEXACT, SAMPLE_RATE, Voice, change_tempo, db_to_amp,
                        encode_opus, fade_edges, pink_noise, set_level, soft_chord, synth_voice,
                        trim_silence)
from demo_symposium_data import INTERPRETER_INTO, PEOPLE, PERSON, READINGS, SESSIONS, Line

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "recordings" / "demo"
CACHE_DIR = ROOT / ".venv-demo" / "tts-cache"
FLOOR_NAME = "demo-symposium.opus"
INTERPRETED_NAME = "demo-symposium-interpreted.mka"
TRUTH_NAME = "demo-symposium.truth.json"
SIMILARITY_NAME = "voice-similarity.json"

SEED = 20220929  # the symposium date
BITRATE = "24k"  # two streams of ~8 min stay under 3 MB together

# The recording starts at 07:59:42 by the event clock: hold music, a short silence, and the
# host begins on the hour, as webinars do.
RECORDING_START_CLOCK_S = 7 * 3600 + 59 * 60 + 42
MUSIC_CHORDS = (  # C, A minor, F, G, C, each with its root an octave below as a bass note
    (130.81, 261.63, 329.63, 392.00),
    (110.00, 220.00, 261.63, 329.63),
    (87.31, 174.61, 220.00, 261.63),
    (98.00, 196.00, 246.94, 293.66),
    (130.81, 261.63, 329.63, 392.00),
)
CHORD_S = 3.8
CHORD_OVERLAP_S = 0.8  # neighbouring chords cross-fade
MUSIC_DBFS = -28.0
MUSIC_TO_SPEECH_S = 2.6  # silence between the music and the host's first word
TAIL_S = 1.5  # room noise after the last word on either track

SPEECH_DBFS = -20.0
SPEAKER_LEVEL_SPREAD_DB = 2.0  # people sit at different distances from their microphones
FLOOR_NOISE_DBFS = -50.0
BOOTH_NOISE_DBFS = -52.0  # the interpreters' booth is a little quieter than the floor

# Pauses before a line when the script leaves them open (all within 0.3–2.5 s).
PAUSE_SAME_SPEAKER_S = (0.3, 0.8)
PAUSE_NEW_SPEAKER_S = (0.5, 1.5)
PAUSE_NEW_SESSION_S = (1.5, 2.5)

# Simultaneous interpretation: starts 2–3 s after the original, never overlaps itself; an
# interpreter who has fallen behind speaks faster to catch up.
INTERPRETER_LAG_S = (2.0, 3.0)
INTERPRETER_GAP_S = 0.25
INTERPRETER_MAX_TEMPO = 1.25
SIMILARITY_LIMIT = 0.85


# --------------------------------------------------------------------------------------------
# Speech
# --------------------------------------------------------------------------------------------

def spoken_form(text: str, language: str) -> str:
    """The text as the synthesizer should read it (names and acronyms it would misread)."""
    for written, said in READINGS[language].items():
        text = text.replace(written, said)
    return text


def speech(voice: Voice, text: str, language: str, workdir: Path) -> np.ndarray:
    """Trimmed speech for one line, from the cache when this voice already said this text."""
    said = spoken_form(text, language)
    key = hashlib.sha256(repr((voice, said)).encode("utf-8")).hexdigest()[:24]
    cached = CACHE_DIR / f"{key}.npy"
    if cached.exists():
        return np.load(cached)
    audio = fade_edges(trim_silence(synth_voice(voice, said, workdir)))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(cached, audio)
    return audio


@dataclass
class Placed:
    """One utterance on a track: what was said, by whom, and its sample span."""
    uid: str
    person: str
    language: str
    text: str
    translation: str
    session: str
    track: str
    start: int
    audio: np.ndarray
    interprets: str | None = None

    @property
    def end(self) -> int:
        return self.start + len(self.audio)


def speaker_levels() -> dict[str, float]:
    rng = np.random.default_rng([SEED, 1])
    return {p.id: SPEECH_DBFS + rng.uniform(-SPEAKER_LEVEL_SPREAD_DB, SPEAKER_LEVEL_SPREAD_DB)
            for p in PEOPLE}


# --------------------------------------------------------------------------------------------
# Timelines
# --------------------------------------------------------------------------------------------

def seconds(s: float) -> int:
    return int(round(s * SAMPLE_RATE))


def pause_before(line: Line, previous: Line | None, new_session: bool, rng: np.random.Generator) -> float:
    if line.pause_s is not None:
        return line.pause_s
    if new_session:
        low, high = PAUSE_NEW_SESSION_S
    elif previous is not None and previous.person == line.person:
        low, high = PAUSE_SAME_SPEAKER_S
    else:
        low, high = PAUSE_NEW_SPEAKER_S
    return float(rng.uniform(low, high))


def floor_timeline(first_start: int, workdir: Path) -> list[Placed]:
    """Every line of the script, in order, with pauses (or an overlap) between them."""
    rng = np.random.default_rng([SEED, 2])
    levels = speaker_levels()
    placed: list[Placed] = []
    previous: Line | None = None
    cursor = first_start
    for session in SESSIONS:
        for index, line in enumerate(session.lines):
            person = PERSON[line.person]
            if placed:
                cursor = placed[-1].end + seconds(pause_before(line, previous, index == 0, rng))
            audio = set_level(speech(person.voice, line.text, person.language, workdir),
                              levels[person.id])
            uid = f"u{len(placed) + 1:03d}"
            placed.append(Placed(uid, person.id, person.language, line.text, line.translation,
                                 session.id, "floor", cursor, audio))
            print(f"  {uid} {session.id:9s} {person.id:10s} {cursor / SAMPLE_RATE:7.2f} s "
                  f"+{len(audio) / SAMPLE_RATE:5.2f} s")
            previous = line
    return placed


def interpretation_timeline(floor: list[Placed], workdir: Path) -> list[Placed]:
    """Each floor line again, in the other language, by the interpreter into that language.

    An interpretation starts 2–3 s after its original, or right after the previous
    interpretation if that one is still running. The further behind the interpreter is, the
    faster they speak (up to INTERPRETER_MAX_TEMPO), as interpreters do to catch up.
    """
    rng = np.random.default_rng([SEED, 3])
    levels = speaker_levels()
    placed: list[Placed] = []
    for original in floor:
        target = "en" if original.language == "ja" else "ja"
        interpreter = PERSON[INTERPRETER_INTO[target]]
        earliest = original.start + seconds(rng.uniform(*INTERPRETER_LAG_S))
        start = max(earliest, placed[-1].end + seconds(INTERPRETER_GAP_S)) if placed else earliest
        behind_s = (start - earliest) / SAMPLE_RATE
        tempo = round(min(INTERPRETER_MAX_TEMPO, 1.0 + behind_s / 10.0), 2) if behind_s > 0.5 else 1.0
        audio = speech(interpreter.voice, original.translation, target, workdir)
        audio = set_level(fade_edges(change_tempo(audio, tempo)), levels[interpreter.id])
        placed.append(Placed("i" + original.uid[1:], interpreter.id, target, original.translation,
                             original.text, original.session, "interpretation", start, audio,
                             interprets=original.uid))
        if tempo != 1.0:
            print(f"  {placed[-1].uid} {behind_s:4.1f} s behind, tempo x{tempo}")
    return placed


# --------------------------------------------------------------------------------------------
# Mixing
# --------------------------------------------------------------------------------------------

def hold_music() -> np.ndarray:
    """Soft synthetic chords, cross-faded, at a background level."""
    chord_n, overlap_n = seconds(CHORD_S), seconds(CHORD_OVERLAP_S)
    step = chord_n - overlap_n
    music = np.zeros(step * (len(MUSIC_CHORDS) - 1) + chord_n, dtype=np.float32)
    for i, notes in enumerate(MUSIC_CHORDS):
        music[i * step: i * step + chord_n] += soft_chord(chord_n, notes, fade_s=CHORD_OVERLAP_S)
    return set_level(music, MUSIC_DBFS)


def render_track(utterances: list[Placed], total: int, noise_dbfs: float, noise_seed: int,
                 music: np.ndarray | None = None) -> np.ndarray:
    track = np.zeros(total, dtype=np.float32)
    if music is not None:
        track[: len(music)] += music
    for u in utterances:
        track[u.start: u.end] += u.audio  # overlapping speech simply adds, as in a room
    track += pink_noise(total, np.random.default_rng([SEED, noise_seed])) * db_to_amp(noise_dbfs)
    return np.clip(track, -1.0, 1.0)


def encode_interpreted(floor_opus: Path, interpretation: np.ndarray, path: Path) -> None:
    """Matroska with the floor Opus stream copied unchanged and the interpretation encoded."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-i", str(floor_opus),
         "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
         "-map", "0:a", "-map", "1:a",
         "-c:a:0", "copy", "-c:a:1", "libopus", "-b:a:1", BITRATE,
         *BITEXACT,
         "-metadata:s:a:0", "title=floor", "-metadata:s:a:1", "title=interpretation",
         str(path)],
        input=interpretation.astype("<f4").tobytes(), check=True,
    )


def decode_stream(path: Path, stream: int) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", f"0:a:{stream}",
         "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4")


# --------------------------------------------------------------------------------------------
# Ground truth and configs
# --------------------------------------------------------------------------------------------

def to_s(samples: int) -> float:
    return round(samples / SAMPLE_RATE, 4)


def clock(samples: int) -> str:
    total = RECORDING_START_CLOCK_S + samples / SAMPLE_RATE
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:04.1f}"


def session_spans(floor: list[Placed]) -> list[dict]:
    spans = []
    for session in SESSIONS:
        own = [u for u in floor if u.session == session.id]
        spans.append({"id": session.id, "start_s": to_s(own[0].start),
                      "end_s": to_s(max(u.end for u in own))})
    return spans


def utterance_record(u: Placed) -> dict:
    record = {"id": u.uid, "person": u.person, "language": u.language,
              "start_s": to_s(u.start), "end_s": to_s(u.end),
              "text": u.text, "translation": u.translation, "track": u.track}
    if u.interprets:
        record["interprets"] = u.interprets
    record["session"] = u.session
    return record


def truth_document(floor: list[Placed], interpretation: list[Placed], total: int) -> dict:
    h, rest = divmod(RECORDING_START_CLOCK_S, 3600)
    return {
        "recording": FLOOR_NAME,
        "interpreted_recording": INTERPRETED_NAME,
        "duration_s": to_s(total),
        "languages": ["en", "ja"],
        # The event-clock time of the recording's first sample (the agenda's times are on it).
        "recording_start_clock": f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}",
        "sessions": session_spans(floor),
        "utterances": [utterance_record(u) for u in floor + interpretation],
    }


def voice_similarity(floor_audio: np.ndarray, interp_audio: np.ndarray,
                     utterances: list[Placed]) -> dict:
    """Cosine similarity of speaker embeddings, one embedding per person from all their speech.

    The speech is cut from the decoded, encoded tracks, so the numbers describe what the
    pipeline will hear (noise and codec included). Each person's two halves are also compared,
    as a same-voice reference.
    """
    from resemblyzer import VoiceEncoder, preprocess_wav

    encoder = VoiceEncoder("cpu", verbose=False)

    def embed(audio: np.ndarray) -> np.ndarray:
        return encoder.embed_utterance(preprocess_wav(audio, source_sr=SAMPLE_RATE))

    persons = [p.id for p in PEOPLE]
    embeddings, self_similarity = {}, {}
    for pid in persons:
        pieces = [(floor_audio if u.track == "floor" else interp_audio)[u.start: u.end]
                  for u in utterances if u.person == pid]
        embeddings[pid] = embed(np.concatenate(pieces))
        half = len(pieces) // 2
        if half:
            self_similarity[pid] = round(float(embed(np.concatenate(pieces[:half]))
                                               @ embed(np.concatenate(pieces[half:]))), 3)
    matrix = [[round(float(embeddings[a] @ embeddings[b]), 3) for b in persons] for a in persons]
    pairs = sorted(((matrix[i][j], persons[i], persons[j])
                    for i, j in itertools.combinations(range(len(persons)), 2)), reverse=True)
    return {
        "encoder": "resemblyzer 0.1.4 VoiceEncoder (cosine similarity of utterance embeddings)",
        "audio": "each person's utterances cut from the decoded Opus tracks",
        "limit": SIMILARITY_LIMIT,
        "persons": persons,
        "voices": {p.id: p.voice.describe() for p in PEOPLE},
        "matrix": matrix,
        "min": pairs[-1][0],
        "max": pairs[0][0],
        "closest_pairs": [{"a": a, "b": b, "similarity": s} for s, a, b in pairs[:5]],
        "pairs_over_limit": [{"a": a, "b": b, "similarity": s}
                             for s, a, b in pairs if s >= SIMILARITY_LIMIT],
        "same_person_halves": self_similarity,
    }


def print_similarity(report: dict) -> None:
    persons = report["persons"]
    short = [p[:6] for p in persons]
    print("Voice similarity (resemblyzer cosine):")
    print(" " * 15 + " ".join(f"{s:>6s}" for s in short))
    for pid, row in zip(persons, report["matrix"]):
        print(f"  {pid:13s}" + " ".join(f"{v:6.2f}" for v in row))
    print(f"  min {report['min']}, max {report['max']}; closest: "
          + ", ".join(f"{c['a']}/{c['b']} {c['similarity']}" for c in report["closest_pairs"][:3]))
    if report["pairs_over_limit"]:
        print(f"  WARNING: {len(report['pairs_over_limit'])} pairs at or over {report['limit']}")


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    music = hold_music()
    first_start = len(music) + seconds(MUSIC_TO_SPEECH_S)
    with tempfile.TemporaryDirectory() as tmp:
        print("Floor:")
        floor = floor_timeline(first_start, Path(tmp))
        print("Interpretation:")
        interpretation = interpretation_timeline(floor, Path(tmp))
    total = max(u.end for u in floor + interpretation) + seconds(TAIL_S)

    floor_path, interpreted_path = OUT_DIR / FLOOR_NAME, OUT_DIR / INTERPRETED_NAME
    encode_opus(render_track(floor, total, FLOOR_NOISE_DBFS, 4, music), floor_path, BITRATE)
    encode_interpreted(floor_path,
                       render_track(interpretation, total, BOOTH_NOISE_DBFS, 5), interpreted_path)

    truth = truth_document(floor, interpretation, total)
    write_json(OUT_DIR / TRUTH_NAME, truth)

    floor_audio = decode_stream(floor_path, 0)
    if not np.array_equal(floor_audio, decode_stream(interpreted_path, 0)):
        raise RuntimeError("stream 0 of the interpreted recording differs from the floor track")
    report = voice_similarity(floor_audio, decode_stream(interpreted_path, 1), floor + interpretation)
    write_json(OUT_DIR / SIMILARITY_NAME, report)

    print(f"Wrote {floor_path.name} ({floor_path.stat().st_size / 1024:.0f} KiB), "
          f"{interpreted_path.name} ({interpreted_path.stat().st_size / 1024:.0f} KiB), "
          f"{truth['duration_s']:.1f} s; {len(floor)} + {len(interpretation)} utterances")
    print("Sessions (recording time, event clock; planned):")
    for span, session in zip(truth["sessions"], SESSIONS):
        print(f"  {span['id']:9s} {span['start_s']:7.2f}–{span['end_s']:7.2f} s  "
              f"{clock(seconds(span['start_s']))}–{clock(seconds(span['end_s']))}  "
              f"planned {session.planned_start}–{session.planned_end}")
    print_similarity(report)


if __name__ == "__main__":
    main()
