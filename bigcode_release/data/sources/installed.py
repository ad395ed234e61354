"""The embedded default source: every installed Python distribution is one repository.

Files come from each distribution's RECORD (with the content hashes it records), the license from
its metadata (see `bigcode_release.license.detect`), and the repository name from a GitHub
project URL when the distribution has one (`owner/name`), otherwise a stable `pypi/<name>`.

Vendored code is traced to its project: a `*.dist-info` folder inside a distribution (ray's
`thirdparty_files/aiohttp-3.14.4.dist-info`, setuptools' `_vendor/packaging-*.dist-info`) names
the project its files come from, and a package under a vendoring folder (`_vendor/`,
`vendored/`, `thirdparty/`...) that another installed distribution provides comes from that
distribution's repository. Each such file carries `origin` (that project's `owner/name`) and
`origin_path` (its path there), so an opt-out of the project reaches its copies.
"""

from __future__ import annotations

import base64
import fnmatch
import re
from importlib.metadata import Distribution, distributions
from pathlib import Path

from bigcode_release.data.languages import LanguageTable
from bigcode_release.data.sources.plan import ReadPlan, RepoFile, RepoSpec
from bigcode_release.errors import SourceError
from bigcode_release.license.detect import decide, distribution_evidence, merge_decisions
from bigcode_release.license.subtrees import distribution_parts, nearest
from bigcode_release.recipe import InstalledSource

GITHUB_URL_RE = re.compile(r"github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]+)", re.IGNORECASE)
_NOT_OWNERS = {"sponsors", "orgs", "apps", "features", "marketplace", "topics", "users", "settings"}
_NOT_REPO_LABELS = ("conduct", "fund", "sponsor", "donat", "chat", "contribut", "security")
_URL_LABEL_PRIORITY = ("source", "repository", "code", "github", "homepage", "home")


