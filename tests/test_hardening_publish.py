"""Issue 24, publishing: an archivist's folder is never replaced, a run's artifacts are read under
its lock, a read-only disk is one line, and a killed publish leaves nothing behind for long.

Each test is named after the defect it pins; all run on the small hand-made run of
test_publish_fixtures (no models)."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import subprocess
import sys

import pytest

from pipeline.cli import main as cli_main
from pipeline.core.config import load_config
from pipeline.core.errors import PipelineError
from pipeline.core.lock import OutputLock
from pipeline.publish import package as package_module
from pipeline.publish.package import publish

from conftest import ROOT
from test_publish_fixtures import make_run


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _one_line_error(result, *needles):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_publish_never_replaces_a_hand_made_bag(tmp_path):
    """A folder with a hand-written bagit.txt, a master recording and notes was emptied (exit 0)."""
    out, config = make_run(tmp_path)
    precious = tmp_path / "precious"
    (precious / "data").mkdir(parents=True)
    (precious / "bagit.txt").write_text("BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n")
    (precious / "data" / "precious-master.wav").write_bytes(b"RIFF master recording")
    (precious / "notes.txt").write_text("call the donor on Monday")
    before = _files(precious)
    _one_line_error(_cli("publish", out, "--to", precious, "--config", config),
                    str(precious), "not a package from an earlier publish", "choose another --to folder")
    assert _files(precious) == before


def test_publish_replaces_its_own_package_only_as_it_wrote_it(tmp_path):
    """Re-publishing replaces the earlier package; anything added, removed or changed in it since
    (an archivist's notes, a hidden file, an empty folder, an edited caption) keeps it."""
    out, config = make_run(tmp_path)
    config = load_config(config)
    target = tmp_path / "package"
    publish(out, config, target)
    publish(out, config, target)  # an unchanged package of ours: replaced
    assert package_module.replace_problem(target) is None

    def refused(change, undo, reason):
        change()
        before = _files(target)
        with pytest.raises(PipelineError, match=reason):
            publish(out, config, target)
        assert _files(target) == before
        undo()

    notes = target / "notes.txt"
    refused(lambda: notes.write_text("mine"), notes.unlink, r"it holds notes.txt, which the package does not list")
    hidden = target / "data" / ".archivist"
    refused(lambda: hidden.write_text("x"), hidden.unlink, r"it holds data/.archivist")
    empty = target / "data" / "extra"
    refused(empty.mkdir, empty.rmdir, r"it holds data/extra")
    vtt = target / "data" / "captions" / "captions.en.vtt"
    original = vtt.read_bytes()
    refused(lambda: vtt.write_bytes(original + b"\nNOTE corrected by hand\n"), lambda: vtt.write_bytes(original),
            r"data/captions/captions.en.vtt changed since it was published")
    marker = target / "data" / "provenance" / "publish.json"
    kept = marker.read_bytes()
    refused(marker.unlink, lambda: marker.write_bytes(kept), r"\(data/provenance/publish.json is not this pipeline.s provenance\)")
    publish(out, config, target)  # as it was written again: replaced


def test_publish_takes_the_output_folders_lock(tmp_path):
    out, config = make_run(tmp_path)
    with OutputLock(out):
        with pytest.raises(PipelineError, match=r"is in use by another run"):
            publish(out, load_config(config), tmp_path / "package")
    assert not (tmp_path / "package").exists()
    publish(out, load_config(config), tmp_path / "package")  # released: publishes
    with OutputLock(out):
        pass  # and publish released it in turn


def test_publish_on_a_read_only_file_system_is_one_line(tmp_path, monkeypatch, capsys):
    out, config = make_run(tmp_path)

    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    monkeypatch.setattr(package_module.tempfile, "mkdtemp", read_only)
    assert cli_main(["publish", str(out), "--to", str(tmp_path / "package"), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: publish --to ") and f"cannot write in {tmp_path} (Read-only file system)" in err, err
    assert not (tmp_path / "package").exists()


def test_publish_reads_a_run_on_a_read_only_file_system(tmp_path, monkeypatch):
    """No lock file can be made there, and none is needed: no run can write on a read-only disk."""
    out, config = make_run(tmp_path)
    real_open = os.open

    def read_only_lock(path, flags, *args):
        if str(path).endswith(".lock") and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr("pipeline.core.lock.os.open", read_only_lock)
    publish(out, load_config(config), tmp_path / "package")
    assert (tmp_path / "package" / "bagit.txt").is_file()


def test_publish_with_a_manifest_of_the_wrong_shape_is_one_line(tmp_path):
    out, _ = make_run(tmp_path)
    (out / "manifest.json").write_text("[]")
    _one_line_error(_cli("publish", out, "--to", tmp_path / "package"), "manifest.json: no config recorded")


def test_publish_cleans_leftover_building_folders(tmp_path):
    """A publish killed mid-build leaves .package.*.building; the next publish to that folder
    removes it, but not one that a running publish still holds."""
    out, config = make_run(tmp_path)
    dead = tmp_path / ".package.k1ll3d.building"
    (dead / "data").mkdir(parents=True)
    (dead / "data" / "half.flac").write_bytes(b"x" * 1000)
    busy = tmp_path / ".package.bu5y.building"
    busy.mkdir()
    held = os.open(busy, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        publish(out, load_config(config), tmp_path / "package")
        assert not dead.exists() and busy.exists()
    finally:
        os.close(held)
    publish(out, load_config(config), tmp_path / "package")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["event.yaml", "out", "package"]


def test_publish_killed_between_the_renames_keeps_the_old_package(tmp_path):
    """Killed after the old package was moved aside and before the new one moved in: the next
    publish puts the old one back first (never loses it), then replaces it as usual."""
    out, config = make_run(tmp_path)
    publish(out, load_config(config), tmp_path / "package")
    aside = tmp_path / ".package.replaced-999999999"  # a pid no process has
    os.rename(tmp_path / "package", aside)
    package_module.clean_leftovers(tmp_path / "package")
    assert (tmp_path / "package" / "bagit.txt").is_file() and not aside.exists()
    shutil.copytree(tmp_path / "package", aside)
    publish(out, load_config(config), tmp_path / "package")
    assert not aside.exists()


MARKUP = "<script>alert(1)</script> **Thank** you, that was <b>very</b> helpful."


def _with_markup(tmp_path):
    """The hand-made run with an editor's text that looks like markup in segment 4 (English)."""
    import json

    from test_publish_fixtures import _words

    out, config = make_run(tmp_path)
    reviewed = json.loads((out / "reviewed.json").read_text(encoding="utf-8"))
    segment = next(s for s in reviewed["segments"] if s["id"] == "seg-00004")
    segment.update(text=MARKUP, words=_words(MARKUP, segment["start_s"], segment["end_s"], "en"))
    (out / "reviewed.json").write_text(json.dumps(reviewed, ensure_ascii=False), encoding="utf-8")
    return out, config


def test_transcript_md_escapes_markup_and_srt_strips_it(tmp_path):
    """transcript.md and the .srt captions carried <script> as written: Markdown renderers pass
    HTML through, SRT players render tags. Markdown escapes it; SRT stays plain, tags taken out."""
    out, config = _with_markup(tmp_path)
    publish(out, load_config(config), tmp_path / "package")
    data = tmp_path / "package" / "data"
    markdown = (data / "transcript" / "transcript.md").read_text(encoding="utf-8")
    assert "<script" not in markdown and "<b>" not in markdown
    assert r"&lt;script&gt;alert(1)&lt;/script&gt; \*\*Thank\*\* you, that was &lt;b&gt;very&lt;/b&gt; helpful." in markdown
    srt_text = (data / "captions" / "captions.en.srt").read_text(encoding="utf-8")
    assert "<" not in srt_text and "alert(1)" in srt_text and "**Thank** you" in srt_text and "very helpful" in srt_text
    vtt = (data / "captions" / "captions.en.vtt").read_text(encoding="utf-8")
    assert "<script" not in vtt and "&lt;script&gt;" in vtt
    html = (data / "transcript" / "transcript.html").read_text(encoding="utf-8")
    assert "<script" not in html


def test_captions_stage_keeps_srt_plain_and_escapes_vtt(tmp_path):
    import srt
    import webvtt

    from pipeline.core.config import CaptionSettings
    from pipeline.text import captions

    words = [{"start_s": 0.4 * i, "end_s": 0.4 * i + 0.3, "text": " " + w, "probability": 0.9}
             for i, w in enumerate(MARKUP.split())]
    segment = {"id": "seg-00001", "track": "floor", "language": "en", "start_s": 0.0, "end_s": words[-1]["end_s"],
               "text": MARKUP, "words": words, "speaker": "x", "speaker_name": {"en": "Ann <i>Lee</i>"}}
    captions.run({"segments": [segment]}, CaptionSettings(), tmp_path)
    srt_text = (tmp_path / "captions" / "captions.srt").read_text(encoding="utf-8")
    assert "<" not in srt_text and "alert(1)" in srt_text
    assert "Ann Lee: " in srt_text
    assert len(list(srt.parse(srt_text))) >= 1
    vtt = (tmp_path / "captions" / "captions.vtt").read_text(encoding="utf-8")
    assert "<script" not in vtt and "&lt;script&gt;alert(1)" in vtt
    assert "<v Ann &lt;i&gt;Lee&lt;/i&gt;>" in vtt
    assert [c.text for c in webvtt.read(str(tmp_path / "captions" / "captions.vtt"))]  # still parses
