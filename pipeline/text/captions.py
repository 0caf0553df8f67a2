"""Captions from the transcript: cue splitting and line breaking by language.

Japanese is measured in characters and never gets spaces between words; English is measured
in words. Cues are timed from the words inside them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import srt
import webvtt

from ..core.config import CaptionSettings
from ..core.markup import strip_markup
from ..core.storage import write_text
from ..core.stage import Stage, StageContext, StageOutput

# Break a Japanese line after these if one falls in the second half of the line.
JA_BREAK_AFTER = "、。，．！？」』）"
JA_PARTICLES = "はがをにでとのもへや"
JA_NO_LINE_START = "、。，．！？」』）ー"
SENTENCE_END = ("。", "？", "！", ".", "?", "!")


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    lines: list[str]
    language: str
    speaker: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _units(words: list[str], language: str) -> int:
    return sum(len(w) for w in words) if language == "ja" else len(words)


def _line_limit(language: str, settings: CaptionSettings) -> int:
    return settings.max_line_chars_ja if language == "ja" else settings.max_line_words_en


def break_lines(words: list[str], language: str, settings: CaptionSettings) -> list[str]:
    """English: greedy filling at word boundaries. Japanese: see ``break_japanese``."""
    limit = _line_limit(language, settings)
    if language == "ja":
        return break_japanese("".join(words), limit)
    lines: list[list[str]] = [[]]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 > limit:
            lines.append([])
        lines[-1].append(word)
    return [" ".join(line) for line in lines if line]


def break_japanese(text: str, limit: int) -> list[str]:
    """Lines of at most ``limit`` characters, broken where a reader expects it.

    Whisper's Japanese "words" are sub-word tokens, so their boundaries are no guide (a break
    could fall inside 日米). In the second half of a full line we break after punctuation, else
    after a particle that ends a phrase (の, を, は ... followed by a non-hiragana character),
    else at a change of script, else at the limit; a line never starts with punctuation.
    """
    lines = []
    while len(text) > limit:
        cut = _japanese_break(text, limit)
        lines.append(text[:cut])
        text = text[cut:]
    return lines + ([text] if text else [])


def _japanese_break(text: str, limit: int) -> int:
    def kind(ch: str) -> str:
        if "ぁ" <= ch <= "ゖ":
            return "hiragana"
        if "ァ" <= ch <= "ヺ" or ch == "ー":
            return "katakana"
        return "other"

    candidates = range(limit, limit // 2, -1)  # break before text[cut]
    for rule in (
        lambda c: text[c - 1] in JA_BREAK_AFTER,
        lambda c: text[c - 1] in JA_PARTICLES and kind(text[c]) != "hiragana",
        lambda c: kind(text[c - 1]) != kind(text[c]),
    ):
        for cut in candidates:
            if rule(cut) and text[cut] not in JA_NO_LINE_START:
                return cut
    cut = limit
    while cut > 1 and text[cut] in JA_NO_LINE_START:  # keep 、。 with the text before them
        cut -= 1
    return cut


def _word_texts(segment: dict) -> list[tuple[float, float, str]]:
    """(start, end, text) per caption word. In English a Whisper word that does not begin
    with a space continues the previous one ("side", "-by", "-side" is "side-by-side")."""
    words = segment.get("words") or []
    if not words:
        return [(segment["start_s"], segment["end_s"], segment["text"].strip())]
    joined: list[tuple[float, float, str]] = []
    for w in words:
        text = w["text"]
        if not text.strip():
            continue
        if segment["language"] != "ja" and joined and not text[0].isspace():
            start, _, previous = joined[-1]
            joined[-1] = (start, w["end_s"], previous + text.strip())
        else:
            joined.append((w["start_s"], w["end_s"], text.strip()))
    return joined


def _speaker_label(segment: dict) -> str | None:
    """The speaker's name in the segment's own language, when the align stage gave one."""
    name = segment.get("speaker_name") or {}
    return name.get(segment["language"]) or name.get("en") or None


def segment_cues(segment: dict, settings: CaptionSettings) -> list[Cue]:
    """Split one transcript segment into cues that fit ``max_lines`` lines and ``max_cue_s``."""
    language = segment["language"]
    capacity = _line_limit(language, settings) * settings.max_lines
    cues: list[Cue] = []
    pending: list[tuple[float, float, str]] = []

    def flush(count: int | None = None) -> None:
        """Make a cue of the first ``count`` pending words (all by default)."""
        taken = pending[: len(pending) if count is None else count]
        if taken:
            lines = break_lines([text for _, _, text in taken], language, settings)
            cues.append(Cue(taken[0][0], taken[-1][1], lines, language, _speaker_label(segment)))
            del pending[: len(taken)]

    for start_s, end_s, text in _word_texts(segment):
        texts = [t for _, _, t in pending] + [text]
        too_long = pending and (end_s - pending[0][0] > settings.max_cue_s)
        too_wide = pending and len(break_lines(texts, language, settings)) > settings.max_lines
        if too_long or too_wide or (pending and _units(texts, language) > capacity):
            flush(_phrase_end(pending, language))
        pending.append((start_s, end_s, text))
        if text.endswith(SENTENCE_END) and _units([t for _, _, t in pending], language) >= capacity // 2:
            flush()
    flush()
    return cues


def _phrase_end(pending: list[tuple[float, float, str]], language: str) -> int:
    """How many pending words make a cue that ends at a phrase boundary: after punctuation (or,
    in Japanese, a particle) in the second half of the cue; else all of them."""
    ends = JA_BREAK_AFTER + JA_PARTICLES if language == "ja" else ",.?!;:"
    for count in range(len(pending), len(pending) // 2, -1):
        if pending[count - 1][2].endswith(tuple(ends)):
            return count
    return len(pending)


def transcript_cues(transcript: dict, settings: CaptionSettings, track: str = "floor") -> list[Cue]:
    cues = []
    for segment in transcript["segments"]:
        if segment.get("track", "floor") == track:
            cues.extend(segment_cues(segment, settings))
    return _no_overlap(cues)


def _no_overlap(cues: list[Cue]) -> list[Cue]:
    """Players show overlapping cues stacked; end each cue before the next one starts."""
    fixed = []
    for cue, following in zip(cues, cues[1:] + [None]):
        end_s = min(cue.end_s, following.start_s) if following else cue.end_s
        fixed.append(Cue(cue.start_s, max(end_s, cue.start_s + 0.01), cue.lines, cue.language, cue.speaker))
    return fixed


def _labels(cues: list[Cue]) -> list[str]:
    """Name the speaker when the voice changes, as subtitlers do, not on every cue."""
    labels, previous = [], None
    for cue in cues:
        labels.append(f"{cue.speaker}: " if cue.speaker and cue.speaker != previous else "")
        previous = cue.speaker
    return labels


def write_srt(cues: list[Cue], target: Path) -> None:
    """SRT stays plain text: players render the tags in it, so tags an editor did not mean are
    taken out (SRT has no way to escape them)."""
    subtitles = [
        srt.Subtitle(index=i, start=dt.timedelta(seconds=c.start_s), end=dt.timedelta(seconds=c.end_s),
                     content=strip_markup(label + c.text))
        for i, (c, label) in enumerate(zip(cues, _labels(cues)), start=1)
    ]
    write_text(target, srt.compose(subtitles))


def vtt_escape(text: str) -> str:
    """WebVTT cue text: & < > are markup there and must be written as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_time(seconds: float) -> str:
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def write_vtt(cues: list[Cue], target: Path) -> None:
    document = webvtt.WebVTT()
    for cue in cues:
        text = (f"<v {vtt_escape(cue.speaker)}>" if cue.speaker else "") + vtt_escape(cue.text)
        document.captions.append(webvtt.Caption(_vtt_time(cue.start_s), _vtt_time(cue.end_s), text))
    write_text(target, document.content)


