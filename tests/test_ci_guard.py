"""CI cannot go green by skipping: a skipped test fails the run when scripts/test.sh's switch is on."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

SKIPPING = """
import pytest

def test_runs():
    pass

@pytest.mark.skipif(True, reason="no such tool on this machine")
def test_needs_a_tool():
    pass
"""


def _pytest(folder, switch: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BIGCODE_RELEASE_NO_SKIPS"}
    if switch:
        env["BIGCODE_RELEASE_NO_SKIPS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_guard", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_skip_fails_the_run_only_when_ci_says_so(tmp_path):
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    assert _pytest(tmp_path, switch=False).returncode == 0
    failed = _pytest(tmp_path, switch=True)
    assert failed.returncode == 1
    assert "SKIPPED IN CI (a failure)" in failed.stdout and "no such tool on this machine" in failed.stdout
