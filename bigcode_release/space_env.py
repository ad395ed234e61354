"""The configuration a published Space reads from its variables and secrets (the Hub passes both
as environment variables). One table, read by the apps, by the release plan (which sets the
variables) and by the Space README's "Configuration" section."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SpaceSetting:
    name: str
    meaning: str
    default: str | None = None
    secret: bool = False


RELEASE_DIR = SpaceSetting(
    "RELEASE_DIR", "the release folder inside the Space (its per-version repos.parquet)", "release"
)
OPTOUT_REQUESTS_REPO = SpaceSetting(
    "OPTOUT_REQUESTS_REPO",
    "private dataset repository where each opt-out request is committed before it is acknowledged; "
    "unset: the registry file OPTOUT_REGISTRY on the Space's own disk (wiped at every restart)",
)
OPTOUT_REGISTRY = SpaceSetting(
    "OPTOUT_REGISTRY", "SQLite registry used only when OPTOUT_REQUESTS_REPO is unset", "release/optout.sqlite"
)
SUBMISSIONS_PER_MINUTE = SpaceSetting(
    "OPTOUT_SUBMISSIONS_PER_MINUTE", "opt-out requests accepted per minute from one address", "5"
)
HF_TOKEN = SpaceSetting(
    "HF_TOKEN",
    "a token with write access to OPTOUT_REQUESTS_REPO (in-the-stack) or read access to the gated INDEX_REPO",
    secret=True,
)
INDEX_REPO = SpaceSetting(
    "INDEX_REPO",
    "dataset repository holding the data index (`bigcode-release index build` output), downloaded at start",
)
INDEX_REVISION = SpaceSetting("INDEX_REVISION", "tag of INDEX_REPO to download (the indexed dataset version)")
DATASET_VERSION = SpaceSetting("DATASET_VERSION", "dataset version to serve (default: the newest in the index)")

SETTINGS_OF_SPACE: dict[str, tuple[SpaceSetting, ...]] = {
    "in_the_stack": (RELEASE_DIR, OPTOUT_REQUESTS_REPO, OPTOUT_REGISTRY, SUBMISSIONS_PER_MINUTE, HF_TOKEN),
    "data_inspector": (RELEASE_DIR, INDEX_REPO, INDEX_REVISION, DATASET_VERSION, HF_TOKEN),
    "membership_test": (RELEASE_DIR, INDEX_REPO, INDEX_REVISION, DATASET_VERSION, HF_TOKEN),
}


def read(setting: SpaceSetting, environ: Mapping[str, str] | None = None) -> str | None:
    """The setting's value from the environment (empty counts as unset), else its default."""
    value = (environ if environ is not None else os.environ).get(setting.name, "").strip()
    return value or setting.default


def configuration_section(space: str, variables: Mapping[str, str]) -> str:
    """The Space README's section naming every variable and secret the app reads."""
    lines = ["## Configuration", "", "| name | kind | value set by the release | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS_OF_SPACE[space]:
        value = "(set it in the Space's settings)" if setting.secret else variables.get(setting.name, setting.default)
        lines.append(
            f"| `{setting.name}` | {'secret' if setting.secret else 'variable'} | {value or '-'} | {setting.meaning} |"
        )
    return "\n".join(lines) + "\n"
