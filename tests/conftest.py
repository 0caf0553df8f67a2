"""Shared test helpers. Fixtures are real recordings in ../shared/fixtures (never copied here)."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"

os.environ.setdefault("PIPELINE_NO_PROGRESS", "1")
# The same CTranslate2 kernels on every CPU (see scripts/bootstrap.sh); set before ctranslate2 loads.
os.environ.setdefault("CT2_FORCE_CPU_ISA", "AVX2")
os.environ.setdefault("CT2_USE_MKL", "0")


def fixture(relative: str) -> Path:
    path = FIXTURES / relative
    if not path.exists():
        pytest.fail(f"missing shared fixture {path}")
    return path


def write_config(path: Path, languages=("en", "ja"), extra: str = "") -> Path:
    path.write_text(
        "event:\n  title: {en: test}\n  languages: [" + ", ".join(languages) + "]\n" + extra,
        encoding="utf-8",
    )
    return path


def normalise_en(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.sub(r"[^\w\s']", " ", text).split())


def assert_transcript_invariants(transcript: dict) -> None:
    """Timestamps monotonic per track, words inside their segment, nothing past the duration."""
    duration = transcript["duration_s"]
    last_start = {}
    for segment in transcript["segments"]:
        track = segment["track"]
        assert segment["start_s"] >= last_start.get(track, 0.0), segment["id"]
        last_start[track] = segment["start_s"]
        assert 0 <= segment["start_s"] <= segment["end_s"] <= duration + 1e-6, segment["id"]
        assert segment["language"] in transcript["languages"], segment["id"]
        assert 0.0 <= segment["confidence"] <= 1.0
        previous_word_start = segment["start_s"]
        for word in segment["words"]:
            assert segment["start_s"] - 1e-6 <= word["start_s"] <= word["end_s"] <= segment["end_s"] + 1e-6
            assert word["start_s"] >= previous_word_start - 1e-6
            previous_word_start = word["start_s"]
            assert 0.0 <= word["probability"] <= 1.0


DEMO = ROOT / "recordings" / "demo"
DEMO_TRUTH = DEMO / "demo-symposium.truth.json"


def _run_demo(tmp_path_factory, recording: str, config: str, to_stage: str) -> Path:
    from pipeline.core.config import load_config
    from pipeline.core.runner import run_pipeline

    out = tmp_path_factory.mktemp("demo") / "out"
    config_path = ROOT / "configs" / config
    run_pipeline(DEMO / recording, load_config(config_path), config_path, out, to_stage=to_stage)
    return out


@pytest.fixture(scope="session")
def demo_aligned(tmp_path_factory) -> Path:
    """The demo symposium (single track) run once per test session up to ``align``.

    Shared by every wing's tests: treat it as read-only and copy it (``copy_run``) before
    running further stages or editing in it.
    """
    return _run_demo(tmp_path_factory, "demo-symposium.opus", "demo.yaml", "align")


@pytest.fixture(scope="session")
def demo_interpreted_aligned(tmp_path_factory) -> Path:
    """The two-track demo (floor + interpretation) up to ``align``; read-only, copy it first."""
    return _run_demo(tmp_path_factory, "demo-symposium-interpreted.mka", "demo-interpreted.yaml", "align")


def copy_run(source: Path, target: Path) -> Path:
    """A private copy of a shared run's output folder (scratch and lock left behind)."""
    import shutil

    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".work", ".lock"))
    return target
