"""Full-text search with tantivy's BM25. The `code` tokenizer splits identifiers into their words
(`load_dataset`, `LoadDataset` and `loadDataset` all give `load` `dataset`), lowercases, and keeps
punctuation as tokens, so a search for an identifier finds every spelling of it, and a quoted
phrase matches that sequence exactly (up to case and identifier style). A second field holds each
multi-word identifier joined and lowercased (`load_dataset` -> `loaddataset`), so a word typed as
one (`loaddataset`) finds it too, and a file using the identifier itself ranks above one that only
has its words apart.

The text itself is indexed, not stored: the membership index holds every file's text already, a
result needs only its metadata (fetching a stored file cost a fifth of a search's time), and the
index is half the size a Space downloads. Snippets are cut from a text the caller provides."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tantivy

from bigcode_release.errors import DataIndexError

# camelCase / PascalCase words, acronyms, digit runs, single punctuation marks; '_' separates
CODE_TOKEN = r"[A-Z]?[a-z]+|[A-Z]+|[0-9]+|[^\sA-Za-z0-9_]"
FILTER_FIELDS = ("repo", "license", "language")
IDENTIFIERS_FIELD = "identifiers"
MAX_QUERY_CHARS = 2000
MAX_RESULTS = 1000  # the deepest page a search can reach
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(CODE_TOKEN))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.remove_long(100))
        .build()
    )


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("content", stored=False, tokenizer_name="code", index_option="position")
    builder.add_text_field("path", stored=True, tokenizer_name="code")
    builder.add_text_field(IDENTIFIERS_FIELD, stored=False, tokenizer_name="whitespace", index_option="freq")
    for name in FILTER_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name="raw", fast=True)
    builder.add_unsigned_field("doc", stored=True, indexed=True, fast=True)
    return builder.build()


def joined_identifiers(text: str) -> str:
    """Each identifier of several words (`load_dataset`, `loadDataset`) joined and lowercased, once
    per occurrence, space-separated: what the identifiers field indexes."""
    joined = []
    for identifier in IDENTIFIER.findall(text):
        if len(re.findall(CODE_TOKEN, identifier)) > 1:
            joined.append(identifier.replace("_", "").lower())
    return " ".join(joined)


def open_index(folder: Path, create: bool = False) -> tantivy.Index:
    folder.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(schema(), path=str(folder), reuse=not create)
    index.register_tokenizer("code", _analyzer())
    return index


def _fields(folder: Path) -> set[str]:
    """The fields an index on disk has (one built by an earlier toolkit may lack the newest)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return {field["name"] for field in meta.get("schema", [])}


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
        entry.add_text(IDENTIFIERS_FIELD, joined_identifiers(document.content))
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
    snippet: str = ""  # `with_snippets`

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _escape_phrase(text: str) -> str:
    return text.replace("\\", " ").replace('"', " ")