WRITERS = {"srt": write_srt, "vtt": write_vtt}


def run(transcript: dict, settings: CaptionSettings, out_dir: Path) -> dict:
    cues = transcript_cues(transcript, settings)
    files = []
    for fmt in settings.formats:
        target = out_dir / "captions" / f"captions.{fmt}"
        WRITERS[fmt](cues, target)
        files.append(str(target.relative_to(out_dir)))
    return {"cues": len(cues), "files": files}


# --- captions per language, from the translate stage's output --------------------------------

def _usable_translation(translations: dict, segment: dict, language: str) -> str | None:
    """The translation to show: checked machine output, an editor's, or the interpreter's."""
    record = (translations.get("segments", {}).get(segment["id"]) or {}).get(language)
    if record and record.get("text") and (record.get("status") == "ok" or record.get("checks", {}).get("target_script")):
        return record["text"].strip()
    return None


def _translated_segment(segment: dict, text: str, language: str) -> dict:
    """A segment in ``language`` whose words are spread evenly over the source's time span."""
    pieces = list(text.replace(" ", "")) if language == "ja" else text.split()
    span = max(0.01, segment["end_s"] - segment["start_s"])
    total = sum(len(p) for p in pieces) or 1
    words, done = [], 0
    for piece in pieces:
        start = segment["start_s"] + span * done / total
        done += len(piece)
        words.append({"start_s": start, "end_s": segment["start_s"] + span * done / total,
                      "text": piece if language == "ja" else " " + piece, "probability": 1.0})
    return {**segment, "language": language, "text": text, "words": words}


