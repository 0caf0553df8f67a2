"""The report stage on the demo symposium with the real models (the default LLM engine and
multilingual-e5-small): the acceptance figures, then an editor's correction re-drafting one
section only. Thresholds sit below the measured values (docs/report.md) with a stated margin."""

from __future__ import annotations

import json

import pytest

from conftest import DEMO_TRUTH, ROOT, copy_run

pytestmark = pytest.mark.slow
CONFIG = ROOT / "configs" / "demo.yaml"


def _run(out, first: str, last: str) -> None:
    from pipeline.core.config import load_config
    from pipeline.core.runner import run_pipeline

    run_pipeline(ROOT / "recordings" / "demo" / "demo-symposium.opus", load_config(CONFIG), CONFIG, out,
                 from_stage=first, to_stage=last)


@pytest.fixture(scope="module")
def demo_report(demo_aligned, tmp_path_factory):
    out = copy_run(demo_aligned, tmp_path_factory.mktemp("report") / "run")
    _run(out, "review", "review")
    _run(out, "report", "report")
    return out


def _checked_figures(out) -> dict:
    """The report's figures, after the acceptance checks that hold on every path."""
    from pipeline.report.score import report_figures

    figures = report_figures(out, json.loads(DEMO_TRUTH.read_text(encoding="utf-8")))
    assert figures["report_citation_validity"] == 1.0 and figures["report_quotes_verbatim"] == 1.0
    assert figures["report_claim_support"] >= 0.95 and figures["report_name_errors"] == 0
    assert figures["report_session_coverage"] == 1.0 and figures["report_people_coverage"] == 1.0
    return figures


def test_demo_report_meets_the_acceptance_figures(demo_report):
    figures = _checked_figures(demo_report)
    # This run has no translate stage, so every point is written in both languages (nothing to
    # render from). Measured 0.55 with the second-pass code; 10 points of margin for other CPUs'
    # numerics. With the translate stage the demo measures 0.84 (docs/report.md, sixth pass).
    assert figures["report_key_point_recall"] >= 0.45
    for name in ("report.en.md", "report.ja.md", "report.en.html", "report.ja.html", "report.docx"):
        assert (demo_report / name).stat().st_size > 0
    # Speed is a benchmark (benchmarks/report.py), not a timed test: a slower CPU is not a defect.
    # What bounds the work is checked instead: model calls follow the (session, speaker) parts —
    # at most 3 requests per part (one per point) and one retry each, a batch of quote translations
    # per section and language, the overview in each language (40 calls measured with translations).
    report = json.loads((demo_report / "report.json").read_text())
    parts = sum(len(s.get("parts", [])) for s in report["sections"])
    assert report["checks"]["llm"]["calls"] <= 3 * 2 * parts + 2 * len(report["sections"]) + 2


@pytest.fixture(scope="module")
def demo_report_translated(demo_report, tmp_path_factory):
    """The default path of a full run: the translate stage first (8-12 min on 2 cores), so each
    part is written in the language it was spoken in and reaches the other through its rendering."""
    out = copy_run(demo_report, tmp_path_factory.mktemp("report-translated") / "run")
    (out / "report.json").unlink()
    _run(out, "translate", "translate")
    _run(out, "report", "report")
    return out


def test_demo_report_after_the_translate_stage_meets_the_acceptance_figures(demo_report_translated):
    figures = _checked_figures(demo_report_translated)
    # Measured 0.84 on the demo's earlier transcript (docs/report.md, sixth pass) and 0.81 on this
    # test's own run; about 10 points of margin for other CPUs' transcripts.
    assert figures["report_key_point_recall"] >= 0.72
    # Japanese parts and one-sentence parts are reported as said: the model writes the overview,
    # translates the Q&A's short lines, and drafts the few parts left (3 and 6 calls measured;
    # 19 when every Japanese part was drafted, 40 when one-sentence parts were too).
    report = json.loads((demo_report_translated / "report.json").read_text())
    assert report["checks"]["llm"]["calls"] <= 14
    origins = {c["origin"] for s in report["sections"] for p in s.get("parts", [])
               for claims in p["points"].values() for c in claims}
    assert "translation:machine" in origins and "extractive" in origins


def test_a_corrected_segment_redrafts_only_its_section(demo_report, tmp_path):
    from pipeline.core.storage import read_json, write_json

    out = copy_run(demo_report, tmp_path / "edited")
    reviewed = read_json(out / "reviewed.json")
    target = next(s for s in reviewed["segments"] if s.get("session") == "closing" and s.get("speaker") == "sahashi")
    target["text"] = target["text"].rstrip("。") + "、と述べました。"  # what an editor's correction does to reviewed.json
    write_json(out / "reviewed.json", reviewed)
    _run(out, "report", "report")
    report = read_json(out / "report.json")
    status = {s["id"]: s["status"] for s in report["sections"]}
    assert status["session:closing"] == "drafted"
    assert all(v == "reused" for k, v in status.items() if k not in ("session:closing", "overview"))
