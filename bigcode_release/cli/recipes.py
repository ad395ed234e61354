"""`bigcode-release recipes list|copy|pull`: the shipped recipes, a copy of one to edit, and the recipes
of a published release rebuilt from its manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli.output import JsonFlag, console, emit

app = typer.Typer(
    no_args_is_help=True, help="Recipes: list the shipped ones, copy one to edit, pull a published release's."
)


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


@app.command("pull")
def recipes_pull(
    reference: Annotated[
        str, typer.Argument(help="ORG/NAME[@REVISION]: a dataset repo at a version tag, or a model repo")
    ],
    repo_type: Annotated[str, typer.Option("--repo-type", help="dataset or model")] = "dataset",
    to: Annotated[Path, typer.Option("--to", help="folder to write the recipes into")] = Path("recipes"),
    source: Annotated[
        str | None, typer.Option("--source", help="the folder or Stack files the original build read, if not installed")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Rebuild the dataset (or training) recipe of a published release from its Hub manifests, so
    that `dataset build` reproduces that version from the same sources (token: `hf auth login` or HF_TOKEN)."""
    import os

    from bigcode_release.errors import InvalidArgumentError
    from bigcode_release.recipe_store import pull_recipes

    if repo_type not in ("dataset", "model"):
        raise InvalidArgumentError(f"--repo-type must be dataset or model, got {repo_type!r}")
    pulled = pull_recipes(reference, to, repo_type, source, endpoint=os.environ.get("HF_ENDPOINT"))

    def human() -> None:
        console.print("wrote: " + ", ".join(str(p) for p in pulled.written))
        for need in pulled.needs:
            console.print(f"  provide: {need}")
        if pulled.dataset:
            console.print(f"then: bigcode-release dataset build {pulled.dataset} --out release/")

    emit(pulled.to_dict(), as_json, human)
