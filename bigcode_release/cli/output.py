"""What every command module of the CLI shares: the consoles, the `--json` and progress flags, one
way to print a result (human or JSON), and the error exit."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON document instead of tables")]
ProgressFlag = Annotated[bool, typer.Option(help="show progress bars")]


def emit(data: Any, as_json: bool, human: Callable[[], None] | None = None) -> None:
    """Print a command's result: `data` as one JSON document with `--json`, else `human()` (tables,
    summaries); without `human`, the JSON is the human output too."""
    if as_json or human is None:
        print(json.dumps(data, default=str))
    else:
        human()


def exit_with_error(exc: Exception) -> NoReturn:
    """Print the error (no traceback) and exit with code 2."""
    errors.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
    sys.exit(2)
