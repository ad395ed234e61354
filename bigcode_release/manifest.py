"""Stage manifests: inputs, recipe hash, tool versions, outputs with sha256, counts.

`manifest_hash` covers everything that describes the result and nothing about the run
(timestamps, wall time, machine paths of the output), so the same inputs and recipe give the
same hash wherever and whenever they are built.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

MANIFEST_NAME = "manifest.json"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def describe_outputs(root: Path, paths: list[Path]) -> list[dict]:
    """`{"path", "bytes", "sha256"}` for each output, paths relative to `root`, sorted."""
    rows = [
        {"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in paths
    ]
    return sorted(rows, key=lambda r: r["path"])


def tool_versions(*packages: str) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def content_hash(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def write_manifest(folder: Path, content: dict, run: dict) -> dict:
    """Write `manifest.json`: `content` (hashed), its `manifest_hash`, and `run` (not hashed)."""
    manifest = {**content, "manifest_hash": content_hash(content), "run": run}
    path = Path(folder) / MANIFEST_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return manifest


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
