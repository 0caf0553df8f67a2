"""``python -m pipeline publish OUT --to PACKAGE``: the archival package, built whole in a
temporary folder beside PACKAGE and renamed into place only when complete and valid.

Deterministic: the same output folder and config give the same bytes in every file, except the
bag's Bagging-Date (and the tag manifest line that hashes bag-info.txt). Nothing in the package
depends on the clock, the temporary folder's name or the order of a directory listing.
"""

from __future__ import annotations

import fcntl
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path, PurePosixPath

from ..core.config import Config
from ..core.errors import PipelineError
from ..core.lock import OutputLock
from ..core.storage import current_umask, sha256_of
from . import bag, captions, iiif, ohms, schemaorg, transcript, viewer
from .source import Run, load_run

PACKAGE_VERSION = 1
AUDIO_CODECS = {  # codec -> (file suffix, ffmpeg arguments, media type)
    # Level 5 (ffmpeg's default): on the demo, level 8 took 1.5x as long for 0.3% fewer bytes.
    "flac": (".flac", ["-c:a", "flac", "-compression_level", "5"], "audio/flac"),
    "opus": (".opus", ["-c:a", "libopus", "-application", "audio"], "audio/ogg"),
    "mp3": (".mp3", ["-c:a", "libmp3lame"], "audio/mpeg"),
}


# What marks a package as this pipeline's own: its provenance, listed in the bag's manifest.
PACKAGE_MARKER = "data/provenance/publish.json"
BAG_MANIFESTS = ("manifest-sha256.txt", "tagmanifest-sha256.txt")
_MANIFEST_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(.+)$")


def publish(out_dir: Path, config: Config, package_dir: Path, allow_unreviewed: bool = False) -> dict:
    """Build the package; return its summary (also written to data/provenance/publish.json).

    The output folder's lock is held throughout: the run's artifacts are read while no run can be
    writing them. Any file system error (a read-only or full disk) is one line, and leaves the
    folder at ``package_dir`` as it was."""
    out_dir = Path(out_dir)
    package_dir = Path(package_dir).absolute()
    if not out_dir.is_dir():
        raise PipelineError(f"{out_dir}: output folder not found")
    try:
        with OutputLock(out_dir):
            return _publish(out_dir, config, package_dir, allow_unreviewed)
    except OSError as e:
        where = Path(e.filename) if e.filename else package_dir
        if where.parent == package_dir.parent and where.name.startswith(f".{package_dir.name}."):
            where = package_dir.parent  # our own hidden build folder: name the folder the user gave
        raise PipelineError(f"publish --to {package_dir}: cannot write in {where} ({e.strerror or e}); "
                            f"nothing there was changed") from e


def _publish(out_dir: Path, config: Config, package_dir: Path, allow_unreviewed: bool) -> dict:
    run = load_run(out_dir, config, allow_unreviewed)
    _refuse_unless_replaceable(package_dir)
    package_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(package_dir)
    building = Path(tempfile.mkdtemp(prefix=f".{package_dir.name}.", suffix=".building", dir=package_dir.parent))
    claim = _claim(building)  # a later publish cleaning leftovers leaves a folder still being built alone
    try:
        summary = _build(run, building)
        bag.make_bag(building, bag.bag_info(run, summary))
        bag.validate(building)
        os.chmod(building, 0o777 & ~current_umask())  # mkdtemp's 0700 would lock other archivists out
        _refuse_unless_replaceable(package_dir)  # again: the build takes a while, someone may have added a file
        _swap_into_place(building, package_dir)
    finally:
        os.close(claim)
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return summary


def _refuse_unless_replaceable(package_dir: Path) -> None:
    problem = replace_problem(package_dir)
    if problem:
        raise PipelineError(f"{package_dir}: exists and is not a package from an earlier publish as it was "
                            f"written ({problem}); it is kept as it is: choose another --to folder")


