"""CLI commands over the data indexes: `index build`, `search`, `membership query|portrait-query|serve`."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bigcode_release.cli.output import JsonFlag, ProgressFlag, console, emit
from bigcode_release.errors import InvalidArgumentError

index_app = typer.Typer(no_args_is_help=True, help="Build the data indexes (BM25, membership shards, portrait).")
membership_app = typer.Typer(no_args_is_help=True, help="Is this text in the data? Spans, sources, licenses.")
ReleaseOption = Annotated[Path, typer.Option("--release", help="the release directory")]
VersionOption = Annotated[str | None, typer.Option("--version", help="dataset version (default: the newest indexed)")]
TextArg = Annotated[str, typer.Argument(help="a file, or - for standard input")]


def _read(source: str) -> str:
    from bigcode_release.index.attribution import decode_text

    if source == "-":
        return decode_text(sys.stdin.buffer.read(), "standard input")
    path = Path(source)
    if not path.is_file():
        raise InvalidArgumentError(f"{source}: no such file (give a file, or - for standard input)")
    return decode_text(path.read_bytes(), source)


@index_app.command("build")
def index_build(
    release: Annotated[Path, typer.Argument(help="the release directory")],
    version: VersionOption = None,
    shards: Annotated[int, typer.Option("--shards", help="membership shards, each built in its own process")] = 1,
    backend: Annotated[
        str, typer.Option("--backend", help="membership index: fm (compact FM-index) or suffix-array (reference)")
    ] = "fm",
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            help="shards indexed at once (default: the cores, as many as fit in memory: ~16x a shard with fm, 6x with suffix-array)",
        ),
    ] = None,
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Build the BM25 index, the membership index (in shards) and the portrait of a dataset version."""
    from bigcode_release.index.build import build_indexes

    result = build_indexes(
        release, version, shards=shards, backend=backend, show_progress=progress and not as_json, processes=processes
    )

    def human() -> None:
        state = "up to date" if result.reused else f"built in {result.seconds:.0f} s"
        console.print(
            f"{result.folder}: {state}; {result.documents:,} documents, {result.text_bytes / 2**20:,.1f} MiB of text; "
            f"membership: {result.backend}, {result.shards} shard{'s' if result.shards != 1 else ''}"
        )
        for kind, size in result.sizes.items():
            console.print(f"  {kind}: {size / 2**20:,.1f} MiB")

    emit(result.to_dict(), as_json, human)


def snippet_text(snippet: str) -> Text:
    """A search snippet (HTML: escaped text, matches in `<b>`) as Rich text, matches bold (no
    markup or emoji codes read from the file's text)."""
    import html

    text = Text()
    for number, part in enumerate(re.split(r"</?b>", snippet)):
        text.append(html.unescape(part), style="bold" if number % 2 else None)
    return text


