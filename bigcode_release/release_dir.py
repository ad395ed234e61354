"""The layout of a release directory shared by every stage: where dataset versions live and how
they are ordered."""

from __future__ import annotations

import re
from pathlib import Path

VERSIONS_DIR = "dataset-versions"
CURRENT_LINK = "dataset"


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a version name: `v1.10` after `v1.9`."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def built_versions(release_dir: str | Path) -> list[Path]:
    """Folders of the complete dataset versions (those with a manifest), oldest first."""
    root = Path(release_dir) / VERSIONS_DIR
    found = [d for d in root.glob("*") if (d / "manifest.json").is_file()] if root.is_dir() else []
    return sorted(found, key=lambda d: version_key(d.name))
