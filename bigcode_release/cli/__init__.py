"""The `bigcode-release` command line: one module per command group, each a thin layer over the
library. Every command prints a human summary, or one JSON document with `--json` (`output.emit`);
an error the toolkit raises on purpose is printed without a traceback and exits with code 2, here
in `main`, once for every command."""

from __future__ import annotations

import typer

from bigcode_release.cli import dataset, evaluate, index, license, model, optout, pii, recipes, release, serving, spaces
from bigcode_release.cli.output import exit_with_error
from bigcode_release.errors import BigcodeReleaseError, MissingExtraError
from bigcode_release.extras import missing_extra

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Run a BigCode-style open release of a code LLM.")
for name, group in [
    ("recipes", recipes.app),
    ("dataset", dataset.app),
    ("license", license.app),
    ("pii", pii.app),
    ("optout", optout.app),
    ("spaces", spaces.app),
    ("index", index.index_app),
    ("membership", index.membership_app),
    ("tokenizer", model.tokenizer_app),
    ("release", release.app),
]:
    app.add_typer(group, name=name)
for name, command in [
    ("search", index.search),
    ("tokenize", model.tokenize),
    ("train", model.train),
    ("ablate", model.ablate),
    ("eval", evaluate.evaluate),
    ("eval-samples", evaluate.eval_samples),
    ("finetune", serving.finetune),
    ("serve", serving.serve),
    ("complete", serving.complete),
]:
    app.command(name)(command)


def main() -> None:
    """The console script: run the command; a `BigcodeReleaseError` (or an optional dependency that is
    not installed) becomes a message and exit code 2."""
    try:
        app()
    except BigcodeReleaseError as exc:
        exit_with_error(exc)
    except ModuleNotFoundError as exc:
        message = missing_extra(exc)
        if message is None:
            raise
        exit_with_error(MissingExtraError(message))
