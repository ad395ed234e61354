"""From a recipe to datatrove pipelines (one per stage) and the executors that run them.

Stages, each a datatrove pipeline run by the recipe's executor after the previous one:

    filter    reader -> language -> opt-out -> license -> size -> decoding -> generated
              -> encoded data -> line/character statistics -> fingerprints (dedup keys,
              MinHash signatures, benchmark matches) -> hand-off shards (work/filtered/)
    buckets   datatrove's MinhashDedupBuckets: candidate pairs per band (near dedup on)
    resolve   which files copy opted-out code, which are exact or near duplicates, and which
              copy is kept (one task)
    finish    hand-off shards -> opted-out copies -> exact dedup -> near dedup -> PII redaction
              -> decontamination -> training format -> Parquet shards

The opt-out comes right after the language step (before the license step), so every file of an
opted-out owner is removed *as an opt-out* and fingerprinted to find its copies elsewhere.

Each filter writes its drops to `work/dropped/<step>/`. The executor (local, Slurm, Ray) knows
nothing about the steps; the steps know nothing about it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.executor.base import PipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets

from bigcode_release.data.dedup.steps import (
    EXACT,
    NEAR,
    DedupResolver,
    DuplicateFilter,
    Fingerprints,
    OptOutCopyFilter,
    minhash_config,
)
from bigcode_release.data.filters.decontamination import DecontaminationFilter
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
from bigcode_release.data.formatting import TrainingFormatter
from bigcode_release.data.languages import LanguageTable
from bigcode_release.data.redaction import PIIRedactor
from bigcode_release.data.sources.handoff import HandoffReader
from bigcode_release.data.sources.repo_reader import RepoFilesReader
from bigcode_release.data.sources.stack import StackJsonlReader, StackParquetReader
from bigcode_release.data.stats import SOURCE_STEP, WRITER_STEP
from bigcode_release.data.writers import DatasetParquetWriter, DropLedgerWriter
from bigcode_release.errors import RecipeError
from bigcode_release.layout import BuildLayout
from bigcode_release.license.spdx import normalise, permissive_allowlist
from bigcode_release.recipe import NearDedupConfig, Recipe, StackSource

# the filter steps of the filter stage, by the id used in stats.json and in work/dropped/<id>/
FILTER_STEPS = ("language", "optout", "license", "size", "decoding", "generated", "encoded_data", "quality")
# the steps of the finish stage, in order (pii and format change documents, the others drop some)
FINISH_STEPS = ("optout_copies", "exact_dedup", "near_dedup", "pii", "decontamination", "format")
# ids of the steps that drop nothing
FINGERPRINTS_STEP, HANDOFF_WRITE_STEP, HANDOFF_READ_STEP = "fingerprints", "handoff_write", "handoff_read"
PASS_THROUGH_STEPS = frozenset({FINGERPRINTS_STEP, "pii", "format"})


@dataclass
class Stage:
    """One datatrove pipeline of a build, with the accounting id of each step."""

    name: str
    steps: list[PipelineStep]
    step_ids: list[str]
    tasks: int


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
        return reader_class(
            source.data_folder,
            table,
            schema=source.schema_,
            content_store=source.content_store,
            glob_pattern=source.glob_pattern,
            limit=source.limit,
        )
    return RepoFilesReader(
        str(layout.plan_path),
        selected_languages(recipe),
        recipe.quality.max_file_bytes,
        progress_dir=str(layout.progress_dir),
    )


def active_filter_steps(recipe: Recipe) -> list[str]:
    """Ids of the filter steps a recipe runs, in pipeline order (recipe switches can turn some off)."""
    switched_off = {
        "license": not recipe.license.enabled,
        "generated": not recipe.quality.generated,
        "encoded_data": not recipe.quality.encoded_data.enabled,
    }
    return [step_id for step_id in FILTER_STEPS if not switched_off.get(step_id, False)]


def active_finish_steps(recipe: Recipe) -> list[str]:
    """Ids of the finish stage's steps a recipe runs, in pipeline order."""
    enabled = {
        "optout_copies": recipe.optout.list is not None,
        "exact_dedup": recipe.dedup.exact.enabled,
        "near_dedup": recipe.dedup.near.enabled,
        "pii": recipe.pii.enabled,
        "decontamination": recipe.decontamination.enabled,
        "format": recipe.format.enabled,
    }
    return [step_id for step_id in FINISH_STEPS if enabled[step_id]]


def _resolve_enabled(recipe: Recipe) -> bool:
    """Whether the resolve stage runs: for dedup, or to find copies of opted-out files."""
    return recipe.dedup.exact.enabled or recipe.dedup.near.enabled or recipe.optout.list is not None


def _near(recipe: Recipe) -> NearDedupConfig | None:
    return recipe.dedup.near if recipe.dedup.near.enabled else None


def _with_ledger(step: PipelineStep, layout: BuildLayout, step_id: str) -> PipelineStep:
    step.exclusion_writer = DropLedgerWriter(str(layout.dropped_dir(step_id)))
    return step


