"""The one ordered table of stages. The runner walks it; nothing else knows the order."""

from __future__ import annotations

from .asr import transcribe
from .core.stage import Stage
from .media import ingest, vad
from .report import stage as report
from .review import apply as review
from .speakers import align, diarize
from .text import captions, translate

STAGES: list[Stage] = [ingest.STAGE, vad.STAGE, transcribe.STAGE, diarize.STAGE, align.STAGE, review.STAGE,
                      translate.STAGE, captions.STAGE, report.STAGE]
STAGE_NAMES = [stage.name for stage in STAGES]


def producer_of(artifact: str) -> str:
    return next(stage.name for stage in STAGES if stage.writes == artifact)
