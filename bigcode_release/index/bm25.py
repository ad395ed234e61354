"""Full-text search with tantivy's BM25. The `code` tokenizer splits identifiers into their words
(`load_dataset`, `LoadDataset` and `loadDataset` all give `load` `dataset`), lowercases, and keeps
punctuation as tokens, so a search for an identifier finds every spelling of it, and a quoted
phrase matches that sequence exactly (up to case and identifier style)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tantivy

from bigcode_release.errors import DataIndexError

# camelCase / PascalCase words, acronyms, digit runs, single punctuation marks; '_' separates
CODE_TOKEN = r"[A-Z]?[a-z]+|[A-Z]+|[0-9]+|[^\sA-Za-z0-9_]"
FILTER_FIELDS = ("repo", "license", "language")
MAX_QUERY_CHARS = 2000


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(CODE_TOKEN))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.remove_long(100))
        .build()
    )


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("content", stored=True, tokenizer_name="code", index_option="position")
    builder.add_text_field("path", stored=True, tokenizer_name="code")
    for name in FILTER_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name="raw", fast=True)
    builder.add_unsigned_field("doc", stored=True, indexed=True, fast=True)
    return builder.build()


def open_index(folder: Path, create: bool = False) -> tantivy.Index:
    folder.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(schema(), path=str(folder), reuse=not create)
    index.register_tokenizer("code", _analyzer())
    return index


def build(documents, folder: Path, heap_bytes: int = 256 * 2**20, on_document=None) -> int:
    """Index every document; returns how many."""
    index = open_index(folder, create=True)
    writer = index.writer(heap_size=heap_bytes, num_threads=1)
    count = 0
    for document in documents:
        entry = tantivy.Document(
            content=document.content,
            path=document.path,
            repo=document.repo,
            license=document.license,
            language=document.language,
        )
        entry.add_unsigned("doc", document.number)
        writer.add_document(entry)
        count += 1
        if on_document:
            on_document(document)
    writer.commit()
    writer.wait_merging_threads()
    return count


@dataclass(frozen=True)
class Hit:
    score: float
    doc: int
    repo: str
    path: str
    license: str
    language: str
    snippet: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _escape_phrase(text: str) -> str:
    return text.replace("\\", " ").replace('"', " ")


def parse(index: tantivy.Index, query: str) -> tantivy.Query:
    """Quoted parts are phrases; everything else is matched word by word (identifiers split). Query
    syntax characters in the user's text are taken literally, never as operators."""
    query = query.strip()
    if not query:
        raise DataIndexError("the query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise DataIndexError(f"the query has {len(query):,} characters; the limit is {MAX_QUERY_CHARS:,}")
    phrases = re.findall(r'"([^"]+)"', query)
    rest = re.sub(r'"[^"]*"', " ", query)
    words = re.findall(r"[A-Za-z0-9_]+", rest)
    if not words and not any(re.search(r"[A-Za-z0-9]", p) for p in phrases):
        raise DataIndexError(
            f"the query {query!r} has no letters or digits to search for; put code in quotes to "
            "search for an exact snippet"
        )
    parts = [f'"{_escape_phrase(p)}"' for p in phrases if p.strip()] + words
    parsed, _ = index.parse_query_lenient(" ".join(parts), ["content", "path"])  # words rebuilt above: no syntax left
    return parsed


@lru_cache(maxsize=8)
def _searchable(folder: str) -> tantivy.Index:
    """An opened index, kept for the process (opening costs tens of milliseconds per query)."""
    if not (Path(folder) / "meta.json").is_file():
        raise DataIndexError(f"{folder}: no search index; run `bigcode-release index build`")
    index = open_index(Path(folder))
    index.reload()
    return index


def search(
    folder: Path,
    query: str,
    top: int = 10,
    language: str | None = None,
    license_: str | None = None,
    snippets: bool = False,
) -> list[Hit]:
    """The `top` best documents for `query`, optionally only one language or license expression;
    `snippets` adds highlighted excerpts (tens of milliseconds more: each stored file is scanned)."""
    index = _searchable(str(Path(folder).resolve()))
    parsed = parse(index, query)
    clauses = [(tantivy.Occur.Must, parsed)]
    for field, value in (("language", language), ("license", license_)):
        if value:
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_query(index.schema, field, value)))
    combined = tantivy.Query.boolean_query(clauses) if len(clauses) > 1 else parsed
    searcher = index.searcher()
    generator = tantivy.SnippetGenerator.create(searcher, parsed, index.schema, "content") if snippets else None
    hits = []
    for score, address in searcher.search(combined, limit=top).hits:
        stored = searcher.doc(address)
        snippet = generator.snippet_from_doc(stored).fragment() if generator else ""
        hits.append(
            Hit(
                round(score, 4),
                stored["doc"][0],
                stored["repo"][0],
                stored["path"][0],
                stored["license"][0],
                stored["language"][0],
                snippet,
            )
        )
    return hits
