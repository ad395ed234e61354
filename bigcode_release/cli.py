"""The `bigcode-release` command line: a thin layer over the library.

Every command prints a human summary, or one JSON document with `--json`.
"""

from __future__ import annotations

import json
import time
from importlib.metadata import Distribution
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli_common import JsonFlag, console, fail
from bigcode_release.cli_evaluate import register as register_evaluation
from bigcode_release.cli_index import register as register_index
from bigcode_release.cli_release import release_app
from bigcode_release.cli_serving import register as register_serving
from bigcode_release.cli_training import register as register_training
from bigcode_release.errors import BigcodeReleaseError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Run a BigCode-style open release of a code LLM.")
dataset_app = typer.Typer(no_args_is_help=True, help="Build and inspect the permissive code dataset.")
license_app = typer.Typer(no_args_is_help=True, help="License detection, as the dataset build does it.")
app.add_typer(dataset_app, name="dataset")
pii_app = typer.Typer(no_args_is_help=True, help="Personal information and secrets, as the dataset build redacts them.")
optout_app = typer.Typer(no_args_is_help=True, help="Opt-out requests: submit, review, decide, export, look up.")
app.add_typer(license_app, name="license")
app.add_typer(optout_app, name="optout")
spaces_app = typer.Typer(no_args_is_help=True, help="Run the Gradio Spaces of `spaces/` locally.")
app.add_typer(spaces_app, name="spaces")
app.add_typer(pii_app, name="pii")
register_training(app)
register_evaluation(app)
register_serving(app)
register_index(app)
app.add_typer(release_app, name="release")


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _steps_table(stats: dict) -> Table:
    table = Table(title=f"dataset {stats['version']}: what each step kept and dropped")
    for column in ("step", "in", "kept", "dropped by reason"):
        table.add_column(column, justify="right" if column in ("in", "kept") else "left")
    for step in stats["steps"]:
        if "kept" not in step:
            continue
        reasons = ", ".join(f"{r} {n:,}" for r, n in sorted(step["dropped"].items(), key=lambda x: -x[1]))
        table.add_row(step["step"], f"{step['in']:,}", f"{step['kept']:,}", reasons or "-")
    return table


