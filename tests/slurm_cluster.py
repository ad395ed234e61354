"""A one-node Slurm cluster on this machine for the tests: munged, slurmctld and slurmd from Debian's
packages (slurm-wlm, munge), every file in one temporary folder (config generated for this machine's
cores and memory, its own munge key and socket, state, logs), stopped by PID afterwards.

As root without cgroup controllers: `ProctrackType=proctrack/linuxproc` and `TaskPlugin=task/none`.
There is no slurmdbd (it needs a database server), so finished jobs are recorded by
`JobCompType=jobcomp/filetxt`, which `sacct --completion` reads: job ids, names and states.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.serving import free_port

PARTITION = "cpu"


@dataclass(frozen=True)
class SlurmCluster:
    folder: Path
    environment: dict[str, str]  # SLURM_CONF for the clients (sbatch, squeue, sacct)

    def run(self, *command: str) -> str:
        result = subprocess.run(command, capture_output=True, text=True, env=self.environment)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr}")
        return result.stdout

    def queued(self) -> list[str]:
        """Ids of the jobs still pending or running."""
        return self.run("squeue", "--noheader", "--format=%i").split()

    def cancel_all(self) -> None:
        """Kill every job of this user, running or pending (as a failing node or an operator would)."""
        self.run("scancel", "--full", f"--user={getpass.getuser()}")

    def wait_idle(self, timeout: float = 600) -> None:
        """Wait until no job is pending or running (a failure names the queue and the daemons' logs)."""
        deadline = time.monotonic() + timeout
        while self.queued():
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still queued after {timeout:.0f} s: {self.run('squeue')}\n{self.logs()}")
            time.sleep(1)

    def finished_jobs(self) -> list[dict[str, str]]:
        """Every finished job as `sacct --completion` reports it: JobID, JobName, State."""
        out = self.run("sacct", "--completion", "--noheader", "--parsable2", "--format=JobID,JobName,State")
        return [dict(zip(("JobID", "JobName", "State"), line.split("|"))) for line in out.splitlines() if line]

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n" + (self.folder / name).read_text(errors="replace")[-3000:]
            for name in ("slurmctld.log", "slurmd.log")
            if (self.folder / name).is_file()
        )


def _memory_mb() -> int:
    with open("/proc/meminfo") as handle:
        kilobytes = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
    return kilobytes // 1024 * 3 // 4  # leave a quarter to the machine


def _config(folder: Path, host: str) -> str:
    return "\n".join(
        [
            "ClusterName=bigcode-test",
            f"SlurmctldHost={host}(127.0.0.1)",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "AuthType=auth/munge",
            f"AuthInfo=socket={folder / 'munge.sock'}",
            f"StateSaveLocation={folder / 'state'}",
            f"SlurmdSpoolDir={folder / 'spool'}",
            f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
            f"SlurmdPidFile={folder / 'slurmd.pid'}",
            f"SlurmctldLogFile={folder / 'slurmctld.log'}",
            f"SlurmdLogFile={folder / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "MpiDefault=none",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU_Memory",
            "ReturnToService=2",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={folder / 'jobcomp.txt'}",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={_memory_mb()} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def _stop(pid_file: Path) -> None:
    if not pid_file.is_file():
        return
    pid = int(pid_file.read_text().split()[0])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def slurm_cluster() -> Iterator[SlurmCluster]:
    """Start munged, slurmctld and slurmd; yield once the node is idle; stop all three."""
    folder = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    host = socket.gethostname().split(".")[0]
    (folder / "munge.key").write_bytes(os.urandom(1024))
    (folder / "munge.key").chmod(0o400)
    (folder / "slurm.conf").write_text(_config(folder, host))
    environment = {**os.environ, "SLURM_CONF": str(folder / "slurm.conf")}
    cluster = SlurmCluster(folder, environment)
    try:
        cluster.run(
            "munged", "--force", f"--socket={folder / 'munge.sock'}", f"--key-file={folder / 'munge.key'}",
            f"--pid-file={folder / 'munged.pid'}", f"--log-file={folder / 'munged.log'}",
            f"--seed-file={folder / 'munged.seed'}",
        )  # fmt: skip
        cluster.run("slurmctld", "-f", str(folder / "slurm.conf"))
        cluster.run("slurmd", "-f", str(folder / "slurm.conf"))
        deadline = time.monotonic() + 60
        while "idle" not in cluster.run("sinfo", "--noheader", "--format=%T"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Slurm node did not come up:\n{cluster.logs()}")
            time.sleep(0.5)
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError, TimeoutError):  # a failed test's jobs must not outlive it
            cluster.cancel_all()
            cluster.wait_idle(timeout=60)
        for name in ("slurmd.pid", "slurmctld.pid", "munged.pid"):
            _stop(folder / name)
        shutil.rmtree(folder, ignore_errors=True)
