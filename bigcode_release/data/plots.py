"""PNG plots of a build: license, language and drop-reason distributions."""

from __future__ import annotations

from pathlib import Path

from bigcode_release.plotting import barh_chart, human_bytes


def write_plots(stats: dict, folder: Path) -> list[Path]:
    """`licenses.png`, `languages.png` (every language kept) and `drop_reasons.png` from a build's
    stats; each bar says its size and file count."""
    licenses = [row for row in stats["per_license"] if row["kept_bytes"]]
    languages = stats["per_language"]
    reasons = stats["per_reason"]
    return [
        barh_chart(
            [r["license"] for r in licenses],
            [r["kept_bytes"] / 2**20 for r in licenses],
            "Kept source by license",
            "MiB",
            folder / "licenses.png",
            value_labels=[_size_and_files(r["kept_bytes"], r["kept_files"]) for r in licenses],
        ),
        barh_chart(
            [r["language"] for r in languages],
            [r["bytes"] / 2**20 for r in languages],
            "Kept source by language",
            "MiB",
            folder / "languages.png",
            top=None,
            value_labels=[_size_and_files(r["bytes"], r["files"]) for r in languages],
        ),
        barh_chart(
            [f"{r['step']}: {r['reason']}" for r in reasons],
            [r["files"] for r in reasons],
            "Dropped files by step and reason",
            "files",
            folder / "drop_reasons.png",
        ),
    ]


def _size_and_files(size: int, files: int) -> str:
    return f"{human_bytes(size)} · {files:,} file{'' if files == 1 else 's'}"
