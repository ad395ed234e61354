"""What a Space's repository needs beyond its app to install and start on the Hub:

- the running toolkit's wheel (`wheels/bigcode_release-<version>-py3-none-any.whl`), built from the
  checkout at push time or given with `--wheel`, and a `requirements.txt` that installs it with the
  slim `[space]` extra from the Space's own files on the Hub (the Space build mounts only
  `requirements.txt`, so a relative path would not resolve there); or, for a private Space, the
  pip requirement the release settings name (`spaces.requirement`, e.g. a pinned VCS URL);
- a README whose front matter pins the Gradio SDK the app was tested with and Python 3.11, and
  whose "Configuration" section names every variable and secret the app reads.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

import bigcode_release
from bigcode_release import __version__, space_env
from bigcode_release.errors import ReleaseError

WHEEL_NAME = f"bigcode_release-{__version__}-py3-none-any.whl"
WHEEL_PATH_IN_REPO = f"wheels/{WHEEL_NAME}"
SPACE_PYTHON = "3.11"
CHECKOUT_ROOT = Path(bigcode_release.__file__).resolve().parent.parent
SOURCE_FOLDERS = ("bigcode_release", "spaces", "recipes", "model_cards")
SOURCE_FILES = ("pyproject.toml", "setup.py", "README.md")


def hub_endpoint() -> str:
    """The Hub the Spaces are pushed to (HF_ENDPOINT, as huggingface_hub reads it)."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def wheel_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bigcode-release" / "wheels"


def _source_files(root: Path) -> list[Path]:
    found = [root / name for name in SOURCE_FILES]
    for folder in SOURCE_FOLDERS:
        found += [
            p
            for p in (root / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
        ]
    return sorted(found)


def running_from_checkout() -> bool:
    """Whether this toolkit runs from a source checkout (it can build its own wheel), not an install."""
    return all((CHECKOUT_ROOT / name).is_file() for name in ("pyproject.toml", "setup.py"))


def toolkit_wheel(wheel: str | Path | None = None) -> Path:
    """The wheel a Space installs: `wheel` when given (it must be this toolkit's version), else one
    built from this checkout (cached by the digest of its sources, so a re-push sends the same file).

    Raises:
        ReleaseError: the given file is not this toolkit's wheel, or the toolkit runs from an
            installed wheel and no `wheel` was given.
    """
    if wheel is not None:
        wheel = Path(wheel)
        if not wheel.is_file() or wheel.name != WHEEL_NAME:
            raise ReleaseError(f"--wheel {wheel}: expected this toolkit's wheel, a file named {WHEEL_NAME}")
        return wheel
    if not running_from_checkout():
        raise ReleaseError(
            f"bigcode-release {__version__} runs from an installed package ({CHECKOUT_ROOT}), not a checkout: "
            "pass the wheel it was installed from with --wheel PATH (the Spaces install it)"
        )
    sources = _source_files(CHECKOUT_ROOT)
    digest = hashlib.sha256()
    for path in sources:
        digest.update(str(path.relative_to(CHECKOUT_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    target = wheel_cache() / digest.hexdigest()[:20] / WHEEL_NAME
    if not target.is_file():
        _build(sources, target)
    return target


def _build(sources: list[Path], target: Path) -> None:
    """Build the wheel from a clean copy of the sources (no stale build/ folder can leak into it)."""
    with tempfile.TemporaryDirectory(prefix="bigcode-release-wheel-") as tmp:
        tree = Path(tmp) / "source"
        for path in sources:
            copy = tree / path.relative_to(CHECKOUT_ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
        env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}  # the same sources give the same bytes
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check"]
            + ["-w", str(Path(tmp) / "dist"), str(tree)],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        built = Path(tmp) / "dist" / WHEEL_NAME
        if result.returncode != 0 or not built.is_file():
            raise ReleaseError(f"building the toolkit's wheel for the Spaces failed:\n{result.stderr[-2000:]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copy2(built, partial)
        partial.replace(target)


def requirements_txt(repo_id: str, endpoint: str, requirement: str | None, wheel: Path | None = None) -> str:
    """The Space's requirements: the toolkit with its `[space]` extra, from the wheel pushed with the
    Space (or `requirement`). Gradio itself comes from the README's `sdk_version`. The wheel's SHA-256
    rides in the URL: pip checks the download against it, and the file changes whenever the wheel does,
    so the Space's build cannot reuse an install of an older wheel."""
    if requirement:
        return f"# bigcode-release as the release settings name it (spaces.requirement)\n{requirement}\n"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    url = f"{endpoint.rstrip('/')}/spaces/{repo_id}/resolve/main/{WHEEL_PATH_IN_REPO}#sha256={digest}"
    return (
        "# bigcode-release, the wheel pushed with this Space (built at push time), with the slim [space] extra\n"
        f"bigcode-release[space] @ {url}\n"
    )


def space_readme(shipped_readme: Path, space: str, variables: dict[str, str]) -> str:
    """The shipped README with the tested Gradio version and Python 3.11 in its front matter and a
    section naming the Space's variables and secrets."""
    import gradio

    text = shipped_readme.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ReleaseError(f"{shipped_readme}: a Space README starts with its front matter (---)")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front) or {}
    meta.update({"sdk": "gradio", "sdk_version": gradio.__version__, "python_version": SPACE_PYTHON})
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n{body.rstrip()}\n\n{space_env.configuration_section(space, variables)}"
