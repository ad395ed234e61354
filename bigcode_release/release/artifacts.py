"""What a release directory holds, as Hub repositories to create or update. Each artifact is found
by the manifest (or marker file) its stage writes, so a stage added later only needs a reader here:

| found by | repository |
|---|---|
| `dataset-versions/<v>/manifest.json` (kind dataset) | dataset `<org>/<recipe name>`, one tagged revision per version |
| `optout/README.md` + `optout-list.*` (the opt-out export) | dataset `<org>/<recipe name>-optout` |
| `train/<run>/manifest.json` (kind training-run) + its last checkpoint | model `<org>/<run>`, with eval results |
| `finetune/<name>/finetune.json` + `adapter/` | model `<org>/<name>` (a PEFT adapter) |
| `spaces/<name>/` of this project (the settings' `include`) | Space `<org>/<name with dashes>`, with the toolkit's wheel |
| the in-the-stack Space | private dataset `<org>/<recipe name>-optout-requests` (its request intake; never pruned) |
| `index/<v>/manifest.json` of the current version, when a data Space is included | dataset `<org>/<recipe name>-index`, gated like the dataset, tagged `<v>` |
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bigcode_release.errors import ReleaseError
from bigcode_release.layout import ReleaseLayout, list_checkpoints
from bigcode_release.manifest import read_manifest
from bigcode_release.optout.export import exported_list
from bigcode_release.optout.export_format import read_optout_list
from bigcode_release.release.settings import Gate, ReleaseSettings
from bigcode_release.shipped import SPACES, shipped_dir
from bigcode_release.space_env import SETTINGS_OF_SPACE

PROJECT_SPACES = shipped_dir(SPACES)
CHECKPOINT_SKIP = {"training_state.pt", "trainer_state.json"}  # resume state, not part of a release


@dataclass(frozen=True)
class RepoFile:
    path_in_repo: str
    local: str
    size: int


@dataclass
class RepoPlan:
    """One Hub repository: its files, visibility, gate and tag, and where they came from."""

    kind: str
    repo_type: str
    repo_id: str
    files: list[RepoFile]
    private: bool
    gate: str | None  # "auto" | "manual" | None (ungated)
    tag: str | None = None
    space_sdk: str | None = None
    space_variables: dict = field(default_factory=dict)
    space_secrets: list[str] = field(default_factory=list)  # names the Space reads; values are never planned
    source: str = ""
    tag_message: str = ""
    prune: bool = True  # delete files the plan does not list (False: others write there, e.g. a Space's intake)

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    def card(self) -> RepoFile | None:
        return next((f for f in self.files if f.path_in_repo == "README.md"), None)

    def to_dict(self) -> dict:
        return {**asdict(self), "bytes": self.bytes}


def _files(root: Path, relative_paths: list[str], prefix: str = "") -> list[RepoFile]:
    out = []
    for relative in sorted(relative_paths):
        local = root / relative
        if not local.is_file():
            raise ReleaseError(f"{local}: listed in {root}'s manifest but missing; rebuild or restore it")
        out.append(RepoFile(prefix + relative, str(local), local.stat().st_size))
    return out


def _gate(gate: Gate | None, fallback: str | None) -> str | None:
    mode = gate.mode if gate is not None else fallback
    return None if mode in (None, "none") else mode


def _dataset_tag_message(manifest: dict, previous: dict | None) -> str:
    """`dataset v1.2: applies opt-out requests req-a, req-b (new: req-b)`."""
    applied = manifest["inputs"]["optout"].get("request_ids") or []
    before = set((previous or {}).get("inputs", {}).get("optout", {}).get("request_ids") or [])
    new = [r for r in applied if r not in before]
    if not applied:
        return f"dataset {manifest['version']}"
    return f"dataset {manifest['version']}: applies opt-out requests {', '.join(applied)}" + (
        f" (new: {', '.join(new)})" if new and previous is not None else ""
    )


def publishable_versions(release: Path) -> tuple[list[Path], dict[str, str]]:
    """The dataset versions a push may publish, oldest first, and those it leaves out with why: a
    version that does not apply every request on the release's opt-out list holds code whose owner
    opted out since (whatever was published of it before stays as it was; tags never move)."""
    layout = ReleaseLayout.at(release)
    listed = exported_list(layout.optout_dir)
    wanted = {e.request_id for e in read_optout_list(listed).entries} if listed.is_file() else set()
    publishable, left_out = [], {}
    for version_dir in layout.built_versions():
        applied = set((read_manifest(version_dir) or {}).get("inputs", {}).get("optout", {}).get("request_ids") or [])
        missing = sorted(wanted - applied)
        if missing:
            left_out[version_dir.name] = f"does not apply opt-out request(s) {', '.join(missing)}"
        else:
            publishable.append(version_dir)
    return publishable, left_out


def dataset_repos(release: Path, org: str, settings: ReleaseSettings) -> list[RepoPlan]:
    """One plan per publishable dataset version, oldest first (each a tagged revision of one repo)."""
    plans = []
    previous = None
    for version_dir in publishable_versions(release)[0]:
        manifest = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
        recipe = manifest.get("identity", {}).get("settings") or manifest["recipe"]
        files = _files(version_dir, [o["path"] for o in manifest["outputs"]] + ["manifest.json"])
        plans.append(
            RepoPlan(
                kind="dataset",
                repo_type="dataset",
                repo_id=f"{org}/{manifest['name']}",
                files=files,
                private=settings.dataset.visibility == "private",
                gate=_gate(settings.dataset.gate, recipe["card"]["gate"]["mode"]),
                tag=manifest["version"],
                source=str(version_dir / "manifest.json"),
                tag_message=_dataset_tag_message(manifest, previous),
            )
        )
        previous = manifest
    return plans


def optout_repo(
    release: Path, org: str, settings: ReleaseSettings, dataset_name: str, dataset_gate: str | None
) -> RepoPlan | None:
    layout = ReleaseLayout.at(release)
    folder = layout.optout_dir
    if not (folder / "README.md").is_file():
        return None
    names = [p.name for p in folder.iterdir() if p.is_file() and (p.name == "README.md" or p.stem == "optout-list")]
    # the removal receipts go with the list: the published Space shows them without a registry
    names += [p.relative_to(folder).as_posix() for p in sorted(layout.receipts_dir.glob("*.json"))]
    return RepoPlan(
        kind="optout-list",
        repo_type="dataset",
        repo_id=f"{org}/{dataset_name}-optout",
        files=_files(folder, names),
        private=settings.optout_list.visibility == "private",
        gate=_gate(settings.optout_list.gate, dataset_gate),
        source=str(folder / "README.md"),
    )


def model_repos(release: Path, org: str, settings: ReleaseSettings) -> list[RepoPlan]:
    """The last complete checkpoint of every training run on the current dataset version, with its
    log, curve and eval results. Runs on earlier versions are not part of this release: their data
    may hold code whose owners opted out since (what they published before stays as it was)."""
    layout = ReleaseLayout.at(release)
    current = read_manifest(layout.dataset_dir()) if layout.current_version() else None
    plans = []
    for run in layout.runs():
        manifest_path = run / "manifest.json"
        if current is None or read_manifest(run)["inputs"].get("dataset_manifest_hash") != current["manifest_hash"]:
            continue
        checkpoints = list_checkpoints(run)
        if not checkpoints:
            continue
        last = checkpoints[-1]
        files = _files(last, [p.name for p in last.iterdir() if p.is_file() and p.name not in CHECKPOINT_SKIP])
        files += _files(run, [n for n in ("log.csv", "loss.png") if (run / n).is_file()])
        files.append(RepoFile("training_manifest.json", str(manifest_path), manifest_path.stat().st_size))
        evaluation = run / "eval" / last.name
        for name in ("results.json", "results.md"):
            if (evaluation / name).is_file():
                files.append(RepoFile(f"eval/{name}", str(evaluation / name), (evaluation / name).stat().st_size))
        if (run / "eval" / "pass_at_k.png").is_file():
            files.append(
                RepoFile(
                    "eval/pass_at_k.png",
                    str(run / "eval" / "pass_at_k.png"),
                    (run / "eval" / "pass_at_k.png").stat().st_size,
                )
            )
        plans.append(
            RepoPlan(
                kind="model",
                repo_type="model",
                repo_id=f"{org}/{run.name}",
                files=files,
                private=settings.model.visibility == "private",
                gate=_gate(settings.model.gate, "auto"),
                tag=last.name,
                source=str(manifest_path),
            )
        )
    return plans


def adapter_repos(release: Path, org: str, settings: ReleaseSettings) -> list[RepoPlan]:
    plans = []
    for report_path in sorted(ReleaseLayout.at(release).finetune_root.glob("*/finetune.json")):
        adapter = report_path.parent / "adapter"
        if not (adapter / "adapter_config.json").is_file():
            continue
        files = _files(adapter, [p.name for p in adapter.iterdir() if p.is_file()])
        plans.append(
            RepoPlan(
                kind="adapter",
                repo_type="model",
                repo_id=f"{org}/{report_path.parent.name}",
                files=files,
                private=settings.model.visibility == "private",
                gate=_gate(settings.model.gate, "auto"),
                source=str(report_path),
            )
        )
    return plans


def intake_repo_id(org: str, dataset_name: str) -> str:
    return f"{org}/{dataset_name}-optout-requests"


def index_repo_id(org: str, dataset_name: str) -> str:
    return f"{org}/{dataset_name}-index"


def index_repo(release: Path, org: str, settings: ReleaseSettings, dataset_name: str, gate: str | None) -> RepoPlan:
    """The data index of the current version, laid out as in a release directory (its index folder,
    the version's manifest and plots, the opt-out export the mask reads), for the data Spaces.

    Raises:
        ReleaseError: a data Space is included but the current version has no index.
    """
    layout = ReleaseLayout.at(release)
    version = publishable_versions(release)[0][-1].name
    folder = layout.index_dir(version)
    if read_manifest(folder) is None:
        raise ReleaseError(
            f"spaces.include names a data Space, but {version} has no data index ({folder}): "
            f"run `bigcode-release index build {release}` first"
        )
    files = _files(
        folder, [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()], f"index/{version}/"
    )
    version_dir = layout.version_dir(version)
    shown = [n for n in ("manifest.json", "licenses.png", "languages.png") if (version_dir / n).is_file()]
    files += _files(version_dir, shown, f"dataset-versions/{version}/")
    listed = [p.name for p in layout.optout_dir.glob("optout-list.*")] if layout.optout_dir.is_dir() else []
    files += _files(layout.optout_dir, listed, "optout/")
    return RepoPlan(
        kind="index",
        repo_type="dataset",
        repo_id=index_repo_id(org, dataset_name),
        files=files,
        private=settings.dataset.visibility == "private",
        gate=gate,
        tag=version,
        source=str(folder / "manifest.json"),
        tag_message=f"data index of {version}",
    )


def space_repos(
    release: Path, org: str, settings: ReleaseSettings, dataset_name: str, spaces_root: Path = PROJECT_SPACES
) -> list[RepoPlan]:
    """Each included Space: its app and README, the per-version `repos.parquet` it reads (with the
    `manifest.json` that makes the folder a complete version there), and the variables it reads; for
    "Am I in The Stack?" also the private dataset its requests go to."""
    if settings.spaces.include and settings.spaces.visibility == "private" and not settings.spaces.requirement:
        raise ReleaseError(
            "spaces.visibility is private: a private Space's build cannot download the toolkit's wheel from "
            "its own files (it has no token); set spaces.requirement (e.g. a pinned VCS URL) or publish the Spaces"
        )
    plans = []
    versions = publishable_versions(release)[0]
    for name in settings.spaces.include:
        folder = spaces_root / name
        if not (folder / "app.py").is_file() or not (folder / "README.md").is_file():
            raise ReleaseError(f"spaces.include: {folder} has no app.py and README.md")
        if name not in SETTINGS_OF_SPACE:
            raise ReleaseError(f"spaces.include: {name!r} is not a shipped Space ({', '.join(SETTINGS_OF_SPACE)})")
        files = _files(folder, [p.name for p in folder.iterdir() if p.is_file() and p.suffix in (".py", ".md", ".txt")])
        variables = {"RELEASE_DIR": "release"}
        if name == "in_the_stack":
            variables["OPTOUT_REQUESTS_REPO"] = intake_repo_id(org, dataset_name)
            for version_dir in versions:
                if (version_dir / "repos.parquet").is_file():  # the table it reads, and the manifest that
                    # makes the folder a complete version where the Space runs
                    prefix = f"release/dataset-versions/{version_dir.name}/"
                    files += _files(version_dir, ["repos.parquet", "manifest.json"], prefix)
        else:  # the data Spaces download the index at start
            variables.update(INDEX_REPO=index_repo_id(org, dataset_name), INDEX_REVISION=versions[-1].name)
        plans.append(
            RepoPlan(
                kind="space",
                repo_type="space",
                repo_id=f"{org}/{name.replace('_', '-')}",
                files=files,
                private=settings.spaces.visibility == "private",
                gate=None,
                space_sdk="gradio",
                space_variables=variables,
                space_secrets=["HF_TOKEN"],
                source=str(folder),
            )
        )
        if name == "in_the_stack":
            plans.append(
                RepoPlan(
                    kind="optout-intake",
                    repo_type="dataset",
                    repo_id=intake_repo_id(org, dataset_name),
                    files=[],
                    private=True,
                    gate=None,
                    source=str(folder),
                    prune=False,
                )
            )
    return plans


def discover(
    release: str | Path, org: str, settings: ReleaseSettings, spaces_root: Path = PROJECT_SPACES
) -> list[RepoPlan]:
    """Every repository the release directory's artifacts go to, in push order."""
    release = Path(release)
    datasets = dataset_repos(release, org, settings)
    if not datasets:
        left_out = publishable_versions(release)[1]
        if left_out:
            raise ReleaseError(
                f"{release}: no dataset version applies every request on the opt-out list ("
                + "; ".join(f"{v} {why}" for v, why in left_out.items())
                + "): build the next version with them first"
            )
        raise ReleaseError(
            f"{release}: no built dataset version (dataset-versions/<v>/manifest.json); "
            "run `bigcode-release dataset build` first"
        )
    name = datasets[-1].repo_id.split("/")[1]
    optout = optout_repo(release, org, settings, name, datasets[-1].gate)
    data_spaces = set(settings.spaces.include) & {"data_inspector", "membership_test"}
    return [
        *datasets,
        *([optout] if optout else []),
        *([index_repo(release, org, settings, name, datasets[-1].gate)] if data_spaces else []),
        *model_repos(release, org, settings),
        *adapter_repos(release, org, settings),
        *space_repos(release, org, settings, name, spaces_root),
    ]