def replace_problem(folder: Path) -> str | None:
    """Why ``folder`` must not be replaced by a new package (None: it may be).

    Only an empty folder, or a package this pipeline wrote (its provenance marker listed in the
    bag's manifests) with nothing added, removed or changed since (every file listed, every
    checksum matching), is replaced. A hand-made bag, a package with an archivist's notes added
    or a file edited, or anything else, is kept."""
    if not folder.exists() and not folder.is_symlink():
        return None
    if folder.is_symlink() or not folder.is_dir():
        return "it is not a folder"
    present = _tree(folder)
    if not present:
        return None
    listed: dict[str, str] = {}
    for name in BAG_MANIFESTS:
        if present.get(name) != "file":
            return f"no {name}"
        try:
            listed.update(_manifest_entries(folder / name))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            return f"{name} is not a bag manifest ({e})"
    if PACKAGE_MARKER not in listed:
        return f"no {PACKAGE_MARKER} of this pipeline"
    try:
        marker = json.loads((folder / PACKAGE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        marker = None
    if not isinstance(marker, dict) or not {"package_version", "identifier", "inputs"} <= set(marker):
        return f"{PACKAGE_MARKER} is not this pipeline's provenance"
    expected = set(listed) | {"tagmanifest-sha256.txt"}
    folders = {parent.as_posix() for path in expected for parent in PurePosixPath(path).parents} - {"."}
    for path, kind in sorted(present.items()):
        if not (kind == "file" and path in expected or kind == "folder" and path in folders):
            return f"it holds {path}, which the package does not list"
    for path, digest in sorted(listed.items()):
        if present.get(path) != "file":
            return f"{path} is missing"
        if sha256_of(folder / path) != digest.lower():
            return f"{path} changed since it was published"
    return None


def _tree(folder: Path) -> dict[str, str]:
    """Everything under ``folder`` (hidden entries too): relative path -> file | folder | other."""
    found = {}
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        for name in dirs:
            path = base / name
            found[path.relative_to(folder).as_posix()] = "other" if path.is_symlink() else "folder"
        for name in files:
            path = base / name
            found[path.relative_to(folder).as_posix()] = "file" if path.is_file() and not path.is_symlink() else "other"
    return found


def _manifest_entries(path: Path) -> dict[str, str]:
    entries = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        matched = _MANIFEST_LINE.match(line)
        if not matched:
            raise ValueError(f"line {number}")
        name = matched.group(2).replace("%0D", "\r").replace("%0A", "\n")  # bagit's encoding of line breaks
        entries[name] = matched.group(1)
    return entries


def _claim(folder: Path) -> int:
    """Hold a lock on a folder being built (released when this process ends, however it ends)."""
    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def clean_leftovers(package_dir: Path) -> None:
    """Remove what a killed publish to ``package_dir`` left beside it: hidden ``.NAME.*.building``
    folders no running publish holds, and a ``.NAME.replaced-PID`` older package once the new one
    stands (put back when the kill came between moving it aside and moving the new one in)."""
    for leftover in package_dir.parent.glob(f".{glob.escape(package_dir.name)}.*.building"):
        if not leftover.is_dir() or leftover.is_symlink():
            continue
        try:
            fd = _claim(leftover)
        except BlockingIOError:
            continue  # another publish is building there now
        try:
            shutil.rmtree(leftover)
        finally:
            os.close(fd)
    for leftover in package_dir.parent.glob(f".{glob.escape(package_dir.name)}.replaced-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if not leftover.is_dir() or leftover.is_symlink() or not pid.isdigit() or _alive(int(pid)):
            continue
        if package_dir.exists():
            shutil.rmtree(leftover)
        else:
            os.rename(leftover, package_dir)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # an earlier publish of this very process has finished
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_into_place(building: Path, package_dir: Path) -> None:
    """Rename the finished bag into place; an older package is moved aside first and removed only
    after the new one stands, so a failure leaves either the old package or the new one."""
    old = None
    if package_dir.exists():
        old = package_dir.with_name(f".{package_dir.name}.replaced-{os.getpid()}")
        os.rename(package_dir, old)
    try:
        os.rename(building, package_dir)
    except OSError as e:
        if old is not None:
            os.rename(old, package_dir)
        raise PipelineError(f"{package_dir}: could not move the finished package into place: {e}") from e
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _build(run: Run, root: Path) -> dict:
    settings = run.config.publish
    base = f"{settings.base_url.rstrip('/')}/{run.identifier}"
    suffix, _, media_type = AUDIO_CODECS[settings.audio_codec]
    audio_file = f"audio/recording{suffix}"
    encode_audio(run.audio, root / audio_file, settings.audio_codec, settings.audio_bitrate_kbps)
    if settings.include_original_audio:
        if run.recording is None or not run.recording.is_file():
            raise PipelineError(f"publish.include_original_audio: the original recording {run.recording} is not found")
        shutil.copyfile(run.recording, root / "audio" / f"original{run.recording.suffix.lower()}")

    caption_counts = captions.write_captions(run, root / "captions")
    transcript.write_transcripts(run, root / "transcript")
    (root / "index.html").write_text(viewer.to_html(run, audio_file), encoding="utf-8")

    metadata_dir = root / "metadata"
    metadata_dir.mkdir()
    (metadata_dir / "ohms.xml").write_bytes(ohms.to_xml(run, "captions/captions.{language}.vtt", audio_file))
    renderings = [(f"captions/captions.{l}.vtt", "text/vtt", l, f"Captions ({l})") for l in run.languages]
    renderings += [("transcript/transcript.html", "text/html", "mul", "Bilingual transcript"),
                   ("transcript/transcript.docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "mul",
                    "Bilingual transcript (Word)")]
    manifest = iiif.manifest(run, base, audio_file, renderings)
    iiif.validate(manifest)
    _write_json(metadata_dir / "iiif-manifest.json", manifest)
    caption_files = {l: f"captions/captions.{l}.vtt" for l in run.languages}
    _write_json(metadata_dir / "schema-org.jsonld",
                schemaorg.json_ld(run, base, audio_file, media_type, caption_files, "transcript/transcript.html"))

    if run.report_files:
        for path in run.report_files:
            target = root / "report" / path.relative_to(run.out_dir).as_posix().removeprefix("report/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)

    summary = _summary(run, caption_counts, audio_file)
    provenance = root / "provenance"
    provenance.mkdir()
    _write_json(provenance / "publish.json", summary)
    if run.manifest:
        _write_json(provenance / "manifest.json", run.manifest)
    shutil.copyfile(run.out_dir / run.transcript_name, provenance / run.transcript_name)
    if (run.out_dir / "translations.json").is_file():
        shutil.copyfile(run.out_dir / "translations.json", provenance / "translations.json")
    return summary


def encode_audio(source: Path, target: Path, codec: str, bitrate_kbps: int) -> None:
    """The archival copy; bit-exact flags keep encoder versions and random stream ids out."""
    suffix, arguments, _ = AUDIO_CODECS[codec]
    target.parent.mkdir(parents=True, exist_ok=True)
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
               "-map", "0:a:0", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
               *arguments]
    if codec != "flac":
        command += ["-b:a", f"{bitrate_kbps}k"]
    try:
        subprocess.run(command + [str(target)], check=True, capture_output=True)
    except FileNotFoundError as e:
        raise PipelineError("ffmpeg not found: install it (apt-get install ffmpeg)") from e
    except subprocess.CalledProcessError as e:
        message = (e.stderr or b"").decode(errors="replace").strip().splitlines()
        raise PipelineError(f"{source}: could not encode the archival audio ({codec}): "
                            f"{message[-1] if message else e}") from e


def _summary(run: Run, caption_counts: dict, audio_file: str) -> dict:
    translations = {}
    for language in run.languages:
        sources: dict[str, int] = {}
        missing = []
        for segment in run.segments:
            rendering = run.text(segment, language)
            sources[rendering.source] = sources.get(rendering.source, 0) + 1
            if rendering.source == "missing":
                missing.append(segment["id"])
        translations[language] = {"segments": len(run.segments), "by_source": dict(sorted(sources.items())),
                                  "missing": len(missing), "missing_segments": missing}
    inputs = {name: sha256_of(run.out_dir / name)
              for name in (run.transcript_name, "translations.json", "report.json", "manifest.json")
              if (run.out_dir / name).is_file()}
    inputs["audio/floor.wav"] = sha256_of(run.audio)
    return {
        "package_version": PACKAGE_VERSION,
        "identifier": run.identifier,
        "title": {l: run.title(l) for l in run.languages},
        "date": run.config.event.date,
        "languages": run.languages,
        "duration_s": run.duration_s,
        "audio": audio_file,
        "review": run.review,
        "translations": translations,
        "captions": caption_counts,
        "sessions_not_in_recording": [s["id"] for s in run.agenda_sessions if s not in run.sessions],
        "report": sorted(p.relative_to(run.out_dir).as_posix() for p in run.report_files),
        "inputs": inputs,
        "settings": run.config.publish.model_dump(mode="json"),
        "software": dict(_versions()),
    }


@functools.lru_cache(maxsize=1)
def _versions() -> dict:
    versions = {}
    for name in ("bagit", "iiif-prezi3", "python-docx", "webvtt-py", "srt"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        first = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.splitlines()
        versions["ffmpeg"] = first[0].split()[2] if first else None
    except OSError:
        versions["ffmpeg"] = None
    return versions


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def run_config_path(out_dir: Path) -> Path:
    """The config the run recorded in its manifest.json (``publish --config`` overrides it)."""
    manifest = Path(out_dir) / "manifest.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PipelineError(f"{manifest}: cannot read the run's config path ({e}); pass --config") from e
    recorded = data.get("config") if isinstance(data, dict) else None
    if not recorded or not isinstance(recorded, str):
        raise PipelineError(f"{manifest}: no config recorded; pass --config")
    return Path(recorded)
