"""`bigcode-release release`: plan, push (or write offline) a release to the Hub, manage its gates."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli.output import JsonFlag, ProgressFlag, console, emit
from bigcode_release.errors import InvalidArgumentError

app = typer.Typer(no_args_is_help=True, help="Publish a release on the Hugging Face Hub (gated, tagged).")
access_app = typer.Typer(no_args_is_help=True, help="Gate management: access requests of a gated repository.")
app.add_typer(access_app, name="access")

ReleaseDir = Annotated[Path, typer.Argument(help="the release directory")]
Org = Annotated[str, typer.Option("--org", help="the Hub namespace (organisation or user) to publish under")]
Settings = Annotated[Path | None, typer.Option("--settings", help="release settings, merged over recipes/release.yaml")]
Repo = Annotated[str, typer.Argument(help="ORG/NAME of a gated repository")]
RepoType = Annotated[str, typer.Option("--repo-type", help="dataset, model or space")]


Wheel = Annotated[
    Path | None,
    typer.Option("--wheel", help="the toolkit's wheel the Spaces install (default: built from this checkout)"),
]


def _plan(release: Path, org: str, settings_path: Path | None, wheel: Path | None = None):
    from bigcode_release.release.plan import make_plan
    from bigcode_release.release.settings import load_release_settings

    settings = load_release_settings(settings_path)
    return settings, make_plan(release, org, settings, endpoint=os.environ.get("HF_ENDPOINT"), wheel=wheel)


@app.command("plan")
def plan(
    release: ReleaseDir,
    org: Org,
    settings: Settings = None,
    files: Annotated[bool, typer.Option("--files", help="list every file")] = False,
    wheel: Wheel = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the repositories, visibility, gates, tags and files a push would create or change, and the
    variables and secrets each Space reads. Nothing is sent."""
    from bigcode_release.release.plan import describe

    _, plans = _plan(release, org, settings, wheel)

    def human() -> None:
        table = Table(title=f"release plan for {org} (nothing sent)")
        for column in ("repository", "kind", "visibility", "gated", "tag", "files", "MiB"):
            table.add_column(column, justify="right" if column in ("files", "MiB") else "left")
        for row in describe(plans):
            table.add_row(
                row["repo"],
                row["kind"],
                row["visibility"],
                row["gated"],
                row["tag"] or "-",
                str(row["files"]),
                f"{row['bytes'] / 2**20:,.1f}",
            )
        console.print(table)
        for item in plans:
            if item.repo_type == "space":
                variables = ", ".join(f"{k}={v}" for k, v in item.space_variables.items())
                console.print(
                    f"spaces/{item.repo_id}: variables {variables}; secrets {', '.join(item.space_secrets)} "
                    "(set with `release push --space-token-env NAME`, or in the Space's settings)"
                )
        if files:
            for item in plans:
                console.print(f"[bold]{item.repo_type}s/{item.repo_id}[/]")
                for entry in item.files:
                    console.print(f"  {entry.path_in_repo}  {entry.size:,} bytes")

    emit({"org": org, "repos": [p.to_dict() for p in plans]}, as_json, human)


