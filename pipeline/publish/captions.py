"""Caption tracks of the package, one per language: WebVTT (voice tags, cue ids = segment ids),
SRT, and a chapters WebVTT of the agenda's sessions.

Line rules are the broadcast norms, by the language the text is in: Japanese at most
``caption_line_width_ja`` full-width units a line (13; a half-width character counts half),
English at most ``caption_line_chars_en`` characters (42); ``caption_max_lines`` lines a cue.
Japanese breaks fall between words (SudachiPy morphemes), preferably after punctuation, then
after a particle or auxiliary that ends a phrase; the punctuation that may not start a line is
the captions stage's (``pipeline.text.captions``).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import unicodedata
from dataclasses import dataclass

from ..core.config import PublishSettings
from ..core.language import japanese_morphemes, joiner
from ..core.markup import strip_markup
from ..text.captions import JA_BREAK_AFTER, JA_NO_LINE_START
from .source import MISSING, Run, clock

# The short mark a cue carries when the segment has no translation into the track's language.
UNTRANSLATED_MARK = {"en": "(untranslated) ", "ja": "（未翻訳）"}
EN_PHRASE_END = (",", ".", "?", "!", ";", ":")
SENTENCE_ENDS = (".", "?", "!", "。", "？", "！")


@dataclass(frozen=True)
class Token:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Cue:
    id: str                  # "<segment id>#<n>"
    segment_id: str
    start_s: float
    end_s: float
    lines: tuple[str, ...]
    language: str            # language of the text (may differ from the track's when untranslated)
    speaker: str

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@functools.lru_cache(maxsize=8192)
def _char_width(ch: str) -> float:
    return 1.0 if unicodedata.east_asian_width(ch) in "FWA" else 0.5


def width(text: str) -> float:
    """Display width in full-width units: wide (and ambiguous) characters 1, the rest 1/2."""
    return sum(map(_char_width, text))


def line_fits(line: str, language: str, settings: PublishSettings) -> bool:
    if language == "ja":
        return width(line) <= settings.caption_line_width_ja
    return len(line) <= settings.caption_line_chars_en


def break_lines(text: str, language: str, settings: PublishSettings) -> list[str]:
    text = " ".join(text.split()) if language != "ja" else text.strip()
    if language == "ja":
        return _break_japanese(text, settings.caption_line_width_ja)
    return _break_english(text, settings.caption_line_chars_en)


def _break_english(text: str, limit: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        while len(word) > limit:  # a URL or a long compound: hard split
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return lines + ([current] if current else [])


def _break_japanese(text: str, limit: float) -> list[str]:
    lines = []
    while width(text) > limit:
        # prefix[c] = width of text[:c]; the longest prefix within the limit, at least one character
        prefix = list(itertools.accumulate(map(_char_width, text), initial=0.0))
        fit = max(1, bisect.bisect_right(prefix, limit) - 1)
        cut = _best_cut(text, [c for c in range(fit, 0, -1) if prefix[c] >= limit / 2] or [fit])
        if break_rank(text, cut) >= 5:  # no word boundary in the second half: a shorter line
            cut = _best_cut(text, list(range(fit, 0, -1)))
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return lines + ([text] if text else [])


INDEPENDENT = {"名詞", "代名詞", "動詞", "形容詞", "形状詞", "副詞", "連体詞", "接続詞", "感動詞", "接頭辞"}
ATTACHED = {"助詞", "助動詞", "接尾辞", "補助記号"}


@functools.lru_cache(maxsize=4096)
def _boundary_ranks(text: str) -> dict[int, int]:
    """Character offset -> rank of a break there, from Sudachi's morphemes (0 best):
    0 after punctuation; 1 after a particle or auxiliary that ends a phrase (文節); 2 before an
    independent word (not inside a compound noun, not after a prefix such as お); 3 another
    morpheme boundary before a non-attached word; 4 any other morpheme boundary. A break inside a
    morpheme is not listed (rank 5)."""
    morphemes = japanese_morphemes(text)
    ranks: dict[int, int] = {}
    for a, b in zip(morphemes, list(morphemes)[1:]):
        pa, pb = a.part_of_speech()[0], b.part_of_speech()[0]
        if a.surface()[-1:] in JA_BREAK_AFTER or a.surface().endswith(" "):
            rank = 0
        elif pa in ("助詞", "助動詞") and pb not in ATTACHED:
            rank = 1
        elif pb in INDEPENDENT and pa != "接頭辞" and not (pa == pb and pa in ("名詞", "動詞")):
            rank = 2
        elif pb not in ATTACHED and pa != "接頭辞":
            rank = 3
        else:
            rank = 4
        ranks[b.begin()] = rank
    return ranks


def break_rank(text: str, cut: int) -> int:
    """How good a place ``text[:cut] | text[cut:]`` is for a Japanese break: 0 (end of text or
    after punctuation) to 5 (inside a word) and 6 (before a character that may not start a line)."""
    if cut <= 0 or cut >= len(text):
        return 0
    if text[cut] in JA_NO_LINE_START:
        return 6
    if text[cut - 1] in JA_BREAK_AFTER or text[cut - 1] == " ":
        return 0
    return _boundary_ranks(text).get(cut, 5)


def _best_cut(text: str, candidates: list[int]) -> int:
    """The best-ranked candidate; among equals, the longest first part (candidates descending)."""
    return min(candidates, key=lambda c: (break_rank(text, c), -c))


def _join(tokens: list[Token], language: str) -> str:
    return joiner(language).join(t.text for t in tokens).strip()


def _word_tokens(segment: dict) -> list[Token]:
    """Timed tokens from the segment's words: English words (a Whisper piece without a leading
    space continues the previous word), Japanese split into characters spread over each piece."""
    tokens: list[Token] = []
    for w in segment.get("words") or []:
        text = w["text"]
        if not text.strip():
            continue
        if segment["language"] == "ja":
            tokens += _spread(text.strip(), w["start_s"], w["end_s"], "ja")
        elif tokens and not text[0].isspace():
            tokens[-1] = Token(tokens[-1].start_s, w["end_s"], tokens[-1].text + text.strip())
        else:
            tokens.append(Token(w["start_s"], w["end_s"], text.strip()))
    return tokens


def _spread(text: str, start_s: float, end_s: float, language: str) -> list[Token]:
    """Untimed text (a translation, or a segment without words) spread evenly over its span."""
    units = list(text) if language == "ja" else text.split()
    total = sum(width(u) for u in units) or 1.0
    tokens, done = [], 0.0
    for unit in units:
        begin = start_s + (end_s - start_s) * done / total
        done += width(unit)
        tokens.append(Token(begin, start_s + (end_s - start_s) * done / total, unit))
    return tokens


def segment_cues(run: Run, segment: dict, track_language: str) -> list[Cue]:
    settings = run.config.publish
    rendering = run.text(segment, track_language)
    language = rendering.language
    if rendering.source in ("original", MISSING):  # the words as said, timed by Whisper
        tokens = _word_tokens(segment) or _spread(rendering.text, segment["start_s"], segment["end_s"], language)
        # Reviewed text can differ from the words Whisper timed; the reviewed text wins.
        if _join(tokens, language).replace(" ", "") != rendering.text.replace(" ", ""):
            tokens = _spread(rendering.text, segment["start_s"], segment["end_s"], language)
    else:
        tokens = _spread(rendering.text, segment["start_s"], segment["end_s"], language)
    if rendering.source == MISSING and tokens:
        mark = UNTRANSLATED_MARK[track_language].strip()
        tokens[0] = Token(tokens[0].start_s, tokens[0].end_s,
                          mark + (" " if language != "ja" else "") + tokens[0].text)
    speaker = run.speaker_name(segment, track_language)

    cues: list[Cue] = []
    pending: list[Token] = []

    def fits(candidate: list[Token]) -> bool:
        text = _join(candidate, language)
        if line_fits(text, language, settings):
            return True
        lines = break_lines(text, language, settings)
        return len(lines) <= settings.caption_max_lines and all(line_fits(l, language, settings) for l in lines)

    def flush(count: int) -> None:
        taken = pending[:count]
        lines = tuple(break_lines(_join(taken, language), language, settings))
        cues.append(Cue(f"{segment['id']}#{len(cues) + 1}", segment["id"], taken[0].start_s, taken[-1].end_s,
                        lines, language, speaker))
        del pending[:count]

    for token in tokens:
        while pending and (not fits(pending + [token])
                           or token.end_s - pending[0].start_s > settings.caption_max_cue_s):
            flush(_phrase_end(pending, language, fits, token))
        pending.append(token)
    if pending:
        flush(len(pending))
    return cues


def _phrase_end(pending: list[Token], language: str, fits, following: Token) -> int:
    """How many pending tokens make the cue: the best boundary that still fits. A sentence end may
    come as early as a third of the way in; a phrase boundary only in the second half."""
    counts = [c for c in range(len(pending), 0, -1) if fits(pending[:c])] or [1]
    if language == "ja":
        text = _join(pending + [following], language)
        offsets = [len(_join(pending[:c], language)) for c in counts]
        def penalty(offset: int, count: int) -> int:
            sentence_end = text[offset - 1:offset] in "。？！"
            return 0 if count * (3 if sentence_end else 2) >= len(pending) else 3
        ranked = [(break_rank(text, o) + penalty(o, c), -c, c) for o, c in zip(offsets, counts)]
        return min(ranked)[2]
    for count in counts:
        if count * 3 >= len(pending) and pending[count - 1].text.endswith(SENTENCE_ENDS):
            return count
    for count in counts:
        if count * 2 >= len(pending) and pending[count - 1].text.endswith(EN_PHRASE_END):
            return count
    return counts[0]


def track_cues(run: Run, track_language: str) -> list[Cue]:
    """Every floor segment as cues in ``track_language``, in time order, never overlapping."""
    cues = [c for segment in run.segments for c in segment_cues(run, segment, track_language)]
    cues.sort(key=lambda c: (c.start_s, c.id))
    fixed = []
    for cue, following in zip(cues, cues[1:] + [None]):
        end_s = min(cue.end_s, following.start_s) if following else cue.end_s
        fixed.append(Cue(cue.id, cue.segment_id, round(cue.start_s, 3), round(max(end_s, cue.start_s + 0.04), 3),
                         cue.lines, cue.language, cue.speaker))
    return fixed


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt(cues: list[Cue], language: str, kind: str = "captions") -> str:
    blocks = [f"WEBVTT\nKind: {kind}\nLanguage: {language}"]
    for cue in cues:
        body = _escape(cue.text)
        if cue.language != language:
            body = f"<lang {cue.language}>{body}</lang>"
        blocks.append(f"{cue.id}\n{clock(cue.start_s, True)} --> {clock(cue.end_s, True)}\n"
                      f"<v {_escape(cue.speaker)}>{body}")
    return "\n\n".join(blocks) + "\n"


SRT_LABEL = {"en": "[{}]", "ja": "［{}］"}


def srt(cues: list[Cue], language: str) -> str:
    """SRT has no voice tags: the speaker's name is a line of its own where the voice changes.
    It has no escaping either, and players render the tags in it: tags an editor did not mean
    are taken out (``strip_markup``)."""
    blocks, previous = [], None
    for index, cue in enumerate(cues, start=1):
        label = SRT_LABEL[language].format(strip_markup(cue.speaker)) + "\n" if cue.speaker != previous else ""
        previous = cue.speaker
        times = f"{clock(cue.start_s, True)} --> {clock(cue.end_s, True)}".replace(".", ",")
        blocks.append(f"{index}\n{times}\n{label}{strip_markup(cue.text)}")
    return "\n\n".join(blocks) + "\n"


def chapters_vtt(run: Run, language: str) -> str:
    blocks = [f"WEBVTT\nKind: chapters\nLanguage: {language}"]
    for session in run.sessions:
        title = (session.get("title") or {}).get(language) or (session.get("title") or {}).get("en") or session["id"]
        blocks.append(f"{session['id']}\n{clock(session['start_s'], True)} --> {clock(session['end_s'], True)}\n"
                      f"{_escape(title)}")
    return "\n\n".join(blocks) + "\n"


def write_captions(run: Run, folder) -> dict:
    """captions.<lang>.vtt/.srt and chapters.<lang>.vtt for every event language; returns counts."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for language in run.languages:
        cues = track_cues(run, language)
        (folder / f"captions.{language}.vtt").write_text(vtt(cues, language), encoding="utf-8")
        (folder / f"captions.{language}.srt").write_text(srt(cues, language), encoding="utf-8")
        (folder / f"chapters.{language}.vtt").write_text(chapters_vtt(run, language), encoding="utf-8")
        counts[language] = {"cues": len(cues),
                            "untranslated_cues": sum(1 for c in cues if c.language != language)}
    return counts
