"""Run an untrusted Python program in a sandbox.

Each program gets its own temporary directory and runs under `bwrap` (bubblewrap) with every
namespace new (mount, network, IPC, UTS, PID, user): the whole filesystem is read-only except the
program's directory (and an empty `/tmp`), the network namespace has only its own loopback, the
parent's processes are invisible. The interpreter is the system's `python3 -I` (isolated mode: no
user site, no PYTHON* variables, not the project's venv) with a minimal environment. Resource limits
cap CPU seconds, address space, file size, open files and, run as the `nobody` user when we are
root, the number of processes (so a fork bomb stops at the limit). A wall-clock timeout kills the
whole process group. Generated code only ever runs here, and only when the user opts in.
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bigcode_release.errors import CodeExecutionError

ALLOW_ENV = "HF_ALLOW_CODE_EVAL"
NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"


@dataclass(frozen=True)
class SandboxLimits:
    """Per-program limits (HumanEval's reference harness uses a 3 s timeout)."""

    wall_seconds: float = 3.0
    cpu_seconds: int = 4
    memory_bytes: int = 1 << 30
    file_bytes: int = 10 << 20
    open_files: int = 64
    processes: int = 32


@dataclass(frozen=True)
class SandboxResult:
    """`status` is `passed` (exit 0), `failed` (non-zero exit), or `timed out`."""

    status: str
    returncode: int | None
    stderr_tail: str
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def require_opt_in(allow: bool) -> None:
    """Refuse unless the user opted in (`--allow-code-execution` or `HF_ALLOW_CODE_EVAL=1`)."""
    if not allow and os.environ.get(ALLOW_ENV) != "1":
        raise CodeExecutionError(
            "this runs model-generated code; it runs in a sandbox, but only when you opt in: pass "
            f"--allow-code-execution or set {ALLOW_ENV}=1"
        )


def sandbox_available() -> str | None:
    """Why the sandbox cannot run here, or None when it can."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
    if not Path(SYSTEM_PYTHON).is_file():
        return f"{SYSTEM_PYTHON} is missing (the sandbox's interpreter)"
    return None


_PR_SET_CHILD_SUBREAPER = 36
_launch_lock = threading.Lock()
_running: set[int] = set()


def _become_subreaper() -> None:
    """bwrap's namespace init outlives its parent on exit; without a subreaper it is re-parented to
    the container's PID 1, which may never reap it, and zombies of `nobody` then exhaust the
    process limit. As a subreaper we get them and reap them (`_reap_orphans`)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _reap_orphans(wait_seconds: float = 0.0) -> None:
    """Reap exited children that no running sandbox call is waiting for; after a kill, keep at it
    for up to `wait_seconds` while killed processes are still exiting."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with _launch_lock:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is not None and info.si_pid not in _running:
                os.waitpid(info.si_pid, 0)
                continue
        if info is not None or time.monotonic() >= deadline:
            return
        time.sleep(0.02)


def _limit(limits: SandboxLimits, as_nobody: bool):
    def apply() -> None:
        os.setsid()
        for name, value in (
            (resource.RLIMIT_CPU, limits.cpu_seconds),
            (resource.RLIMIT_AS, limits.memory_bytes),
            (resource.RLIMIT_FSIZE, limits.file_bytes),
            (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_NPROC, limits.processes),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(name, (value, value))
        if as_nobody:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)

    return apply


def run_program(program: str, limits: SandboxLimits = SandboxLimits()) -> SandboxResult:
    """Run `program` (Python source) in the sandbox and say how it ended."""
    problem = sandbox_available()
    if problem:
        raise CodeExecutionError(f"cannot sandbox generated code: {problem}")
    workdir = Path(tempfile.mkdtemp(prefix="sandbox-"))
    as_nobody = os.geteuid() == 0
    try:
        (workdir / "program.py").write_text(program, encoding="utf-8")
        if as_nobody:
            os.chown(workdir, NOBODY, NOBODY)
            os.chown(workdir / "program.py", NOBODY, NOBODY)
        command = [
            "bwrap",
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--ro-bind",
            "/",
            "/",
            "--tmpfs",
            "/tmp",
            "--bind",
            str(workdir),
            str(workdir),
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--chdir",
            str(workdir),
            "--",
            SYSTEM_PYTHON,
            "-I",
            "-B",
            "program.py",
        ]
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1",
        }
        _become_subreaper()
        start = time.perf_counter()
        with _launch_lock:
            process = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_limit(limits, as_nobody),
            )
            _running.add(process.pid)
        timed_out = False
        try:
            _, stderr = process.communicate(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            _, stderr = process.communicate()
            timed_out = True
        finally:
            with _launch_lock:
                _running.discard(process.pid)
            _reap_orphans(wait_seconds=1.0 if timed_out else 0.0)
        seconds = time.perf_counter() - start
        tail = stderr.decode("utf-8", errors="replace")[-2000:]
        if timed_out or process.returncode == -signal.SIGXCPU:
            return SandboxResult("timed out", process.returncode, tail, seconds)
        return SandboxResult("passed" if process.returncode == 0 else "failed", process.returncode, tail, seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_programs(
    programs: list[str], limits: SandboxLimits = SandboxLimits(), workers: int = 2, show_progress: bool = False
) -> list[SandboxResult]:
    """Run every program in the sandbox, `workers` at a time; results in the programs' order."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(
            tqdm(
                pool.map(lambda program: run_program(program, limits), programs),
                total=len(programs),
                unit="sample",
                desc="executing",
                disable=not show_progress,
                dynamic_ncols=True,
            )
        )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
