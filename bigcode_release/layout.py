"""The release directory: where every stage's files live, and which dataset version is current.

    release/
      dataset -> dataset-versions/v1.2        the current dataset version (a convenience link)
      dataset-versions/<v>/                   `dataset build`: data, repos table, stats, card, manifest
      optout.sqlite                           the opt-out registry
      optout/                                 its export: optout-list.jsonl/.parquet, README.md
      optout/receipts/<request id>.json       what applying a request removed, and the checks run
      lookup-index.parquet                    "Am I in The Stack?" over every version
      index/<v>/                              search (BM25), suffix arrays, portrait of version <v>
      tokenizer/                              the tokenizer (kept across patch versions)
      tokenized/<v>/                          datatrove .ds shards of version <v>
      train/<run>/                            training runs (checkpoints, log, manifest)
      ablations/<name>/  finetune/<name>/
      transparency/                           report[-<edition>].md, statements[-<edition>].yaml
      hub/generated/                          files the Hub needs that no stage writes (model cards...)
      hub-trees/                              `release push --to-dir` (what a push would upload)
      hub-release.json                        what the last push published
      release-run/                            `release run`'s own records (last-run.json)

Every stage folder holds a `manifest.json`. The current dataset version is the newest complete
one in version order (`v1.10` after `v1.9`); `dataset` links to it. Nothing in a manifest names
the release directory's own path, so a release can be moved or copied.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from bigcode_release.data.dedup.layout import DedupLayout
from bigcode_release.errors import ReleaseDirectoryError
from bigcode_release.manifest import MANIFEST_NAME

VERSIONS_DIR = "dataset-versions"
CURRENT_LINK = "dataset"


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a version name: `v1.10` after `v1.9`."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def next_version(version: str) -> str:
    """The next patch version: `v1.1` -> `v1.2`, `v2` -> `v2.1`."""
    parts = list(version_key(version))
    if len(parts) == 1:
        parts.append(0)
    parts[-1] += 1
    return "v" + ".".join(str(p) for p in parts)


@dataclass(frozen=True)
class BuildLayout:
    """Where a dataset version's files go (inside `dataset-versions/<v>/`)."""

    version_dir: Path

    @property
    def data_dir(self) -> Path:
        return self.version_dir / "data"

    @property
    def work_dir(self) -> Path:
        return self.version_dir / "work"

    @property
    def plan_path(self) -> Path:
        return self.work_dir / "plan.json"

    @property
    def optout_copy(self) -> Path:
        return self.work_dir / "optout.jsonl"

    @property
    def progress_dir(self) -> Path:
        return self.work_dir / "progress"

    @property
    def filtered_dir(self) -> Path:
        """Hand-off shards from the filter stage to the finish stage (deleted after a build)."""
        return self.work_dir / "filtered"

    @property
    def pii_dir(self) -> Path:
        """Per-file PII counts (never the values)."""
        return self.work_dir / "pii"

    @property
    def dedup(self) -> DedupLayout:
        return DedupLayout(self.work_dir / "dedup")

    @property
    def dropped_root(self) -> Path:
        """The drop ledgers, one folder per step (who was dropped and why, never the content)."""
        return self.work_dir / "dropped"

    def dropped_dir(self, step: str) -> Path:
        return self.dropped_root / step

    def stage_dir(self, stage: str) -> Path:
        """A stage's datatrove logging folder (logs, stats, completions)."""
        return self.work_dir / "stages" / stage


def _complete(folder: Path) -> bool:
    return (folder / MANIFEST_NAME).is_file()


