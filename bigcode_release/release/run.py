"""The whole release in one command: each stage reuses what a previous run finished (every stage
is idempotent: a built version, an index or tokenized shards with the same inputs, a training run's
checkpoints, evaluation results with the same settings are found and kept), so a re-run after a
failure starts where it stopped. A failing stage stops the run with its name in the error."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field

from bigcode_release.errors import BigcodeReleaseError, PipelineError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.recipe import Strict, load_model_file


class SampleOptOut(Strict):
    owner: str
    message: str = "sample opt-out request"


class TokenizerSettings(Strict):
    vocab_size: int = Field(default=8192, ge=300)
    sample_mb: float = Field(default=40.0, gt=0)


class EvalStageSettings(Strict):
    tasks: str = "humaneval"
    n: int = Field(default=1, ge=1)
    k: list[int] = Field(default_factory=lambda: [1])
    max_new_tokens: int = Field(default=96, ge=1)
    max_problems: int | None = Field(default=None, ge=1)


class ReleaseStageSettings(Strict):
    org: str = "local"
    to_dir: str = "hub-trees"


class PipelineRecipe(Strict):
    """`recipes/release-default.yaml`; relative paths resolve against the recipe's folder."""

    dataset_recipe: Path
    dataset_version: str = Field(pattern=r"^v\d+(\.\d+)*$")
    sample_optout: SampleOptOut | None = None
    tokenizer: TokenizerSettings = TokenizerSettings()
    train_recipe: Path
    train_overrides: dict[str, Any] = Field(default_factory=dict)
    eval: EvalStageSettings = EvalStageSettings()
    release: ReleaseStageSettings = ReleaseStageSettings()


@dataclass
class StageOutcome:
    name: str
    seconds: float
    summary: dict = field(default_factory=dict)


@dataclass
class PipelineResult:
    release: str
    stages: list[StageOutcome]
    seconds: float

    def to_dict(self) -> dict:
        return {
            "release": self.release,
            "seconds": round(self.seconds, 1),
            "stages": [{"name": s.name, "seconds": round(s.seconds, 1), **s.summary} for s in self.stages],
        }


def load_pipeline(path: str | Path) -> PipelineRecipe:
    recipe = load_model_file(PipelineRecipe, path)
    base = Path(path).resolve().parent
    recipe = recipe.model_copy(
        update={
            "dataset_recipe": (base / recipe.dataset_recipe).resolve(),
            "train_recipe": (base / recipe.train_recipe).resolve(),
        }
    )
    for item in (recipe.dataset_recipe, recipe.train_recipe):
        if not item.is_file():
            raise PipelineError(f"{path}: {item} does not exist")
    return recipe


