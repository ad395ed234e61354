"""A folder of repository checkouts: one subfolder per repository.

The repository's name comes from its git remote when it points at GitHub, otherwise from the
folder layout (`<path>/<name>` with a default owner, or `<path>/<owner>/<name>`). The license
comes from license files at the repository root and package manifests.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import replace
from pathlib import Path

from bigcode_release.data.languages import LanguageTable
from bigcode_release.data.sources.installed import GITHUB_URL_RE
from bigcode_release.data.sources.plan import ReadPlan, RepoFile, RepoSpec
from bigcode_release.errors import SourceError
from bigcode_release.license.detect import detect_folder
from bigcode_release.license.subtrees import folder_parts, nearest
from bigcode_release.manifest import sha256_file
from bigcode_release.recipe import FolderSource

SKIPPED_DIRS = {".git", ".hg", ".svn"}


def git_remote_repo(root: Path) -> str | None:
    """`owner/name` of a checkout's GitHub `origin` remote, or None."""
    config_path = root / ".git" / "config"
    if not config_path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read(config_path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    url = parser.get('remote "origin"', "url", fallback="")
    match = GITHUB_URL_RE.search(url.replace("git@github.com:", "github.com/"))
    return f"{match.group(1)}/{match.group(2).removesuffix('.git')}" if match else None


def _repo_files(root: Path, table: LanguageTable) -> list[RepoFile]:
    """Every file of a checkout; one inside a folder with its own license file gets that license."""
    files = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
        for name in sorted(names):
            path = Path(directory) / name
            if path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            language = table.detect(relative)
            # the content hash makes the plan's digest change when a file's content does
            digest = sha256_file(path) if language else None
            files.append(RepoFile(relative, str(path), path.stat().st_size, language, digest))
    parts = folder_parts(root, [f.path for f in files])
    if not parts:
        return files
    return [
        replace(f, license_expression=part.expression, license_source=part.source)
        if (part := nearest(parts, f.path))
        else f
        for f in files
    ]


def _repo_roots(config: FolderSource) -> list[tuple[str, Path]]:
    """(owner/name, folder) for every repository folder, from the layout."""
    base = config.path
    if config.layout == "name":
        return [(f"{config.default_owner}/{d.name}", d) for d in sorted(base.iterdir()) if d.is_dir()]
    roots = []
    for owner in sorted(d for d in base.iterdir() if d.is_dir()):
        roots += [(f"{owner.name}/{d.name}", d) for d in sorted(owner.iterdir()) if d.is_dir()]
    return roots


def plan_folder(config: FolderSource, table: LanguageTable) -> ReadPlan:
    """List the repositories and files under a folder of checkouts.

    Raises:
        SourceError: the folder holds no repository folder.
    """
    plan = ReadPlan(source="folder")
    for layout_name, root in _repo_roots(config):
        repo_name = git_remote_repo(root) or layout_name
        decision = detect_folder(root)
        plan.repos.append(
            RepoSpec(
                repo_name=repo_name,
                owner=repo_name.split("/", 1)[0],
                origin=str(root),
                license_expression=decision.expression,
                licenses=tuple(decision.licenses),
                license_source=decision.source,
                license_category=decision.category,
                files=tuple(_repo_files(root, table)),
            )
        )
    if not plan.repos:
        raise SourceError(f"{config.path} holds no repository folder (layout '{config.layout}')")
    return plan
