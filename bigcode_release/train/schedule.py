"""The learning-rate schedule: linear warmup, then cosine (or linear) decay to a floor."""

from __future__ import annotations

import math


def learning_rate(
    step: int, peak: float, floor: float, warmup_steps: int, total_steps: int, decay_style: str = "cosine"
) -> float:
    """Learning rate for optimizer step `step` (0-based)."""
    if warmup_steps and step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    decay_steps = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0) / decay_steps, 1.0)
    if decay_style == "cosine":
        return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return peak - (peak - floor) * progress
