"""Progress of a running build: tasks write small counters, the driver draws bars from them.

Workers may be other processes (or other machines on a shared filesystem), so the counters are
files: `<work>/progress/<rank>.json`, rewritten at most every half second.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


class ProgressFile:
    """A task's counters (files and bytes read), flushed to disk now and then."""

    def __init__(self, folder: str | Path | None, rank: int, interval: float = 0.5):
        self.path = Path(folder) / f"{rank:05d}.json" if folder else None
        self.interval = interval
        self.files = 0
        self.bytes = 0
        self._last = 0.0

    def update(self, files: int = 0, nbytes: int = 0) -> None:
        self.files += files
        self.bytes += nbytes
        now = time.monotonic()
        if self.path is not None and now - self._last >= self.interval:
            self._last = now
            self._write(done=False)

    def close(self) -> None:
        if self.path is not None:
            self._write(done=True)

    def _write(self, done: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"files": self.files, "bytes": self.bytes, "done": done}))
        os.replace(tmp, self.path)


def read_progress(folder: Path) -> tuple[int, int]:
    """Total (files, bytes) reported by every task so far."""
    files = nbytes = 0
    for path in Path(folder).glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        files += data["files"]
        nbytes += data["bytes"]
    return files, nbytes
