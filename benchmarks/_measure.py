"""CPU time of one command's own process tree, so a benchmark bills each side only its own work.

The benchmark makes itself a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`): every process the
command starts that outlives its parent (a forkserver, a pool worker nobody waited for) is
re-parented to the benchmark, which reaps it. Every process of the tree is thus waited for by
someone in it, and the kernel's rusage of the reaped processes adds up to the whole tree's CPU,
whatever else runs on the machine.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36
ORPHAN_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Measured:
    returncode: int
    cpu_seconds: float  # user + system of every process of the command's tree
    wall_seconds: float  # until the command itself exited
    processes: int  # processes reaped (the command and every orphan of its tree)
    stdout: str
    stderr: str


def _become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def run_measured(command: list[str], cwd: Path | None = None, env: dict | None = None) -> Measured:
    """Run `command` to completion and return its tree's CPU seconds and output.

    The benchmark must have no other child process running meanwhile (they would be billed here)."""
    _become_subreaper()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        cpu, reaped, returncode, deadline, wall = 0.0, 0, None, None, 0.0
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG if deadline else 0)
            except ChildProcessError:
                break
            if pid == 0:  # orphans still running after the command exited
                if time.monotonic() > deadline:
                    _kill_children()
                time.sleep(0.05)
                continue
            cpu += usage.ru_utime + usage.ru_stime
            reaped += 1
            if pid == process.pid:
                returncode = os.waitstatus_to_exitcode(status)
                process.returncode = returncode
                wall = time.monotonic() - started  # the command's own time, not the orphans' grace
                deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
        out.seek(0)
        err.seek(0)
        return Measured(returncode, cpu, wall, reaped, out.read(), err.read())


def _kill_children() -> None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # parent pid
            os.kill(int(entry.name), signal.SIGKILL)
