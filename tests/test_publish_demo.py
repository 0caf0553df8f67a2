"""Publishing the demo symposium (the shared ``demo_aligned`` run): a valid bag whose every file
reads back with a parser of its own kind, and captions that cover every segment (WCAG 1.2.2)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import bagit
import docx
import pytest

from conftest import ROOT, copy_run
from pipeline.cli import main
from pipeline.core.config import PublishSettings, load_config
from pipeline.publish.iiif import validate as validate_iiif
from pipeline.publish.package import publish
from test_publish_fixtures import caption_problems

DEMO_CONFIG = ROOT / "configs" / "demo.yaml"


def _reviewed(out: Path) -> dict:
    """An editor approves every segment in the review wing's journal; reviewed.json is then
    what the review stage writes from aligned.json and the journal."""
    from pipeline.review.apply import build
    from pipeline.review.store import NewEdit, Store

    aligned = json.loads((out / "aligned.json").read_text(encoding="utf-8"))
    store = Store(out)
    try:
        store.record("archivist", "approve all", [
            NewEdit("status", f"seg:{s['id']}", {"segment_id": s["id"], "track": s["track"], "start_s": s["start_s"],
                                                  "end_s": s["end_s"], "text": s["text"], "language": s["language"]},
                    {"status": "reviewed"}) for s in aligned["segments"]])
    finally:
        store.close()
    applier, versions = build(out)
    transcript = applier.artifact(versions)
    (out / "reviewed.json").write_text(json.dumps(transcript, ensure_ascii=False), encoding="utf-8")
    return transcript


@pytest.mark.slow
def test_demo_publishes_a_valid_bag_read_back_by_every_parser(demo_aligned, tmp_path):
    out = copy_run(demo_aligned, tmp_path / "out")
    transcript = _reviewed(out)
    package = tmp_path / "package"
    summary = publish(out, load_config(DEMO_CONFIG), package)

    bagit.Bag(str(package)).validate()
    assert caption_problems(package, transcript, PublishSettings()) == []
    data = package / "data"
    manifest = json.loads((data / "metadata" / "iiif-manifest.json").read_text(encoding="utf-8"))
    validate_iiif(manifest)
    assert len(manifest["structures"]) == len(transcript["sessions"])
    points = ET.parse(data / "metadata" / "ohms.xml").getroot().iter("{https://www.weareavp.com/nunncenter/ohms}point")
    assert len(list(points)) == len(transcript["sessions"])
    document = docx.Document(str(data / "transcript" / "transcript.docx"))
    assert sum(len(t.rows) - 1 for t in document.tables) == len(transcript["segments"])
    # no translation stage has run: every segment says, in the other language, that it is untranslated
    for language in ("en", "ja"):
        other = [s for s in transcript["segments"] if s["language"] != language]
        assert summary["translations"][language]["missing"] == len(other)


@pytest.mark.slow
def test_demo_aligned_output_publishes_only_with_the_flag(demo_aligned, tmp_path, capsys):
    out = copy_run(demo_aligned, tmp_path / "out")
    assert main(["publish", str(out), "--to", str(tmp_path / "package"), "--config", str(DEMO_CONFIG)]) == 2
    assert "reviewed.json: not found" in capsys.readouterr().err
    assert main(["publish", str(out), "--to", str(tmp_path / "package"), "--allow-unreviewed"]) == 0
    bag = bagit.Bag(str(tmp_path / "package"))
    bag.validate()
    assert bag.info["Transcript-Source"] == "aligned.json"
    assert bag.info["Review-Status"].startswith("published with unreviewed content")
