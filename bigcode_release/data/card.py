"""The dataset card: rendered from `model_cards/dataset_card.md` with the measured numbers."""

from __future__ import annotations

from huggingface_hub import DatasetCard, DatasetCardData

from bigcode_release.recipe import Recipe
from bigcode_release.shipped import card_template


def _size_category(files: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if files < limit:
            return label
    return "1M<n<10M" if files < 10_000_000 else "n>1T"


def render_dataset_card(recipe: Recipe, stats: dict, source_description: str) -> DatasetCard:
    """A Hub dataset card with gated-access front matter (`extra_gated_prompt`, `extra_gated_fields`)."""
    gate = recipe.card.gate
    card_data = DatasetCardData(
        pretty_name=recipe.card.pretty_name,
        license="other",
        language=["code"],
        task_categories=["text-generation"],
        size_categories=[_size_category(stats["totals"]["kept_files"])],
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}],
        extra_gated_prompt=gate.prompt,
        extra_gated_fields=dict(gate.fields),
        dataset_version=recipe.version,
    )
    template = card_template("dataset_card.md")
    return DatasetCard.from_template(
        card_data,
        template_path=str(template),
        pretty_name=recipe.card.pretty_name,
        version=recipe.version,
        source_description=source_description,
        totals=stats["totals"],
        repos_included=stats["repos"]["included"],
        steps=stats["steps"],
        per_license=stats["per_license"],
        per_language=stats["per_language"],
        optout=stats["optout"],
        gate_prompt=gate.prompt,
        dedup=stats["dedup"],
        pii=stats["pii"],
        decontamination=stats["decontamination"],
        format=recipe.format,
    )
