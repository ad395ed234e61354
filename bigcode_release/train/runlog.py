"""A run's log: one CSV row per step (train loss, validation loss when measured, learning rate,
gradient norm, throughput) and the loss curve as a PNG."""

from __future__ import annotations

import csv
from pathlib import Path

from bigcode_release.plotting import line_chart

COLUMNS = ("step", "tokens", "learning_rate", "train_loss", "val_loss", "grad_norm", "tokens_per_second", "elapsed_s")


class RunLog:
    """Appends rows to `<run>/log.csv`; on resume, rows after the resumed step are dropped."""

    def __init__(self, path: Path, resume_step: int = 0):
        self.path = Path(path)
        rows = self.read(self.path) if self.path.is_file() and resume_step else []
        kept = [row for row in rows if int(row["step"]) <= resume_step]
        with open(self.path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(kept)

    def append(self, **row) -> None:
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            csv.DictWriter(handle, fieldnames=COLUMNS).writerow({key: row.get(key, "") for key in COLUMNS})

    @staticmethod
    def read(path: Path) -> list[dict]:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))


def plot_losses(log_path: Path, png_path: Path, title: str) -> Path:
    """Train and validation loss against step."""
    rows = RunLog.read(log_path)
    train = [(int(r["step"]), float(r["train_loss"])) for r in rows if r["train_loss"]]
    val = [(int(r["step"]), float(r["val_loss"])) for r in rows if r["val_loss"]]
    series = {"train": ([s for s, _ in train], [v for _, v in train])}
    if val:
        series["validation"] = ([s for s, _ in val], [v for _, v in val])
    return line_chart(series, title, "step", "loss (nats/token)", png_path, markers=False)
