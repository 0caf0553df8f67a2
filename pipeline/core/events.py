"""One channel for what a run reports: stage started/skipped/finished, n of m done, messages.

Stages never print. They call ``progress(...)`` and ``message(...)``; whatever sink is current
turns the events into something a person sees: the CLI draws tqdm bars on stderr, a server could
stream them, tests can collect them. The sink is a context variable, so two runs in one process
(a batch worker, a test) each report to their own.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterator

from tqdm import tqdm


@dataclass(frozen=True)
class Event:
    kind: str  # "stage_started", "stage_skipped", "stage_finished", "progress_started", "progress", "progress_finished", "message"
    stage: str | None = None
    text: str = ""
    done: float = 0.0
    total: float = 0.0
    unit: str = ""
    data: dict = field(default_factory=dict)


Sink = Callable[[Event], None]


def progress_enabled() -> bool:
    if os.environ.get("CI") or os.environ.get("PIPELINE_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


class ConsoleSink:
    """Messages as lines on stderr; progress as tqdm bars (silent in CI or off a terminal)."""

    def __init__(self) -> None:
        self._bars: dict[str, tqdm] = {}

    def __call__(self, event: Event) -> None:
        if event.kind == "progress_started":
            self._bars[event.text] = tqdm(
                total=round(event.total, 1), desc=event.text, unit=event.unit, disable=not progress_enabled(),
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} {unit} [{elapsed}<{remaining}]",
            )
        elif event.kind == "progress" and event.text in self._bars:
            bar = self._bars[event.text]
            bar.update(event.done - bar.n)
        elif event.kind == "progress_finished" and event.text in self._bars:
            self._bars.pop(event.text).close()
        elif event.kind in ("message", "stage_started", "stage_skipped", "stage_finished"):
            print(event.text, file=sys.stderr, flush=True)


class CollectingSink:
    """Keeps every event: for tests and for anything that wants to replay a run."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def messages(self) -> list[str]:
        return [e.text for e in self.events if e.kind != "progress"]


_sink: contextvars.ContextVar[Sink] = contextvars.ContextVar("pipeline_event_sink", default=ConsoleSink())
_stage: contextvars.ContextVar[str | None] = contextvars.ContextVar("pipeline_stage", default=None)


def emit(kind: str, text: str = "", **fields) -> None:
    _sink.get()(Event(kind=kind, stage=fields.pop("stage", _stage.get()), text=text, **fields))


def message(text: str) -> None:
    """A line for the person running the pipeline."""
    emit("message", text)


@contextlib.contextmanager
def reporting_to(sink: Sink) -> Iterator[Sink]:
    """Send every event inside the block to ``sink``."""
    token = _sink.set(sink)
    try:
        yield sink
    finally:
        _sink.reset(token)


@contextlib.contextmanager
def in_stage(name: str) -> Iterator[None]:
    token = _stage.set(name)
    try:
        yield
    finally:
        _stage.reset(token)


class Progress:
    def __init__(self, label: str, total: float, unit: str):
        self.label, self.total, self.unit, self.done = label, total, unit, 0.0

    def update(self, amount: float) -> None:
        self.set(self.done + amount)

    def set(self, done: float) -> None:
        self.done = done
        emit("progress", self.label, done=self.done, total=self.total, unit=self.unit)


@contextlib.contextmanager
def progress(total: float, label: str, unit: str = "s") -> Iterator[Progress]:
    """``n of m done`` for long work (seconds of audio by default)."""
    tracker = Progress(label, total, unit)
    emit("progress_started", label, total=total, unit=unit)
    try:
        yield tracker
    finally:
        emit("progress_finished", label, done=tracker.done, total=total, unit=unit)
