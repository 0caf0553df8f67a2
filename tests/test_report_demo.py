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


def _checked_figures(out, reported_min: float = 0.85) -> dict:
    """The report's figures, after the acceptance checks that hold on every path: cited, checked,
    everyone named as the agenda names them, and a report rather than a chain of quotes."""
    from pipeline.report.score import report_figures

    figures = report_figures(out, json.loads(DEMO_TRUTH.read_text(encoding="utf-8")))
    assert figures["report_citation_validity"] == 1.0 and figures["report_quotes_verbatim"] == 1.0
    assert figures["report_claim_support"] >= 0.95 and figures["report_name_errors"] == 0
    assert figures["report_session_coverage"] == 1.0 and figures["report_people_coverage"] == 1.0
    assert figures["report_sentences_per_person_max"] <= 3
    for language in ("en", "ja"):
        assert figures[f"report_quoted_span_max_{language}"] <= 8
        # Measured 0.92 in both languages after the translate stage (the host's role sentence is
        # not reported speech); before it, 0.77 (a sentence not yet rendered is "spoke in Japanese").
        assert figures[f"report_reported_share_{language}"] >= reported_min
    report = json.loads((out / "report.json").read_text())
    # Everyone's first clause is told even when the budget is short: measured 424 words for a
    # budget of 386 (the firsts alone about 405; docs/report.md, seventh pass); 60 words of margin.
    assert figures["report_words_en"] <= report["budget_words"] + 60
    return figures


def test_demo_report_meets_the_acceptance_figures(demo_report):
    figures = _checked_figures(demo_report, reported_min=0.65)
    # This run has no translate stage: the model translates the sentences the report tells (one
    # batch per section and language pair), some fail their checks and stay pending. Measured
    # 0.16 (EN 0.21, JA 0.10) at about 400 words; 10 points of margin.
    assert figures["report_key_point_recall"] >= 0.06
    for name in ("report.en.md", "report.ja.md", "report.en.html", "report.ja.html", "report.docx"):
        assert (demo_report / name).stat().st_size > 0
    # Speed is a benchmark (benchmarks/report.py), not a timed test: a slower CPU is not a defect.
    # What bounds the work is checked instead: a batch of translations per section and language
    # pair, and the overview's sentence in each language.
    report = json.loads((demo_report / "report.json").read_text())
    sessions = sum(1 for s in report["sections"] if s.get("parts"))
    assert report["checks"].get("llm", {}).get("calls", 0) <= 2 * sessions + 2


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
    # Measured 0.24 (EN 0.24, JA 0.24) at the default length of about 420 words (docs/report.md,
    # seventh pass: one clause a speaker fits; a longer budget tells more); 10 points of margin.
    assert figures["report_key_point_recall"] >= 0.14
    # With every chosen sentence rendered the model has nothing to do (the overview's sentence
    # is off by default); a sentence this run's translate stage left unrendered costs a batch.
    report = json.loads((demo_report_translated / "report.json").read_text())
    assert report["checks"].get("llm", {}).get("calls", 0) <= 4
    sources = {c["from"]["source"] for s in report["sections"] for p in s.get("parts", [])
               for sentences in p["sentences"].values() for sentence in sentences for c in sentence["clauses"]
               if c.get("from")}
    assert {"original", "machine"} <= sources


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
