"""Progress bars for long work; silent in CI or when output is not a terminal."""

from __future__ import annotations

import os
import sys

from tqdm import tqdm


def progress_enabled() -> bool:
    if os.environ.get("CI") or os.environ.get("PIPELINE_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


def bar(total: float, description: str, unit: str = "s") -> tqdm:
    """A tqdm bar over ``total`` units of audio (seconds by default)."""
    return tqdm(
        total=round(total, 1),
        desc=description,
        unit=unit,
        disable=not progress_enabled(),
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} {unit} [{elapsed}<{remaining}]",
    )
