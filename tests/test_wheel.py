"""The toolkit as a trainer installs it: a wheel built from the checkout, installed into a fresh
virtualenv outside it (its dependencies from the package index, with the `[data]` extra the
commands below need; torch comes with `[train]`, lighteval with `[eval]`), run from an empty directory.
Recipes, card templates and Space sources must come from the wheel, never from the checkout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def _commands() -> list[list[str]]:
    """Every command path of the CLI (`[]`, `["dataset"]`, `["dataset", "build"]`, ...)."""
    import typer

    from bigcode_release.cli import app

    found: list[list[str]] = []

    def walk(command, path: list[str]) -> None:  # typer's own click: a group has `commands`
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    assert len(found) > 40, found
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel's console script in a fresh virtualenv."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:  # a clean tree: no build/ left over from another build
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((REPO_ROOT / name).read_bytes())
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(source)], check=True, timeout=600)
    wheel = next((root / "dist").glob("bigcode_release-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    venv_pip = [str(root / "venv" / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*venv_pip, "install", f"{wheel}[data]"], check=True, timeout=1200)
    return root / "venv" / "bin" / "bigcode-release"


def _run(cli: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(cli), *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{args}: {result.stderr[-2000:]}"
    return result


def test_the_wheel_carries_recipes_cards_and_spaces_and_runs_from_an_empty_folder(installed, tmp_path):
    work = tmp_path / "empty"
    work.mkdir()
    python = installed.parent / "python"
    located = subprocess.run(
        [
            str(python),
            "-c",
            "import bigcode_release, bigcode_release.shipped as s; print(bigcode_release.__file__); "
            "print(s.shipped_dir(s.RECIPES)); print(s.space_dir('in_the_stack')); print(s.card_template('model_card.md'))",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    site = str(installed.parents[1] / "lib")
    assert all(path.startswith(site) for path in located), located  # nothing read from the checkout
    assert all(Path(path).exists() for path in located[1:])

    for path in _commands():
        assert "Usage:" in _run(installed, work, *path, "--help").stdout, path

    listed = json.loads(_run(installed, work, "recipes", "list", "--json").stdout)
    assert {"the-stack-local", "release-default", "train-tiny", "release"} <= {r["name"] for r in listed["recipes"]}
    _run(installed, work, "recipes", "copy", "the-stack-local")
    recipe_path = work / "recipes" / "the-stack-local.yaml"
    recipe = yaml.safe_load(recipe_path.read_text())
    recipe["source"] = {"kind": "installed", "include": ["idna", "pyyaml", "click", "packaging"]}
    recipe["executor"] = {"tasks": 2, "workers": 2}
    recipe_path.write_text(yaml.safe_dump(recipe))
    built = json.loads(_run(installed, work, "dataset", "build", "recipes/the-stack-local.yaml", "--json").stdout)
    assert built["accounting_ok"] and built["totals"]["kept_files"] > 10
    assert (work / "release" / "dataset" / "README.md").read_text().count("## Opt-out") == 1  # the shipped card
    looked = json.loads(_run(installed, work, "optout", "lookup", "pallets", "--json").stdout)
    assert looked["versions"][0]["in_this_version"]
    # an installed toolkit has no checkout to build the Spaces' wheel from: it is told to pass its own
    unplanned = subprocess.run(
        [str(installed), "release", "plan", "release", "--org", "someone"], cwd=work, capture_output=True, text=True
    )
    assert unplanned.returncode == 2 and "--wheel PATH" in unplanned.stderr, unplanned.stderr[-2000:]
    unrun = subprocess.run(  # the one-command release is refused the same way, before any work
        [str(installed), "release", "run", "release-default", "--out", "never"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert unrun.returncode == 2 and "release.wheel" in unrun.stderr and not (work / "never").exists(), unrun.stderr
    wheel = next((installed.parents[2] / "dist").glob("bigcode_release-*.whl"))
    plan = json.loads(
        _run(installed, work, "release", "plan", "release", "--org", "someone", "--wheel", str(wheel), "--json").stdout
    )
    kinds = {repo["kind"] for repo in plan["repos"]}
    assert kinds == {"dataset", "space", "optout-intake"}  # the Space's sources come from the wheel
    space = next(repo for repo in plan["repos"] if repo["kind"] == "space")
    assert {f["path_in_repo"]: f["size"] for f in space["files"]}[f"wheels/{wheel.name}"] == wheel.stat().st_size