def search(
    query: Annotated[str, typer.Argument(help='words, identifiers, or "an exact phrase"')],
    release: ReleaseOption = Path("release"),
    version: VersionOption = None,
    language: Annotated[str | None, typer.Option("--language")] = None,
    license_: Annotated[str | None, typer.Option("--license", help="a license expression as in the data")] = None,
    top: Annotated[int, typer.Option("--top")] = 10,
    offset: Annotated[int, typer.Option("--offset", help="skip this many results (the next page)")] = 0,
    snippets: Annotated[bool, typer.Option("--snippets", help="add highlighted excerpts (reads each file)")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Full-text search of the dataset (BM25; identifiers match in any style; quotes for exact phrases)."""
    from bigcode_release.index.build import current_index
    from bigcode_release.index.shards import ShardedIndex
    from bigcode_release.optout.mask import OptOutMask, masked_search

    folder, found_version = current_index(release, version)
    mask = OptOutMask.for_version(release, found_version)
    texts = ShardedIndex(folder / "membership").document_text if snippets else None
    found, hidden = masked_search(
        folder, mask, query, top=top, offset=offset, language=language, license_=license_, texts=texts
    )
    hits = found.hits

    def human() -> None:
        shown = f"{offset + 1}-{offset + len(hits)} of {found.total:,}" if hits else f"0 of {found.total:,}"
        table = Table(title=f"results {shown} for {query!r} in {found_version}")
        for column in ("score", "repository", "path", "license", "language"):
            table.add_column(column)
        for hit in hits:
            table.add_row(f"{hit.score:.2f}", hit.repo, hit.path, hit.license, hit.language)
        console.print(table)
        for hit in hits if snippets else []:
            console.print(f"[bold]{escape(hit.repo)}/{escape(hit.path)}[/]")
            console.print(snippet_text(hit.snippet))
        if hidden:
            console.print(mask.note(hidden))

    emit(
        {
            "query": query,
            "dataset_version": found_version,
            "total": found.total,
            "offset": offset,
            "hits": [h.to_dict() for h in hits],
            "hidden": hidden,
        },
        as_json,
        human,
    )


@membership_app.command("query")
def membership_query(
    source: TextArg = "-",
    release: ReleaseOption = Path("release"),
    version: VersionOption = None,
    min_bytes: Annotated[int, typer.Option("--min-bytes", help="shortest span reported")] = 64,
    max_sources: Annotated[int, typer.Option("--max-sources", help="documents listed per span")] = 5,
    as_json: JsonFlag = False,
) -> None:
    """The text's verbatim spans found in the data, their source files and licenses, and a notice."""
    from bigcode_release.index.attribution import MembershipIndex
    from bigcode_release.index.build import current_index
    from bigcode_release.optout.mask import OptOutMask

    text = _read(source)
    folder, found_version = current_index(release, version)
    mask = OptOutMask.for_version(release, found_version)
    hide = mask.hides if mask else None
    result = MembershipIndex(folder, found_version).attribute(text, min_bytes, max_sources, hide=hide).to_dict()
    result["hidden_note"] = mask.note(result["hidden"])

    def human() -> None:
        console.print(
            f"{len(result['spans'])} span(s) of at least {min_bytes} bytes found in {found_version}; "
            f"{result['coverage']:.0%} of the text covered; licenses: {result['licenses'] or 'none'}"
        )
        for span in result["spans"]:
            console.print(
                f"  [{span['start']}, {span['end']}) in {span['documents']:,} file(s), e.g. "
                + ", ".join(f"{s['repo']}/{s['path']} ({s['license']})" for s in span["sources"][:3]),
                markup=False,
            )
        if result["notice"]:
            console.print(escape(result["notice"]))
        if result["hidden_note"]:
            console.print(result["hidden_note"])

    emit(result, as_json, human)


@membership_app.command("portrait-query")
def portrait_query(
    source: TextArg = "-",
    portrait_path: Annotated[
        Path | None, typer.Option("--portrait", help="a portrait.bloom file (default: the release's newest)")
    ] = None,
    release: ReleaseOption = Path("release"),
    as_json: JsonFlag = False,
) -> None:
    """Yes/no from the downloadable Bloom portrait (50-character chunks): no index needed."""
    from bigcode_release.index import portrait
    from bigcode_release.index.build import current_index

    text = _read(source)
    path = portrait_path or current_index(release)[0] / "portrait.bloom"
    if not Path(path).is_file():
        raise InvalidArgumentError(f"{path}: no such portrait file")
    answer = portrait.query(Path(path), text)

    def human() -> None:
        verdict = "probably in the data" if answer.member else "not found in the data"
        console.print(
            f"{verdict}: longest chain of {answer.longest_chain} aligned 50-character chunks "
            f"(badness {answer.badness}); a yes can be a false positive (1% per chunk), a no is certain for "
            "aligned text of 100+ characters"
        )

    emit(answer.to_dict(), as_json, human)


@membership_app.command("serve")
def membership_serve(
    release: ReleaseOption = Path("release"),
    version: VersionOption = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8090,
) -> None:
    """Serve `POST /overlap` (the VS Code extension's attribution call) with provenance."""
    import uvicorn

    from bigcode_release.index.attribution import MembershipIndex
    from bigcode_release.index.build import current_index
    from bigcode_release.index.overlap_app import create_overlap_app

    folder, found_version = current_index(release, version)
    from bigcode_release.index.pages import read_into_page_cache

    app = create_overlap_app(MembershipIndex(folder, found_version))
    read_into_page_cache(folder / "membership")
    console.print(f"attribution for {found_version} on http://{host}:{port}/overlap")
    uvicorn.run(app, host=host, port=port, log_level="warning")
