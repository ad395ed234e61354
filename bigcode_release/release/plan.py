"""The release plan: every repository the release directory's artifacts go to, with the files
(generated ones included), visibility, gate and tag, checked before anything is sent."""

from __future__ import annotations

from pathlib import Path

from bigcode_release.errors import BigcodeReleaseError, ReleaseError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.release.artifacts import PROJECT_SPACES, RepoPlan, discover
from bigcode_release.release.cards import add_generated_files, check_cards
from bigcode_release.release.settings import ReleaseSettings, load_release_settings
from bigcode_release.release.transparency.report import DEFAULT_EDITION, TransparencyReport, transparency_report


def require_optouts_applied(release: str | Path) -> None:
    """Refuse to publish while an approved opt-out request is not applied in a built version.

    Raises:
        ReleaseError: naming the requests and the command that applies them.
    """
    from bigcode_release.optout.registry import OptOutRegistry

    layout = ReleaseLayout.at(release)
    if not layout.registry.is_file():
        return
    with OptOutRegistry(layout.registry) as registry:
        waiting = registry.requests(status="approved")
    if waiting:
        listed = ", ".join(f"{r.id} ({r.username})" for r in waiting)
        raise ReleaseError(
            f"{len(waiting)} approved opt-out request(s) are not applied yet: {listed}; build the next dataset "
            f"version with them (`bigcode-release release run ... --out {layout.root}` cuts it and verifies the "
            "removal) before publishing"
        )


def release_transparency(
    release: str | Path, settings: ReleaseSettings | None = None, edition: str = DEFAULT_EDITION
) -> TransparencyReport:
    """The transparency report of a release directory against an edition of the index, with the plan
    a push would publish."""
    settings = settings or load_release_settings()
    try:
        plans, problem = discover(release, "ORG", settings), ""
    except BigcodeReleaseError as exc:
        plans, problem = None, str(exc)
    return transparency_report(release, settings, plans, problem, edition)


def make_plan(
    release: str | Path,
    org: str,
    settings: ReleaseSettings,
    spaces_root: Path = PROJECT_SPACES,
    check: bool = True,
    endpoint: str | None = None,
    wheel: str | Path | None = None,
) -> list[RepoPlan]:
    """The plan for `org` on the Hub at `endpoint` (default: HF_ENDPOINT or huggingface.co), the Spaces
    installing `wheel` (default: built from this checkout). With `check`, a measurable transparency
    indicator that is missing (its stage ran but the measured input is gone) or a card missing a
    required section is refused here."""
    report = release_transparency(release, settings)
    if check and report.blocking():
        raise ReleaseError(
            "the transparency report finds measured inputs missing; restore them or rerun their "
            "stage before publishing:\n  " + "\n  ".join(f"#{r.number} {r.name}: {r.value}" for r in report.blocking())
        )
    plans = discover(release, org, settings, spaces_root)
    add_generated_files(plans, Path(release), settings, report, endpoint=endpoint, wheel=wheel)
    if check:
        check_cards(plans)
    return plans


def describe(plans: list[RepoPlan]) -> list[dict]:
    """One row per repository: what would be created or changed (nothing is sent)."""
    return [
        {
            "repo": f"{p.repo_type}s/{p.repo_id}",
            "kind": p.kind,
            "visibility": "private" if p.private else "public",
            "gated": p.gate or "no",
            "tag": p.tag,
            "files": len(p.files),
            "bytes": p.bytes,
            "source": p.source,
            "variables": p.space_variables,
            "secrets": p.space_secrets,
        }
        for p in plans
    ]
