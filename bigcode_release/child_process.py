"""Run long work in a spawned child whose output goes to a log file, while the caller draws
progress: datatrove's executors log every task to stderr, which would bury a progress bar."""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path


def _child_main(target: Callable[..., None], args: tuple, log_path: str) -> None:
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        target(*args)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_logged(
    target: Callable[..., None], args: tuple, log_path: Path, poll: Callable[[], None], interval: float = 0.5
) -> int:
    """Run `target(*args)` in a spawned process with stdout/stderr appended to `log_path`; call
    `poll()` every `interval` seconds while it runs. Returns the child's exit code (non-zero when
    `target` raised; the traceback is in the log)."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    child = multiprocessing.get_context("spawn").Process(
        target=_child_main, args=(target, args, str(log_path)), daemon=False
    )
    child.start()
    try:
        while child.is_alive():
            child.join(timeout=interval)
            poll()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
    return child.exitcode


def log_tail(log_path: Path, lines: int = 15) -> str:
    """The last lines of a log, for an error message."""
    path = Path(log_path)
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]) if path.is_file() else ""