def _license_table(stats: dict) -> Table:
    table = Table(title="licenses (repository level)")
    table.add_column("license", overflow="ellipsis", no_wrap=True, max_width=30)
    for column in ("kept repos", "kept files", "kept MiB", "dropped repos"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("reason", overflow="ellipsis", no_wrap=True, max_width=22)
    for row in stats["per_license"]:
        table.add_row(
            row["license"],
            f"{row['kept_repos']:,}",
            f"{row['kept_files']:,}",
            f"{row['kept_bytes'] / 2**20:,.1f}",
            f"{row['dropped_repos']:,}",
            row["drop_reason"] or "",
        )
    return table


def _print_stats(stats: dict, folder: Path) -> None:
    totals = stats["totals"]
    console.print(_steps_table(stats))
    console.print(_license_table(stats))
    languages = ", ".join(f"{r['language']} {_mib(r['bytes'])}" for r in stats["per_language"][:8])
    console.print(
        f"[bold]{totals['kept_files']:,}[/] files kept ({_mib(totals['kept_bytes'])}) of {totals['input_files']:,} seen "
        f"({_mib(totals['source_text_bytes'])} of source text); repositories included: "
        f"{stats['repos']['included']:,}/{stats['repos']['total']:,}"
    )
    console.print(f"top languages: {languages}")
    dedup, pii, decontamination = stats.get("dedup") or {}, stats.get("pii") or {}, stats.get("decontamination") or {}
    if dedup.get("documents"):
        console.print(
            f"dedup: {dedup['exact_removed']:,} exact and {dedup['near_removed']:,} near duplicates removed "
            f"of {dedup['documents']:,} ({dedup['near_clusters']:,} near-duplicate clusters)"
        )
    if pii.get("enabled"):
        replaced = ", ".join(f"{kind} {n:,}" for kind, n in pii["replaced"].items()) or "nothing"
        console.print(f"PII: {replaced} replaced in {pii['files_with_pii']:,} files")
    if decontamination.get("enabled"):
        console.print(
            f"decontamination: {decontamination['removed_files']:,} files holding "
            f"{', '.join(decontamination['benchmarks'])} problems removed"
        )
    console.print(f"plots: {', '.join(str(folder / n) for n in ('licenses.png', 'languages.png', 'drop_reasons.png'))}")


@dataset_app.command("build")
def dataset_build(
    recipe: Annotated[Path, typer.Argument(help="dataset recipe (YAML)")],
    out: Annotated[Path, typer.Option("--out", help="release directory")] = Path("release"),
    as_json: JsonFlag = False,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Build the dataset version a recipe describes (resumes a killed build; never overwrites a version)."""
    from bigcode_release.data.build import build_dataset

    try:
        result = build_dataset(recipe, out, show_progress=progress and not as_json)
    except BigcodeReleaseError as exc:
        fail(exc)
    if as_json:
        print(
            json.dumps(
                {
                    "version_dir": str(result.version_dir),
                    "reused": result.reused,
                    "wall_seconds": round(result.wall_seconds, 1),
                    "manifest_hash": result.manifest["manifest_hash"],
                    "accounting_ok": result.stats["accounting_ok"],
                    "totals": result.stats["totals"],
                    "steps": result.stats["steps"],
                    **{key: result.stats.get(key) for key in ("dedup", "pii", "decontamination")},
                }
            )
        )
        return
    if result.reused:
        console.print(
            f"{result.stats['version']} is already built in {result.version_dir} (same recipe): nothing to do"
        )
    _print_stats(result.stats, result.version_dir)
    console.print(
        f"[green]done[/] in {result.wall_seconds:,.0f} s: {result.version_dir} "
        f"(manifest {result.manifest['manifest_hash'][:12]})"
    )


@dataset_app.command("stats")
def dataset_stats(
    path: Annotated[Path, typer.Argument(help="release directory, its `dataset` link, or a version folder")],
    as_json: JsonFlag = False,
) -> None:
    """What a built version kept and why the rest was dropped (tables; plots are next to the data)."""
    from bigcode_release.layout import resolve_dataset_dir

    try:
        folder = resolve_dataset_dir(path)
    except BigcodeReleaseError as exc:
        fail(exc)
    stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    if as_json:
        print(json.dumps(stats))
    else:
        _print_stats(stats, folder)


@license_app.command("detect")
def license_detect(
    path: Annotated[
        str, typer.Argument(help="a repository folder, a *.dist-info folder, or an installed distribution's name")
    ],
    as_json: JsonFlag = False,
) -> None:
    """The SPDX license a repository or distribution is taken to have, with the evidence."""
    from bigcode_release.data.sources.installed import find_distribution
    from bigcode_release.license.detect import detect_distribution, detect_folder

    target = Path(path)
    if target.is_dir() and target.name.endswith(".dist-info"):
        decision, kind = detect_distribution(Distribution.at(target)), "distribution"
    elif target.is_dir():
        decision, kind = detect_folder(target), "folder"
    elif (dist := find_distribution(path)) is not None:
        decision, kind = detect_distribution(dist), "distribution"
    else:
        fail(FileNotFoundError(f"{path!r} is neither a folder nor an installed distribution"))
    if as_json:
        print(json.dumps({"target": path, "kind": kind, **decision.to_dict()}))
        return
    console.print(
        f"[bold]{path}[/] ({kind}): [bold]{decision.expression or 'no license'}[/] -> {decision.category}"
        f" (decided by {decision.source})"
    )
    table = Table(title="evidence, most authoritative first")
    for column in ("source", "found", "SPDX"):
        table.add_column(column)
    for item in decision.evidence:
        table.add_row(item.source, item.statement, item.spdx or "not understood")
    console.print(table)


@pii_app.command("scan")
def pii_scan(
    path: Annotated[Path, typer.Argument(help="a text file to scan (it is not modified)")],
    as_json: JsonFlag = False,
) -> None:
    """The PII the dataset build would redact in one file: kind, start and end (characters), detector."""
    from bigcode_release.pii import scan_text

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(FileNotFoundError(f"{path}: no such file"))
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        fail(ValueError(f"{path}: not a UTF-8 text file ({type(exc).__name__})"))
    findings = scan_text(text)
    if as_json:
        print(json.dumps({"path": str(path), "findings": [f.to_dict() for f in findings]}))
        return
    table = Table(title=f"{path}: {len(findings)} finding(s), values not shown")
    for column in ("kind", "start", "end", "line", "detector"):
        table.add_column(column)
    for finding in findings:
        line = text.count("\n", 0, finding.start) + 1
        table.add_row(finding.kind, str(finding.start), str(finding.end), str(line), finding.detector)
    console.print(table)


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


@optout_app.command("submit")
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
    try:
        with _registry(registry) as reg:
            request = reg.submit(
                username, repo or [], proof=proof or None, message=message or None, client="cli", auto_approve=checker
            )
    except BigcodeReleaseError as exc:
        fail(exc)
    if as_json:
        print(json.dumps(request.to_dict()))
        return
    console.print(f"request [bold]{request.id}[/] filed for {request.username}: {request.status}")


@optout_app.command("review")
def optout_review(
    registry: RegistryOption = DEFAULT_REGISTRY,
    status: Annotated[str, typer.Option("--status", help="pending, approved, rejected, applied or all")] = "pending",
    as_json: JsonFlag = False,
) -> None:
    """List requests (pending ones by default), oldest first."""
    with _registry(registry) as reg:
        requests = reg.requests(status=None if status == "all" else status)
    if as_json:
        print(json.dumps({"requests": [r.to_dict() for r in requests]}))
        return
    console.print(_requests_table(f"{len(requests)} {status} request(s)", requests))


@optout_app.command("approve")
def optout_approve(
    request_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="the maintainer deciding")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """Approve a pending request: the next dataset version leaves its repositories out."""
    try:
        with _registry(registry) as reg:
            request = reg.approve(request_id, by=by)
    except BigcodeReleaseError as exc:
        fail(exc)
    print(json.dumps(request.to_dict())) if as_json else console.print(f"{request.id}: {request.status}")


@optout_app.command("reject")
def optout_reject(
    request_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="the maintainer deciding")],
    reason: Annotated[str, typer.Option("--reason", help="shown to the requester")],
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """Reject a pending request, with a reason."""
    try:
        with _registry(registry) as reg:
            request = reg.reject(request_id, by=by, reason=reason)
    except BigcodeReleaseError as exc:
        fail(exc)
    print(json.dumps(request.to_dict())) if as_json else console.print(f"{request.id}: {request.status}")


@optout_app.command("status")
def optout_status(
    request_id: Annotated[str, typer.Argument()],
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """A request's status and its whole history."""
    try:
        with _registry(registry) as reg:
            request, events = reg.get(request_id), reg.history(request_id)
    except BigcodeReleaseError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({**request.to_dict(), "events": [e.__dict__ for e in events]}))
        return
    console.print(_requests_table(request.id, [request]))
    for event in events:
        console.print(
            f"  {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(event.at))} UTC  {event.kind} by "
            f"{event.actor} {json.dumps(event.detail) if event.detail else ''}"
        )


@optout_app.command("export")
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
    print(json.dumps(summary)) if as_json else console.print(
        f"{result.requests} approved request(s), {result.entries} entries: {result.jsonl}, {result.parquet}, {result.card}"
    )


@optout_app.command("sync")
def optout_sync(
    release: Annotated[Path, typer.Option("--release", help="release directory")] = Path("release"),
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonFlag = False,
) -> None:
    """Mark approved requests as applied in the first built dataset version that honoured them."""
    from bigcode_release.optout.lookup import honoured_requests
    from bigcode_release.optout.registry import sync_applied

    try:
        with _registry(registry) as reg:
            marked = sync_applied(reg, honoured_requests(release))
    except BigcodeReleaseError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({"applied": marked}))
        return
    console.print(f"{len(marked)} request(s) marked applied" + "".join(f"\n  {r}: {v}" for r, v in marked.items()))


