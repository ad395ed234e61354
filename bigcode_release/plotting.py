"""PNG charts shared by every stage: horizontal bars (distributions) and lines (curves).

PNGs carry no software version in their metadata, so the same numbers give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_PNG_METADATA = {"Software": None}


def barh_chart(
    labels: list[str],
    values: list[float],
    title: str,
    xlabel: str,
    path: Path,
    top: int = 20,
    float_format: str = ",.1f",
) -> Path:
    """A horizontal bar chart of the first `top` values, largest at the top, each bar labelled."""
    labels, values = labels[:top][::-1], values[:top][::-1]
    figure, axis = plt.subplots(figsize=(8, 0.35 * max(len(labels), 3) + 1.2))
    axis.barh(labels, values, color="#4c72b0")
    for index, value in enumerate(values):
        axis.text(
            value,
            index,
            f" {value:{float_format}}" if isinstance(value, float) else f" {value:,}",
            va="center",
            fontsize=8,
        )
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.margins(x=0.15)
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata=_PNG_METADATA)
    plt.close(figure)
    return path


def line_chart(
    series: dict[str, tuple[list[float], list[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    path: Path,
    markers: bool = False,
) -> Path:
    """One line per named `(x, y)` series."""
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for name, (xs, ys) in series.items():
        axis.plot(xs, ys, label=name, marker="o" if markers else None, markersize=3)
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    if len(series) > 1:
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata=_PNG_METADATA)
    plt.close(figure)
    return path
