"""What the package ships besides its code: recipes, card templates and Space sources.

In a checkout they are the top-level folders `recipes/`, `model_cards/` and `spaces/`; a wheel
carries the same folders as the packages `bigcode_release.recipes`, `bigcode_release.model_cards`
and `bigcode_release.spaces` (the mapping is in `setup.py`), and both are read here with
`importlib.resources`, so an installed toolkit finds them wherever it runs from.
"""

from __future__ import annotations

import difflib
import importlib.util
from importlib.resources import files
from pathlib import Path
from types import ModuleType

from bigcode_release.errors import InvalidArgumentError, RecipeError

RECIPES, MODEL_CARDS, SPACES = "bigcode_release.recipes", "bigcode_release.model_cards", "bigcode_release.spaces"


def shipped_dir(package: str) -> Path:
    """The folder of a shipped package (`RECIPES`, `MODEL_CARDS`, `SPACES`) on disk."""
    return Path(str(files(package)))


def recipe_names() -> list[str]:
    """Names of the shipped recipes (file names without `.yaml`), sorted."""
    return sorted(p.stem for p in shipped_dir(RECIPES).glob("*.yaml"))


def shipped_recipe(name: str) -> Path:
    """The path of a shipped recipe by name (`train-tiny` or `train-tiny.yaml`).

    Raises:
        RecipeError: no shipped recipe has that name (the message lists them).
    """
    stem = name.removesuffix(".yaml")
    path = shipped_dir(RECIPES) / f"{stem}.yaml"
    if not path.is_file():
        names = recipe_names()
        hint = difflib.get_close_matches(stem, names, n=1)
        reason = f"no shipped recipe {stem!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        raise RecipeError(name, [("<file>", f"{reason}; shipped: {', '.join(names)}")])
    return path


def resolve_recipe(value: str | Path) -> Path:
    """A recipe file: `value` when it is a file, else the shipped recipe of that name.

    Raises:
        RecipeError: `value` is neither (the message names it and lists the shipped recipes).
    """
    path = Path(value)
    if path.is_file():
        return path
    if path.parent == Path(".") or path.parent == Path("recipes"):
        try:
            return shipped_recipe(path.name)
        except RecipeError:
            pass
    raise RecipeError(
        str(value), [("<file>", f"recipe file does not exist (shipped recipes: {', '.join(recipe_names())})")]
    )


def recipe_base_dir(path: Path) -> Path:
    """The folder a recipe's relative paths resolve against: its own folder, except for a shipped
    recipe used by name, which behaves as its copy in `./recipes/` would (`recipes copy`), so that
    `../release` means `./release` and not a folder inside the installed package."""
    path = Path(path).resolve()
    if path.parent == shipped_dir(RECIPES).resolve():
        return Path.cwd() / "recipes"
    return path.parent


def card_template(name: str) -> Path:
    """A shipped card template (`dataset_card.md`, `model_card.md`, ...)."""
    return shipped_dir(MODEL_CARDS) / name


def space_dir(folder: str) -> Path:
    """The source folder of a shipped Space (`in_the_stack`, `data_inspector`, `membership_test`)."""
    return shipped_dir(SPACES) / folder


SPACE_FOLDERS = {
    "in-the-stack": "in_the_stack",
    "data-inspector": "data_inspector",
    "membership-test": "membership_test",
}


def load_space(name: str) -> ModuleType:
    """The `app` module of a shipped Space by its name (`in-the-stack`, `data-inspector`, `membership-test`).

    Raises:
        InvalidArgumentError: no shipped Space has that name, or its `app.py` is missing.
    """
    if name not in SPACE_FOLDERS:
        raise InvalidArgumentError(f"unknown Space {name!r}; shipped: {', '.join(SPACE_FOLDERS)}")
    path = space_dir(SPACE_FOLDERS[name]) / "app.py"
    spec = importlib.util.spec_from_file_location(f"space_{SPACE_FOLDERS[name]}", path)
    if spec is None or not path.is_file():
        raise InvalidArgumentError(f"{path} not found: this installation of bigcode-release lacks its Spaces")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
