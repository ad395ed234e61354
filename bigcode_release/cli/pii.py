"""`bigcode-release pii scan`: the personal information and secrets the build would redact in a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli.output import JsonFlag, console, emit
from bigcode_release.errors import InvalidArgumentError

app = typer.Typer(no_args_is_help=True, help="Personal information and secrets, as the dataset build redacts them.")


@app.command("scan")
def pii_scan(
    path: Annotated[Path, typer.Argument(help="a text file to scan (it is not modified)")],
    as_json: JsonFlag = False,
) -> None:
    """The PII the dataset build would redact in one file: kind, start and end (characters), detector."""
    from bigcode_release.pii import scan_text

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgumentError(f"{path}: no such file") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise InvalidArgumentError(f"{path}: not a UTF-8 text file ({type(exc).__name__})") from None
    findings = scan_text(text)

    def human() -> None:
        table = Table(title=f"{path}: {len(findings)} finding(s), values not shown")
        for column in ("kind", "start", "end", "line", "detector"):
            table.add_column(column)
        for finding in findings:
            line = text.count("\n", 0, finding.start) + 1
            table.add_row(finding.kind, str(finding.start), str(finding.end), str(line), finding.detector)
        console.print(table)

    emit({"path": str(path), "findings": [f.to_dict() for f in findings]}, as_json, human)
