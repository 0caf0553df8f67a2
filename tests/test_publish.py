"""The archival package on a small hand-made reviewed run: every file read back by a parser of
its own kind, the review gate, missing translations, determinism and atomicity."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import bagit
import docx
import pytest

from pipeline.cli import main
from pipeline.core.artifacts import schema_version
from pipeline.core.config import PublishSettings, load_config
from pipeline.core.errors import PipelineError
from pipeline.publish import captions, ohms
from pipeline.publish.iiif import validate as validate_iiif
from pipeline.publish.package import publish
from test_publish_fixtures import SEGMENTS, caption_problems, make_run

OHMS = "{https://www.weareavp.com/nunncenter/ohms}"


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("publish")
    out, config = make_run(folder)
    publish(out, load_config(config), folder / "package")
    return folder / "package"


def test_the_package_is_a_valid_bag_and_a_flipped_byte_is_caught(package, tmp_path):
    bag = bagit.Bag(str(package))
    bag.validate()
    assert "sha256" in bag.algorithms
    info = bag.info
    assert info["Title"] == "Test symposium on export control"
    assert info["Title-ja"] == "輸出管理テストシンポジウム"
    assert info["Date"] == "2022-09-29" and info["Rights"] == "CC BY 4.0"
    assert info["Source-Organization"] == "Test Institute" and info["Language"] == "en, ja"
    assert info["Review-Status"] == "reviewed"
    import shutil

    damaged = shutil.copytree(package, tmp_path / "damaged")
    target = damaged / "data" / "captions" / "captions.ja.vtt"
    data = bytearray(target.read_bytes())
    data[-3] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(damaged)).validate()


def test_payload_layout(package):
    names = sorted(p.relative_to(package / "data").as_posix() for p in (package / "data").rglob("*") if p.is_file())
    for expected in ["index.html", "audio/recording.flac", "captions/captions.en.vtt", "captions/captions.ja.vtt",
                     "captions/captions.en.srt", "captions/captions.ja.srt", "captions/chapters.en.vtt",
                     "captions/chapters.ja.vtt", "transcript/transcript.html", "transcript/transcript.docx",
                     "transcript/transcript.md", "metadata/ohms.xml", "metadata/iiif-manifest.json",
                     "metadata/schema-org.jsonld", "provenance/publish.json", "provenance/manifest.json",
                     "provenance/reviewed.json", "provenance/translations.json"]:
        assert expected in names


def test_wcag_1_2_2_every_segment_is_captioned_in_its_language_within_the_line_rules(package):
    transcript = json.loads((package / "data" / "provenance" / "reviewed.json").read_text(encoding="utf-8"))
    assert caption_problems(package, transcript, PublishSettings()) == []


def test_captions_carry_voice_tags_language_and_chapters(package):
    import webvtt

    ja = (package / "data" / "captions" / "captions.ja.vtt").read_text(encoding="utf-8")
    assert ja.startswith("WEBVTT\nKind: captions\nLanguage: ja\n")
    assert "<v トム・ハインズ>" in ja and "<v 柴野相雄>" in ja
    en = (package / "data" / "captions" / "captions.en.vtt").read_text(encoding="utf-8")
    assert "<v Tom Hines>" in en
    # seg-00004 (English) has no Japanese translation: its Japanese cue says so, in English.
    assert "<lang en>（未翻訳） Thank you very much" in ja
    chapters = webvtt.read(str(package / "data" / "captions" / "chapters.ja.vtt")).captions
    assert [(c.identifier, c.text) for c in chapters] == [("opening", "開会"), ("session-1", "輸出管理")]


def test_japanese_lines_count_half_width_as_half():
    settings = PublishSettings()
    assert captions.width("日本語") == 3 and captions.width("AI") == 1 and captions.width("ＡＩ") == 2
    text = "経済安全保障と輸出管理について、AIとデータの国際的な枠組みを議論します。"
    lines = captions.break_lines(text, "ja", settings)
    assert "".join(lines) == text
    assert all(captions.width(line) <= 13 for line in lines)
    # 13 full-width units hold 26 half-width characters
    assert captions.line_fits("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ja", settings)
    assert not captions.line_fits("経済安全保障と輸出管理につい", "ja", settings)
    # breaks fall between words, never inside 輸出 or after the prefix お
    assert captions.break_lines("輸出管理の国際的な枠組みについてお話しします。", "ja", settings) == \
        ["輸出管理の国際的な枠組みに", "ついてお話しします。"]


def test_english_lines_break_at_words_within_42_characters():
    lines = captions.break_lines("I'm Tom Hines, Counselor for Economic and Scientific Affairs at the U.S. "
                                 "Embassy in Tokyo.", "en", PublishSettings())
    assert all(len(line) <= 42 for line in lines) and lines[0] == "I'm Tom Hines, Counselor for Economic and"


def test_iiif_manifest_validates_with_iiif_prezi3(package):
    manifest = json.loads((package / "data" / "metadata" / "iiif-manifest.json").read_text(encoding="utf-8"))
    validate_iiif(manifest)
    canvas = manifest["items"][0]
    assert canvas["type"] == "Canvas" and canvas["duration"] == 20.0
    assert canvas["items"][0]["items"][0]["body"]["type"] == "Sound"
    annotations = canvas["annotations"][0]["items"]
    assert len(annotations) == len(SEGMENTS)
    for annotation in annotations:
        assert annotation["motivation"] == "supplementing" and "#t=" in annotation["target"]
        assert annotation["body"]["type"] == "Choice"
        assert [b["language"] for b in annotation["body"]["items"]] == ["en", "ja"]
    assert [r["label"] for r in manifest["structures"]] == [{"en": ["Opening"], "ja": ["開会"]},
                                                             {"en": ["Export control"], "ja": ["輸出管理"]}]
    with pytest.raises(Exception):
        validate_iiif({**manifest, "items": [{**canvas, "duration": "long"}]})


def test_ohms_xml_has_record_fields_and_one_bilingual_index_point_per_session(package):
    root = ET.parse(package / "data" / "metadata" / "ohms.xml").getroot()
    assert root.tag == f"{OHMS}ROOT"
    record = root.find(f"{OHMS}record")
    assert record.findtext(f"{OHMS}title") == "Test symposium on export control"
    assert record.findtext(f"{OHMS}duration") == "0:00:20"
    assert record.findtext(f"{OHMS}transcript_alt_lang") == "ja"
    assert record.find(f"{OHMS}transcript").get("type") == "vtt"
    points = record.findall(f"{OHMS}index/{OHMS}point")
    assert [p.findtext(f"{OHMS}time") for p in points] == ["0", "10"]
    first = points[0]
    assert first.findtext(f"{OHMS}title") == "Opening" and first.findtext(f"{OHMS}title_alt") == "開会"
    assert first.findtext(f"{OHMS}partial_transcript").startswith("Thank you all for coming today.")
    assert first.findtext(f"{OHMS}partial_transcript_alt").startswith("皆様、本日は")
    assert "Tom Hines (Counselor, U.S. Embassy in Tokyo)" in first.findtext(f"{OHMS}synopsis")
    assert "トム・ハインズ（公使参事官、在日米国大使館）" in first.findtext(f"{OHMS}synopsis_alt")
    assert " " not in first.findtext(f"{OHMS}partial_transcript_alt")
    assert first.findtext(f"{OHMS}keywords") == "export control;economic security"
    assert first.findtext(f"{OHMS}keywords_alt") == "輸出管理;経済安全保障"
    for point in points:  # every field has its _alt twin, in the order OHMS writes them
        names = [child.tag.removeprefix(OHMS) for child in point]
        assert names == ["time", "title", "title_alt", "partial_transcript", "partial_transcript_alt", "synopsis",
                         "synopsis_alt", "keywords", "keywords_alt", "subjects", "subjects_alt"]


def test_docx_opens_with_python_docx(package):
    document = docx.Document(str(package / "data" / "transcript" / "transcript.docx"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Test symposium on export control" in text and "輸出管理テストシンポジウム" in text
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "00:00:05" in cells and any(c.startswith("Tom Hines\nCounselor, U.S. Embassy in Tokyo") for c in cells)
    assert any("東京の米国大使館" in c and "machine translation" not in c and "機械翻訳" in c for c in cells)
    assert "［日本語訳なし］" in cells


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.headings, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr" and dict(attrs).get("id"):
            self.rows.append({"id": dict(attrs)["id"], "cells": []})
        elif tag == "td" and self.rows:
            self.rows[-1]["cells"].append({"lang": dict(attrs).get("lang"), "text": ""})
            self._in = "td"
        elif tag == "h2":
            self.headings.append("")
            self._in = "h2"

    def handle_endtag(self, tag):
        if tag in ("td", "h2"):
            self._in = None

    def handle_data(self, data):
        if self._in == "td":
            self.rows[-1]["cells"][-1]["text"] += data
        elif self._in == "h2":
            self.headings[-1] += data


def test_html_transcript_puts_the_languages_side_by_side(package):
    page = _Cells()
    page.feed((package / "data" / "transcript" / "transcript.html").read_text(encoding="utf-8"))
    assert [r["id"] for r in page.rows] == [s["id"] for s in SEGMENTS]
    assert page.headings == ["Opening / 開会 00:00:00–00:00:10", "Export control / 輸出管理 00:00:10–00:00:20"]
    hines = page.rows[1]["cells"]
    assert hines[0]["text"] == "00:00:05"
    assert hines[1]["text"].startswith("Tom Hines トム・ハインズCounselor, U.S. Embassy in Tokyo")
    assert [c["lang"] for c in hines[2:]] == ["en", "ja"]
    assert hines[2]["text"].startswith("I'm Tom Hines") and hines[3]["text"].startswith("東京の米国大使館")
    assert page.rows[2]["cells"][2]["text"].endswith("(interpreter)")
    assert page.rows[3]["cells"][3]["text"] == "［日本語訳なし］"


def test_markdown_transcript(package):
    text = (package / "data" / "transcript" / "transcript.md").read_text(encoding="utf-8")
    assert text.startswith("# Test symposium on export control\n")
    assert "## Opening / 開会 (00:00:00–00:00:10)" in text
    assert "**[00:00:05] Tom Hines** — Counselor, U.S. Embassy in Tokyo" in text
    assert "- ja: ［日本語訳なし］" in text


def test_schema_org_event_recording_and_people(package):
    data = json.loads((package / "data" / "metadata" / "schema-org.jsonld").read_text(encoding="utf-8"))
    assert data["@context"] == "https://schema.org" and data["@type"] == "Event"
    assert data["startDate"] == "2022-09-29" and data["organizer"]["name"] == "Test Institute"
    audio = data["recordedIn"]
    assert audio["@type"] == "AudioObject" and audio["duration"] == "PT0H0M20S"
    assert "Tom Hines: I'm Tom Hines" in audio["transcript"]
    assert sorted(c["inLanguage"] for c in audio["caption"]) == ["en", "ja"]
    roles = {(r["performer"]["name"][0]["@value"], r["roleName"]) for r in data["performer"]}
    assert ("Tomoo Shibano", "host") in roles and ("Tom Hines", "speaker") in roles
    hines = next(r["performer"] for r in data["performer"] if r["performer"]["@id"] == "#person-hines")
    assert hines["affiliation"]["name"][0]["@value"] == "U.S. Embassy in Tokyo"
    assert [s["@id"].rsplit("#", 1)[1] for s in data["subEvent"]] == ["opening", "session-1", "closing"]


def test_provenance_records_inputs_review_and_translation_coverage(package):
    summary = json.loads((package / "data" / "provenance" / "publish.json").read_text(encoding="utf-8"))
    assert summary["review"]["source"] == "reviewed.json" and not summary["review"]["allowed_unreviewed"]
    assert summary["translations"]["ja"]["missing_segments"] == ["seg-00004"]
    assert summary["translations"]["en"]["by_source"] == {"interpreter": 1, "machine": 1, "original": 2}
    assert set(summary["inputs"]) == {"reviewed.json", "translations.json", "manifest.json", "audio/floor.wav"}
    # a session on the agenda that the recording never reached has no chapter, index point or range
    assert summary["sessions_not_in_recording"] == ["closing"]


def test_refuses_unreviewed_content_in_one_line_unless_allowed(tmp_path):
    out, config = make_run(tmp_path, unreviewed=2)
    with pytest.raises(PipelineError) as caught:
        publish(out, load_config(config), tmp_path / "package")
    assert "2 segment(s), report section(s) or edit conflict(s) are not reviewed" in str(caught.value)
    assert "\n" not in str(caught.value) and not (tmp_path / "package").exists()
    assert main(["publish", str(out), "--to", str(tmp_path / "package")]) == 2
    assert main(["publish", str(out), "--to", str(tmp_path / "package"), "--allow-unreviewed"]) == 0
    info = bagit.Bag(str(tmp_path / "package")).info
    assert info["Review-Status"].startswith("published with unreviewed content (--allow-unreviewed): 2")
    summary = json.loads((tmp_path / "package" / "data" / "provenance" / "publish.json").read_text(encoding="utf-8"))
    assert summary["review"]["allowed_unreviewed"] and summary["review"]["unreviewed_total"] == 2
    assert "Published before review was complete" in \
        (tmp_path / "package" / "data" / "transcript" / "transcript.html").read_text(encoding="utf-8")


def test_aligned_json_is_published_only_with_the_flag(tmp_path):
    out, config = make_run(tmp_path)
    aligned = json.loads((out / "reviewed.json").read_text(encoding="utf-8"))
    aligned["schema_version"] = schema_version("aligned.json")
    for segment in aligned["segments"]:
        del segment["review"]
    (out / "aligned.json").write_text(json.dumps(aligned, ensure_ascii=False), encoding="utf-8")
    (out / "reviewed.json").unlink()
    with pytest.raises(PipelineError, match="reviewed.json: not found"):
        publish(out, load_config(config), tmp_path / "package")
    summary = publish(out, load_config(config), tmp_path / "package", allow_unreviewed=True)
    assert summary["review"]["source"] == "aligned.json" and summary["review"]["unreviewed_total"] == 4
    assert bagit.Bag(str(tmp_path / "package")).info["Transcript-Source"] == "aligned.json"


def test_without_translations_every_segment_says_so(tmp_path):
    out, config = make_run(tmp_path, translations=False)
    summary = publish(out, load_config(config), tmp_path / "package")
    assert summary["translations"]["en"]["missing_segments"] == ["seg-00001", "seg-00003"]
    assert summary["translations"]["ja"]["missing_segments"] == ["seg-00002", "seg-00004"]
    html = (tmp_path / "package" / "data" / "transcript" / "transcript.html").read_text(encoding="utf-8")
    assert html.count("[No English translation yet]") == 2 and html.count("［日本語訳なし］") == 2
    en = (tmp_path / "package" / "data" / "captions" / "captions.en.vtt").read_text(encoding="utf-8")
    assert en.count("(untranslated)") == 2
    transcript = json.loads((out / "reviewed.json").read_text(encoding="utf-8"))
    assert caption_problems(tmp_path / "package", transcript, PublishSettings()) == []


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_publishing_is_deterministic_apart_from_the_bagging_date(tmp_path):
    out, config = make_run(tmp_path)
    publish(out, load_config(config), tmp_path / "one")
    publish(out, load_config(config), tmp_path / "two")
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert one.keys() == two.keys()
    differing = [name for name in one if one[name] != two[name]]
    assert set(differing) <= {"bag-info.txt", "tagmanifest-sha256.txt"}
    strip = lambda text: [l for l in text.decode().splitlines() if not l.startswith("Bagging-Date")]
    assert strip(one["bag-info.txt"]) == strip(two["bag-info.txt"])


def test_source_date_epoch_fixes_the_bagging_date(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1664409600")
    out, config = make_run(tmp_path)
    publish(out, load_config(config), tmp_path / "package")
    assert bagit.Bag(str(tmp_path / "package")).info["Bagging-Date"] == "2022-09-29"


def test_a_failure_leaves_no_half_package_and_keeps_the_old_one(tmp_path, monkeypatch):
    out, config = make_run(tmp_path)
    publish(out, load_config(config), tmp_path / "package")
    before = _files(tmp_path / "package")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ohms, "to_xml", broken)
    with pytest.raises(RuntimeError):
        publish(out, load_config(config), tmp_path / "package")
    assert _files(tmp_path / "package") == before
    with pytest.raises(RuntimeError):
        publish(out, load_config(config), tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["event.yaml", "out", "package"]


def test_an_unrelated_folder_is_never_replaced(tmp_path):
    out, config = make_run(tmp_path)
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "thesis.txt").write_text("mine")
    with pytest.raises(PipelineError, match="is not a package from an earlier publish"):
        publish(out, load_config(config), tmp_path / "documents")
    assert (tmp_path / "documents" / "thesis.txt").read_text() == "mine"


def test_bad_translations_file_is_named(tmp_path):
    out, config = make_run(tmp_path)
    (out / "translations.json").write_text('{"segments": []}', encoding="utf-8")
    with pytest.raises(PipelineError, match="translations.json: 'segments' must map"):
        publish(out, load_config(config), tmp_path / "package")


def test_report_files_and_the_original_recording_go_into_the_package(tmp_path):
    out, config = make_run(tmp_path)
    (out / "report.json").write_text('{"sections": []}', encoding="utf-8")
    (out / "report").mkdir()
    (out / "report" / "report.ja.html").write_text("<p>報告</p>", encoding="utf-8")
    original = tmp_path / "Recording.M4A"
    original.write_bytes(b"original bytes")
    (out / "ingest.json").write_text(json.dumps({"recording": str(original)}), encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8").replace(
        'publish: {organizer: "Test Institute", rights: "CC BY 4.0"}',
        'publish: {organizer: "Test Institute", rights: "CC BY 4.0", include_original_audio: true, audio_codec: opus}'),
        encoding="utf-8")
    summary = publish(out, load_config(config), tmp_path / "package")
    data = tmp_path / "package" / "data"
    assert (data / "report" / "report.json").is_file() and (data / "report" / "report.ja.html").is_file()
    assert (data / "audio" / "original.m4a").read_bytes() == b"original bytes"
    assert summary["audio"] == "audio/recording.opus" and (data / "audio" / "recording.opus").stat().st_size > 0
    assert "report.json" in summary["inputs"]


def test_ohms_keeps_japanese_in_the_alt_fields_when_the_agenda_lists_it_first(tmp_path):
    from pipeline.publish.source import load_run

    out, config = make_run(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace("languages: [en, ja]", "languages: [ja, en]"),
                      encoding="utf-8")
    run = load_run(out, load_config(config))
    point = ET.fromstring(ohms.to_xml(run, "captions/captions.{language}.vtt", "audio/recording.flac")) \
        .find(f"{OHMS}record/{OHMS}index/{OHMS}point")
    assert point.findtext(f"{OHMS}title") == "Opening" and point.findtext(f"{OHMS}title_alt") == "開会"


def test_an_editors_translation_in_reviewed_json_is_used_before_translate_has_run(tmp_path):
    from pipeline.publish.source import load_run

    out, config = make_run(tmp_path, translations=False)
    reviewed = json.loads((out / "reviewed.json").read_text(encoding="utf-8"))
    reviewed["segments"][3]["review"]["translation"] = {"ja": "どうもありがとうございました。"}
    (out / "reviewed.json").write_text(json.dumps(reviewed, ensure_ascii=False), encoding="utf-8")
    run = load_run(out, load_config(config))
    rendering = run.text(run.segments[3], "ja")
    assert (rendering.text, rendering.source) == ("どうもありがとうございました。", "editor")
    assert run.text(run.segments[2], "en").source == "missing"
