"""A dataset version's identity: what it is built from, by content.

Two builds with the same identity produce the same version; any difference (an approved opt-out
request, a changed benchmark file or data table, a package installed or removed, another setting)
is another version. The identity holds no machine path, so a release directory can be moved or
copied, and a recipe rebuilt elsewhere (`recipes pull`) from the same sources has the same one:

    settings    the recipe's settings, with every path taken out (its content is below)
    source      the read plan's digest (repositories, paths, sizes, content hashes, origins) or,
                for Stack-schema files, each file's name, size and sha256 (a Hub URL as given)
    optout      the opt-out entries: [owner, repo or "", request id], sorted
    benchmarks  each decontamination benchmark's name, fields and sha256 (HumanEval's too)
    tables      sha256 of each data table the build reads (shipped, and the recipe's extra table)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from bigcode_release.data.sources.plan import ReadPlan
from bigcode_release.decontamination.benchmarks import humaneval_path
from bigcode_release.manifest import content_hash, sha256_file
from bigcode_release.optout.export_format import OptOutList
from bigcode_release.recipe import Recipe, StackSource
from bigcode_release.tables import table_path

SHIPPED_TABLES = (
    "languages.csv",
    "license_aliases.csv",
    "license_texts.yaml",
    "permissive_licenses.txt",
    "generated_markers.txt",
)


@dataclass(frozen=True)
class DatasetIdentity:
    settings: dict
    source: dict
    optout: list[list[str]] = field(default_factory=list)
    benchmarks: list[dict] = field(default_factory=list)
    tables: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def hash(self) -> str:
        return content_hash(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> DatasetIdentity:
        return cls(**data)

    def request_ids(self) -> set[str]:
        return {entry[2] for entry in self.optout}


def _source(recipe: Recipe, plan: ReadPlan | None) -> dict:
    source = recipe.source
    if plan is not None:
        return {
            "kind": source.kind,
            "plan_sha256": plan.digest(),
            "repositories": len(plan.repos),
            "files": plan.total_files,
        }
    assert isinstance(source, StackSource)
    if "://" in source.data_folder:
        return {"kind": "stack", "data_folder": source.data_folder}
    root = Path(source.data_folder)
    files = sorted(p for p in root.rglob(source.glob_pattern or "*") if p.is_file())
    return {
        "kind": "stack",
        "files": [[p.relative_to(root).as_posix(), p.stat().st_size, sha256_file(p)] for p in files],
    }


def _benchmarks(recipe: Recipe) -> list[dict]:
    config = recipe.decontamination
    if not config.enabled:
        return []
    found = [{"name": "humaneval", "sha256": sha256_file(humaneval_path())}] if config.humaneval else []
    for spec in config.benchmarks:
        found.append(
            {
                "name": spec.name,
                "id_field": spec.id_field,
                "fields": list(spec.fields),
                "sha256": sha256_file(spec.path),
            }
        )
    return found


def _tables(recipe: Recipe) -> dict[str, str]:
    tables = {name: sha256_file(table_path(name)) for name in SHIPPED_TABLES}
    if recipe.languages.extra_table is not None:
        tables["languages.extra_table"] = sha256_file(recipe.languages.extra_table)
    return tables


def dataset_identity(recipe: Recipe, plan: ReadPlan | None, optouts: OptOutList | None) -> DatasetIdentity:
    """The identity of the version `recipe` builds from `plan` (None for Stack-schema files)
    with the opt-out list `optouts`."""
    entries = sorted(
        [e.owner.lower(), (e.repo or "").lower(), e.request_id] for e in (optouts.entries if optouts else [])
    )
    return DatasetIdentity(
        settings=recipe.settings(),
        source=_source(recipe, plan),
        optout=entries,
        benchmarks=_benchmarks(recipe),
        tables=_tables(recipe),
    )


def _flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        flat: dict[str, object] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _requests(entries: list[list[str]]) -> dict[str, list[str]]:
    """request id -> what it removes (`owner` or `owner/name`)."""
    found: dict[str, list[str]] = {}
    for owner, repo, request in entries:
        found.setdefault(request, []).append(repo or owner)
    return found


def differences(built: DatasetIdentity, wanted: DatasetIdentity, version: str) -> list[str]:
    """What `wanted` has that the version built as `built` does not, one line each."""
    lines = []
    old_requests, new_requests = _requests(built.optout), _requests(wanted.optout)
    missing = {r: w for r, w in new_requests.items() if r not in old_requests}
    if missing:
        listed = ", ".join(f"{r}, {' '.join(sorted(w))}" for r, w in sorted(missing.items()))
        lines.append(f"{version} was built without {len(missing)} approved opt-out request(s) ({listed})")
    extra = sorted(r for r in old_requests if r not in new_requests)
    if extra:
        lines.append(f"{version} applied opt-out request(s) the list no longer has: {', '.join(extra)}")
    if not missing and not extra and built.optout != wanted.optout:
        lines.append(f"the opt-out entries of a request differ from those {version} applied")
    old_bench = {b["name"]: b for b in built.benchmarks}
    new_bench = {b["name"]: b for b in wanted.benchmarks}
    for name in sorted(set(old_bench) | set(new_bench)):
        if name not in old_bench:
            lines.append(f"benchmark {name!r} is new (decontamination)")
        elif name not in new_bench:
            lines.append(f"benchmark {name!r} is no longer used (decontamination)")
        elif old_bench[name] != new_bench[name]:
            old, new = old_bench[name]["sha256"][:12], new_bench[name]["sha256"][:12]
            lines.append(f"benchmark {name!r} changed (sha256 {old}... -> {new}...)")
    for name in sorted(set(built.tables) | set(wanted.tables)):
        if built.tables.get(name) != wanted.tables.get(name):
            lines.append(f"data table {name} changed")
    if built.source != wanted.source:
        old, new = built.source, wanted.source
        if "repositories" in old and "repositories" in new:
            lines.append(
                f"the source changed: {old['repositories']} -> {new['repositories']} repositories, "
                f"{old['files']} -> {new['files']} files (read plan {old['plan_sha256'][:12]}... -> "
                f"{new['plan_sha256'][:12]}...)"
            )
        else:
            lines.append("the source's files changed")
    old_settings, new_settings = _flatten(built.settings), _flatten(wanted.settings)
    for key in sorted(set(old_settings) | set(new_settings)):
        if old_settings.get(key) != new_settings.get(key):
            lines.append(f"recipe setting {key}: {old_settings.get(key)!r} -> {new_settings.get(key)!r}")
    return lines