@dataclass(frozen=True)
class ReleaseLayout:
    """The folders of one release directory (see the module docstring)."""

    root: Path

    @classmethod
    def at(cls, root: str | Path) -> ReleaseLayout:
        return cls(Path(root).resolve())

    # -- dataset versions ---------------------------------------------------------------------------
    @property
    def versions_dir(self) -> Path:
        return self.root / VERSIONS_DIR

    @property
    def current_link(self) -> Path:
        return self.root / CURRENT_LINK

    def version_dir(self, version: str) -> Path:
        return self.versions_dir / version

    def built_versions(self) -> list[Path]:
        """Folders of the complete dataset versions (those with a manifest), oldest first."""
        root = self.versions_dir
        found = [d for d in root.iterdir() if _complete(d)] if root.is_dir() else []
        return sorted(found, key=lambda d: version_key(d.name))

    def current_version(self) -> str | None:
        """The newest complete dataset version, or None when there is none."""
        versions = self.built_versions()
        return versions[-1].name if versions else None

    def dataset_dir(self, version: str | None = None) -> Path:
        """A complete dataset version's folder (default: the current one).

        Raises:
            ReleaseDirectoryError: there is no such complete version.
        """
        name = version or self.current_version()
        if name is None:
            raise ReleaseDirectoryError(f"{self.root} holds no built dataset version; run `dataset build` first")
        folder = self.version_dir(name)
        if not _complete(folder):
            built = ", ".join(d.name for d in self.built_versions()) or "none"
            raise ReleaseDirectoryError(f"{self.root}: no complete dataset version {name!r} (built: {built})")
        return folder

    def point_current(self) -> None:
        """Make `dataset` link to the current version (atomically)."""
        current = self.current_version()
        link = self.current_link
        if current is None:
            return
        if link.exists() and not link.is_symlink():
            raise ReleaseDirectoryError(f"{link} exists and is not a link to a dataset version; move it away")
        tmp = self.root / f".{CURRENT_LINK}.tmp"
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(Path(VERSIONS_DIR) / current)
        os.replace(tmp, link)

    # -- opt-out ------------------------------------------------------------------------------------
    @property
    def registry(self) -> Path:
        return self.root / "optout.sqlite"

    @property
    def optout_dir(self) -> Path:
        return self.root / "optout"

    @property
    def receipts_dir(self) -> Path:
        return self.optout_dir / "receipts"

    def receipt(self, request_id: str) -> Path:
        return self.receipts_dir / f"{request_id}.json"

    @property
    def lookup_index(self) -> Path:
        return self.root / "lookup-index.parquet"

    # -- indexes, tokenizer, shards -----------------------------------------------------------------
    @property
    def index_root(self) -> Path:
        return self.root / "index"

    def index_dir(self, version: str) -> Path:
        return self.index_root / version

    def current_index(self, version: str | None = None) -> Path:
        """The index folder of `version` (default: the newest indexed version in version order).

        Raises:
            ReleaseDirectoryError: that version has no complete index.
        """
        if version:
            folder = self.index_dir(version)
        else:
            found = [d for d in self.index_root.iterdir() if _complete(d)] if self.index_root.is_dir() else []
            folder = max(found, key=lambda d: version_key(d.name)) if found else self.index_root / "-"
        if not _complete(folder):
            raise ReleaseDirectoryError(f"{folder}: no data index; run `bigcode-release index build {self.root}` first")
        return folder

    @property
    def tokenizer_dir(self) -> Path:
        return self.root / "tokenizer"

    @property
    def tokenized_root(self) -> Path:
        return self.root / "tokenized"

    def tokenized_dir(self, version: str) -> Path:
        return self.tokenized_root / version

    # -- model side ---------------------------------------------------------------------------------
    @property
    def train_root(self) -> Path:
        return self.root / "train"

    def run_dir(self, name: str) -> Path:
        return self.train_root / name

    def runs(self) -> list[Path]:
        """Training run folders that hold a run manifest, by name."""
        return sorted(p.parent for p in self.train_root.glob(f"*/{MANIFEST_NAME}"))

    def ablation_dir(self, name: str) -> Path:
        return self.root / "ablations" / name

    @property
    def finetune_root(self) -> Path:
        return self.root / "finetune"

    # -- release ------------------------------------------------------------------------------------
    @property
    def transparency_dir(self) -> Path:
        return self.root / "transparency"

    @property
    def transparency_report(self) -> Path:
        return self.transparency_dir / "report.md"

    @property
    def hub_generated(self) -> Path:
        return self.root / "hub" / "generated"

    @property
    def hub_release_record(self) -> Path:
        return self.root / "hub-release.json"

    @property
    def run_records(self) -> Path:
        return self.root / "release-run"


CHECKPOINTS_DIR = "checkpoints"
RUN_STATE_FILE = "trainer_state.json"  # written last: a checkpoint folder without it is incomplete


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    """`<run>/checkpoints/step-000200`."""
    return Path(run_dir) / CHECKPOINTS_DIR / f"step-{step:06d}"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """A training run's complete checkpoints, oldest first."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    found = [d for d in root.glob("step-*") if (d / RUN_STATE_FILE).is_file()] if root.is_dir() else []
    return sorted(found, key=lambda d: int(d.name.split("-")[1]))


def resolve_dataset_dir(path: str | Path) -> Path:
    """A dataset version folder from a version folder, the `dataset` link, or a release root.

    Raises:
        ReleaseDirectoryError: `path` is none of these.
    """
    path = Path(path)
    if _complete(path) and (path / "stats.json").is_file():
        return path.resolve()
    if (path / VERSIONS_DIR).is_dir() or (path / CURRENT_LINK).exists():
        return ReleaseLayout.at(path).dataset_dir()
    raise ReleaseDirectoryError(f"{path} is not a built dataset version (no stats.json); run `dataset build` first")