@app.command("push")
def push(
    release: ReleaseDir,
    org: Org,
    settings: Settings = None,
    to_dir: Annotated[
        Path | None, typer.Option("--to-dir", help="write the repository trees here instead (no token needed)")
    ] = None,
    wheel: Wheel = None,
    space_token_env: Annotated[
        str | None,
        typer.Option(
            "--space-token-env",
            help="environment variable holding the token the Spaces get as their HF_TOKEN secret "
            "(write access to the opt-out intake dataset); default: leave the secret as it is",
        ),
    ] = None,
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Create the repositories, set their gates, upload in bounded commits, tag versions (token: `hf auth
    login` or HF_TOKEN); a re-run uploads only what changed."""
    from bigcode_release.release.auth import resolve_token
    from bigcode_release.release.plan import require_optouts_applied
    from bigcode_release.release.push import push_release, write_repo_trees

    require_optouts_applied(release)
    loaded, plans = _plan(release, org, settings, wheel)
    space_secrets = {}
    if space_token_env is not None:
        if not os.environ.get(space_token_env):
            raise InvalidArgumentError(f"--space-token-env {space_token_env}: that environment variable is not set")
        space_secrets["HF_TOKEN"] = os.environ[space_token_env]
    if to_dir is not None:
        path = write_repo_trees(plans, to_dir, release)
        emit(
            {"plan": str(path), "repos": [p.repo_id for p in plans]},
            as_json,
            lambda: console.print(f"wrote {len(plans)} repository trees under {to_dir} (see {path})"),
        )
        return
    if not (progress and not as_json):
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    token = resolve_token()
    result = push_release(
        plans,
        org,
        token,
        loaded.commits,
        release,
        endpoint=os.environ.get("HF_ENDPOINT"),
        say=(lambda _: None) if as_json else console.print,
        space_secrets=space_secrets,
    )

    def human() -> None:
        for repo in result.repos:
            console.print(
                f"{repo.url}  gated={repo.gated}  tag={repo.tag or '-'}  head={repo.head[:12]}  "
                f"uploaded {repo.uploaded_files} files ({repo.uploaded_bytes:,} bytes)"
            )
        console.print(f"pushed as {result.user} in {result.seconds:.1f} s; {release}/hub-release.json records it")

    emit(result.to_dict(), as_json, human)


@access_app.command("list")
def access_list(
    repo: Repo,
    status: Annotated[str, typer.Option("--status", help="pending, accepted or rejected")] = "pending",
    repo_type: RepoType = "dataset",
    as_json: JsonFlag = False,
) -> None:
    """List a gated repository's access requests."""
    from bigcode_release.release.access import STATUSES, list_requests
    from bigcode_release.release.auth import hub_api

    if status not in STATUSES:
        raise InvalidArgumentError(f"--status must be one of {', '.join(STATUSES)}, got {status!r}")
    rows = list_requests(hub_api(), repo, repo_type, status)

    def human() -> None:
        table = Table(title=f"{status} access requests of {repo}")
        for column in ("user", "fullname", "email", "timestamp", "fields"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row["user"] or "(hidden)",
                row["fullname"] or "",
                row["email"] or "",
                row["timestamp"] or "",
                json.dumps(row["fields"]),
            )
        console.print(table)

    emit(rows, as_json, human)


def _decide(action: str, repo: str, user: str, repo_type: str, reason: str | None = None) -> None:
    from bigcode_release.release.access import decide
    from bigcode_release.release.auth import hub_api

    decide(hub_api(), repo, repo_type, action, user, reason)
    console.print(f"{repo}: {action} {user}: done")


User = Annotated[str, typer.Option("--user", help="the Hub username")]


@access_app.command("accept")
def access_accept(repo: Repo, user: User, repo_type: RepoType = "dataset") -> None:
    """Accept a pending request."""
    _decide("accept", repo, user, repo_type)


@access_app.command("reject")
def access_reject(
    repo: Repo,
    user: User,
    repo_type: RepoType = "dataset",
    reason: Annotated[str | None, typer.Option("--reason", help="shown to the user")] = None,
) -> None:
    """Reject a request (with an optional reason)."""
    _decide("reject", repo, user, repo_type, reason)


@access_app.command("grant")
def access_grant(repo: Repo, user: User, repo_type: RepoType = "dataset") -> None:
    """Give a user access without a request."""
    _decide("grant", repo, user, repo_type)


@app.command("transparency")
def transparency(
    release: ReleaseDir,
    settings: Settings = None,
    edition: Annotated[
        str, typer.Option("--edition", help="the index's edition: 2025-12 (December 2025) or 2024-05 (May 2024)")
    ] = "2025-12",
    as_json: JsonFlag = False,
) -> None:
    """Check the release against the Foundation Model Transparency Index's 100 indicators (December 2025
    by default): measured, derived, estimated, a confirmed or draft statement, not produced, or missing;
    with the best published developer's score per subdomain. Writes transparency/report-<edition>.md."""
    from bigcode_release.release.plan import release_transparency
    from bigcode_release.release.settings import load_release_settings
    from bigcode_release.release.transparency.report import load_edition, write_markdown

    report = release_transparency(release, load_release_settings(settings), load_edition(edition).edition)
    path = write_markdown(report, release)

    def human() -> None:
        counts = report.counts()
        developer, best = load_edition(report.edition).best
        table = Table(
            title=f"transparency ({report.edition}): {report.score} / 100; best published: {developer} {best}"
        )
        for column in ("status", "indicators", "meaning"):
            table.add_column(column)
        meanings = {
            "measured": "read from a file a stage wrote (file and field cited)",
            "derived": "computed from a config or artifact",
            "estimated": "computed with a stated method and assumptions (not counted)",
            "statement": "a statement a person confirmed",
            "draft": "a draft statement: the person it names must confirm it (not counted)",
            "not produced": "its stage has not run (e.g. the release was never pushed)",
            "missing": "its stage ran but what it wrote is gone (blocks a push)",
        }
        for status, meaning in meanings.items():
            table.add_row(status, str(counts.get(status, 0)), meaning)
        console.print(table)
        for result in report.results:
            if result.status in ("missing", "not produced"):
                console.print(f"  #{result.number} {result.name}: {result.status}: {result.value}")
        console.print(f"report: {path}")

    emit({**report.to_dict(), "report": str(path)}, as_json, human)


@app.command("run")
def run(
    recipe: Annotated[
        str, typer.Argument(help="the pipeline recipe, or the name of a shipped one")
    ] = "recipes/release-default.yaml",
    out: Annotated[Path, typer.Option("--out", help="the release directory")] = Path("release"),
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """The whole release in one command: opt-out, dataset, indexes, tokenizer, shards, removal
    receipts, a tiny pretraining run, HumanEval of its checkpoints, transparency report, repository
    trees. A re-run reuses finished stages and resumes at the one that failed; when the inputs
    changed (an approved opt-out request, the source, the recipe) it cuts the next dataset version."""
    from bigcode_release.release.run import ReleaseRun, load_run_recipes

    pipeline = ReleaseRun(
        load_run_recipes(recipe),
        out,
        show_progress=progress and not as_json,
        say=(lambda _: None) if as_json else console.print,
    )
    result = pipeline.run()

    def human() -> None:
        stages = {s.name: s.summary for s in result.stages}
        dataset, train, evaluation = stages["dataset"], stages["train"], stages["evaluate"]
        console.print(f"\n[bold]release {out} in {result.seconds / 60:.1f} min[/]")
        console.print(
            f"  dataset {dataset['version']}: {dataset['files']:,} files, {dataset['bytes'] / 2**20:,.1f} MiB, "
            f"{dataset['opted_out_files']} files removed by opt-out and {dataset['opted_out_copies']} copies of "
            f"them elsewhere   -> {out}/dataset/"
        )
        if dataset["new_version_because"]:
            console.print("    new version because: " + "; ".join(dataset["new_version_because"]))
        for request_id, summary in stages["receipts"]["applied"].items():
            console.print(f"  opt-out {request_id}: {summary}   -> {out}/optout/receipts/{request_id}.json")
        console.print(f"  indexes: {stages['index']['documents']:,} documents   -> {stages['index']['folder']}/")
        console.print(
            f"  tokenizer: {stages['tokenizer']['vocab_size']:,} tokens   -> {out}/tokenizer/; shards -> "
            f"{stages['tokenize']['folder']}/"
        )
        console.print(
            f"  model: {train['parameters']:,} parameters, {train['steps']} steps, validation loss "
            f"{train['first_val_loss']:.3f} -> {train['final_val_loss']:.3f}   -> {train['run_dir']}/"
        )
        if evaluation.get("skipped"):
            console.print(f"  eval: skipped ({evaluation['skipped']})")
        else:
            console.print(f"  eval: generated code {evaluation['code_execution']}")
        for checkpoint in evaluation["checkpoints"]:
            scores = ", ".join(
                f"{task} "
                + ", ".join(
                    f"{k} {v:.3f}"
                    for k, v in score.items()
                    if (k.startswith("pass@") and not k.endswith("stderr") or k == "bits_per_byte") and v is not None
                )
                for task, score in checkpoint["scores"].items()
            )
            console.print(
                f"  eval step {checkpoint['step']}: {scores} (a tiny model trained for minutes is expected "
                "to score near zero)"
            )
        console.print(
            f"  transparency ({stages['transparency']['edition']} index): {stages['transparency']['score']} / 100, "
            f"best published {stages['transparency']['best_published']['developer']} "
            f"{stages['transparency']['best_published']['score']}   -> {stages['transparency']['report']}"
        )
        console.print(
            f"  gated repository trees -> {stages['publish']['plan']} ({', '.join(stages['publish']['repos'])})"
        )
        console.print(
            "  Spaces:\n"
            f"    bigcode-release spaces serve in-the-stack --release {out} --registry {out}/optout.sqlite\n"
            f"    bigcode-release spaces serve data-inspector --release {out} --port 7861\n"
            f"    bigcode-release spaces serve membership-test --release {out} --port 7862"
        )

    emit(result.to_dict(), as_json, human)