@optout_app.command("lookup")
def optout_lookup(
    username: Annotated[str, typer.Argument(help="GitHub username (case-insensitive)")],
    release: Annotated[Path, typer.Option("--release", help="release directory")] = Path("release"),
    version: Annotated[str, typer.Option("--version", help="one dataset version (default: all)")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Is an account in the dataset? Per version: each repository, included or why not."""
    from bigcode_release.optout.lookup import RepoLookup

    try:
        answers = RepoLookup(release).lookup(username, version or None)
    except BigcodeReleaseError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({"username": username, "versions": [a.to_dict() for a in answers]}))
        return
    for answer in answers:
        if not answer.included:
            console.print(
                f"[bold]{answer.version}[/]: {username} is [bold]not[/] in this version"
                + (f" ({len(answer.repos)} repositories seen, none included)" if answer.repos else "")
            )
        table = Table(title=f"{answer.version}: {len(answer.included)} of {len(answer.repos)} repositories included")
        for column in ("repository", "included", "why not", "files kept", "license"):
            table.add_column(column)
        for r in answer.repos:
            table.add_row(
                r["repo_name"],
                "yes" if r["included"] else "no",
                r["drop_reason"] or "",
                f"{r['kept_files']:,}/{r['files']:,}",
                r["license"] or "",
            )
        if answer.repos:
            console.print(table)


SPACES = {"in-the-stack": "in_the_stack", "data-inspector": "data_inspector", "membership-test": "membership_test"}


def load_space(name: str):
    """The `app` module of a Space folder in `spaces/` (next to the package in a checkout)."""
    import importlib.util

    folder = Path(__file__).resolve().parents[1] / "spaces" / SPACES[name]
    spec = importlib.util.spec_from_file_location(f"space_{SPACES[name]}", folder / "app.py")
    if spec is None or not (folder / "app.py").is_file():
        raise FileNotFoundError(f"{folder / 'app.py'} not found: run from a checkout of bigcode-release")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@spaces_app.command("serve")
def spaces_serve(
    name: Annotated[str, typer.Argument(help=f"one of: {', '.join(SPACES)}")],
    release: Annotated[Path, typer.Option("--release", help="release directory")] = Path("release"),
    registry: RegistryOption = DEFAULT_REGISTRY,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 7860,
) -> None:
    """Start a Space on this machine (Ctrl-C stops it)."""
    if name not in SPACES:
        fail(ValueError(f"unknown Space {name!r}; known: {', '.join(SPACES)}"))
    try:
        app_module = load_space(name)
        # the opt-out Space also needs the registry; the index Spaces read only the release
        demo = (
            app_module.build_app(str(release), str(registry))
            if name == "in-the-stack"
            else app_module.build_app(str(release))
        )
    except (BigcodeReleaseError, FileNotFoundError) as exc:
        fail(exc)
    demo.queue(default_concurrency_limit=4).launch(server_name=host, server_port=port)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
