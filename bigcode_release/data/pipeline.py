"""From a recipe to a datatrove pipeline (a list of steps) and the executor that runs it.

Steps, in order (each filter writes its drops to `work/dropped/<step>/`):

    reader -> language -> license -> opt-out -> size -> decoding -> generated -> encoded data
           -> line/character statistics -> Parquet shards

The executor (local, Slurm, Ray) knows nothing about the steps; the steps know nothing about it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.executor.base import PipelineExecutor
from datatrove.pipeline.base import PipelineStep

from bigcode_release.data.filters.language import LanguageFilter
from bigcode_release.data.filters.license import LicenseFilter
from bigcode_release.data.filters.optout import OptOutFilter
from bigcode_release.data.filters.quality import (
    CodeQualityFilter,
    DecodingFilter,
    EncodedDataFilter,
    FileSizeFilter,
    GeneratedFileFilter,
)
from bigcode_release.data.languages import LanguageTable
from bigcode_release.data.sources.repo_reader import RepoFilesReader
from bigcode_release.data.sources.stack import StackJsonlReader, StackParquetReader
from bigcode_release.data.writers import DatasetParquetWriter, DropLedgerWriter
from bigcode_release.errors import RecipeError
from bigcode_release.license.spdx import normalise, permissive_allowlist
from bigcode_release.recipe import Recipe, StackSource

# the filter steps, by the id used in stats.json and in work/dropped/<id>/
FILTER_STEPS = ("language", "license", "optout", "size", "decoding", "generated", "encoded_data", "quality")


@dataclass(frozen=True)
class BuildLayout:
    """Where a dataset version's files go."""

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

    def dropped_dir(self, step: str) -> Path:
        return self.work_dir / "dropped" / step


def selected_languages(recipe: Recipe) -> set[str] | None:
    """The recipe's language selection (None for all)."""
    if recipe.languages.select == "all":
        return None
    return set(recipe.languages.select)


def check_recipe_against_tables(recipe: Recipe, origin: str) -> None:
    """Refuse names the data tables do not know (languages, thresholds, SPDX ids), before any work.

    Raises:
        RecipeError: with one line per unknown name and a suggestion.
    """
    table = LanguageTable.load(recipe.languages.extra_table)
    known = sorted(table.languages)
    problems: list[tuple[str, str]] = []

    def unknown_language(key: str, name: str) -> None:
        hint = difflib.get_close_matches(name, known, n=1)
        problems.append((key, f"unknown language {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")))

    if recipe.languages.select != "all":
        for index, name in enumerate(recipe.languages.select):
            if name not in table:
                unknown_language(f"languages.select.{index}", name)
    for name in recipe.quality.thresholds:
        if name not in table:
            unknown_language(f"quality.thresholds.{name}", name)
    for key in ("allow", "extra_allow"):
        for index, spdx in enumerate(getattr(recipe.license, key) or []):
            if normalise(spdx).expression != spdx:
                problems.append((f"license.{key}.{index}", f"{spdx!r} is not an SPDX license id"))
    if problems:
        raise RecipeError(origin, problems)


def license_allowlist(recipe: Recipe) -> frozenset[str]:
    base = frozenset(recipe.license.allow) if recipe.license.allow is not None else permissive_allowlist()
    return base | frozenset(recipe.license.extra_allow)


def build_reader(recipe: Recipe, layout: BuildLayout, table: LanguageTable) -> PipelineStep:
    source = recipe.source
    if isinstance(source, StackSource):
        reader_class = StackParquetReader if source.format == "parquet" else StackJsonlReader
        return reader_class(source.data_folder, table, glob_pattern=source.glob_pattern, limit=source.limit)
    return RepoFilesReader(
        str(layout.plan_path),
        selected_languages(recipe),
        recipe.quality.max_file_bytes,
        progress_dir=str(layout.progress_dir),
    )


def active_filter_steps(recipe: Recipe) -> list[str]:
    """Ids of the filter steps a recipe runs, in pipeline order (recipe switches can turn some off)."""
    switched_off = {
        "generated": not recipe.quality.generated,
        "encoded_data": not recipe.quality.encoded_data.enabled,
    }
    return [step_id for step_id in FILTER_STEPS if not switched_off.get(step_id, False)]


def build_pipeline(recipe: Recipe, layout: BuildLayout) -> list[PipelineStep]:
    """The dataset pipeline for a recipe, writing into `layout`."""
    table = LanguageTable.load(recipe.languages.extra_table)
    quality = recipe.quality
    optout = str(layout.optout_copy) if recipe.optout.list else None
    filters = {
        "language": lambda: LanguageFilter(selected_languages(recipe)),
        "license": lambda: LicenseFilter(license_allowlist(recipe)),
        "optout": lambda: OptOutFilter(optout),
        "size": lambda: FileSizeFilter(quality.min_file_bytes, quality.max_file_bytes),
        "decoding": DecodingFilter,
        "generated": GeneratedFileFilter,
        "encoded_data": lambda: EncodedDataFilter(quality.encoded_data),
        "quality": lambda: CodeQualityFilter(table.languages, quality.thresholds),
    }
    steps: list[PipelineStep] = [build_reader(recipe, layout, table)]
    for step_id in active_filter_steps(recipe):
        step = filters[step_id]()
        step.exclusion_writer = DropLedgerWriter(str(layout.dropped_dir(step_id)))
        steps.append(step)
    steps.append(DatasetParquetWriter(str(layout.data_dir), compression=recipe.output.compression))
    return steps


def build_executor(recipe: Recipe, pipeline: list[PipelineStep], logging_dir: Path) -> PipelineExecutor:
    """The datatrove executor the recipe asks for (local, Slurm or Ray)."""
    executor = recipe.executor
    if executor.kind == "local":
        return LocalPipelineExecutor(
            pipeline, tasks=executor.tasks, workers=min(executor.workers, executor.tasks), logging_dir=str(logging_dir)
        )
    if executor.kind == "slurm":
        from datatrove.executor import SlurmPipelineExecutor

        slurm = executor.slurm
        return SlurmPipelineExecutor(
            pipeline,
            tasks=executor.tasks,
            workers=executor.workers,
            time=slurm.time,
            partition=slurm.partition,
            cpus_per_task=slurm.cpus_per_task,
            mem_per_cpu_gb=slurm.mem_per_cpu_gb,
            qos=slurm.qos,
            job_name=slurm.job_name,
            venv_path=slurm.venv_path,
            sbatch_args=dict(slurm.sbatch_args),
            logging_dir=str(logging_dir),
        )
    from datatrove.executor import RayPipelineExecutor

    return RayPipelineExecutor(
        pipeline,
        tasks=executor.tasks,
        workers=executor.workers,
        cpus_per_task=executor.ray.cpus_per_task,
        mem_per_cpu_gb=executor.ray.mem_per_cpu_gb,
        logging_dir=str(logging_dir),
    )
