"""The whole release in one command. Each stage takes typed inputs (the recipes loaded and checked
before any work, composed with `model_copy`) and reuses what an earlier run finished from the same
inputs, so a re-run after a failure starts where it stopped, and a run whose inputs did not
change reuses everything.

When the inputs of the newest dataset version changed (an approved opt-out request it does not
apply, a package installed or removed, another setting), the run cuts the next version (v1.1 ->
v1.2) and says why; every later stage runs on it: its indexes, its shards, a training run of its
own (a run never continues on other data), its evaluation, and the trees to publish. Requests the
new version applies are verified absent from its artifacts, get a removal receipt, and are marked
applied. The tokenizer is kept across versions unless `tokenizer.retrain` is set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from bigcode_release.data.build import build_dataset, prepare_build, recorded_identity
from bigcode_release.data.identity import DatasetIdentity, differences
from bigcode_release.errors import BigcodeReleaseError, RecipeError, ReleaseRunError
from bigcode_release.layout import ReleaseLayout, next_version, version_key
from bigcode_release.manifest import read_manifest
from bigcode_release.recipe import (
    OptOutConfig,
    Recipe,
    Strict,
    load_model_file,
    load_recipe,
    merge_settings,
    validate_model,
)
from bigcode_release.release.space_tree import running_from_checkout
from bigcode_release.shipped import recipe_base_dir, resolve_recipe
from bigcode_release.train.recipe import TrainRecipe, load_train_recipe


class SampleOptOut(Strict):
    owner: str
    message: str = "sample opt-out request"


class TokenizerSettings(Strict):
    vocab_size: int = Field(default=8192, ge=300)
    sample_mb: float = Field(default=40.0, gt=0)
    retrain: bool = Field(default=False, description="train a new tokenizer even when one with these settings exists")


class EvalStageSettings(Strict):
    tasks: str = "humaneval"
    n: int = Field(default=1, ge=1)
    k: list[int] = Field(default_factory=lambda: [1])
    max_new_tokens: int = Field(default=96, ge=1)
    max_problems: int | None = Field(default=None, ge=1)
    allow_code_execution: bool = Field(
        default=False, description="run the generated code (in the sandbox) to score it; off: no evaluation stage"
    )


class ReleaseStageSettings(Strict):
    org: str = "local"
    to_dir: str = "hub-trees"
    wheel: Path | None = Field(
        default=None,
        description="the toolkit's wheel the Spaces carry; default: built from this checkout (an installed "
        "toolkit must name its wheel)",
    )


class RunRecipe(Strict):
    """`recipes/release-default.yaml`; relative paths resolve against the recipe's folder."""

    dataset_recipe: Path
    dataset_version: str = Field(
        pattern=r"^v\d+(\.\d+)*$", description="the first version; later runs cut the next one when inputs change"
    )
    sample_optout: SampleOptOut | None = None
    tokenizer: TokenizerSettings = TokenizerSettings()
    train_recipe: Path
    train_overrides: dict[str, Any] = Field(default_factory=dict)
    eval: EvalStageSettings = EvalStageSettings()
    release: ReleaseStageSettings = ReleaseStageSettings()


@dataclass(frozen=True)
class ReleaseRecipes:
    """The release-run recipe and the dataset and training recipes it names, all checked."""

    run: RunRecipe
    dataset: Recipe
    train: TrainRecipe
    origin: str


def _referenced(base: Path, name: Path) -> Path:
    """A recipe the release-run recipe names: next to it, else a shipped recipe of that name."""
    path = name if name.is_absolute() else base / name
    return path if path.is_file() else resolve_recipe(name.name)


def load_run_recipes(path: str | Path) -> ReleaseRecipes:
    """Load the release-run recipe and the recipes it names; every problem is refused here, before
    any work (a bad `train_overrides` names its key)."""
    path = resolve_recipe(path)
    recipe = load_model_file(RunRecipe, path)
    base = recipe_base_dir(path)
    dataset = load_recipe(_referenced(base, recipe.dataset_recipe))
    train_path = _referenced(base, recipe.train_recipe)
    train = load_train_recipe(train_path)
    if recipe.release.wheel is not None:
        recipe.release.wheel = (
            recipe.release.wheel if recipe.release.wheel.is_absolute() else base / recipe.release.wheel
        )
    elif not running_from_checkout():
        raise RecipeError(
            str(path),
            [("release.wheel", "this toolkit is installed, not a checkout: name the wheel it was installed from")],
        )
    if recipe.train_overrides:
        train = validate_model(
            TrainRecipe,
            merge_settings(train.model_dump(mode="json"), recipe.train_overrides),
            base_dir=train_path.parent,
            origin=f"{path} (train_overrides over {train_path.name})",
        )
    return ReleaseRecipes(recipe, dataset, train, str(path))


@dataclass
class StageOutcome:
    name: str
    seconds: float
    summary: dict = field(default_factory=dict)


@dataclass
class RunResult:
    release: str
    stages: list[StageOutcome]
    seconds: float

    def to_dict(self) -> dict:
        return {
            "release": self.release,
            "seconds": round(self.seconds, 1),
            "stages": [{"name": s.name, "seconds": round(s.seconds, 1), **s.summary} for s in self.stages],
        }


