"""Issue 24, names on voices: an enrollment clip too short to embed is refused naming it and its
length, and a clip's weak match never outvotes the agenda's evidence."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from pipeline.core.config import AlignSettings, load_config
from pipeline.core.errors import PipelineError
from pipeline.speakers import align, embedding

from conftest import write_config
from test_align import _config, _segment


@pytest.mark.parametrize("frames", [0, 160, 16000])  # nothing, 10 ms, 1 s
def test_enrollment_clip_too_short_for_the_embedding_is_refused(tmp_path, frames):
    soundfile.write(tmp_path / "katie.wav", np.zeros(frames, dtype=np.int16), 16000, subtype="PCM_16")
    config = write_config(tmp_path / "c.yaml", extra="  people:\n    - {id: katie, name: {en: Katie}, roles: [speaker], "
                          "enrollment: [katie.wav]}\n")
    seconds = f"{frames / 16000:.2f} s long"
    with pytest.raises(PipelineError, match=rf"event.people\[katie\].enrollment: .*katie.wav is {seconds} "
                                            rf"\({frames} frames\); an enrollment clip needs at least 2 s"):
        load_config(config)


def test_enrollment_clip_shorter_than_the_window_is_refused_when_embedded(tmp_path):
    """Checked again where the clip is embedded (the clip may have changed since the config loaded)."""

    class Embedder:
        engine, window_s = "campplus", 1.5

        def embed(self, windows):
            raise AssertionError("a clip shorter than one window must not be embedded")

    soundfile.write(tmp_path / "short.wav", np.zeros(160, dtype=np.int16), 16000, subtype="PCM_16")
    with pytest.raises(PipelineError, match=r"enrollment clip .*short.wav is 0.01 s long; the campplus embedding "
                                            r"needs at least 1.5 s"):
        embedding.embed_file(tmp_path / "short.wav", Embedder())


AGENDA = """
event:
  title: {en: talk}
  languages: [en, ja]
  people:
    - {id: host, name: {en: Tomoo Shibano}, languages: [en], roles: [host]}
    - {id: smith, name: {en: Sheila Smith}, languages: [en], roles: [speaker]}
  sessions:
    - {id: opening, title: {en: Opening}, start: "08:00", end: "08:10", people: [{person: host, role: host}]}
    - {id: talk, title: {en: Talk}, start: "08:10", end: "08:30", people: [{person: smith, role: speaker}]}
"""


def _host_then_guest():
    segments = [_segment(1, 0, 5, "en", "Good morning, everyone, and welcome."),
                _segment(2, 6, 12, "en", "The alliance is stronger than ever."),
                _segment(3, 13, 16, "en", "Thank you for that."), _segment(4, 17, 25, "en", "Let me add one thing.")]
    return segments, {"seg-1": "spk00", "seg-2": "spk01", "seg-3": "spk00", "seg-4": "spk01"}


@pytest.mark.parametrize("margin, smith_on", [(0.08, "spk01"), (0.3, "spk00")])
def test_a_weak_enrollment_match_never_outvotes_the_agenda(tmp_path, margin, smith_on):
    """Smith's clip matches the host's voice weakly (threshold + 0.08) and the guest's voice not
    at all: the agenda (the host speaks first, the order of the sessions) keeps the host's voice
    the host's. A strong match (threshold + 0.3) still decides, against the agenda's order."""
    config = _config(tmp_path, AGENDA)
    segments, voice = _host_then_guest()
    threshold = align.ENROLLMENT_THRESHOLDS["campplus"]
    a, b = np.eye(192)[0], np.eye(192)[1]
    similarity = threshold + margin
    clip = similarity * a + np.sqrt(1 - similarity ** 2) * np.eye(192)[2]  # unit length; 0 with spk01
    evidence = align.gather_evidence(config.event, segments, voice, [], AlignSettings(), {"spk00": a, "spk01": b},
                                     {"smith": clip}, threshold)
    assigned = {v: person for v, (person, _) in align.assign(evidence, AlignSettings().min_score).items()}
    assert assigned["spk00"] == ("host" if smith_on == "spk01" else "smith")
    notes = evidence[("spk00", "smith")].notes
    assert any("enrollment clip similarity" in n for n in notes)
    assert any("weak match" in n for n in notes) == (margin < align.WEAK_MATCH_BAND)

