"""One run at a time per output folder.

An advisory ``flock`` on ``OUT/.lock``: the kernel drops it when the holder exits, even by
SIGKILL, so a crashed run never leaves a stale lock behind. The file names the holder, so the
second run can say who has the folder.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import sys
from pathlib import Path

from .errors import PipelineError

LOCK_FILE = ".lock"


class OutputLock:
    def __init__(self, out_dir: Path):
        self.path = Path(out_dir) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> "OutputLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno == errno.EROFS:
                return self  # a folder on a read-only file system: no run can be writing there (publish reads it)
            raise PipelineError(f"output folder {self.path.parent}: cannot take its lock {self.path} "
                                f"({e.strerror})") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(self.path)
            os.close(fd)
            raise PipelineError(f"output folder {self.path.parent} is in use by {holder}; "
                                f"wait for that run to finish or stop it") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  "command": " ".join(sys.argv[:6])}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _describe(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return f"another run (pid {holder['pid']} on {holder['host']} since {holder['since']}: {holder['command']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another run"