def filter_stage(recipe: Recipe, layout: BuildLayout) -> Stage:
    """Read, filter, compute dedup keys and signatures, write the hand-off shards."""
    table = LanguageTable.load(recipe.languages.extra_table)
    quality = recipe.quality
    optout = str(layout.optout_copy) if recipe.optout.list else None
    queries = str(layout.dedup.optout_queries) if recipe.optout.list else None
    filters = {
        "language": lambda: LanguageFilter(selected_languages(recipe)),
        "license": lambda: LicenseFilter(license_allowlist(recipe)),
        "optout": lambda: OptOutFilter(optout, queries, _near(recipe)),
        "size": lambda: FileSizeFilter(quality.min_file_bytes, quality.max_file_bytes),
        "decoding": DecodingFilter,
        "generated": GeneratedFileFilter,
        "encoded_data": lambda: EncodedDataFilter(quality.encoded_data),
        "quality": lambda: CodeQualityFilter(table.languages, quality.thresholds),
    }
    steps: list[PipelineStep] = [build_reader(recipe, layout, table)]
    step_ids = [SOURCE_STEP, *active_filter_steps(recipe)]
    steps += [_with_ledger(filters[step_id](), layout, step_id) for step_id in step_ids[1:]]
    if _resolve_enabled(recipe) or recipe.decontamination.enabled:
        decontamination = recipe.decontamination if recipe.decontamination.enabled else None
        steps.append(Fingerprints(layout.dedup, license_allowlist(recipe), _near(recipe), decontamination))
        step_ids.append(FINGERPRINTS_STEP)
    steps.append(DatasetParquetWriter(str(layout.filtered_dir), compression=None, output_filename="${rank}.parquet"))
    step_ids.append(HANDOFF_WRITE_STEP)
    return Stage("filter", steps, step_ids, recipe.executor.tasks)


def finish_stage(recipe: Recipe, layout: BuildLayout) -> Stage:
    """Read the hand-off shards, drop duplicates and benchmark files, redact, format, write."""
    build = {
        "optout_copies": lambda: _with_ledger(OptOutCopyFilter(layout.dedup), layout, "optout_copies"),
        "exact_dedup": lambda: _with_ledger(DuplicateFilter(layout.dedup, EXACT), layout, "exact_dedup"),
        "near_dedup": lambda: _with_ledger(DuplicateFilter(layout.dedup, NEAR), layout, "near_dedup"),
        "pii": lambda: PIIRedactor(recipe.pii, str(layout.pii_dir)),
        "decontamination": lambda: _with_ledger(DecontaminationFilter(layout.dedup), layout, "decontamination"),
        "format": lambda: TrainingFormatter(recipe.format),
    }
    steps: list[PipelineStep] = [HandoffReader(str(layout.filtered_dir))]
    step_ids = [HANDOFF_READ_STEP]
    for step_id in active_finish_steps(recipe):
        steps.append(build[step_id]())
        step_ids.append(step_id)
    steps.append(
        DatasetParquetWriter(
            str(layout.data_dir), compression=recipe.output.compression, with_text=recipe.format.enabled
        )
    )
    step_ids.append(WRITER_STEP)
    return Stage("finish", steps, step_ids, recipe.executor.tasks)


def build_stages(recipe: Recipe, layout: BuildLayout) -> list[Stage]:
    """The stages a recipe runs, in order."""
    stages = [filter_stage(recipe, layout)]
    dedup = layout.dedup
    if recipe.dedup.near.enabled:
        config = minhash_config(recipe.dedup.near)
        buckets = MinhashDedupBuckets(str(dedup.buckets), str(dedup.pairs), config=config)
        stages.append(Stage("buckets", [buckets], ["minhash_buckets"], config.num_buckets))
    if _resolve_enabled(recipe):
        resolver = DedupResolver(dedup, recipe.executor.tasks, recipe.dedup.exact.enabled, _near(recipe))
        stages.append(Stage("resolve", [resolver], ["resolve"], 1))
    stages.append(finish_stage(recipe, layout))
    return stages


def build_executor(
    recipe: Recipe, stage: Stage, logging_dir: Path, depends: PipelineExecutor | None = None
) -> PipelineExecutor:
    """The datatrove executor the recipe asks for (local, Slurm or Ray) for one stage.

    `depends` is only used by Slurm (jobs are chained with sbatch dependencies); local and Ray
    stages are run one after the other by the caller, which checks each one finished."""
    executor = recipe.executor
    pipeline, tasks = stage.steps, stage.tasks
    if executor.kind == "local":
        return LocalPipelineExecutor(
            pipeline,
            tasks=tasks,
            workers=min(executor.workers, tasks),
            logging_dir=str(logging_dir),
            start_method=executor.start_method,
        )
    if executor.kind == "slurm":
        from datatrove.executor import SlurmPipelineExecutor

        slurm = executor.slurm
        return SlurmPipelineExecutor(
            pipeline,
            tasks=tasks,
            workers=executor.workers,
            time=slurm.time,
            partition=slurm.partition,
            cpus_per_task=slurm.cpus_per_task,
            mem_per_cpu_gb=slurm.mem_per_cpu_gb,
            qos=slurm.qos,
            job_name=f"{slurm.job_name}-{stage.name}",
            depends=depends,
            venv_path=slurm.venv_path,
            sbatch_args=dict(slurm.sbatch_args),
            logging_dir=str(logging_dir),
        )
    from datatrove.executor import RayPipelineExecutor

    return RayPipelineExecutor(
        pipeline,
        tasks=tasks,
        workers=executor.workers,
        cpus_per_task=executor.ray.cpus_per_task,
        mem_per_cpu_gb=executor.ray.mem_per_cpu_gb,
        logging_dir=str(logging_dir),
    )
