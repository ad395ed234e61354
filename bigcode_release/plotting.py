"""PNG charts shared by every stage: horizontal bars (distributions) and lines (curves).

PNGs carry no software version in their metadata, so the same numbers give the same bytes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_PNG_METADATA = {"Software": None}


def barh_figure(
    labels: list[str],
    values: list[float],
    title: str,
    xlabel: str,
    top: int | None = 20,
    float_format: str = ",.1f",
    value_labels: list[str] | None = None,
    label_width: int = 36,
):
    """A horizontal bar chart (a matplotlib Figure) of the first `top` values (all with None),
    largest at the top; each bar labelled with `value_labels` or its value. Long labels wrap at
    `label_width` characters, and the figure grows to fit them: nothing is cut at its edges."""
    shown = len(labels) if top is None else min(top, len(labels))
    if shown < len(labels):
        title = f"{title} (top {shown} of {len(labels)})"
    texts = value_labels or [f"{v:{float_format}}" if isinstance(v, float) else f"{v:,}" for v in values]
    wrapped = [textwrap.fill(label, label_width, break_on_hyphens=False) for label in labels[:shown]][::-1]
    values, texts = values[:shown][::-1], texts[:shown][::-1]
    lines = sum(label.count("\n") + 1 for label in wrapped)
    figure, axis = plt.subplots(figsize=(9, 0.3 * max(lines, 3) + 0.15 * len(wrapped) + 1.3))
    axis.barh(range(len(values)), values, color="#4c72b0")
    axis.set_yticks(range(len(values)), wrapped, fontsize=9)
    for index, (value, text) in enumerate(zip(values, texts)):
        axis.text(value, index, f" {text}", va="center", fontsize=8)
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.margins(x=0.4, y=0.5 / max(len(values), 1))
    figure.tight_layout()
    return figure


def barh_chart(
    labels: list[str],
    values: list[float],
    title: str,
    xlabel: str,
    path: Path,
    top: int | None = 20,
    float_format: str = ",.1f",
    value_labels: list[str] | None = None,
) -> Path:
    """`barh_figure` written as a PNG at `path`."""
    figure = barh_figure(labels, values, title, xlabel, top, float_format, value_labels)
    figure.savefig(path, dpi=100, metadata=_PNG_METADATA)
    plt.close(figure)
    return path


def human_bytes(count: float) -> str:
    """A size as people read it: 512 B, 12.3 KiB, 4.0 MiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1000 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


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
