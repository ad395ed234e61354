"""Release settings (`recipes/release.yaml`): for each kind of artifact its visibility and gate,
and the size of upload commits. The dataset's gate comes from the dataset recipe (`card.gate`).

A gate's `mode` is `auto` (requests approved at once), `manual` (a maintainer decides) or `none`;
`none` on a public repository publishes it ungated, so it is only ever taken when written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, PrivateAttr

from bigcode_release.errors import RecipeError
from bigcode_release.recipe import Strict, merge_settings, validate_model
from bigcode_release.shipped import shipped_recipe

DEFAULT_RELEASE_RECIPE = shipped_recipe("release")
GateMode = Literal["auto", "manual", "none"]


class Gate(Strict):
    mode: GateMode = "auto"
    prompt: str = ""
    fields: dict[str, Any] = Field(default_factory=dict)


class RepoSettings(Strict):
    visibility: Literal["public", "private"] = "public"
    gate: Gate | None = Field(default=None, description="default: the dataset's gate (opt-out list) or auto")


class ModelSettings(RepoSettings):
    license: str = Field(default="bigcode-openrail-m", description="card `license:`")


class SpaceSettings(Strict):
    include: list[str] = Field(default_factory=lambda: ["in_the_stack"], description="folders of spaces/")
    visibility: Literal["public", "private"] = "public"
    requirement: str | None = Field(
        default=None,
        description="pip requirement the Spaces install the toolkit from (e.g. a pinned VCS URL); "
        "default: the toolkit's wheel, pushed with each Space",
    )


class CommitSettings(Strict):
    max_bytes: int = Field(default=512 * 2**20, ge=1, description="upload commits stay below this size")
    max_files: int = Field(default=200, ge=1)


class ReleaseSettings(Strict):
    """Where each artifact goes and how it is gated."""

    dataset: RepoSettings = RepoSettings()
    optout_list: RepoSettings = RepoSettings()
    model: ModelSettings = ModelSettings()
    spaces: SpaceSettings = SpaceSettings()
    commits: CommitSettings = CommitSettings()
    _origin: str = PrivateAttr("recipes/release.yaml")  # the file the settings were read from

    @property
    def origin(self) -> str:
        """The settings file (the shipped `recipes/release.yaml`, or the one given on top of it)."""
        return self._origin


def load_release_settings(path: str | Path | None = None) -> ReleaseSettings:
    """The shipped `recipes/release.yaml` with the given file's settings on top (sections merge key
    by key, so a file may hold only what it changes), checked before any work."""
    merged = _read(DEFAULT_RELEASE_RECIPE)
    if path is not None:
        merged = merge_settings(merged, _read(Path(path)), whole=frozenset({"fields"}))
    settings = validate_model(
        ReleaseSettings,
        merged,
        base_dir=Path(path or DEFAULT_RELEASE_RECIPE).resolve().parent,
        origin=str(path or DEFAULT_RELEASE_RECIPE),
    )
    settings._origin = str(path) if path is not None else "recipes/release.yaml (shipped)"
    return settings


def _read(path: Path) -> dict:
    if not path.is_file():
        raise RecipeError(str(path), [("<file>", "release settings file does not exist")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RecipeError(str(path), [("<file>", f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise RecipeError(str(path), [("<root>", "release settings are a YAML mapping")])
    return data
