"""The fine-tuning corpus: the user's repositories through the dataset stage itself (its folder
reader, language/size/decoding/generated/quality filters, exact and near dedup, decontamination,
and, unless the code is private, the license filter and PII redaction)."""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from bigcode_release.data.build import build_dataset
from bigcode_release.errors import FinetuneError
from bigcode_release.shipped import shipped_recipe

DEFAULT_RECIPE = shipped_recipe("the-stack-local")


@dataclass(frozen=True)
class Corpus:
    """Documents kept for fine-tuning and what the build said about the rest."""

    documents: list[str]
    dataset_dir: str
    files_in: int
    files_kept: int
    bytes_kept: int
    languages: dict[str, int]
    dropped: dict[str, int]
    pii_replaced: dict[str, int]
    private: bool

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "documents"}


def _stage_repositories(code_paths: list[Path], staging: Path) -> None:
    """One symlink per repository checkout, named after its folder (made unique)."""
    staging.mkdir(parents=True, exist_ok=True)
    for link in staging.iterdir():
        link.unlink()
    used: set[str] = set()
    for path in code_paths:
        path = Path(path).resolve()
        if not path.is_dir():
            raise FinetuneError(f"--code {path}: not a directory (give repository checkouts)")
        name = re.sub(r"[^A-Za-z0-9._-]", "-", path.name) or "code"
        unique, counter = name, 1
        while unique in used:
            counter += 1
            unique = f"{name}-{counter}"
        used.add(unique)
        (staging / unique).symlink_to(path, target_is_directory=True)


def _recipe(staging: Path, private: bool, languages: list[str] | None) -> dict:
    recipe = yaml.safe_load(DEFAULT_RECIPE.read_text(encoding="utf-8"))
    recipe.update(
        name="finetune-corpus",
        version="v1.0",
        source={"kind": "folder", "path": str(staging), "layout": "name", "default_owner": "local"},
    )
    recipe["languages"] = {"select": languages or "all"}
    recipe["license"] = {"enabled": not private, "extra_allow": []}
    recipe["pii"]["enabled"] = not private
    recipe["format"]["enabled"] = False
    recipe["executor"] = {"kind": "local", "tasks": 2, "workers": 2}
    recipe["card"]["pretty_name"] = "Fine-tuning corpus"
    return recipe


def build_corpus(
    code_paths: list[Path],
    work_dir: Path,
    private: bool = False,
    languages: list[str] | None = None,
    show_progress: bool = True,
) -> Corpus:
    """Run the dataset build over `code_paths` into `work_dir/data/` and read back what it kept."""
    work_dir = Path(work_dir)
    staging = work_dir / "repositories"
    _stage_repositories(code_paths, staging)
    recipe_path = work_dir / "corpus-recipe.yaml"
    recipe_path.write_text(yaml.safe_dump(_recipe(staging, private, languages), sort_keys=False), encoding="utf-8")
    shutil.rmtree(work_dir / "data", ignore_errors=True)  # the code may have changed since the last run
    result = build_dataset(recipe_path, work_dir / "data", show_progress=show_progress)
    dataset_dir = Path(result.version_dir)
    documents, languages_kept, total_bytes = [], {}, 0
    for shard in sorted((dataset_dir / "data").glob("*.parquet")):
        table = pq.read_table(shard, columns=["content", "language"])
        for content, language in zip(table.column("content").to_pylist(), table.column("language").to_pylist()):
            documents.append(content)
            languages_kept[language] = languages_kept.get(language, 0) + 1
            total_bytes += len(content.encode("utf-8"))
    dropped = {f"{row['step']}:{row['reason']}": row["files"] for row in result.stats["per_reason"]}
    if not documents:
        hint = "" if private else "; for private code without a license, pass --private (skips license and PII steps)"
        raise FinetuneError(
            f"no file of {', '.join(str(p) for p in code_paths)} was kept by the dataset filters "
            f"(dropped: {dropped or 'nothing read'}){hint}"
        )
    return Corpus(
        documents=documents,
        dataset_dir=str(dataset_dir),
        files_in=result.stats["totals"]["input_files"],
        files_kept=len(documents),
        bytes_kept=total_bytes,
        languages=dict(sorted(languages_kept.items())),
        dropped=dropped,
        pii_replaced=result.stats.get("pii", {}).get("replaced", {}),
        private=private,
    )
