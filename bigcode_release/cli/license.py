"""`bigcode-release license detect`: the license a repository or distribution is taken to have."""

from __future__ import annotations

from importlib.metadata import Distribution
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli.output import JsonFlag, console, emit
from bigcode_release.errors import InvalidArgumentError

app = typer.Typer(no_args_is_help=True, help="License detection, as the dataset build does it.")


@app.command("detect")
def license_detect(
    path: Annotated[
        str, typer.Argument(help="a repository folder, a *.dist-info folder, or an installed distribution's name")
    ],
    as_json: JsonFlag = False,
) -> None:
    """The SPDX license a repository or distribution is taken to have, with the evidence, and the
    parts of it (vendored subtrees) whose files get a license of their own."""
    from bigcode_release.data.sources.installed import find_distribution
    from bigcode_release.license.detect import detect_distribution, detect_folder
    from bigcode_release.license.subtrees import distribution_parts, folder_parts

    target = Path(path)
    if target.is_dir() and target.name.endswith(".dist-info"):
        dist = Distribution.at(target)
        decision, kind = detect_distribution(dist), "distribution"
        parts = distribution_parts(dist, [e.as_posix() for e in dist.files or []])
    elif target.is_dir():
        decision, kind = detect_folder(target), "folder"
        parts = folder_parts(target, [p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()])
    elif (dist := find_distribution(path)) is not None:
        decision, kind = detect_distribution(dist), "distribution"
        parts = distribution_parts(dist, [e.as_posix() for e in dist.files or []])
    else:
        raise InvalidArgumentError(f"{path!r} is neither a folder nor an installed distribution")
    subtrees = [
        {"path": folder, "expression": part.expression, "source": part.source} for folder, part in sorted(parts.items())
    ]

    def human() -> None:
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
        if subtrees:
            parts_table = Table(title="parts with a license of their own (their files get it)")
            for column in ("path", "license", "from"):
                parts_table.add_column(column)
            for part in subtrees:
                parts_table.add_row(part["path"], part["expression"], part["source"])
            console.print(parts_table)

    emit({"target": path, "kind": kind, **decision.to_dict(), "subtrees": subtrees}, as_json, human)
