"""Recipes a trainer pulls: the shipped ones (listed, copied into a folder to edit) and the
recipes of a published release (rebuilt from the manifests in its Hub repositories)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from bigcode_release.errors import InvalidArgumentError
from bigcode_release.shipped import RECIPES, recipe_names, shipped_dir, shipped_recipe

# recipe fields that name other shipped recipes (copied along, so the copy runs as the original)
_REFERENCES = ("dataset_recipe", "train_recipe")


@dataclass(frozen=True)
class ShippedRecipe:
    name: str
    path: Path
    summary: str

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "summary": self.summary}


def _summary(path: Path) -> str:
    """The first comment line of a recipe (what it is for)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def list_recipes() -> list[ShippedRecipe]:
    """Every shipped recipe with the first line of its header comment."""
    return [ShippedRecipe(name, shipped_recipe(name), _summary(shipped_recipe(name))) for name in recipe_names()]


def _referenced(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(data[key]) for key in _REFERENCES if isinstance(data.get(key), str)]


def copy_recipe(name: str, to_dir: str | Path = "recipes", overwrite: bool = False) -> list[Path]:
    """Copy a shipped recipe (and the shipped recipes it names) into `to_dir`, to edit.

    The default folder is `recipes/`, so relative paths inside the recipes (a training recipe's
    `data.release: ../release`) mean what they mean in a checkout.

    Raises:
        RecipeError: no shipped recipe has that name.
        InvalidArgumentError: a file of that name exists in `to_dir` (and `overwrite` is off).
    """
    to_dir = Path(to_dir)
    wanted, seen = [shipped_recipe(name)], []
    while wanted:
        path = wanted.pop(0)
        if path in seen:
            continue
        seen.append(path)
        wanted += [shipped_dir(RECIPES) / ref for ref in _referenced(path) if (shipped_dir(RECIPES) / ref).is_file()]
    targets = [to_dir / path.name for path in seen]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite:
        raise InvalidArgumentError(f"{', '.join(existing)} already exist(s): edit them, or pass --overwrite")
    to_dir.mkdir(parents=True, exist_ok=True)
    for source, target in zip(seen, targets):
        shutil.copyfile(source, target)
    return targets
