"""CPU time of everything a benchmark runs, worker processes included."""

from __future__ import annotations

import resource
from pathlib import Path

_CGROUP_V1 = Path("/sys/fs/cgroup/cpuacct/cpuacct.usage")
_CGROUP_V2 = Path("/sys/fs/cgroup/cpu.stat")


def cpu_seconds() -> float:
    """CPU seconds used so far by this container's cgroup (every process, even ones nobody waited
    for, such as multiprocessing's forkserver workers); without a cgroup counter, by this process
    and its waited-for children."""
    if _CGROUP_V1.is_file():
        return int(_CGROUP_V1.read_text()) / 1e9
    if _CGROUP_V2.is_file():
        for line in _CGROUP_V2.read_text().splitlines():
            if line.startswith("usage_usec"):
                return int(line.split()[1]) / 1e6
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def cpu_source() -> str:
    return "cgroup v1 cpuacct" if _CGROUP_V1.is_file() else "cgroup v2 cpu.stat" if _CGROUP_V2.is_file() else "rusage"
