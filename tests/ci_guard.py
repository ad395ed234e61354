"""A pytest plugin (loaded by tests/conftest.py): with BIGCODE_RELEASE_NO_SKIPS=1, which
scripts/test.sh (what CI runs) sets, a skipped test fails the run: a missing tool must stop CI, not
hide the tests that need it. GPU tests are deselected by `-m "not gpu"`, so they never count."""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if os.environ.get("BIGCODE_RELEASE_NO_SKIPS") == "1" and skipped:
        for report in skipped:
            reporter.write_line(f"SKIPPED IN CI (a failure): {report.nodeid}: {report.longrepr[-1]}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
