"""License decisions: SPDX normalisation, permissive categories, real distributions, repo folders."""

import subprocess
import sys
from importlib.metadata import Distribution, distribution
from pathlib import Path

import pytest
from conftest import GPL3_HEAD, MIT_TEXT, run_cli_json

from bigcode_release.license.detect import (
    _distribution_license_files,
    detect_distribution,
    detect_folder,
    identify_license_text,
)
from bigcode_release.license.spdx import categorise, normalise, permissive_allowlist

ALLOW = permissive_allowlist()


@pytest.mark.parametrize(
    "statement, expression",
    [
        ("MIT", "MIT"),
        ("mit", "MIT"),
        ("Apache 2.0", "Apache-2.0"),
        ("License :: OSI Approved :: BSD License", "BSD-3-Clause"),
        ("GPLv3+", "GPL-3.0-or-later"),
        ("LGPL-2.1+", "LGPL-2.1-or-later"),
        ("apache-2.0 OR mit", "Apache-2.0 OR MIT"),
        ("not a license at all", None),
    ],
)
def test_statements_normalise_to_spdx(statement, expression):
    assert normalise(statement).expression == expression


@pytest.mark.parametrize(
    "expression, category",
    [
        ("MIT", "permissive"),
        ("Apache-2.0 OR GPL-3.0-only", "permissive"),
        ("MIT AND GPL-3.0-only", "non_permissive"),
        ("LGPL-2.1-or-later", "non_permissive"),
        ("MPL-2.0", "non_permissive"),
        ("AGPL-3.0-only", "non_permissive"),
        ("EPL-2.0", "non_permissive"),
        ("GPL-2.0-only WITH Classpath-exception-2.0", "non_permissive"),
        ("LicenseRef-Unknown", "unknown"),
        (None, "no_license"),
    ],
)
def test_categories_against_the_permissive_allowlist(expression, category):
    assert categorise(expression, ALLOW) == category


@pytest.mark.parametrize(
    "name, expression, category",
    [
        ("six", "MIT", "permissive"),
        ("requests", "Apache-2.0", "permissive"),
        ("click", "BSD-3-Clause", "permissive"),
        ("tld", "MPL-1.1 OR GPL-2.0-only OR LGPL-2.1-or-later", "non_permissive"),
    ],
)
def test_real_installed_distributions(name, expression, category):
    decision = detect_distribution(distribution(name))
    assert decision.expression == expression
    assert decision.category == category
    assert decision.evidence, "the decision keeps its evidence"


def test_license_files_of_real_distributions_are_identified():
    for name, spdx in (("six", "MIT"), ("requests", "Apache-2.0"), ("click", "BSD-3-Clause")):
        dist = distribution(name)
        files = _distribution_license_files(dist)
        assert files, f"{name} ships a license file"
        assert identify_license_text(dist.read_text(files[0])) == spdx


def test_installed_distribution_without_license_metadata(tmp_path):
    project = tmp_path / "nolicense"
    (project / "nolicense").mkdir(parents=True)
    (project / "nolicense" / "__init__.py").write_text("VALUE = 1\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "nolicense"\nversion = "0.1"\n'
    )
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(project),
        ],
        check=True,
        capture_output=True,
    )
    dist_info = next(target.glob("nolicense-*.dist-info"))
    decision = detect_distribution(Distribution.at(dist_info))
    assert decision.category == "no_license"
    assert decision.expression is None
    assert decision.source == "none"


def test_repository_folders(repo_folder: Path):
    mit = detect_folder(repo_folder / "alice" / "tools")
    assert (mit.expression, mit.source, mit.category) == ("MIT", "file:LICENSE", "permissive")
    gpl = detect_folder(repo_folder / "bob" / "engine")
    assert (gpl.expression, gpl.category) == ("GPL-3.0-only", "non_permissive")
    apache = detect_folder(repo_folder / "Carol" / "web")
    assert (apache.expression, apache.source) == ("Apache-2.0", "manifest:package.json")
    none = detect_folder(repo_folder / "dave" / "scripts")
    assert (none.expression, none.category) == (None, "no_license")


def test_dual_license_files_side_by_side_are_a_choice(tmp_path):
    (tmp_path / "LICENSE-MIT").write_text(MIT_TEXT)
    (tmp_path / "LICENSE-GPL").write_text(GPL3_HEAD)
    decision = detect_folder(tmp_path)
    assert decision.category == "permissive"
    assert set(decision.licenses) == {"MIT", "GPL-3.0-only"}


def test_unrecognised_license_file_is_unknown_not_missing(tmp_path):
    (tmp_path / "LICENSE").write_text("All rights reserved. Ask me first.\n")
    decision = detect_folder(tmp_path)
    assert decision.category == "unknown"


def test_cli_license_detect_shows_evidence(repo_folder: Path):
    result = run_cli_json("license", "detect", "six")
    assert result["expression"] == "MIT" and result["kind"] == "distribution"
    assert any(e["source"].startswith("metadata:") for e in result["evidence"])
    folder = run_cli_json("license", "detect", str(repo_folder / "alice" / "tools"))
    assert folder["expression"] == "MIT" and folder["source"] == "file:LICENSE"
    assert {"source": "file:LICENSE", "spdx": "MIT"}.items() <= folder["evidence"][0].items()
