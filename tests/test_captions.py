import re

import srt
import webvtt

from pipeline.text.captions import break_lines, run, transcript_cues
from pipeline.core.config import CaptionSettings

SETTINGS = CaptionSettings()


def _words(texts, start=0.0, step=0.4):
    return [{"start_s": start + i * step, "end_s": start + i * step + 0.3, "text": t, "probability": 0.9}
            for i, t in enumerate(texts)]


def _segment(language, texts, start=0.0, seg_id="seg-00001"):
    words = _words(texts, start)
    return {"id": seg_id, "track": "floor", "language": language, "start_s": words[0]["start_s"],
            "end_s": words[-1]["end_s"], "text": "".join(texts), "words": words}


JA_WORDS = ["経済", "安全", "保障", "推進", "法", "は", "、", "二〇二二年", "の", "通常", "国会", "で",
            "成立", "しました", "。", "研究", "インテグリティ", "と", "セキュリティ", "の", "確保", "が",
            "重要", "です", "。"]
EN_WORDS = [" The", " entity", " list", " and", " Japan's", " end", " user", " list", " differ", " in",
            " scope", " and", " in", " how", " universities", " must", " respond", " to", " them."]


def test_japanese_lines_measured_in_characters_without_spaces():
    lines = break_lines([w for w in JA_WORDS], "ja", SETTINGS)
    assert all(len(line) <= SETTINGS.max_line_chars_ja for line in lines)
    assert all(" " not in line for line in lines)
    assert "".join(lines) == "".join(JA_WORDS)


def test_long_japanese_run_is_cut():
    lines = break_lines(["あ" * 40], "ja", SETTINGS)
    assert [len(line) for line in lines] == [16, 16, 8]


def test_english_lines_measured_in_words():
    lines = break_lines([w.strip() for w in EN_WORDS], "en", SETTINGS)
    assert all(len(line.split()) <= SETTINGS.max_line_words_en for line in lines)
    assert " ".join(lines).split() == [w.strip() for w in EN_WORDS]


def test_written_captions_parse_and_respect_limits(tmp_path):
    transcript = {"segments": [_segment("ja", JA_WORDS), _segment("en", EN_WORDS, start=12.0, seg_id="seg-00002")]}
    artifact = run(transcript, SETTINGS, tmp_path)
    assert artifact["files"] == ["captions/captions.srt", "captions/captions.vtt"]
    subtitles = list(srt.parse((tmp_path / "captions" / "captions.srt").read_text(encoding="utf-8")))
    vtt = webvtt.read(str(tmp_path / "captions" / "captions.vtt"))
    assert len(subtitles) == len(vtt.captions) == artifact["cues"] >= 4
    previous_end = 0.0
    for subtitle in subtitles:
        start, end = subtitle.start.total_seconds(), subtitle.end.total_seconds()
        assert previous_end <= start < end
        previous_end = end
        lines = subtitle.content.split("\n")
        assert len(lines) <= SETTINGS.max_lines
        for line in lines:
            if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", line):
                assert len(line) <= SETTINGS.max_line_chars_ja and " " not in line
            else:
                assert len(line.split()) <= SETTINGS.max_line_words_en
    assert "".join(c.text.replace("\n", "") for c in vtt.captions[:2]).startswith("経済安全保障推進法")


def test_cues_never_overlap():
    first = _segment("en", EN_WORDS[:5])
    second = _segment("en", EN_WORDS[5:], start=1.0, seg_id="seg-00002")
    cues = transcript_cues({"segments": [first, second]}, SETTINGS)
    for cue, following in zip(cues, cues[1:]):
        assert cue.end_s <= following.start_s


def test_japanese_breaks_after_punctuation_and_particles_not_inside_words():
    lines = break_lines(["研究イン", "テグリティとセ", "キュリティの確保は、昨年政府", "の方針になりました。"], "ja", SETTINGS)
    assert lines == ["研究インテグリティと", "セキュリティの確保は、", "昨年政府の方針になりました。"]
    for line in break_lines(["定刻となりましたので", "、ただいまより開催いたします。"], "ja", SETTINGS):
        assert not line.startswith(("、", "。"))
