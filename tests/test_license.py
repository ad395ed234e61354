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


def _dist_info(site: Path, name: str, metadata: str, files: dict[str, str]) -> Distribution:
    """An installed distribution's metadata folder: METADATA (the given fields) and its license files."""
    info = site / f"{name}-1.0.dist-info"
    (info / "licenses").mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\n{metadata}")
    for file_name, text in files.items():
        (info / "licenses" / file_name).write_text(text)
    return Distribution.at(info)


def test_a_placeholder_never_hides_the_evidence_after_it_python_dateutil(tmp_path):
    decision = run_cli_json("license", "detect", "python-dateutil")  # License: Dual License, then classifiers, LICENSE
    assert decision["evidence"][0]["statement"] == "Dual License"
    assert decision["evidence"][0]["spdx"] == "LicenseRef-Unknown"
    assert (decision["expression"], decision["category"]) == ("Apache-2.0 AND BSD-3-Clause", "permissive")
    placeholder = _dist_info(
        tmp_path, "placeholder", "License: Dual License\nClassifier: License :: OSI Approved :: MIT License\n", {}
    )
    assert detect_distribution(placeholder).expression == "MIT"


def test_sources_that_disagree_are_combined_and_named_not_decided_by_order(tmp_path):
    apache = Path("/usr/share/common-licenses/Apache-2.0").read_text()  # Debian's base-files
    (tmp_path / "LICENSE").write_text(apache)
    (tmp_path / "package.json").write_text('{"name": "x", "license": "MIT"}')
    decision = detect_folder(tmp_path)  # as groovy and safehttpx: metadata MIT, LICENSE Apache-2.0
    assert (decision.expression, decision.source) == ("Apache-2.0 AND MIT", "file:LICENSE+manifest:package.json")
    assert [e.spdx for e in decision.evidence] == ["Apache-2.0", "MIT"]
    vague = _dist_info(
        tmp_path / "site",
        "vague",
        "Classifier: License :: OSI Approved :: BSD License\n",  # names no BSD variant
        {
            "LICENSE": "Redistribution and use in source and binary forms, with or without modification, are "
            "permitted provided that the following conditions are met: 1. Redistributions of source code must "
            "retain the above copyright notice. 2. Redistributions in binary form must reproduce the above "
            "copyright notice.\n"
        },
    )
    assert detect_distribution(vague).expression == "BSD-2-Clause"  # the text says which BSD


@pytest.mark.parametrize(
    "name, spdx",
    [("MPL-2.0", "MPL-2.0"), ("GPL-3", "GPL-3.0-only"), ("LGPL-3", "LGPL-3.0-only"), ("Apache-2.0", "Apache-2.0")],
)
def test_full_license_texts_are_named_by_their_own_license_not_by_one_they_mention(name, spdx):
    # Debian's copies of the texts; the MPL 2.0 names the GNU licenses as "Secondary Licenses"
    assert identify_license_text(Path(f"/usr/share/common-licenses/{name}").read_text()) == spdx


def test_a_file_holding_two_license_texts_is_both_and_a_bundled_binarys_exception_is_not_the_gpl():
    bsd = (
        "Redistribution and use in source and binary forms, with or without modification, are permitted "
        "provided that ... Neither the name of the copyright holder nor the names of its contributors may be "
        "used to endorse or promote products derived from this software.\n"
    )
    apache_notice = 'Licensed under the Apache License, Version 2.0 (the "License").\n'
    assert identify_license_text(apache_notice + bsd) == "Apache-2.0 AND BSD-3-Clause"
    gcc = (
        "This binary distribution also bundles: GCC RUNTIME LIBRARY EXCEPTION Version 3.1 ... permission "
        "under section 7 of the GNU General Public License, version 3 ...\n"
    )
    assert identify_license_text(bsd + gcc) == "BSD-3-Clause"  # as scikit-learn's COPYING


LGPL_NOTICE = (
    "/* libcharset: this library is free software; you can redistribute it and/or modify it under the terms "
    "of the GNU Lesser General Public License as published by the Free Software Foundation; either version 2.1 "
    "of the License, or (at your option) any later version. */\n"
)


def _vendoring_repo(root: Path) -> Path:
    """An MIT repository vendoring an MPL-2.0 subtree (its own LICENSE) and an LGPL header file."""
    repo = root / "mia" / "app"
    files = {
        "LICENSE": MIT_TEXT,
        "app/main.py": "def main():\n    return 'the repository's own code'\n",
        "app/third_party/certifi/LICENSE": Path("/usr/share/common-licenses/MPL-2.0").read_text(),
        "app/third_party/certifi/core.py": "def where():\n    return '/etc/ssl/certs/ca-certificates.crt'\n",
        "app/extlibs/libcharset.h": LGPL_NOTICE + "extern const char *locale_charset(void);\n",
        "app/extlibs/other.c": "int other(void) {\n  return 42;\n}\n",
    }
    for relative, text in files.items():
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text(text)
    return root


