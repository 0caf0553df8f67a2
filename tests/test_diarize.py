"""Who spoke when: clustering on synthetic vectors, and DER on real recordings."""

import json

import numpy as np
import pytest

from pipeline.speakers import diarize
from pipeline.core.config import load_config
from pipeline.evaluation.evaluate import annotation_from_rttm, annotation_from_utterances, diarization_error_rate
from pipeline.core.runner import run_pipeline

from conftest import ROOT, fixture, write_config


def _voices(counts, seed=0):
    """Unit vectors around one random centre per voice, like speaker embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(counts), 256))
    vectors, truth = [], []
    for voice, count in enumerate(counts):
        points = centres[voice] + rng.normal(scale=0.6, size=(count, 256))
        vectors.append(points / np.linalg.norm(points, axis=1, keepdims=True))
        truth += [voice] * count
    return np.concatenate(vectors), np.array(truth)


def _agreement(labels, truth):
    """Share of items whose cluster's majority voice is their voice."""
    right = 0
    for label in np.unique(labels):
        members = truth[labels == label]
        right += np.bincount(members).max()
    return right / len(truth)


def test_number_of_voices_is_found():
    vectors, truth = _voices([40, 25, 10])
    labels = diarize.cluster(vectors, 0.15, max_speakers=None)
    assert len(np.unique(labels)) == 3 and _agreement(labels, truth) == 1.0


def test_one_voice_stays_one():
    vectors, _ = _voices([60])
    assert len(np.unique(diarize.cluster(vectors, 0.15, max_speakers=None))) == 1


def test_agenda_bounds_the_number_of_voices():
    vectors, _ = _voices([20, 20, 20, 20])
    assert len(np.unique(diarize.cluster(vectors, 0.15, max_speakers=2))) <= 2


def test_long_recordings_cluster_a_bounded_sample(monkeypatch):
    """More pieces than the pairwise step may hold: a subsample is clustered, all are labelled."""
    monkeypatch.setattr(diarize, "MAX_CLUSTERED_PIECES", 500)
    vectors, truth = _voices([1500, 900, 400])
    labels = diarize.cluster(vectors, 0.15, max_speakers=None)
    assert labels.shape == truth.shape and _agreement(labels, truth) > 0.99


def test_windows_cover_segments():
    assert diarize.window_starts(10.0, 10.5) == [pytest.approx(9.45)]
    starts = diarize.window_starts(0.0, 5.0)
    assert starts[0] == 0.0 and 5.0 - (starts[-1] + diarize.WINDOW_S) <= diarize.HOP_S / 2


def _der(tmp_path, recording, reference, duration_s):
    config_path = write_config(tmp_path / "c.yaml")
    out = tmp_path / recording.stem
    run_pipeline(recording, load_config(config_path), config_path, out, to_stage="vad")
    run_pipeline(recording, load_config(config_path), config_path, out, from_stage="diarize", to_stage="diarize")
    hypothesis = annotation_from_rttm(out / "diarization.rttm")
    artifact = json.loads((out / "diarization.json").read_text())
    assert artifact["turns"][0]["speaker"] == "spk00"  # numbered in order of appearance
    return diarization_error_rate(reference, hypothesis, duration_s), hypothesis


@pytest.mark.slow
def test_der_on_real_two_speaker_call(tmp_path):
    der, hypothesis = _der(tmp_path, fixture("pyannote-audio/sample.wav"),
                           annotation_from_rttm(fixture("pyannote-audio/sample.rttm")), 30.0)
    assert len(hypothesis.labels()) == 2
    assert der <= 0.15


@pytest.mark.slow
def test_der_on_demo(tmp_path):
    truth = json.loads((ROOT / "recordings/demo/demo-clip.truth.json").read_text(encoding="utf-8"))
    der, hypothesis = _der(tmp_path, ROOT / "recordings/demo/demo-clip.opus",
                           annotation_from_utterances(truth["utterances"]), truth["duration_s"])
    assert len(hypothesis.labels()) == 4
    assert der <= 0.15