class Pipeline:
    """The stages, in order, over one release directory."""

    def __init__(self, recipe: PipelineRecipe, release: Path, show_progress: bool, say: Callable[[str], None]):
        self.recipe = recipe
        self.release = Path(release).resolve()
        self.show = show_progress
        self.say = say
        self.layout = ReleaseLayout(self.release)
        self.work = self.layout.pipeline_dir

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
        return {"requests": exported.requests, "entries": exported.entries, "list": str(exported.jsonl)}

    def dataset(self) -> dict:
        from bigcode_release.data.build import build_dataset
        from bigcode_release.optout.export import exported_list

        recipe = yaml.safe_load(self.recipe.dataset_recipe.read_text(encoding="utf-8"))
        recipe["version"] = self.recipe.dataset_version
        recipe["optout"] = {"list": str(exported_list(self.layout.optout_dir))}
        if recipe.get("source", {}).get("kind") == "folder":
            recipe["source"]["path"] = str((self.recipe.dataset_recipe.parent / recipe["source"]["path"]).resolve())
        self.work.mkdir(parents=True, exist_ok=True)
        path = self.work / "dataset-recipe.yaml"
        path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
        result = build_dataset(path, self.release, show_progress=self.show)
        totals = result.stats["totals"]
        return {
            "version": result.version_dir.name,
            "files": totals["kept_files"],
            "bytes": totals["kept_bytes"],
            "opted_out_files": result.stats["optout"]["removed_files"],
            "reused": result.reused,
        }

    def index(self) -> dict:
        from bigcode_release.index.build import build_indexes

        result = build_indexes(self.release, self.recipe.dataset_version, show_progress=self.show)
        return {"folder": result.folder, "documents": result.documents, "sizes": result.sizes, "reused": result.reused}

    def tokenizer(self) -> dict:
        from bigcode_release.manifest import read_manifest
        from bigcode_release.tokenizer.training import train_tokenizer

        settings = self.recipe.tokenizer
        folder = self.layout.tokenizer_dir
        dataset = read_manifest(self.layout.dataset_dir()) or {}
        existing = read_manifest(folder) or {}
        if (
            existing.get("inputs", {}).get("dataset_manifest_hash") == dataset.get("manifest_hash")
            and existing.get("parameters", {}).get("vocab_size") == settings.vocab_size
            and (folder / "tokenizer.json").is_file()
        ):
            return {"vocab_size": settings.vocab_size, "reused": True}
        report = train_tokenizer(
            self.release, vocab_size=settings.vocab_size, sample_mb=settings.sample_mb, progress=self.show
        )
        overall = next((row for row in report.fertility if row["language"] == "all"), {})
        return {"vocab_size": report.vocab_size, "fertility": overall.get("chars_per_token"), "reused": False}

    def tokenize(self) -> dict:
        from bigcode_release.tokenizer.shards import tokenize_dataset

        report = tokenize_dataset(self.release, show_progress=self.show)
        return {"splits": report.splits, "folder": report.output_dir}

    def train(self) -> dict:
        from bigcode_release.train.recipe import TrainRecipe
        from bigcode_release.train.torch_engine import train_torch

        data = yaml.safe_load(self.recipe.train_recipe.read_text(encoding="utf-8"))
        for key, value in self.recipe.train_overrides.items():
            data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
        data["data"] = {**data.get("data", {}), "release": str(self.release)}
        result = train_torch(
            TrainRecipe.model_validate(data), origin=str(self.recipe.train_recipe), show_progress=self.show
        )
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
        run = self.layout.run_dir(self.recipe.train_overrides.get("name", "tiny"))
        series = evaluate_series(
            run,
            EvalSettings(
                tasks=tuple(resolve_tasks(settings.tasks)),
                n=settings.n,
                ks=tuple(settings.k),
                max_new_tokens=settings.max_new_tokens,
                max_problems=settings.max_problems,
            ),
            default_series_dir(run),
            allow_code_execution=True,
            show_progress=self.show,
        )
        return {"plot": series.plot, "checkpoints": [{"step": c.step, "scores": c.scores} for c in series.checkpoints]}

    def transparency(self) -> dict:
        from bigcode_release.release.plan import release_transparency
        from bigcode_release.release.settings import load_release_settings
        from bigcode_release.release.transparency.report import write_markdown

        report = release_transparency(self.release, load_release_settings())
        return {"score": report.score, "counts": report.counts(), "report": str(write_markdown(report, self.release))}

    def publish(self) -> dict:
        from bigcode_release.release.plan import make_plan
        from bigcode_release.release.push import write_repo_trees
        from bigcode_release.release.settings import load_release_settings

        plans = make_plan(self.release, self.recipe.release.org, load_release_settings())
        path = write_repo_trees(plans, self.release / self.recipe.release.to_dir)
        return {
            "plan": str(path),
            "repos": [f"{p.repo_type}s/{p.repo_id}" + (f"@{p.tag}" if p.tag else "") for p in plans],
        }

    STAGES = ("optout", "dataset", "index", "tokenizer", "tokenize", "train", "evaluate", "transparency", "publish")

    def run(self) -> PipelineResult:
        """Run every stage in order; a stage's error becomes a `PipelineError` naming it."""
        started = time.monotonic()
        outcomes = []
        for name in self.STAGES:
            self.say(f"stage {name}: running")
            stage_started = time.monotonic()
            try:
                summary = getattr(self, name)()
            except BigcodeReleaseError as exc:
                raise PipelineError(
                    f"stage '{name}' failed: {exc}\nfix it and run the same command again: finished "
                    "stages are reused, the run resumes at this one"
                ) from None
            outcome = StageOutcome(name, time.monotonic() - stage_started, summary)
            outcomes.append(outcome)
            self.say(f"stage {name}: done in {outcome.seconds:.0f} s")
        result = PipelineResult(str(self.release), outcomes, time.monotonic() - started)
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "last-run.json").write_text(
            json.dumps(result.to_dict(), indent=2, default=str) + "\n", encoding="utf-8"
        )
        return result
