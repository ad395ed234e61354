"""What the machine is, read from it, and its power counters where it has readable ones.

`machine()` reads the CPU model and count (`/proc/cpuinfo`, `os.cpu_count`) and, given torch with
CUDA in use, the GPUs' names. `usable_cores()` and `available_memory_bytes()` are what this process
may use: its CPU affinity, and the least of the kernel's MemAvailable and what its cgroup's limits
leave (v2 `memory.max`, v1 `memory.limit_in_bytes`, at every level up to the root), as under Slurm,
Docker or Kubernetes. `PowerCounter` reads Intel RAPL package energy counters
(`/sys/class/powercap/intel-rapl:N/energy_uj`, microjoules, wrapping at `max_energy_range_uj`); the
folder can be moved with `BIGCODE_RELEASE_POWERCAP` (tests inject one). No counter, no measurement:
energy is then estimated, and says so.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

POWERCAP_ENV = "BIGCODE_RELEASE_POWERCAP"
POWERCAP = "/sys/class/powercap"


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name as the kernel reports it (else the platform's processor string)."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine(torch_module=None, device: str = "cpu") -> dict:
    """The hardware a process runs on: CPU model and count, and with `device == "cuda"` the GPUs
    (name and count) through `torch_module`."""
    found = {"device": device, "cpu_model": cpu_model(), "cpu_count": os.cpu_count()}
    if device == "cuda" and torch_module is not None and torch_module.cuda.is_available():
        names = [torch_module.cuda.get_device_name(i) for i in range(torch_module.cuda.device_count())]
        found.update(gpu_count=len(names), gpu_names=sorted(set(names)))
    return found


def usable_cores() -> int:
    """The cores this process may run on (its affinity: Slurm and taskset narrow it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_memory_bytes(proc: Path = Path("/proc"), cgroups: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Memory this process can still take: the least of MemAvailable and each enclosing cgroup's
    limit less its usage; None where none of them can be read."""
    available = _proc_kib_field(proc / "meminfo", "MemAvailable")
    left = [] if available is None else [available]
    try:
        memberships = (proc / "self" / "cgroup").read_text().splitlines()
    except OSError:
        memberships = []
    for line in memberships:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2, unified
            left += _cgroup_left(cgroups, path, "memory.max", "memory.current")
        elif "memory" in controllers.split(","):
            left += _cgroup_left(cgroups / "memory", path, "memory.limit_in_bytes", "memory.usage_in_bytes")
    return min(left, default=None)


def peak_rss_bytes(pid: int | str = "self", proc: Path = Path("/proc")) -> int | None:
    """A process's peak resident memory since it started (VmHWM; unlike getrusage's ru_maxrss, it
    does not carry a parent's peak across fork and exec); None where it cannot be read."""
    return _proc_kib_field(proc / str(pid) / "status", "VmHWM")


def _proc_kib_field(path: Path, name: str) -> int | None:
    """Bytes of a `Name:  N kB` line of a /proc file (meminfo, status)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_left(root: Path, path: str, limit_name: str, usage_name: str) -> list[int]:
    """Limit less usage at each level of a cgroup path that sets a limit (v1 writes "no limit" as a
    number near 2^63)."""
    left = []
    folder = root / path.strip("/")
    while True:
        limit, usage = _readable_text(folder / limit_name), _readable_int(folder / usage_name)
        if limit and limit != "max" and limit.isdigit() and int(limit) < 2**60 and usage is not None:
            left.append(max(0, int(limit) - usage))
        if folder == root or root not in folder.parents:
            return left
        folder = folder.parent


class PowerCounter:
    """Package energy counters (RAPL) of this machine, or none when they cannot be read."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root or os.environ.get(POWERCAP_ENV) or POWERCAP)
        self.domains = []
        for domain in sorted(self.root.glob("intel-rapl:*")) if self.root.is_dir() else []:
            package = domain.name.count(":") == 1 and _readable_text(domain / "name") != "psys"
            if package and _readable_int(domain / "energy_uj") is not None:
                self.domains.append(domain)  # packages only: subdomains are inside them, psys spans them all

    @property
    def available(self) -> bool:
        return bool(self.domains)

    @property
    def name(self) -> str:
        return "RAPL " + ", ".join(_readable_text(d / "name") or d.name for d in self.domains)

    def read(self) -> dict[str, int]:
        """The counters now (microjoules per domain)."""
        return {d.name: _readable_int(d / "energy_uj") or 0 for d in self.domains}

    def joules_between(self, before: dict[str, int], now: dict[str, int]) -> float | None:
        """Energy between two `read()`s at most one wrap-around apart (a counter wraps after some
        hundreds of kJ: sample more often than that), or None when a wrap cannot be undone."""
        total = 0
        for domain in self.domains:
            delta = now.get(domain.name, 0) - before.get(domain.name, 0)
            if delta < 0:
                span = _readable_int(domain / "max_energy_range_uj")
                if not span:
                    return None
                delta += span
            total += delta
        return total / 1e6


def _readable_int(path: Path) -> int | None:
    text = _readable_text(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _readable_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:  # missing, or root-only as on most machines since 2020 (CVE-2020-8694)
        return None
