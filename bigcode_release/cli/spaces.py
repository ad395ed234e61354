"""`bigcode-release spaces serve`: run one of the shipped Gradio Spaces on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bigcode_release.shipped import SPACE_FOLDERS, load_space

app = typer.Typer(no_args_is_help=True, help="Run the shipped Gradio Spaces (spaces/) locally.")


@app.command("serve")
def spaces_serve(
    name: Annotated[str, typer.Argument(help=f"one of: {', '.join(SPACE_FOLDERS)}")],
    release: Annotated[Path, typer.Option("--release", help="release directory")] = Path("release"),
    registry: Annotated[Path | None, typer.Option("--registry", help="default: <release>/optout.sqlite")] = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 7860,
    version: Annotated[
        str | None, typer.Option("--version", help="index Spaces: the dataset version (default: the newest)")
    ] = None,
) -> None:
    """Start a Space on this machine (Ctrl-C stops it)."""
    from bigcode_release.layout import ReleaseLayout

    app_module = load_space(name)
    if name == "in-the-stack":  # the opt-out Space also needs the registry; the index Spaces read only the release
        demo = app_module.build_app(str(release), str(registry or ReleaseLayout.at(release).registry))
    else:
        demo = app_module.build_app(str(release), version)
    demo.queue(default_concurrency_limit=4).launch(server_name=host, server_port=port)
