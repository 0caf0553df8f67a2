"""``python -m pipeline publish OUT --to PACKAGE``: the archival package, built whole in a
temporary folder beside PACKAGE and renamed into place only when complete and valid.

Deterministic: the same output folder and config give the same bytes in every file, except the
bag's Bagging-Date (and the tag manifest line that hashes bag-info.txt). Nothing in the package
depends on the clock, the temporary folder's name or the order of a directory listing.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

from ..core.config import Config
from ..core.errors import PipelineError
from ..core.storage import sha256_of
from . import bag, captions, iiif, ohms, schemaorg, transcript, viewer
from .source import Run, load_run

PACKAGE_VERSION = 1
AUDIO_CODECS = {  # codec -> (file suffix, ffmpeg arguments, media type)
    # Level 5 (ffmpeg's default): on the demo, level 8 took 1.5x as long for 0.3% fewer bytes.
    "flac": (".flac", ["-c:a", "flac", "-compression_level", "5"], "audio/flac"),
    "opus": (".opus", ["-c:a", "libopus", "-application", "audio"], "audio/ogg"),
    "mp3": (".mp3", ["-c:a", "libmp3lame"], "audio/mpeg"),
}


def publish(out_dir: Path, config: Config, package_dir: Path, allow_unreviewed: bool = False) -> dict:
    """Build the package; return its summary (also written to data/provenance/publish.json)."""
    run = load_run(Path(out_dir), config, allow_unreviewed)
    package_dir = Path(package_dir).absolute()
    if package_dir.exists() and not _replaceable(package_dir):
        raise PipelineError(f"{package_dir}: exists and is not a package from an earlier publish; "
                            f"choose another --to folder")
    package_dir.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{package_dir.name}.", suffix=".building", dir=package_dir.parent))
    try:
        summary = _build(run, building)
        bag.make_bag(building, bag.bag_info(run, summary))
        bag.validate(building)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(building, 0o777 & ~umask)  # mkdtemp's 0700 would lock other archivists out
        _swap_into_place(building, package_dir)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return summary


def _replaceable(folder: Path) -> bool:
    """An empty folder or a bag an earlier publish wrote may be replaced; anything else is kept."""
    return folder.is_dir() and (not any(folder.iterdir()) or (folder / "bagit.txt").is_file())


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
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get("config")
    except (OSError, ValueError) as e:
        raise PipelineError(f"{manifest}: cannot read the run's config path ({e}); pass --config") from e
    if not recorded:
        raise PipelineError(f"{manifest}: no config recorded; pass --config")
    return Path(recorded)
