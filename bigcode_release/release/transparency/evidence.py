"""What the release directory measured, read defensively: every value comes with the file and field
it was read from, and an absent file or field is a `MissingEvidence` naming what would produce it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bigcode_release.errors import MissingEvidence
from bigcode_release.layout import ReleaseLayout
from bigcode_release.manifest import read_manifest

PRODUCERS = {
    "dataset": "bigcode-release dataset build",
    "tokenized": "bigcode-release tokenize",
    "run": "bigcode-release train",
    "eval": "bigcode-release eval <run>/checkpoints/<last>",
    "index": "bigcode-release index build",
    "plan": "a release plan (recipes/release.yaml and the release's artifacts)",
    "hub": "bigcode-release release push (only a push says what the Hub has)",
}


def one_significant(value: float) -> str:
    """A number to one significant figure, as the index asks for sizes, compute and energy."""
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    rounded = round(value, -exponent)
    return f"{rounded:.0e}".replace("e+0", "e").replace("e+", "e") if abs(exponent) >= 4 else f"{rounded:g}"


class Evidence:
    """Lazy readers over one release directory; `value(kind, dotted.field)` returns (value, source)."""

    def __init__(self, release: str | Path, settings=None, plans: list | None = None, plan_problem: str = ""):
        self.layout = ReleaseLayout.at(release)
        self.release = self.layout.root
        self.settings = settings
        self.plans = plans
        self.plan_problem = plan_problem
        self._cache: dict[object, Any] = {}

    # -- files ---------------------------------------------------------------------------------------
    def path(self, kind: str) -> Path:
        """The file a kind of evidence is read from (found once per report)."""
        key = ("path", kind)
        if key not in self._cache:
            self._cache[key] = self._find(kind)
        return self._cache[key]

    def _find(self, kind: str) -> Path:
        layout = self.layout
        if kind in ("dataset", "stats", "card", "repos"):
            versions = layout.built_versions()
            if not versions:
                raise MissingEvidence(f"no dataset version: run {PRODUCERS['dataset']}", produced=False)
            name = {"dataset": "manifest.json", "stats": "stats.json", "card": "README.md", "repos": "repos.parquet"}[
                kind
            ]
            return versions[-1] / name
        if kind == "tokenized":
            return self._of_current_version(layout.tokenized_dir, "tokenized shards", "tokenized")
        if kind == "run":
            return self._released_run()
        if kind in ("eval", "samples"):
            run = self.path("run").parent
            last = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["run"].get("last_checkpoint", "")
            folder = run / "eval" / Path(last).name
            target = folder / ("results.json" if kind == "eval" else "samples.jsonl")
            if not target.is_file():
                raise MissingEvidence(
                    f"no evaluation of the released checkpoint ({folder}): run {PRODUCERS['eval']}", produced=False
                )
            return target
        if kind == "index":
            return self._of_current_version(layout.index_dir, "data index", "index")
        if kind == "hub":
            if not layout.hub_release_record.is_file():
                raise MissingEvidence(
                    f"the release was never pushed ({layout.hub_release_record.name} is absent): {PRODUCERS['hub']}",
                    produced=False,
                )
            return layout.hub_release_record
        raise KeyError(kind)

    def _of_current_version(self, folder_of, what: str, producer: str) -> Path:
        """The manifest of a stage's folder for the current dataset version."""
        version = self.layout.current_version()
        manifest = folder_of(version) / "manifest.json" if version else None
        if manifest is None or not manifest.is_file():
            raise MissingEvidence(
                f"no {what} of the current dataset version: run {PRODUCERS[producer]}", produced=False
            )
        return manifest

    def _released_run(self) -> Path:
        """The manifest of the newest training run on the current dataset version (the one a push
        publishes); runs on older versions are not this release's."""
        dataset_hash = self.json("dataset")["manifest_hash"]
        runs = [
            run / "manifest.json"
            for run in self.layout.runs()
            if (read_manifest(run) or {}).get("inputs", {}).get("dataset_manifest_hash") == dataset_hash
        ]
        if not runs:
            raise MissingEvidence(
                f"no training run on the current dataset version: run {PRODUCERS['run']}", produced=False
            )
        return max(runs, key=lambda p: p.stat().st_mtime)

    def inputs(self) -> dict[str, str | None]:
        """The manifest hash of every stage output the report read from (None: not produced)."""
        found = {}
        for kind in ("dataset", "tokenized", "index", "run"):
            try:
                found[kind] = self.json(kind).get("manifest_hash")
            except MissingEvidence:
                found[kind] = None
        return found

    def json(self, kind: str) -> dict:
        if kind not in self._cache:
            path = self.path(kind)
            if not path.is_file():
                producer = PRODUCERS.get({"stats": "dataset", "card": "dataset"}.get(kind, kind), "its stage")
                raise MissingEvidence(f"{path} is missing: run {producer}")
            try:
                self._cache[kind] = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise MissingEvidence(f"{path} is not valid JSON ({exc.msg}): rerun its stage") from None
        return self._cache[kind]

    def value(self, kind: str, dotted: str) -> tuple[Any, str]:
        """The field's value and `file: field`, or `MissingEvidence`."""
        node: Any = self.json(kind)
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node or node[part] is None:
                raise MissingEvidence(f"{self.path(kind)} has no field {dotted}: rerun its stage")
            node = node[part]
        return node, f"{self.path(kind).relative_to(self.release)}: {dotted}"

    def text(self, kind: str) -> tuple[str, str]:
        path = self.path(kind)
        if not path.is_file():
            raise MissingEvidence(f"{path} is missing: run {PRODUCERS['dataset']}")
        return path.read_text(encoding="utf-8"), str(path.relative_to(self.release))

    def pushed(self, kind: str) -> tuple[dict, str]:
        """This release's repository of `kind` ("dataset": the current version's; "model": the
        released run's) as the last push recorded it (a repository already published and skipped
        by that push counts), and where that is written; "not produced" when nothing was pushed or
        the push published neither this dataset version nor this run."""
        record = self.json("hub")
        name = self.path("hub").name
        if kind == "dataset":
            wanted, what = self.json("dataset")["version"], f"dataset {self.json('dataset')['version']}"
            found = [r for r in record["repos"] if r.get("kind") == "dataset" and r.get("tag") == wanted]
        else:
            run = self.path("run").parent.name
            what = f"the model of run {run}"
            found = [r for r in record["repos"] if r.get("kind") == kind and r["repo_id"].split("/")[-1] == run]
        if not found:
            raise MissingEvidence(f"the last push ({name}) did not publish {what}", produced=False)
        return found[-1], f"{name}: repos[{kind}] (pushed {record.get('pushed_at', '?')} to {record['endpoint']})"

    def plan(self) -> list:
        """The release plan (repositories, gates, tags) as a push would publish it."""
        if self.plans is None:
            raise MissingEvidence(f"no release plan: {self.plan_problem or 'none was made'}")
        return self.plans