def test_a_vendored_subtree_and_a_header_notice_get_their_own_license_file_by_file(tmp_path):
    import json

    import pyarrow.parquet as pq
    from conftest import folder_recipe

    repos = _vendoring_repo(tmp_path / "repos")
    shown = run_cli_json("license", "detect", str(repos / "mia" / "app"))
    assert shown["expression"] == "MIT"
    assert shown["subtrees"] == [
        {"path": "app/third_party/certifi", "expression": "MPL-2.0", "source": "subtree:app/third_party/certifi"}
    ]
    release = tmp_path / "release"
    run_cli_json("dataset", "build", str(folder_recipe(tmp_path, repos)), "--out", str(release))
    version = release / "dataset-versions" / "v1.0"
    kept = {r["path"]: r for r in pq.read_table(version / "data").to_pylist()}
    assert set(kept) == {"app/main.py", "app/extlibs/other.c"}  # the repository stays, file by file
    assert {(r["license_expression"], r["license_source"]) for r in kept.values()} == {("MIT", "file:LICENSE")}
    ledger = {}
    for path in (version / "work" / "dropped").glob("*/*.jsonl.gz"):
        import gzip

        for line in gzip.open(path, "rt"):
            row = json.loads(line)
            ledger[row["path"]] = row
    assert (
        ledger["app/third_party/certifi/core.py"]["reason"],
        ledger["app/third_party/certifi/core.py"]["license_expression"],
    ) == (
        "non_permissive_license",
        "MPL-2.0",
    )
    header = ledger["app/extlibs/libcharset.h"]
    assert (header["reason"], header["license_expression"], header["license_source"]) == (
        "non_permissive_license",
        "LGPL-2.1-or-later",
        "header",
    )
    repo = pq.read_table(version / "repos.parquet").to_pylist()[0]
    assert (repo["repo_name"], repo["license"], repo["included"]) == ("mia/app", "MIT", True)
    assert {"reason": "non_permissive_license", "files": 2} in repo["dropped_by_reason"]
    per_license = {r["license"]: r for r in json.loads((version / "stats.json").read_text())["per_license"]}
    assert per_license["MIT"]["kept_files"] == 2  # the license table counts files by their own license
    assert per_license["MPL-2.0"]["dropped_files"] == 1 and per_license["LGPL-2.1-or-later"]["dropped_files"] == 1


def test_an_installed_distributions_vendored_package_keeps_its_own_license(tmp_path):
    from bigcode_release.data.languages import LanguageTable
    from bigcode_release.data.sources.installed import plan_installed
    from bigcode_release.recipe import InstalledSource

    site = tmp_path / "site"
    for folder, name, license_ in ((site, "host", "MIT"), (site / "host" / "_vendor", "vendored", "MPL-2.0")):
        info = folder / f"{name}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nLicense-Expression: {license_}\n"
        )
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "__init__.py").write_text(f"NAME = '{name}'\n")
        (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
    host_record = site / "host-1.0.dist-info" / "RECORD"
    host_record.write_text(
        host_record.read_text()
        + "host/_vendor/vendored/__init__.py,,\nhost/_vendor/vendored-1.0.dist-info/METADATA,,\n"
        + "host/_vendor/vendored-1.0.dist-info/RECORD,,\n"
    )
    config = InstalledSource(kind="installed", site_packages=[site], include=["host"])
    plan = plan_installed(config, LanguageTable.load(), None)
    files = {f.path: f for f in plan.repos[0].files}
    assert plan.repos[0].license_expression == "MIT" and files["host/__init__.py"].license_expression is None
    vendored = files["host/_vendor/vendored/__init__.py"]
    assert (vendored.license_expression, vendored.license_source) == (
        "MPL-2.0",
        "subtree:host/_vendor/vendored-1.0.dist-info",
    )


def test_a_header_with_its_own_license_text_is_not_taken_for_the_gnu_license_it_mentions():
    from bigcode_release.license.subtrees import header_license

    valgrind_like = (
        "/* Notice that the following BSD-style license applies to this one file (valgrind.h) only. The rest "
        "of Valgrind is licensed under the terms of the GNU General Public License, version 2, unless "
        "otherwise indicated. Redistribution and use in source and binary forms, with or without "
        "modification, are permitted provided that ... Redistributions in binary form must reproduce ... */\n"
    )
    assert header_license(valgrind_like) is None  # the file keeps its repository's license (torch's valgrind.h)
    assert header_license(LGPL_NOTICE).expression == "LGPL-2.1-or-later"
