"""PNG plots of a build: license, language and drop-reason distributions."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_PNG_METADATA = {"Software": None}  # no version string: the same numbers give the same bytes


def _barh(labels: list[str], values: list[float], title: str, xlabel: str, path: Path, top: int = 20) -> Path:
    labels, values = labels[:top][::-1], values[:top][::-1]
    figure, axis = plt.subplots(figsize=(8, 0.35 * max(len(labels), 3) + 1.2))
    axis.barh(labels, values, color="#4c72b0")
    for index, value in enumerate(values):
        axis.text(value, index, f" {value:,.1f}" if isinstance(value, float) else f" {value:,}", va="center", fontsize=8)
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.margins(x=0.15)
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata=_PNG_METADATA)
    plt.close(figure)
    return path


def write_plots(stats: dict, folder: Path) -> list[Path]:
    """`licenses.png`, `languages.png` and `drop_reasons.png` from a build's stats."""
    licenses = [row for row in stats["per_license"] if row["kept_bytes"]]
    languages = stats["per_language"]
    reasons = stats["per_reason"]
    return [
        _barh([r["license"] for r in licenses], [r["kept_bytes"] / 2**20 for r in licenses],
              "Kept source by license", "MiB", folder / "licenses.png"),
        _barh([r["language"] for r in languages], [r["bytes"] / 2**20 for r in languages],
              "Kept source by language", "MiB", folder / "languages.png"),
        _barh([f"{r['step']}: {r['reason']}" for r in reasons], [r["files"] for r in reasons],
              "Dropped files by step and reason", "files", folder / "drop_reasons.png"),
    ]