def language_cues(transcript: dict, translations: dict, language: str, settings: CaptionSettings,
                  track: str = "floor") -> list[Cue]:
    """Captions in one language: speech in that language as said, the rest translated."""
    cues = []
    for segment in transcript["segments"]:
        if segment.get("track", "floor") != track:
            continue
        if segment["language"] == language:
            cues.extend(segment_cues(segment, settings))
            continue
        text = _usable_translation(translations, segment, language)
        if text:
            cues.extend(segment_cues(_translated_segment(segment, text, language), settings))
    return _no_overlap(cues)


def bilingual_cues(transcript: dict, translations: dict, languages: list[str], settings: CaptionSettings,
                   track: str = "floor") -> list[Cue]:
    """Each cue of what was said, with the matching share of its translation below it."""
    cues = []
    for segment in transcript["segments"]:
        if segment.get("track", "floor") != track:
            continue
        target = next((l for l in languages if l != segment["language"]), None)
        text = _usable_translation(translations, segment, target) if target else None
        said = segment_cues(segment, settings)
        if not text or not said:
            cues.extend(said)
            continue
        rendered = _translated_segment(segment, text, target)["words"]
        for cue in said:
            inside = [w["text"].strip() for w in rendered if cue.start_s - 1e-6 <= (w["start_s"] + w["end_s"]) / 2 <= cue.end_s + 1e-6]
            if cue is said[-1]:
                inside = [w["text"].strip() for w in rendered if (w["start_s"] + w["end_s"]) / 2 >= cue.start_s - 1e-6]
            lines = cue.lines + (break_lines(inside, target, settings) if inside else [])
            cues.append(Cue(cue.start_s, cue.end_s, lines, segment["language"], cue.speaker))
    return _no_overlap(cues)


def run_translated(transcript: dict, translations: dict, languages: list[str], settings: CaptionSettings,
                   out_dir: Path) -> list[str]:
    """captions.<lang>.<fmt> per event language and captions.bilingual.<fmt>."""
    files = []
    sets = {language: language_cues(transcript, translations, language, settings) for language in languages}
    sets["bilingual"] = bilingual_cues(transcript, translations, languages, settings)
    for name, cues in sets.items():
        for fmt in settings.formats:
            target = out_dir / "captions" / f"captions.{name}.{fmt}"
            WRITERS[fmt](cues, target)
            files.append(str(target.relative_to(out_dir)))
    return files


def run_stage(ctx: StageContext) -> StageOutput:
    artifact = run(ctx.inputs["reviewed.json"], ctx.config.captions, ctx.out_dir)
    translations = ctx.inputs.get("translations.json")
    if translations and len(ctx.config.event.languages) > 1:
        extra = run_translated(ctx.inputs["reviewed.json"], translations, list(ctx.config.event.languages),
                               ctx.config.captions, ctx.out_dir)
        artifact["files"] = artifact["files"] + extra
    return StageOutput(artifact, counters={"cues": artifact["cues"]}, files=artifact["files"])


STAGE = Stage("captions", 5, ("captions", "event.languages"), ("reviewed.json",), "captions.json", run_stage,
              description="SRT and WebVTT captions with speaker names; per language and bilingual once translated",
              reads_optional=("translations.json",))
