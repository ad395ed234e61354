"""Recipes a trainer pulls: the shipped ones (listed, copied into a folder to edit) and the
recipes of a published release (rebuilt from the manifests in its Hub repositories)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bigcode_release.errors import InvalidArgumentError, ReleaseError
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


def _named_recipes(path: Path) -> list[str]:
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
        wanted += [shipped_dir(RECIPES) / ref for ref in _named_recipes(path) if (shipped_dir(RECIPES) / ref).is_file()]
    targets = [to_dir / path.name for path in seen]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite:
        raise InvalidArgumentError(f"{', '.join(existing)} already exist(s): edit them, or pass --overwrite")
    to_dir.mkdir(parents=True, exist_ok=True)
    for source, target in zip(seen, targets):
        shutil.copyfile(source, target)
    return targets


@dataclass
class PulledRecipes:
    """The recipes rebuilt from a published release, and the inputs a user must still provide."""

    dataset: Path | None = None
    train: Path | None = None
    written: list[Path] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "dataset": str(self.dataset) if self.dataset else None,
            "train": str(self.train) if self.train else None,
            "written": [str(p) for p in self.written],
            "needs": self.needs,
        }


def _download(repo_id: str, filename: str, repo_type: str, revision: str | None, endpoint: str | None, token) -> dict:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        path = hf_hub_download(
            repo_id, filename, repo_type=repo_type, revision=revision, endpoint=endpoint, token=token
        )
    except HfHubHTTPError as exc:
        raise ReleaseError(f"{repo_type} {repo_id}@{revision or 'main'}: cannot read {filename} ({exc})") from None
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dataset_recipe_from_manifest(manifest: dict, to_dir: Path, source: str | None) -> PulledRecipes:
    """A dataset recipe that rebuilds the version a manifest describes: its settings, its opt-out
    entries (written next to it), its source; inputs only the user has are listed in `needs`."""
    identity = manifest["identity"]
    recipe = json.loads(json.dumps(identity["settings"]))
    recipe["version"] = manifest["version"]
    pulled = PulledRecipes()
    stem = f"{manifest['name']}-{manifest['version']}"
    if identity["optout"]:
        listed = to_dir / f"{stem}-optout.jsonl"
        entries = [
            {"owner": owner, "request_id": request, **({"repo": repo} if repo else {})}
            for owner, repo, request in identity["optout"]
        ]
        listed.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries), encoding="utf-8")
        recipe["optout"]["list"] = listed.name
        pulled.written.append(listed)
    kind = recipe["source"]["kind"]
    if kind == "folder" or (kind == "stack" and "data_folder" not in recipe["source"]):
        key = "path" if kind == "folder" else "data_folder"
        if source is None:
            pulled.needs.append(f"source.{key}: the {kind} of the original build (pass --source PATH)")
            recipe["source"][key] = "SOURCE"
        else:
            recipe["source"][key] = str(Path(source).resolve())
    for benchmark in recipe["decontamination"]["benchmarks"]:
        wanted = next(b["sha256"] for b in identity["benchmarks"] if b["name"] == benchmark["name"])
        benchmark["path"] = f"{benchmark['name']}.jsonl"
        pulled.needs.append(f"decontamination benchmark {benchmark['name']}.jsonl with sha256 {wanted}")
    if "languages.extra_table" in identity["tables"]:
        recipe["languages"]["extra_table"] = "languages-extra.csv"
        pulled.needs.append(f"languages-extra.csv with sha256 {identity['tables']['languages.extra_table']}")
    pulled.dataset = to_dir / f"{stem}.yaml"
    header = (
        f"# Rebuilds dataset {manifest['name']} {manifest['version']} (identity {manifest['identity_hash'][:12]}), "
        "pulled from its published manifest.\n"
    )
    pulled.dataset.write_text(header + yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    pulled.written.insert(0, pulled.dataset)
    return pulled


def pull_recipes(
    reference: str,
    to_dir: str | Path = "recipes",
    repo_type: str = "dataset",
    source: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
) -> PulledRecipes:
    """Rebuild the recipes of a published release from the manifests in its Hub repositories.

    `reference` is `ORG/NAME[@REVISION]`: a dataset repository at a version tag (`@v1.2`; default
    `main`) gives the dataset recipe; a model repository (`repo_type="model"`, `@step-N`) gives its
    training recipe and, through the manifests it names, the dataset recipe of its data.

    Raises:
        ReleaseError: the repository or its manifest cannot be read.
    """
    repo_id, _, revision = reference.partition("@")
    if repo_id.count("/") != 1:
        raise InvalidArgumentError(f"{reference!r}: give ORG/NAME[@REVISION]")
    to_dir = Path(to_dir)
    to_dir.mkdir(parents=True, exist_ok=True)
    revision = revision or None
    if repo_type == "dataset":
        manifest = _download(repo_id, "manifest.json", "dataset", revision, endpoint, token)
        return dataset_recipe_from_manifest(manifest, to_dir, source)
    run = _download(repo_id, "training_manifest.json", "model", revision, endpoint, token)
    train = {k: v for k, v in run["recipe"].items() if k not in ("nanotron",)}
    train["data"] = {"release": "../release", "dataset_version": run["inputs"]["dataset_version"]}
    pulled = PulledRecipes()
    pulled.train = to_dir / f"{repo_id.split('/')[1]}-train.yaml"
    pulled.train.write_text(
        f"# Rebuilds the training run of {repo_id}@{revision or 'main'} on dataset "
        f"{run['inputs']['dataset_version']} (manifest {run['inputs']['dataset_manifest_hash'][:12]}).\n"
        + yaml.safe_dump(train, sort_keys=False),
        encoding="utf-8",
    )
    pulled.written.append(pulled.train)
    pulled.needs.append(
        f"dataset {run['inputs']['dataset_version']} (manifest {run['inputs']['dataset_manifest_hash'][:12]}): "
        "pull it from the dataset repository at that tag, build and tokenize it"
    )
    return pulled
