"""The translate stage with the default engine (packaged GGUF) on the start of the demo
symposium: every segment gets a translation or a needs_translation mark, names come out in
their agenda form, and the per-language captions follow. Budget: ~1-2 min on 2 cores."""

from __future__ import annotations

import pytest

from pipeline.core.config import load_config
from pipeline.core.runner import run_pipeline
from pipeline.core.storage import read_json, write_json
from tests.conftest import DEMO, ROOT, copy_run

FIRST_SEGMENTS = 8  # the host's opening and Professor Shiroyama's first lines (Japanese)


@pytest.mark.slow
def test_default_engine_translates_the_opening_of_the_demo(demo_aligned, tmp_path):
    out = copy_run(demo_aligned, tmp_path / "out")
    config_path = ROOT / "configs" / "demo.yaml"
    config = load_config(config_path)
    run_pipeline(DEMO / "demo-symposium.opus", config, config_path, out, from_stage="review", to_stage="review")
    reviewed = read_json(out / "reviewed.json")
    floor = [s for s in reviewed["segments"] if s["track"] == "floor"][:FIRST_SEGMENTS]
    reviewed["segments"] = floor
    write_json(out / "reviewed.json", reviewed)
    run_pipeline(DEMO / "demo-symposium.opus", config, config_path, out, from_stage="translate", to_stage="captions")

    translations = read_json(out / "translations.json")["segments"]
    records = []
    for segment in floor:
        target = "en" if segment["language"] == "ja" else "ja"
        record = translations[segment["id"]][target]  # never dropped
        assert record["status"] in ("ok", "needs_translation")
        if record["status"] == "ok":
            assert all(record["checks"].values())
        records.append(record)
    # The first full-demo batch (4 of these lines) passed every check; the margin allows for
    # recognition errors that make a line unanswerable.
    assert sum(r["status"] == "ok" for r in records) >= FIRST_SEGMENTS - 3
    english = " ".join(r["text"] for r in records if r["status"] == "ok")
    assert "Shiroyama" in english or "Shibano" in english
    assert not any("\u3040" <= ch <= "\u30ff" for ch in english)
    assert (out / "captions" / "captions.en.vtt").read_text(encoding="utf-8").count("-->") >= 4
    counters = read_json(out / "manifest.json")["stages"]["translate"]["counters"]
    assert counters["completion_tokens_per_s"] > 0
