"""Parquet or JSONL data in one of The Stack's schemas, read (streaming) through datatrove's readers.

The schemas (`stack_schemas.py`): The Stack v1 and v2 (one row per file; v2's contents from a
content store), v3 (one row per repository, files inline) and `auto` (file rows in any known
column names, or this toolkit's own output). Every file becomes one document with the same
metadata as the other sources. A file that cannot be parsed, or whose columns are not the
schema's, is skipped and counted (`corrupt_input_files`, `input_files_not_in_schema`), never fatal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

import orjson
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from loguru import logger

from bigcode_release.data.document import make_document
from bigcode_release.data.languages import LanguageTable
from bigcode_release.data.sources.stack_schemas import SchemaName, StackFile, stack_schema
from bigcode_release.license.spdx import normalise


class _StackRows:
    """Mixin turning a schema's rows into documents and surviving corrupt files."""

    def __init__(
        self,
        data_folder: str,
        languages: LanguageTable,
        schema: SchemaName = "auto",
        content_store: str | None = None,
        **kwargs,
    ):
        super().__init__(data_folder, **kwargs)  # datatrove's reader (the next class in the MRO)
        self.languages = languages
        self.schema = stack_schema(schema, content_store)

    def rows(self, filepath: str) -> Iterator[dict]:
        raise NotImplementedError

    def read_file(self, filepath: str):
        try:
            for row in self.rows(filepath):
                with self.track_time():
                    try:
                        documents = [self.document(f) for f in self.schema.files(row, self.stat_update)]
                    except Exception as exc:  # one row that cannot be read: skip it, count it, go on
                        self.stat_update("rows_not_read")
                        logger.warning(f"{filepath}: skipping a row: {type(exc).__name__}: {exc}")
                        continue
                yield from documents
        except _NotInSchema as exc:
            self.stat_update("input_files_not_in_schema")
            logger.warning(f"skipping {filepath}: not in The Stack {self.schema.name} schema: missing {exc}")
        except Exception as exc:  # any parse error of one input file: skip it, count it
            self.stat_update("corrupt_input_files")
            logger.warning(f"skipping corrupt input file {filepath}: {type(exc).__name__}: {exc}")

    def check_columns(self, columns: set[str]) -> None:
        missing = self.schema.missing(columns)
        if missing:
            raise _NotInSchema(", ".join(missing))

    def document(self, file: StackFile):
        language = self.languages.detect(file.path)
        if language is None and file.language:
            candidate = str(file.language).lower().replace(" ", "-").replace("#", "-sharp")
            language = candidate if candidate in self.languages else None
        return make_document(
            file.content,
            path=file.path,
            repo_name=file.repo_name,
            owner=file.repo_name.split("/", 1)[0],
            licenses=normalise(file.license_expression).licenses if file.license_expression else [],
            license_expression=file.license_expression,
            license_source=file.license_source,
            language=language,
            ext=PurePosixPath(file.path).suffix.lower(),
            size=len(file.content.encode("utf-8")),
            stars=file.stars,
            forks=file.forks,
        )


class _NotInSchema(ValueError):
    """An input file lacks the columns its schema needs."""


class StackParquetReader(_StackRows, ParquetReader):
    """Stack-schema Parquet files (local or `hf://datasets/...`, read by ranged requests)."""

    name = "📒 Stack Parquet"

    def rows(self, filepath: str) -> Iterator[dict]:
        import pyarrow.parquet as pq

        with self.data_folder.open(filepath, "rb") as handle, pq.ParquetFile(handle) as parquet:
            self.check_columns(set(parquet.schema_arrow.names))
            for batch in parquet.iter_batches(batch_size=self.batch_size):
                yield from batch.to_pylist()


class StackJsonlReader(_StackRows, JsonlReader):
    """Stack-schema JSONL files (optionally compressed); a line that is not JSON is skipped and counted."""

    name = "🐿 Stack JSONL"

    def rows(self, filepath: str) -> Iterator[dict]:
        with self.data_folder.open(filepath, "r", compression=self.compression) as handle:
            checked = False
            for line in handle:
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError:
                    self.stat_update("corrupt_input_lines")
                    continue
                if not checked:
                    self.check_columns(set(row))
                    checked = True
                yield row
