"""Ablations: the same tiny model trained on dataset variants (e.g. with and without a filter)
with several seeds, compared on one shared validation set and on the bits per byte of HumanEval's
canonical solutions (a likelihood task that moves early), as BigCode and FineWeb decided their
filters."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from bigcode_release.errors import TrainingError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.plotting import line_chart
from bigcode_release.train.recipe import TrainRecipe
from bigcode_release.train.torch_engine import train_torch


@dataclass(frozen=True)
class VariantResult:
    variant: str
    tokenized: str
    seeds: list[int]
    val_losses: list[float]
    mean: float
    std: float
    # bits per byte of HumanEval's canonical solutions (the `humaneval-bpb` likelihood task), per seed
    humaneval_bpb: list[float] = ()
    humaneval_bpb_mean: float | None = None
    humaneval_bpb_std: float | None = None


DECISION_RULE = (
    "a variant is better than another when its mean final validation loss over seeds is lower by more "
    "than twice the larger of the two standard deviations"
)


def better_than(candidate: VariantResult, other: VariantResult) -> bool:
    """`DECISION_RULE`: the gap between the means exceeds twice the larger spread across seeds."""
    return other.mean - candidate.mean > 2 * max(candidate.std, other.std)


@dataclass(frozen=True)
class AblationReport:
    output_dir: str
    validation: str
    variants: list[VariantResult]
    best: str
    gap: float
    separated: bool  # the best variant is better than every other one by `rule`
    rule: str = DECISION_RULE
    # pairs (a, b) where a is better than b by the rule
    decisions: list[tuple[str, str]] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def variant_folder(recipe: TrainRecipe, variant: str) -> Path:
    """A variant is a dataset version of the release (tokenized under `tokenized/<version>`) or a path."""
    tokenized = ReleaseLayout.at(recipe.data.release).tokenized_root
    for candidate in (Path(variant), tokenized / variant):
        if (candidate / "train").is_dir():
            return candidate.resolve()
    raise TrainingError(
        f"variant {variant!r} is neither a tokenized folder nor a tokenized dataset version in "
        f"{tokenized}: run `bigcode-release tokenize` on it first"
    )


def _spread(values: list[float]) -> float:
    return round(statistics.stdev(values), 5) if len(values) > 1 else 0.0


def _humaneval_bpb(checkpoint: Path, show_progress: bool) -> float:
    """Bits per byte of HumanEval's canonical solutions for a checkpoint (no code runs)."""
    from bigcode_release.evaluate.runner import EvalSettings, evaluate_checkpoint
    from bigcode_release.evaluate.tasks import resolve_tasks

    settings = EvalSettings(tasks=tuple(resolve_tasks("humaneval-bpb")))
    result = evaluate_checkpoint(
        checkpoint, settings, checkpoint.parent.parent / "eval-bpb", show_progress=show_progress
    )
    return result.scores["humaneval-bpb"]["bits_per_byte"]


def run_ablation(
    recipe: TrainRecipe,
    variants: list[str],
    seeds: int,
    out_dir: Path,
    origin: str = "<recipe>",
    show_progress: bool = True,
) -> AblationReport:
    """Train every variant with seeds 0..seeds-1; validation on the first variant's split for all.

    `separated` says whether the lowest-loss variant is better than every other one by
    `DECISION_RULE`; `decisions` lists every ordered pair the rule decides."""
    if len(variants) < 2 or seeds < 1:
        raise TrainingError("an ablation needs at least two variants and one seed")
    folders = {variant: variant_folder(recipe, variant) for variant in variants}
    validation = folders[variants[0]] / "validation"
    results = []
    for variant, folder in folders.items():
        losses, bpb = [], []
        for seed in range(seeds):
            run = recipe.model_copy(
                update={
                    "name": f"{recipe.name}-{Path(variant).name}-seed{seed}",
                    "seed": seed,
                    "data": recipe.data.model_copy(update={"tokenized": folder, "validation": validation}),
                }
            )
            result = train_torch(
                run, origin=origin, run_dir=out_dir / Path(variant).name / f"seed{seed}", show_progress=show_progress
            )
            losses.append(result.final_val_loss)
            bpb.append(_humaneval_bpb(Path(result.last_checkpoint), show_progress))
        results.append(
            VariantResult(
                variant,
                str(folder),
                list(range(seeds)),
                losses,
                round(statistics.mean(losses), 5),
                _spread(losses),
                bpb,
                round(statistics.mean(bpb), 5),
                _spread(bpb),
            )
        )
    ranked = sorted(results, key=lambda r: r.mean)
    best, runner_up = ranked[0], ranked[1]
    report = AblationReport(
        output_dir=str(out_dir),
        validation=str(validation),
        variants=results,
        best=best.variant,
        gap=round(runner_up.mean - best.mean, 5),
        separated=all(better_than(best, other) for other in ranked[1:]),
        decisions=[(a.variant, b.variant) for a in results for b in results if a is not b and better_than(a, b)],
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ablation.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    line_chart(
        {f"{r.variant} (mean {r.mean:.4f} ± {r.std:.4f})": (r.seeds, r.val_losses) for r in results},
        f"{recipe.name}: validation loss of every seed",
        "seed",
        "final validation loss",
        out_dir / "ablation.png",
        markers=True,
    )
    return report
