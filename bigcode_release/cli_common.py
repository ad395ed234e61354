"""What every command module of the CLI shares: the consoles, the `--json` flag, the error exit."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON document instead of tables")]
ProgressFlag = Annotated[bool, typer.Option(help="show progress bars")]


def fail(exc: Exception) -> NoReturn:
    """Print the error (no traceback) and exit with code 2."""
    errors.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)
