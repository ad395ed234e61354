"""`bigcode-release optout ...`: opt-out requests (submit, review, decide, status), the export a
dataset recipe reads, and "Am I in The Stack?" lookups."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli.output import JsonFlag, console, emit

app = typer.Typer(no_args_is_help=True, help="Opt-out requests: submit, review, decide, export, look up.")

RegistryOption = Annotated[Path, typer.Option("--registry", help="the opt-out registry (SQLite)")]
DEFAULT_REGISTRY = Path("release/optout.sqlite")


def _registry(path: Path):
    from bigcode_release.optout.registry import OptOutRegistry

    return OptOutRegistry(path)


def _requests_table(title: str, requests: list) -> Table:
    table = Table(title=title)
    for column in ("id", "username", "scope", "status", "decided by", "first version"):
        table.add_column(column)
    for r in requests:
        scope = "whole account" if r.scope == "account" else ", ".join(r.repos)
        table.add_row(r.id, r.username, scope, r.status, r.decided_by or "", r.first_version or "")
    return table


@app.command("submit")
def optout_submit(
    username: Annotated[str, typer.Argument(help="GitHub username whose repositories are to be removed")],
    repo: Annotated[
        list[str] | None, typer.Option("--repo", help="owner/name (repeat); none: the whole account")
    ] = None,
    proof: Annotated[str, typer.Option("--proof", help="URL of an issue the account opened, for example")] = "",
    message: Annotated[str, typer.Option("--message")] = "",
    proof_repo: Annotated[
        str,
        typer.Option(
            "--auto-approve-proofs-in",
            help="owner/repo: approve at once when the proof is an issue there opened by "
            "the requester (checked with GitHub's API; unverifiable proofs stay pending)",
        ),
    ] = "",
    github_api: Annotated[
        str, typer.Option("--github-api", help="GitHub REST API base URL")
    ] = "https://api.github.com",
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """File an opt-out request (it stays pending until a maintainer approves it)."""
    from functools import partial

    from bigcode_release.optout.proof import check_proof

    checker = partial(check_proof, proof_repository=proof_repo, api=github_api) if proof_repo else None
    with _registry(registry) as reg:
        request = reg.submit(
            username, repo or [], proof=proof or None, message=message or None, client="cli", auto_approve=checker
        )
    emit(
        request.to_dict(),
        as_json,
        lambda: console.print(f"request [bold]{request.id}[/] filed for {request.username}: {request.status}"),
    )


@app.command("review")
def optout_review(
    registry: RegistryOption = DEFAULT_REGISTRY,
    status: Annotated[str, typer.Option("--status", help="pending, approved, rejected, applied or all")] = "pending",
    as_json: JsonFlag = False,
) -> None:
    """List requests (pending ones by default), oldest first."""
    with _registry(registry) as reg:
        requests = reg.requests(status=None if status == "all" else status)
    emit(
        {"requests": [r.to_dict() for r in requests]},
        as_json,
        lambda: console.print(_requests_table(f"{len(requests)} {status} request(s)", requests)),
    )


@app.command("approve")
def optout_approve(
    request_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="the maintainer deciding")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """Approve a pending request: the next dataset version leaves its repositories out."""
    with _registry(registry) as reg:
        request = reg.approve(request_id, by=by)
    emit(request.to_dict(), as_json, lambda: console.print(f"{request.id}: {request.status}"))


@app.command("reject")
def optout_reject(
    request_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="the maintainer deciding")],
    reason: Annotated[str, typer.Option("--reason", help="shown to the requester")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """Reject a pending request, with a reason."""
    with _registry(registry) as reg:
        request = reg.reject(request_id, by=by, reason=reason)
    emit(request.to_dict(), as_json, lambda: console.print(f"{request.id}: {request.status}"))


@app.command("status")
def optout_status(
    request_id: Annotated[str, typer.Argument()],
    registry: RegistryOption = DEFAULT_REGISTRY,
    release: Annotated[
        Path | None, typer.Option("--release", help="release directory with the receipts (default: the registry's)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A request's status and its whole history."""
    from bigcode_release.layout import ReleaseLayout
    from bigcode_release.optout.receipts import read_receipt

    with _registry(registry) as reg:
        request, events = reg.get(request_id), reg.history(request_id)
    receipt = read_receipt(ReleaseLayout.at(release or registry.parent), request.id)

    def human() -> None:
        console.print(_requests_table(request.id, [request]))
        if receipt is not None:
            verdict = "verified" if receipt["verified"] else "NOT verified"
            console.print(
                f"removed in {receipt['dataset_version']} on {receipt['applied_at'][:10]}: "
                f"{receipt['removed']['files']:,} files, {receipt['removed']['copies']:,} copies elsewhere; {verdict}: "
                + ", ".join(f"{c['name']} {'ok' if c['passed'] else 'FAILED'}" for c in receipt["checks"])
            )
        for event in events:
            console.print(
                f"  {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(event.at))} UTC  {event.kind} by "
                f"{event.actor} {json.dumps(event.detail) if event.detail else ''}"
            )

    emit({**request.to_dict(), "events": [e.__dict__ for e in events], "receipt": receipt}, as_json, human)