def choose_version(layout: ReleaseLayout, first: str, identity: DatasetIdentity) -> tuple[str, list[str]]:
    """The dataset version to build: the newest one (at or after `first`) when it was built from
    the same inputs, else the next one, with what differs."""
    built = [d for d in layout.built_versions() if version_key(d.name) >= version_key(first)]
    why: list[str] = []
    candidate = first
    if built:
        newest = built[-1]
        recorded_hash, recorded, _ = recorded_identity(newest)
        if recorded_hash == identity.hash:
            return newest.name, []
        why = (
            differences(recorded, identity, newest.name)
            if recorded
            else [f"{newest.name} was built by an older bigcode-release that did not record its inputs by content"]
        )
        candidate = next_version(newest.name)
    while recorded_identity(layout.version_dir(candidate))[0] not in (None, identity.hash):
        why.append(f"an unfinished build of {candidate} was started from other inputs")
        candidate = next_version(candidate)
    return candidate, why  # a fresh version, or an unfinished build of these inputs to resume


class ReleaseRun:
    """The stages, in order, over one release directory."""

    STAGES = (
        "optout",
        "dataset",
        "index",
        "tokenizer",
        "tokenize",
        "receipts",
        "train",
        "evaluate",
        "transparency",
        "publish",
    )

    def __init__(self, recipes: ReleaseRecipes, release: Path, show_progress: bool, say: Callable[[str], None]):
        self.recipes = recipes
        self.recipe = recipes.run
        self.layout = ReleaseLayout.at(release)
        self.show = show_progress
        self.say = say
        self.version: str | None = None
        self.run_dir: Path | None = None

    # -- stages ------------------------------------------------------------------------------------
    def optout(self) -> dict:
        from bigcode_release.optout.export import export_optouts
        from bigcode_release.optout.registry import OptOutRegistry

        sample = self.recipe.sample_optout
        with OptOutRegistry(self.layout.registry) as registry:
            honoured = registry.requests(status="approved") + registry.requests(status="applied")
            if sample and not any(r.username.lower() == sample.owner.lower() for r in honoured):
                request = registry.submit(sample.owner, message=sample.message, client="release run")
                registry.approve(request.id, by="release run (sample)")
            exported = export_optouts(registry, self.layout.optout_dir)
            unapplied = [r.id for r in registry.requests(status="approved")]
        return {
            "requests": exported.requests,
            "entries": exported.entries,
            "list": str(exported.jsonl),
            "approved_not_yet_applied": unapplied,
        }

    def dataset(self) -> dict:
        from bigcode_release.optout.export import exported_list

        listed = exported_list(self.layout.optout_dir)
        optout = OptOutConfig.model_validate({"list": listed}, context={"base_dir": self.layout.root})

        def at(version: str) -> Recipe:
            return self.recipes.dataset.model_copy(update={"version": version, "optout": optout})

        first = self.recipe.dataset_version
        prepared = prepare_build(at(first))  # the identity does not depend on the version's name
        version, why = choose_version(self.layout, first, prepared.identity)
        if why:
            self.say(f"dataset: cutting {version}: " + "; ".join(why))
        result = build_dataset(at(version), self.layout.root, show_progress=self.show, prepared=prepared)
        self.version = result.version_dir.name
        totals, optout_stats = result.stats["totals"], result.stats["optout"]
        return {
            "version": self.version,
            "new_version_because": why,
            "files": totals["kept_files"],
            "bytes": totals["kept_bytes"],
            "opted_out_files": optout_stats["removed_files"],
            "opted_out_copies": optout_stats.get("copies_removed", 0),
            "manifest_hash": result.manifest["manifest_hash"],
            "reused": result.reused,
        }

    def index(self) -> dict:
        from bigcode_release.index.build import build_indexes

        result = build_indexes(self.layout.root, self.version, show_progress=self.show)
        return {"folder": result.folder, "documents": result.documents, "sizes": result.sizes, "reused": result.reused}

    def tokenizer(self) -> dict:
        from bigcode_release.tokenizer.training import train_tokenizer

        settings = self.recipe.tokenizer
        existing = read_manifest(self.layout.tokenizer_dir) or {}
        parameters = existing.get("parameters", {})
        if (
            not settings.retrain
            and parameters.get("vocab_size") == settings.vocab_size
            and parameters.get("sample_mb") == settings.sample_mb
            and (self.layout.tokenizer_dir / "tokenizer.json").is_file()
        ):
            return {
                "vocab_size": settings.vocab_size,
                "sample_from": existing["inputs"]["dataset_version"],
                "reused": True,
            }
        report = train_tokenizer(
            self.layout.root, vocab_size=settings.vocab_size, sample_mb=settings.sample_mb, progress=self.show
        )
        overall = next((row for row in report.fertility if row["language"] == "all"), {})
        return {
            "vocab_size": report.vocab_size,
            "sample_from": report.dataset_version,
            "fertility": overall.get("chars_per_token"),
            "reused": False,
        }

    def tokenize(self) -> dict:
        from bigcode_release.tokenizer.shards import tokenize_dataset

        report = tokenize_dataset(self.layout.root, show_progress=self.show)
        return {"splits": report.splits, "folder": report.output_dir, "reused": report.reused}

    def receipts(self) -> dict:
        from bigcode_release.optout.receipts import apply_requests
        from bigcode_release.optout.registry import OptOutRegistry

        with OptOutRegistry(self.layout.registry) as registry:
            applied = apply_requests(self.layout, registry, self.version, by="release run")
        failed = {r.request_id: r.summary() for r in applied.receipts if not r.verified}
        if failed or applied.waiting:
            problems = {**failed, **applied.waiting}
            raise ReleaseRunError(
                f"opt-out requests of {self.version} are not verified: "
                + "; ".join(f"{k}: {v}" for k, v in problems.items())
            )
        return applied.to_dict()

    def train(self) -> dict:
        from bigcode_release.train.torch_engine import train_torch

        recipe = self.recipes.train
        data = recipe.data.model_copy(
            update={"release": self.layout.root, "dataset_version": self.version, "tokenized": None, "validation": None}
        )
        recipe = recipe.model_copy(update={"name": f"{recipe.name}-{self.version}", "data": data})
        result = train_torch(recipe, origin=self.recipes.origin, show_progress=self.show)
        self.run_dir = Path(result.run_dir)
        return {
            "run_dir": result.run_dir,
            "steps": result.steps,
            "parameters": result.parameters,
            "first_val_loss": result.first_val_loss,
            "final_val_loss": result.final_val_loss,
            "tokens_per_second": result.tokens_per_second,
            "resumed_from": result.resumed_from,
        }

    def evaluate(self) -> dict:
        from bigcode_release.evaluate.runner import EvalSettings, default_series_dir, evaluate_series
        from bigcode_release.evaluate.tasks import resolve_tasks

        settings = self.recipe.eval
        if not settings.allow_code_execution:
            return {"skipped": f"eval.allow_code_execution is off in {self.recipes.origin}", "checkpoints": []}
        # `heldout-bpb` without a folder: the held-out sample of this run's own tokenized version
        own = f"heldout-bpb={self.layout.tokenized_dir(self.version)}"
        spec = ",".join(own if t.strip() == "heldout-bpb" else t for t in settings.tasks.split(","))
        series = evaluate_series(
            self.run_dir,
            EvalSettings(
                tasks=tuple(resolve_tasks(spec)),
                n=settings.n,
                ks=tuple(settings.k),
                max_new_tokens=settings.max_new_tokens,
                max_problems=settings.max_problems,
            ),
            default_series_dir(self.run_dir),
            allow_code_execution=True,
            show_progress=self.show,
        )
        return {
            "code_execution": "allowed by the recipe (eval.allow_code_execution), in the sandbox",
            "plot": series.plot,
            "checkpoints": [{"step": c.step, "scores": c.scores} for c in series.checkpoints],
        }

    def transparency(self) -> dict:
        from bigcode_release.release.plan import release_transparency
        from bigcode_release.release.settings import load_release_settings
        from bigcode_release.release.transparency.report import write_markdown

        report = release_transparency(self.layout.root, load_release_settings())
        return {
            "edition": report.edition,
            "score": report.score,
            "best_published": report.to_dict()["best_published"],
            "counts": report.counts(),
            "inputs": report.inputs,
            "report": str(write_markdown(report, self.layout.root)),
        }

    def publish(self) -> dict:
        from bigcode_release.release.plan import make_plan
        from bigcode_release.release.push import write_repo_trees
        from bigcode_release.release.settings import load_release_settings

        plans = make_plan(
            self.layout.root, self.recipe.release.org, load_release_settings(), wheel=self.recipe.release.wheel
        )
        path = write_repo_trees(plans, self.layout.root / self.recipe.release.to_dir, self.layout.root)
        return {
            "plan": str(path),
            "repos": [f"{p.repo_type}s/{p.repo_id}" + (f"@{p.tag}" if p.tag else "") for p in plans],
        }

    def run(self) -> RunResult:
        """Run every stage in order; a stage's error becomes a `ReleaseRunError` naming it."""
        started = time.monotonic()
        outcomes = []
        for name in self.STAGES:
            self.say(f"stage {name}: running")
            stage_started = time.monotonic()
            try:
                summary = getattr(self, name)()
            except BigcodeReleaseError as exc:
                raise ReleaseRunError(
                    f"stage '{name}' failed: {exc}\nfix it and run the same command again: finished "
                    "stages are reused, the run resumes at this one"
                ) from None
            outcome = StageOutcome(name, time.monotonic() - stage_started, summary)
            outcomes.append(outcome)
            self.say(f"stage {name}: done in {outcome.seconds:.0f} s")
        result = RunResult(str(self.layout.root), outcomes, time.monotonic() - started)
        self.layout.run_records.mkdir(parents=True, exist_ok=True)
        (self.layout.run_records / "last-run.json").write_text(
            json.dumps(result.to_dict(), indent=2, default=str) + "\n", encoding="utf-8"
        )
        return result
