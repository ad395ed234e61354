"""`bigcode-release dataset build|stats`: build the permissive code dataset and read what it kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli.output import JsonFlag, ProgressFlag, console, emit
from bigcode_release.shipped import resolve_recipe

app = typer.Typer(no_args_is_help=True, help="Build and inspect the permissive code dataset.")


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


@app.command("build")
def dataset_build(
    recipe: Annotated[str, typer.Argument(help="dataset recipe (YAML), or the name of a shipped one")],
    out: Annotated[Path, typer.Option("--out", help="release directory")] = Path("release"),
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Build the dataset version a recipe describes (resumes a killed build; never overwrites a version)."""
    from bigcode_release.data.build import build_dataset

    result = build_dataset(resolve_recipe(recipe), out, show_progress=progress and not as_json)

    def human() -> None:
        if result.reused:
            console.print(
                f"{result.stats['version']} is already built in {result.version_dir} (same inputs): nothing to do"
            )
        _print_stats(result.stats, result.version_dir)
        console.print(
            f"[green]done[/] in {result.wall_seconds:,.0f} s: {result.version_dir} "
            f"(manifest {result.manifest['manifest_hash'][:12]})"
        )

    emit(
        {
            "version_dir": str(result.version_dir),
            "reused": result.reused,
            "wall_seconds": round(result.wall_seconds, 1),
            "manifest_hash": result.manifest["manifest_hash"],
            "accounting_ok": result.stats["accounting_ok"],
            "totals": result.stats["totals"],
            "steps": result.stats["steps"],
            **{key: result.stats.get(key) for key in ("dedup", "pii", "decontamination")},
        },
        as_json,
        human,
    )


@app.command("stats")
def dataset_stats(
    path: Annotated[Path, typer.Argument(help="release directory, its `dataset` link, or a version folder")],
    as_json: JsonFlag = False,
) -> None:
    """What a built version kept and why the rest was dropped (tables; plots are next to the data)."""
    from bigcode_release.layout import resolve_dataset_dir

    folder = resolve_dataset_dir(path)
    stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    emit(stats, as_json, lambda: _print_stats(stats, folder))