@app.command("export")
def optout_export(
    out: Annotated[Path, typer.Option("--out", help="folder for the list (JSONL, Parquet) and its card")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """Write approved requests as the opt-out list a dataset recipe reads (`optout.list`)."""
    from bigcode_release.optout.export import export_optouts

    with _registry(registry) as reg:
        result = export_optouts(reg, out)
    summary = {
        "requests": result.requests,
        "entries": result.entries,
        "jsonl": str(result.jsonl),
        "parquet": str(result.parquet),
        "card": str(result.card),
    }
    emit(
        summary,
        as_json,
        lambda: console.print(
            f"{result.requests} approved request(s), {result.entries} entries: "
            f"{result.jsonl}, {result.parquet}, {result.card}"
        ),
    )


@app.command("sync")
def optout_sync(
    release: Annotated[Path, typer.Option("--release", help="release directory")] = Path("release"),
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """Verify each approved request's removal from the built versions that apply it (data, repos
    table, search, membership, tokenized shards), write its receipt, and mark it applied."""
    from bigcode_release.layout import ReleaseLayout
    from bigcode_release.optout.receipts import apply_requests

    layout = ReleaseLayout.at(release)
    outcome = {"applied": {}, "failed": {}, "waiting": {}}
    with _registry(registry) as reg:
        for version_dir in layout.built_versions():
            for key, values in apply_requests(layout, reg, version_dir.name, by="optout sync").to_dict().items():
                if key != "version":
                    outcome[key].update(values)

    def human() -> None:
        console.print(f"{len(outcome['applied'])} request(s) verified and marked applied")
        for kind in ("applied", "failed", "waiting"):
            for request_id, text in outcome[kind].items():
                console.print(f"  {request_id} ({kind}): {text}")

    emit(outcome, as_json, human)


@app.command("lookup")
def optout_lookup(
    username: Annotated[str, typer.Argument(help="GitHub username (case-insensitive)")],
    release: Annotated[Path, typer.Option("--release", help="release directory")] = Path("release"),
    version: Annotated[str, typer.Option("--version", help="one dataset version (default: all)")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Is an account in the dataset? Per version: each repository, included or why not."""
    from bigcode_release.optout.lookup import RepoLookup

    answers = RepoLookup(release).lookup(username, version or None)
    emit(
        {"username": username, "versions": [a.to_dict() for a in answers]},
        as_json,
        lambda: _print_lookup(username, answers),
    )


def _print_lookup(username: str, answers: list) -> None:
    for answer in answers:
        if not answer.included:
            console.print(
                f"[bold]{answer.version}[/]: {username} is [bold]not[/] in this version"
                + (f" ({len(answer.repos)} repositories seen, none included)" if answer.repos else "")
            )
        table = Table(title=f"{answer.version}: {len(answer.included)} of {len(answer.repos)} repositories included")
        for column in ("repository", "included", "why not, or files left out", "files kept", "license"):
            table.add_column(column)
        for r in answer.repos:
            table.add_row(
                r["repo_name"],
                "yes" if r["included"] else "no",
                answer.why(r),
                f"{r['kept_files']:,}/{r['files']:,}",
                r["license"] or "",
            )
        if answer.repos:
            console.print(table)


@app.command("pull")
def optout_pull(
    repo: Annotated[str, typer.Option("--from", help="ORG/NAME of the Space's intake dataset")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """Import the requests filed through the published Space into the registry (pending, under their
    own ids); a second pull imports nothing new. Files that are not requests are skipped and named."""
    from bigcode_release.optout.hub_sync import pull_requests
    from bigcode_release.release.auth import hub_api

    with _registry(registry) as reg:
        result = pull_requests(reg, hub_api(), repo)

    def human() -> None:
        console.print(
            f"{repo}@{result.revision[:12]}: {len(result.imported)} request(s) imported into {registry}, "
            f"{result.already_present} already there, {len(result.skipped)} skipped"
        )
        for path, why in result.skipped.items():
            console.print(f"  skipped {path}: {why}")

    emit(result.to_dict(), as_json, human)


@app.command("push-status")
def optout_push_status(
    repo: Annotated[str, typer.Option("--to", help="ORG/NAME of the Space's intake dataset")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    release: Annotated[
        Path | None, typer.Option("--release", help="release directory with the receipts (default: the registry's)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write the status of every request filed through the Space back to its intake dataset (one
    commit; unchanged statuses are not sent), so the published Space shows the decisions."""
    from bigcode_release.optout.hub_sync import push_statuses
    from bigcode_release.release.auth import hub_api

    with _registry(registry) as reg:
        result = push_statuses(reg, hub_api(), repo, release or registry.parent)
    emit(
        result.to_dict(),
        as_json,
        lambda: console.print(
            f"{repo}: {len(result.written)} status(es) written"
            + (f" in commit {result.commit[:12]}" if result.commit else "")
            + f", {result.unchanged} unchanged"
        ),
    )
