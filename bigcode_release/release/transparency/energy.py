"""Energy and carbon of a training run when no power counter was read: estimated from the measured
wall time of every process of the run (resumes included) and the hardware each ran on.

Method (stated in every report): energy = assumed power x wall time, with 12 W per busy CPU core or
300 W per GPU (typical package/board power) and a PUE of 1.0 (a machine, not a data centre); carbon =
energy x 0.475 kg CO2e per kWh (the IEA's 2019 world-average grid intensity). Both are estimates to
one significant figure. Energy read from RAPL counters (`bigcode_release.hardware`) is measured instead.
"""

from __future__ import annotations

WATTS_PER_CPU_CORE = 12.0
WATTS_PER_GPU = 300.0
PUE = 1.0
KG_CO2E_PER_KWH = 0.475
METHOD = (
    f"estimate: {WATTS_PER_CPU_CORE:g} W per CPU core or {WATTS_PER_GPU:g} W per GPU x wall time x PUE "
    f"{PUE:g}; carbon at {KG_CO2E_PER_KWH} kg CO2e/kWh (IEA 2019 world average); no power meter read"
)


def energy_kwh(hardware: dict, wall_seconds: float, world_size: int = 1) -> float:
    """Estimated energy of a run (see the module docstring)."""
    if hardware.get("device") == "cuda":
        watts = WATTS_PER_GPU * max(world_size, 1)
    else:
        watts = WATTS_PER_CPU_CORE * int(hardware.get("cpu_count") or 1)
    return watts * PUE * wall_seconds / 3.6e6


def carbon_kg(kwh: float) -> float:
    return kwh * KG_CO2E_PER_KWH
