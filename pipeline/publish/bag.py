"""The package as a BagIt bag (RFC 8493): payload under data/, sha256 manifests, and
bag-info.txt with the descriptive fields an archive catalogues on deposit."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import bagit

from ..core.errors import PipelineError
from .source import Run

CHECKSUMS = ["sha256"]


def bag_info(run: Run, summary: dict) -> dict[str, str]:
    settings = run.config.publish
    info = {
        "External-Identifier": run.identifier,
        "External-Description": run.title("en") + (f" / {run.title('ja')}" if "ja" in run.languages else ""),
        "Title": run.title(run.languages[0]),
        "Date": run.config.event.date or "",
        "Language": ", ".join(run.languages),
        "Rights": settings.rights,
        "Review-Status": ("published with unreviewed content (--allow-unreviewed): "
                          f"{run.review['unreviewed_total']} unreviewed"
                          if run.review["allowed_unreviewed"] else "reviewed"),
        "Transcript-Source": run.transcript_name,
        "Translation-Coverage": "; ".join(f"{language}: {counts['missing']} of {counts['segments']} segments untranslated"
                                          for language, counts in summary["translations"].items()),
    }
    for language in run.languages[1:]:
        info[f"Title-{language}"] = run.title(language)
    if settings.organizer:
        info["Source-Organization"] = settings.organizer
    if settings.contact_email:
        info["Contact-Email"] = settings.contact_email
    # SOURCE_DATE_EPOCH (reproducible builds) fixes the one field that otherwise changes per run.
    if os.environ.get("SOURCE_DATE_EPOCH"):
        stamp = dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), dt.timezone.utc)
        info["Bagging-Date"] = stamp.strftime("%Y-%m-%d")
    return {k: v for k, v in info.items() if v}


def make_bag(folder: Path, info: dict[str, str]) -> None:
    """Turn ``folder`` into a bag in place (its files move under data/)."""
    logging.getLogger("bagit").setLevel(logging.WARNING)
    try:
        bagit.make_bag(str(folder), bag_info=info, processes=1, checksums=CHECKSUMS)
    except (bagit.BagError, OSError) as e:
        raise PipelineError(f"{folder}: could not make the bag: {e}") from e


def validate(folder: Path) -> None:
    """Check every checksum and the bag's structure; one line on the first problem."""
    try:
        bagit.Bag(str(folder)).validate(processes=1)
    except bagit.BagError as e:
        raise PipelineError(f"{folder}: not a valid bag: {e}") from e