def parse(index: tantivy.Index, query: str, identifiers: bool = False) -> tantivy.Query:
    """Quoted parts are phrases (those with a letter or digit); everything else is matched word by
    word (identifiers split) and, with `identifiers`, as a joined identifier too. Query syntax
    characters in the user's text are taken literally, never as operators."""
    query = query.strip()
    if not query:
        raise DataIndexError("the query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise DataIndexError(f"the query has {len(query):,} characters; the limit is {MAX_QUERY_CHARS:,}")
    # a phrase of punctuation alone (`": ["` between the quotes of pasted JSON) is not searched: it
    # occurs in nearly every file of a language, ranks nothing, and is checked position by position
    phrases = [p for p in re.findall(r'"([^"]+)"', query) if re.search(r"[^\W_]", p)]
    rest = re.sub(r'"[^"]*"', " ", query)
    words = re.findall(r"[A-Za-z0-9_]+", rest)
    if not words and not phrases:
        raise DataIndexError(
            f"the query {query!r} has no letters or digits to search for; search for words, identifiers "
            "or a quoted snippet of code holding some"
        )
    parts = [f'"{_escape_phrase(p)}"' for p in phrases] + words
    parsed, _ = index.parse_query_lenient(" ".join(parts), ["content", "path"])  # words rebuilt above: no syntax left
    joined = {word.replace("_", "").lower() for word in words} - {""}
    if not identifiers or not joined:
        return parsed
    clauses = [(tantivy.Occur.Should, parsed)] + [
        (tantivy.Occur.Should, tantivy.Query.term_query(index.schema, IDENTIFIERS_FIELD, word))
        for word in sorted(joined)
    ]
    return tantivy.Query.boolean_query(clauses)


@lru_cache(maxsize=8)
def _searchable(folder: str) -> tuple[tantivy.Index, bool, tantivy.Searcher]:
    """An opened index, whether it has the identifiers field, and a searcher, kept for the process
    (opening costs tens of milliseconds per query; the index is never written again). The schema is
    the one on disk, whichever it is."""
    if not (Path(folder) / "meta.json").is_file():
        raise DataIndexError(f"{folder}: no search index; run `bigcode-release index build`")
    index = tantivy.Index.open(folder)
    index.register_tokenizer("code", _analyzer())
    index.reload()
    return index, IDENTIFIERS_FIELD in _fields(Path(folder)), index.searcher()


def _snippet(generator: tantivy.SnippetGenerator, text: str) -> str:
    """The best excerpt of `text`, HTML-escaped, its matched words in `<b>` tags."""
    return generator.snippet_from_doc(tantivy.Document(content=text)).to_html()


@dataclass(frozen=True)
class Results:
    """One page of hits and how many documents match in all."""

    hits: list[Hit]
    total: int


def _any_of(index: tantivy.Index, field: str, values: str | Sequence[str]) -> tantivy.Query:
    values = [values] if isinstance(values, str) else list(values)
    terms = [tantivy.Query.term_query(index.schema, field, value) for value in values]
    return terms[0] if len(terms) == 1 else tantivy.Query.boolean_query([(tantivy.Occur.Should, t) for t in terms])


def search(
    folder: Path,
    query: str,
    top: int = 10,
    language: str | None = None,
    license_: str | Sequence[str] | None = None,
) -> list[Hit]:
    """The `top` best documents for `query`, optionally only one language and license expression(s)
    (any of several); `with_snippets` adds excerpts."""
    return search_page(folder, query, top, 0, language, license_).hits


def with_snippets(folder: Path, query: str, hits: list[Hit], texts: Callable[[int], str]) -> list[Hit]:
    """The hits, each with the best excerpt of its file for `query` (HTML-escaped, matches in `<b>`);
    `texts` gives a document number's full text (`ShardedIndex.document_text`: read back through
    the FM-index, about a millisecond per kB of file, so cut excerpts for the page shown only)."""
    index, identifiers, searcher = _searchable(str(Path(folder).resolve()))
    generator = tantivy.SnippetGenerator.create(searcher, parse(index, query, identifiers), index.schema, "content")
    return [dataclasses.replace(hit, snippet=_snippet(generator, texts(hit.doc))) for hit in hits]


def search_page(
    folder: Path,
    query: str,
    top: int = 10,
    offset: int = 0,
    language: str | None = None,
    license_: str | Sequence[str] | None = None,
) -> Results:
    """Hits `offset + 1` to `offset + top` for `query` (see `search`) and how many match in all."""
    if offset < 0 or offset + top > MAX_RESULTS:
        raise DataIndexError(f"results {offset + 1}-{offset + top} asked; a search shows its first {MAX_RESULTS:,}")
    index, identifiers, searcher = _searchable(str(Path(folder).resolve()))
    parsed = parse(index, query, identifiers)
    clauses = [(tantivy.Occur.Must, parsed)]
    for field, value in (("language", language), ("license", license_)):
        if value:
            clauses.append((tantivy.Occur.Must, _any_of(index, field, value)))
    combined = tantivy.Query.boolean_query(clauses) if len(clauses) > 1 else parsed
    found = searcher.search(combined, limit=top, offset=offset, count=True)
    hits = []
    for score, address in found.hits:
        stored = searcher.doc(address)
        hits.append(
            Hit(
                round(score, 4),
                stored["doc"][0],
                stored["repo"][0],
                stored["path"][0],
                stored["license"][0],
                stored["language"][0],
            )
        )
    return Results(hits, found.count)
