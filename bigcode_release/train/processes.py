"""Every process of a training run accounted for: a run resumed three times is four processes, and
its wall time, tokens and energy are their sums.

Each process writes `<run>/processes/<start>-<pid>.json` when it starts and again at every checkpoint
and at its end (a killed process keeps what it had at its last checkpoint): when it started, how long
it ran, the steps and tokens it trained, the machine it ran on, and the energy its power counter
read (None without one).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bigcode_release.hardware import PowerCounter


class ProcessRecord:
    """This process's part of a run."""

    def __init__(self, run_dir: Path, start_step: int, hardware: dict, counter: PowerCounter | None = None):
        self.counter = counter if counter is not None else PowerCounter()
        self.started_at, self._clock = time.time(), time.perf_counter()
        self._last_reading = self.counter.read() if self.counter.available else None
        self._joules: float | None = 0.0 if self._last_reading is not None else None
        self.path = Path(run_dir) / "processes" / f"{int(self.started_at * 1e3)}-{os.getpid()}.json"
        self.body = {
            "started_at": self.started_at,
            "steps_from": start_step,
            "steps_to": start_step,
            "tokens": 0,
            "wall_seconds": 0.0,
            "hardware": hardware,
            "power_counter": self.counter.name if self.counter.available else None,
            "energy_joules": None,
        }
        self.update(start_step, 0)

    def sample(self) -> None:
        """Add the energy used since the last reading (call it every step: a counter must not wrap
        twice between two readings)."""
        if self._last_reading is None or self._joules is None:
            return
        reading = self.counter.read()
        joules = self.counter.joules_between(self._last_reading, reading)
        self._joules = None if joules is None else self._joules + joules
        self._last_reading = reading

    def update(self, step: int, tokens: int) -> None:
        """Record progress up to `step` (`tokens` trained by this process so far)."""
        self.sample()
        self.body.update(steps_to=step, tokens=tokens, wall_seconds=round(time.perf_counter() - self._clock, 3))
        self.body["energy_joules"] = None if self._joules is None else round(self._joules, 3)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.body, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.path)


def run_processes(run_dir: Path) -> dict:
    """The run's processes summed: count, wall seconds, tokens, energy (kWh, measured only when every
    process read a counter), the counters, and the machines they ran on with the wall time on each."""
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((Path(run_dir) / "processes").glob("*.json"))]
    energies = [r["energy_joules"] for r in records]
    measured = bool(records) and all(e is not None for e in energies)
    machines: list[dict] = []  # wall time per machine the run ran on
    for record in records:
        found = next((m for m in machines if m["machine"] == record["hardware"]), None)
        if found is None:
            found = {"machine": record["hardware"], "processes": 0, "wall_seconds": 0.0}
            machines.append(found)
        found["processes"] += 1
        found["wall_seconds"] = round(found["wall_seconds"] + record["wall_seconds"], 1)
    return {
        "count": len(records),
        "wall_seconds": round(sum(r["wall_seconds"] for r in records), 1),
        "tokens": sum(r["tokens"] for r in records),
        "energy_kwh": round(sum(energies) / 3.6e6, 9) if measured else None,
        "power_counters": sorted({r["power_counter"] for r in records if r["power_counter"]}),
        "machines": machines,
    }
