"""`bigcode-release recipes list|copy`: the shipped recipes, and a copy of one to edit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli.output import JsonFlag, console, emit

app = typer.Typer(no_args_is_help=True, help="Recipes: list the shipped ones, copy one to edit.")


@app.command("list")
def recipes_list(as_json: JsonFlag = False) -> None:
    """The recipes shipped with bigcode-release."""
    from bigcode_release.recipe_store import list_recipes

    found = list_recipes()

    def human() -> None:
        table = Table(title="shipped recipes (bigcode-release recipes copy NAME)")
        table.add_column("name")
        table.add_column("what it is")
        for recipe in found:
            table.add_row(recipe.name, recipe.summary)
        console.print(table)

    emit({"recipes": [r.to_dict() for r in found]}, as_json, human)


@app.command("copy")
def recipes_copy(
    name: Annotated[str, typer.Argument(help="a shipped recipe (see `recipes list`)")],
    to: Annotated[Path, typer.Option("--to", help="folder to copy into")] = Path("recipes"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace files of the same name")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Copy a shipped recipe (and the recipes it names) into a folder, to edit and run."""
    from bigcode_release.recipe_store import copy_recipe

    written = copy_recipe(name, to, overwrite)
    emit(
        {"copied": [str(p) for p in written]},
        as_json,
        lambda: console.print("copied: " + ", ".join(str(p) for p in written)),
    )
