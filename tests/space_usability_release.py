"""A small release built for the Spaces' usability tests: enough files for several result pages, a
file long enough to scroll, a common header next to code found once, a license expression of
two licenses, a dropped copy, a non-permissive repository and an approved, applied opt-out."""

from __future__ import annotations

import json
from pathlib import Path

from bigcode_release.data.build import build_dataset
from bigcode_release.index.build import build_indexes
from bigcode_release.optout.export import export_optouts
from bigcode_release.optout.registry import OptOutRegistry
from tests.conftest import GPL3_HEAD, MIT_TEXT, folder_recipe

HEADER = '"""Part of the datasets toolkit: see the project README for the terms of use and support."""\n'
UNIQUE = '''def merge_sorted_runs(left, right):
    """Merge two sorted lists into one sorted list, keeping equal items stable."""
    merged, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        if right[j] < left[i]:
            merged.append(right[j])
            j += 1
        else:
            merged.append(left[i])
            i += 1
    return merged + left[i:] + right[j:]
'''
LOADERS = 14  # files that call load_dataset: more than one page of results


def loader(number: int) -> str:
    return HEADER + f"\n\ndef load_dataset_{number}(path):\n    return load_dataset(path, split='part-{number}')\n"


def long_module(lines: int = 1200) -> str:
    body = "".join(f"    value_{n} = compute(load_dataset, {n})  # step {n}\n" for n in range(lines))
    return HEADER + "\n\ndef build_everything(compute):\n" + body + "    return locals()\n"


def _repo(root: Path, name: str, files: dict[str, str], license_file: tuple[str, str] | None) -> None:
    folder = root / name
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    if license_file:
        (folder / license_file[0]).write_text(license_file[1], encoding="utf-8")


def build_usability_release(root: Path) -> tuple[Path, Path, str]:
    """(release directory, registry, the applied opt-out's request id)."""
    repos = root / "repos"
    _repo(
        repos,
        "ana/datasets",
        {
            **{f"datasets/loader_{n}.py": loader(n) for n in range(LOADERS)},
            "datasets/everything.py": long_module(),
            "datasets/merge.py": HEADER + "\n\n" + UNIQUE,
        },
        ("package.json", json.dumps({"name": "datasets", "license": "MIT AND PSF-2.0"})),
    )
    _repo(
        repos,
        "ben/tools",
        {
            "tools/copy_of_loader.py": loader(0),  # an exact copy of ana's file: one of the two is dropped
            "tools/report.js": "export function report(rows) {\n  return rows.map(String).join('\\n');\n}\n",
            "tools/notes.txt": "not code\n",
        },
        ("LICENSE", MIT_TEXT),
    )
    _repo(repos, "cleo/engine", {"engine.c": "int main(void) {\n  return 0;\n}\n"}, ("COPYING", GPL3_HEAD))
    _repo(repos, "mallory/private", {"secret.py": "def mine():\n    return 'mallory'\n"}, ("LICENSE", MIT_TEXT))
    registry_path = root / "registry.sqlite"
    release = root / "release"
    with OptOutRegistry(registry_path) as registry:
        request = registry.submit("mallory", client="tests")
        registry.approve(request.id, by="maintainer")
        exported = export_optouts(registry, release / "optout")
    recipe = folder_recipe(root, repos, optout={"list": str(exported.jsonl)}, decontamination={"enabled": False})
    build_dataset(recipe, release, show_progress=False)
    with OptOutRegistry(registry_path) as registry:
        registry.mark_applied(request.id, "v1.0")
    build_indexes(release, show_progress=False)
    return release, registry_path, request.id