def normalise_name(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def github_repo(dist: Distribution) -> str | None:
    """`owner/name` from a distribution's project URLs, or None."""
    metadata = dist.metadata
    labelled: list[tuple[int, str]] = []
    for entry in metadata.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        label = label.strip().lower()
        if any(word in label for word in _NOT_REPO_LABELS):
            continue
        rank = next((i for i, key in enumerate(_URL_LABEL_PRIORITY) if key in label), len(_URL_LABEL_PRIORITY))
        labelled.append((rank, url.strip()))
    for key in ("Home-page", "Download-URL"):
        if metadata.get(key):
            labelled.append((len(_URL_LABEL_PRIORITY) - 1, metadata[key]))
    for _, url in sorted(labelled, key=lambda item: item[0]):
        match = GITHUB_URL_RE.search(url)
        if match and match.group(1).lower() not in _NOT_OWNERS:
            name = match.group(2).removesuffix(".git")
            if name and not name.startswith("."):
                return f"{match.group(1)}/{name}"
    return None


def _is_source_path(relative: str) -> bool:
    parts = relative.split("/")
    if parts[0] == ".." or "__pycache__" in parts:
        return False
    return not parts[0].endswith((".dist-info", ".egg-info"))


VENDORING_DIRS = frozenset(
    {"_vendor", "vendor", "vendored", "_vendored", "thirdparty", "third_party", "thirdparty_files", "extern", "_extern"}
)


def _record_sha256(entry) -> str | None:
    """The hex sha256 RECORD gives for a file (`sha256=<urlsafe base64>`), or None."""
    found = getattr(entry, "hash", None)
    if found is None or found.mode != "sha256":
        return None
    value = found.value + "=" * (-len(found.value) % 4)
    return base64.urlsafe_b64decode(value).hex()


def _top_level_packages(dist: Distribution) -> set[str]:
    """The importable names a distribution installs (first segment of its files)."""
    names = set()
    for entry in dist.files or []:
        first = entry.as_posix().split("/", 1)[0]
        if _is_source_path(first) and first not in ("..", "__pycache__") and not first.endswith(".pth"):
            names.add(first.removesuffix(".py"))
    return names


def _vendored_origins(dist: Distribution, providers: dict[str, str], own_repo: str) -> dict[str, tuple[str, str]]:
    """path in `dist` -> (origin `owner/name`, path in the origin) for the vendored files it ships."""
    origins: dict[str, tuple[str, str]] = {}
    entries = [entry.as_posix() for entry in dist.files or []]
    for relative in entries:
        parts = relative.split("/")
        if len(parts) < 3 or parts[-1] != "METADATA" or not parts[-2].endswith(".dist-info"):
            continue
        vendored = Distribution.at(Path(dist.locate_file(relative)).parent)
        name = vendored.metadata.get("Name")
        if not name:
            continue
        origin = github_repo(vendored) or f"pypi/{normalise_name(name)}"
        prefix = "/".join(parts[:-2])
        for entry in vendored.files or []:
            path = entry.as_posix()
            if _is_source_path(path):
                origins[f"{prefix}/{path}"] = (origin, path)
    for relative in entries:
        parts = relative.split("/")
        for index, part in enumerate(parts[:-1]):
            if part in VENDORING_DIRS and relative not in origins:
                package = parts[index + 1].removesuffix(".py")
                origin = providers.get(package)
                if origin and origin != own_repo:
                    origins[relative] = (origin, "/".join(parts[index + 1 :]))
                break
    return origins


def _files(dist: Distribution, table: LanguageTable, origins: dict[str, tuple[str, str]]) -> tuple[list[RepoFile], int]:
    files, missing = [], 0
    parts = distribution_parts(dist, [entry.as_posix() for entry in dist.files or []])
    for entry in dist.files or []:
        relative = entry.as_posix()
        if not _is_source_path(relative):
            continue
        abspath = Path(dist.locate_file(entry))
        try:
            size = abspath.stat().st_size
        except OSError:
            missing += 1
            continue
        origin, origin_path = origins.get(relative, (None, None))
        part = nearest(parts, relative)
        files.append(
            RepoFile(
                relative,
                str(abspath),
                size,
                table.detect(relative),
                _record_sha256(entry),
                origin,
                origin_path,
                part.expression if part else None,
                part.source if part else None,
            )
        )
    return files, missing


def _selected(name: str, config: InstalledSource) -> bool:
    if config.include and not any(fnmatch.fnmatch(name, normalise_name(p)) for p in config.include):
        return False
    return not any(fnmatch.fnmatch(name, normalise_name(p)) for p in config.exclude)


def plan_installed(config: InstalledSource, table: LanguageTable, selected_languages: set[str] | None) -> ReadPlan:
    """List the installed distributions a build reads, as repositories with their files.

    Raises:
        SourceError: no distribution matched.
    """
    paths = [str(p) for p in config.site_packages] if config.site_packages else None
    plan = ReadPlan(source="installed")
    installed: list[tuple[str, Distribution]] = []
    seen: set[str] = set()
    for dist in distributions(**({"path": paths} if paths else {})):
        name = normalise_name(dist.metadata.get("Name") or "")
        if name and name not in seen:  # the first on the path shadows later ones, as for imports
            seen.add(name)
            installed.append((name, dist))
    providers = _package_providers(installed)
    by_repo: dict[str, list[tuple[Distribution, list[RepoFile]]]] = {}
    for name, dist in installed:
        if not _selected(name, config):
            plan.skipped["excluded_by_recipe"] = plan.skipped.get("excluded_by_recipe", 0) + 1
            continue
        if dist.files is None:
            plan.skipped["no_file_list"] = plan.skipped.get("no_file_list", 0) + 1
            continue
        repo = github_repo(dist) or f"pypi/{name}"
        files, missing = _files(dist, table, _vendored_origins(dist, providers, repo))
        if missing:
            plan.skipped["missing_files"] = plan.skipped.get("missing_files", 0) + missing
        by_repo.setdefault(repo, []).append((dist, files))

    cap = int(config.max_total_mb * 1024 * 1024) if config.max_total_mb else None
    total = 0
    for repo_name in sorted(by_repo, key=str.lower):
        spec = _repo_spec(repo_name, by_repo[repo_name])
        wanted = sum(
            f.size for f in spec.files if f.language and (not selected_languages or f.language in selected_languages)
        )
        if cap is not None and total + wanted > cap:
            plan.skipped["over_size_cap"] = plan.skipped.get("over_size_cap", 0) + 1
            continue
        total += wanted
        plan.repos.append(spec)
    if not plan.repos:
        raise SourceError(f"no installed distribution matched the recipe (searched {paths or 'sys.path'})")
    return plan


def _package_providers(installed: list[tuple[str, Distribution]]) -> dict[str, str]:
    """Importable package name -> the repository of the one installed distribution providing it
    (names two repositories provide are left out: ambiguous)."""
    found: dict[str, set[str]] = {}
    for name, dist in installed:
        repo = github_repo(dist) or f"pypi/{name}"
        for package in _top_level_packages(dist):
            found.setdefault(package, set()).add(repo)
    return {package: repos.pop() for package, repos in found.items() if len(repos) == 1}


def _repo_spec(repo_name: str, members: list[tuple[Distribution, list[RepoFile]]]) -> RepoSpec:
    """One repository from the distributions published from it (licenses must all hold: AND)."""
    members = sorted(members, key=lambda m: normalise_name(m[0].metadata["Name"]))
    decision = merge_decisions([decide(distribution_evidence(dist)) for dist, _ in members])
    files: dict[str, RepoFile] = {}
    for _, member_files in members:
        for f in member_files:
            files.setdefault(f.path, f)
    origin = ", ".join(f"pypi:{normalise_name(d.metadata['Name'])} {d.version}" for d, _ in members)
    return RepoSpec(
        repo_name=repo_name,
        owner=repo_name.split("/", 1)[0],
        origin=origin,
        license_expression=decision.expression,
        licenses=tuple(decision.licenses),
        license_source=decision.source,
        license_category=decision.category,
        files=tuple(sorted(files.values(), key=lambda f: f.path)),
    )


def find_distribution(name: str, site_packages: list[str] | None = None) -> Distribution | None:
    """An installed distribution by name (normalised), or None."""
    wanted = normalise_name(name)
    for dist in distributions(**({"path": site_packages} if site_packages else {})):
        if normalise_name(dist.metadata.get("Name") or "") == wanted:
            return dist
    return None
