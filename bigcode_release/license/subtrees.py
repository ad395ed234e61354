"""Licenses of parts of a repository. A repository-level decision labels every file, but a
repository often carries code under other licenses: a vendored subtree with its own license file or
`*.dist-info` (`_vendor/`, `third_party/`, `extlibs/`, ...), or a file whose header carries a GNU or
Mozilla license notice. Each file gets the license of the nearest part that declares one, and says
where it came from (`license_source`); the license filter then decides file by file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import Distribution
from pathlib import Path, PurePosixPath

from bigcode_release.license.detect import (
    LICENSE_FILE_RE,
    LicenseDecision,
    detect_distribution,
    detect_folder,
    identify_license_text,
)
from bigcode_release.license.spdx import normalise

HEADER_CHARS = 3000  # a notice sits at the top of a file
_GNU_NOTICE = re.compile(
    r"under the terms of the gnu (lesser |library |affero )?general public license"
    r"(?:(?!\bversion\b).){0,200}\bversion (\d(?:\.\d)?)((?:(?!\bversion\b).){0,120}any later version)?",
    re.IGNORECASE | re.DOTALL,
)
_GNU_IDS = {"": "GPL", "lesser ": "LGPL", "library ": "LGPL", "affero ": "AGPL"}
_MPL_NOTICE = re.compile(r"subject to the terms of the mozilla public license,? v(?:ersion|\.)? ?(\d\.\d)", re.I)


@dataclass(frozen=True)
class PartLicense:
    """The license a part of a repository declares, and where."""

    expression: str
    licenses: tuple[str, ...]
    source: str  # e.g. "subtree:third_party/foo/LICENSE", "header"


def header_license(text: str) -> PartLicense | None:
    """The license a file's own header notice names (a GNU or MPL notice), or None."""
    head = " ".join(text[:HEADER_CHARS].split())
    folded = head.casefold()
    if "general public license" not in folded and "mozilla public license" not in folded:
        return None  # every file of a build passes here: most have no notice at all
    found = _GNU_NOTICE.search(head)
    if found and _other_license_text(head):
        found = None  # "this file is BSD-licensed; the rest of the project is GPL" (valgrind.h): not the file's
    if found:
        family, version, later = found.group(1) or "", found.group(2), found.group(3)
        version = {"2": "2.0", "3": "3.0"}.get(version, version)
        spdx = f"{_GNU_IDS[family.lower()]}-{version}-{'or-later' if later else 'only'}"
        parsed = normalise(spdx)
        if parsed.expression:
            return PartLicense(parsed.expression, parsed.licenses, "header")
    found = _MPL_NOTICE.search(head)
    if found:
        return PartLicense(f"MPL-{found.group(1)}", (f"MPL-{found.group(1)}",), "header")
    return None


def _other_license_text(head: str) -> bool:
    """Whether the header holds the text of a license outside the GNU family (then a GNU notice
    there speaks of something else)."""
    expression = identify_license_text(head)
    return bool(expression) and any(
        not name.startswith(("GPL", "LGPL", "AGPL")) for name in normalise(expression).licenses
    )


def _part(decision: LicenseDecision, where: str) -> PartLicense | None:
    if decision.expression is None or decision.category == "unknown":
        return None
    return PartLicense(decision.expression, decision.licenses, f"subtree:{where}")


def folder_parts(root: Path, paths: list[str]) -> dict[str, PartLicense]:
    """Folder of a checkout -> its license, for every folder below the root holding a license file
    (or a manifest next to one); `paths` are the checkout's files, relative and POSIX."""
    folders = sorted(
        {str(PurePosixPath(p).parent) for p in paths if "/" in p and LICENSE_FILE_RE.match(PurePosixPath(p).name)}
    )
    parts = {}
    for folder in folders:
        found = _part(detect_folder(Path(root) / folder), folder)
        if found is not None:
            parts[folder] = found
    return parts


def distribution_parts(dist: Distribution, paths: list[str]) -> dict[str, PartLicense]:
    """Folder (relative to site-packages) -> its license for an installed distribution: vendored
    packages with their own `*.dist-info`, and the license files a wheel records for a subtree
    (`licenses/src/pip/_vendor/certifi/LICENSE` is the license of `pip/_vendor/certifi`)."""
    parts: dict[str, PartLicense] = {}
    listed = set(paths)
    folders = {str(parent) for p in paths for parent in PurePosixPath(p).parents}

    def present(part: str) -> bool:  # a folder or a module the distribution ships
        return part in folders or part in listed

    for relative in paths:
        pure = PurePosixPath(relative)
        if pure.name != "METADATA" or not pure.parent.name.endswith(".dist-info") or len(pure.parts) < 3:
            continue
        vendored = Distribution.at(Path(dist.locate_file(relative)).parent)
        found = _part(detect_distribution(vendored), str(pure.parent))
        tops = {entry.as_posix().split("/", 1)[0] for entry in vendored.files or []}
        for top in sorted(t for t in tops if not t.endswith(".dist-info")):
            part = str(pure.parent.parent / top)
            if found is not None and present(part):
                parts.setdefault(part, found)
    metadata = Path(str(getattr(dist, "_path", "")))
    licenses = metadata / "licenses"
    if licenses.is_dir():
        for license_file in sorted(p for p in licenses.rglob("*") if p.is_file() and LICENSE_FILE_RE.match(p.name)):
            nested = license_file.parent.relative_to(licenses).as_posix()
            folder = nested.removeprefix("src/")
            if folder in (".", "src") or not present(folder):
                continue
            found = _part(detect_folder(license_file.parent), f"{metadata.name}/licenses/{nested}")
            if found is not None:
                parts.setdefault(folder, found)
    return parts


def nearest(parts: dict[str, PartLicense], path: str) -> PartLicense | None:
    """The license of the deepest part holding `path` (a folder above it, or the module itself),
    or None (the repository's applies)."""
    best = None
    for folder, found in parts.items():
        if (path == folder or path.startswith(folder + "/")) and (best is None or len(folder) > len(best[0])):
            best = (folder, found)
    return best[1] if best else None
