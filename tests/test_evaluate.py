"""The scoring command on a small handmade output/truth pair whose figures are known."""

import json
import subprocess
import sys

import pytest

from pipeline.core.errors import PipelineError
from pipeline.evaluation.evaluate import evaluate

from conftest import ROOT

TRUTH = {
    "utterances": [
        {"id": "u1", "person": "hines", "language": "en", "start_s": 1.0, "end_s": 4.0, "track": "floor",
         "text": "The entity list matters.", "translation": "エンティティリストは重要です。"},
        {"id": "u2", "person": "iida", "language": "ja", "start_s": 5.0, "end_s": 9.0, "track": "floor",
         "text": "経済安全保障が大切です。", "translation": "Economic security is important."},
        {"id": "u3", "person": "smith", "language": "en", "start_s": 10.0, "end_s": 12.0, "track": "floor",
         "text": "Thank you all.", "translation": "皆さんありがとう。"},
    ]
}


def _segment(start, end, language, text, **extra):
    return {"id": f"s{start}", "track": "floor", "start_s": start, "end_s": end, "language": language,
            "text": text, "words": [], "confidence": 0.9, "flags": [], **extra}


def _write(tmp_path, segments):
    (tmp_path / "out").mkdir()
    transcript = {"segments": segments, "duration_s": 12.0, "languages": ["en", "ja"], "tracks": [{"name": "floor"}]}
    (tmp_path / "out" / "transcript.json").write_text(json.dumps(transcript), encoding="utf-8")
    (tmp_path / "truth.json").write_text(json.dumps(TRUTH, ensure_ascii=False), encoding="utf-8")
    return tmp_path / "out", tmp_path / "truth.json"


def test_known_errors_give_known_figures(tmp_path):
    out, truth = _write(tmp_path, [
        _segment(1.1, 3.9, "en", "The entity lists matters.", speaker="hines"),           # 1 of 4 words wrong
        _segment(5.2, 8.8, "ja", "経済安全保障が大切で", speaker="hines"),                    # 1 of 11 chars deleted
        _segment(10.0, 11.0, "ja", "Thank you", speaker="smith"),                          # wrong language
        _segment(11.0, 12.0, "en", "all.", speaker="smith"),
    ])
    figures = evaluate(out, truth)["floor"]
    assert figures["english_wer"] == pytest.approx(1 / 7)  # "lists" for "list"; 7 reference words
    assert figures["japanese_cer"] == pytest.approx(1 / 11)
    assert figures["language_accuracy"] == pytest.approx(3 / 4)
    # hines 2.8 s right of 3 s; iida's 4 s given to hines; smith 2 s right: (2.8 + 2) / 9
    assert figures["speaker_time_accuracy"] == pytest.approx(4.8 / 9)
    assert figures["translation_chrf"] is None
    assert figures["utterances_without_text"] == 0


def test_translations_are_scored_with_chrf(tmp_path):
    out, truth = _write(tmp_path, [
        _segment(1.0, 4.0, "en", "The entity list matters.", translation="エンティティリストは重要です。"),
        _segment(5.0, 9.0, "ja", "経済安全保障が大切です。", translation="Economic security is important."),
        _segment(10.0, 12.0, "en", "Thank you all.", translation="皆さんありがとう。"),
    ])
    assert evaluate(out, truth)["floor"]["translation_chrf"] == pytest.approx(100.0)


def test_cli_prints_figures_and_names_missing_stages(tmp_path):
    out, truth = _write(tmp_path, [_segment(1.0, 4.0, "en", "The entity list matters.")])
    result = subprocess.run([sys.executable, "-m", "pipeline", "evaluate", str(out), str(truth),
                             "--json", str(tmp_path / "figures.json")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # The untranscribed "Thank you all." counts as 3 deletions of 7 reference words.
    assert f"{'English WER (Whisper normaliser)':40} 42.9%" in result.stdout
    assert "2 utterances got no text" in result.stdout
    assert "n/a (no speaker labels" in result.stdout
    assert json.loads((tmp_path / "figures.json").read_text())["floor"]["english_wer"] == pytest.approx(3 / 7)


def test_bad_truth_is_named(tmp_path):
    out, truth = _write(tmp_path, [])
    truth.write_text('{"utterances": [{"id": "u1"}]}')
    with pytest.raises(PipelineError, match=r"utterances\[0\] lacks person, language, start_s, end_s, text"):
        evaluate(out, truth)
