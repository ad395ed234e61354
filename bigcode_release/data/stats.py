"""What a build kept and dropped, and why: step accounting, per-license/language/repo tables.

Inputs are files only: datatrove's per-task stats (`work/stats/*.json`), the drop ledgers
(`work/dropped/<step>/*.jsonl.gz`) and the dataset shards (`data/*.parquet`). DuckDB does the
aggregation, so the same code serves a few thousand files or The Stack's hundreds of millions.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from bigcode_release.errors import BuildError
from bigcode_release.layout import BuildLayout

SOURCE_STEP = "source"
WRITER_STEP = "write"

_KEPT_COLUMNS = {
    "repo_name": "VARCHAR",
    "owner": "VARCHAR",
    "path": "VARCHAR",
    "language": "VARCHAR",
    "license_expression": "VARCHAR",
    "license_source": "VARCHAR",  # where the file's license came from (a subtree or header of its own, or the repo's)
    "size": "BIGINT",
}
_LEDGER_COLUMNS = {**_KEPT_COLUMNS, "optout_request_id": "VARCHAR", "duplicate_of": "VARCHAR", "reason": "VARCHAR"}


def _value(entry) -> int:
    return int(entry["total"]) if isinstance(entry, dict) else int(entry)


def merge_task_stats(stats_dir: Path, step_ids: list[str]) -> list[Counter]:
    """Sum datatrove's per-task stats files, one Counter per pipeline step (in order)."""
    merged = [Counter() for _ in step_ids]
    files = sorted(Path(stats_dir).glob("*.json"))
    if not files:
        raise BuildError(f"no task stats in {stats_dir}: the pipeline has not run")
    for path in files:
        steps = json.loads(path.read_text(encoding="utf-8"))
        if len(steps) != len(step_ids):
            raise BuildError(f"{path} has {len(steps)} steps, the pipeline has {len(step_ids)}")
        for counter, step in zip(merged, steps):
            for key, entry in step["stats"].items():
                counter[key] += _value(entry)
    return merged


def step_accounting(merged: list[Counter], step_ids: list[str]) -> list[dict]:
    """Per filter step: documents in, kept, and dropped by reason; plus source and writer counts."""
    steps = []
    for step_id, counter in zip(step_ids, merged):
        if step_id == SOURCE_STEP:
            steps.append(
                {
                    "step": step_id,
                    "out": counter["documents"],
                    **{k: v for k, v in sorted(counter.items()) if k not in ("documents", "doc_len")},
                }
            )
        elif step_id == WRITER_STEP:
            steps.append({"step": step_id, "in": counter["total"]})
        else:
            dropped = {k.removeprefix("dropped_"): v for k, v in sorted(counter.items()) if k.startswith("dropped_")}
            steps.append({"step": step_id, "in": counter["total"], "kept": counter["forwarded"], "dropped": dropped})
    return steps


def check_accounting(steps: list[dict]) -> list[str]:
    """Every way the books fail to balance (empty when `in == kept + sum(dropped)` everywhere
    and each step's input is the previous step's output)."""
    problems = []
    previous_out = None
    for step in steps:
        incoming = step.get("in")
        if previous_out is not None and incoming is not None and incoming != previous_out:
            problems.append(f"{step['step']}: {incoming} in, but the step before passed on {previous_out}")
        if "kept" in step:
            total = step["kept"] + sum(step["dropped"].values())
            if total != step["in"]:
                problems.append(
                    f"{step['step']}: {step['in']} in != {step['kept']} kept + {total - step['kept']} dropped"
                )
            previous_out = step["kept"]
        elif "out" in step:
            previous_out = step["out"]
    return problems


class BuildTables:
    """SQL views over a build's shards and drop ledgers."""

    def __init__(self, data_dir: Path, dropped_dir: Path):
        self.con = duckdb.connect()
        self.con.execute("SET threads = 2")
        shards = [str(p) for p in sorted(Path(data_dir).glob("*.parquet"))]
        self._view("kept", _KEPT_COLUMNS, shards and f"SELECT {', '.join(_KEPT_COLUMNS)} FROM read_parquet({shards!r})")
        ledgers = [str(p) for p in sorted(Path(dropped_dir).glob("*/*.jsonl.gz"))]
        self._view(
            "dropped",
            {**_LEDGER_COLUMNS, "step": "VARCHAR"},
            ledgers
            and "SELECT *, regexp_extract(filename, '/([^/]+)/[^/]+$', 1) AS step FROM read_json("
            f"{ledgers!r}, format='newline_delimited', columns={_LEDGER_COLUMNS!r}, filename=true)",
        )

    def _view(self, name: str, columns: dict[str, str], select: str | None) -> None:
        """A view over files, or an empty view with the same columns when there are none."""
        if not select:
            select = (
                "SELECT " + ", ".join(f"NULL::{kind} {column}" for column, kind in columns.items()) + " WHERE false"
            )
        self.con.execute(f"CREATE VIEW {name} AS {select}")

    def rows(self, sql: str, params: list | None = None) -> list[dict]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def per_license(self) -> list[dict]:
        return self.rows(
            """
            WITH k AS (SELECT coalesce(license_expression, 'none') license, count(DISTINCT repo_name) repos,
                              count(*) files, sum(size) bytes FROM kept GROUP BY 1),
                 d AS (SELECT coalesce(license_expression, 'none') license, count(DISTINCT repo_name) repos,
                              count(*) files, sum(size) bytes, any_value(reason) reason
                       FROM dropped WHERE step = 'license' GROUP BY 1)
            SELECT coalesce(k.license, d.license) license,
                   coalesce(k.repos, 0) kept_repos, coalesce(k.files, 0) kept_files, coalesce(k.bytes, 0)::BIGINT kept_bytes,
                   coalesce(d.repos, 0) dropped_repos, coalesce(d.files, 0) dropped_files,
                   coalesce(d.bytes, 0)::BIGINT dropped_bytes, d.reason drop_reason
            FROM k FULL OUTER JOIN d ON k.license = d.license
            ORDER BY kept_bytes DESC, dropped_bytes DESC, license
            """
        )

    def per_language(self) -> list[dict]:
        return self.rows(
            "SELECT language, count(*) files, sum(size)::BIGINT bytes, count(DISTINCT repo_name) repos "
            "FROM kept GROUP BY 1 ORDER BY bytes DESC, language"
        )

    def per_reason(self) -> list[dict]:
        return self.rows(
            "SELECT step, reason, count(*) files, sum(size)::BIGINT bytes FROM dropped "
            "GROUP BY 1, 2 ORDER BY files DESC, step, reason"
        )

    def repos(self, dataset_version: str) -> pa.Table:
        """One row per repository seen: included or not, the main reason when not, and how many of
        its files each reason dropped (`dropped_by_reason`, most first; empty when none was)."""
        return self.con.sql(
            """
            WITH files AS (
                SELECT repo_name, owner, license_expression, license_source, size, NULL::VARCHAR reason,
                       NULL::VARCHAR step, NULL::VARCHAR optout_request_id FROM kept
                UNION ALL
                SELECT repo_name, owner, license_expression, license_source, size, reason, step, optout_request_id
                FROM dropped
            ),
            reasons AS (
                SELECT repo_name, reason, count(*) n, min(CASE WHEN step = 'language' THEN 1 ELSE 0 END) early
                FROM files WHERE reason IS NOT NULL GROUP BY 1, 2
            ),
            top_reason AS (
                SELECT repo_name, arg_min(reason, (early, -n, reason)) reason,
                       list({'reason': reason, 'files': n::BIGINT} ORDER BY n DESC, reason) dropped_by_reason
                FROM reasons GROUP BY 1
            )
            SELECT lower(f.owner) owner_key, f.owner, split_part(f.repo_name, '/', 2) repo, f.repo_name,
                   -- the repository's own license: that of its files not in a part with a license of its own
                   coalesce(
                       any_value(f.license_expression) FILTER (
                           WHERE f.license_source IS NULL
                              OR NOT (starts_with(f.license_source, 'subtree:') OR f.license_source = 'header')
                       ),
                       any_value(f.license_expression)
                   ) license,
                   count(*)::BIGINT files, coalesce(sum(f.size), 0)::BIGINT bytes,
                   count(*) FILTER (WHERE f.reason IS NULL)::BIGINT kept_files,
                   coalesce(sum(f.size) FILTER (WHERE f.reason IS NULL), 0)::BIGINT kept_bytes,
                   count(*) FILTER (WHERE f.reason IS NULL) > 0 included,
                   CASE WHEN count(*) FILTER (WHERE f.reason IS NULL) > 0 THEN NULL ELSE any_value(t.reason) END drop_reason,
                   max(f.optout_request_id) FILTER (WHERE f.reason = 'opted_out') optout_request_id,
                   coalesce(any_value(t.dropped_by_reason), []::STRUCT(reason VARCHAR, files BIGINT)[]) dropped_by_reason,
                   ? dataset_version
            FROM files f LEFT JOIN top_reason t USING (repo_name)
            GROUP BY f.owner, f.repo_name
            ORDER BY owner_key, lower(f.repo_name)
            """,
            params=[dataset_version],
        ).to_arrow_table()

    def optout_removals(self) -> list[dict]:
        """Per opt-out request: the owner's own files removed and the copies found elsewhere."""
        return self.rows(
            """
            SELECT optout_request_id request_id,
                   count(*) FILTER (WHERE reason = 'opted_out')::BIGINT files,
                   coalesce(sum(size) FILTER (WHERE reason = 'opted_out'), 0)::BIGINT bytes,
                   count(*) FILTER (WHERE reason = 'opted_out_copy')::BIGINT copies,
                   coalesce(sum(size) FILTER (WHERE reason = 'opted_out_copy'), 0)::BIGINT copies_bytes,
                   count(DISTINCT repo_name) FILTER (WHERE reason = 'opted_out_copy')::BIGINT copy_repos
            FROM dropped WHERE reason IN ('opted_out', 'opted_out_copy') GROUP BY 1 ORDER BY 1
            """
        )

    def optout_copies(self, request_ids: list[str]) -> list[dict]:
        """The copies of these requests' files removed from other repositories: where, of what, by which."""
        return self.rows(
            "SELECT repo_name || '/' || path file, repo_name, path, duplicate_of original, size, "
            "optout_request_id request_id FROM dropped "
            "WHERE reason = 'opted_out_copy' AND list_contains(?, optout_request_id) ORDER BY 1",
            [list(request_ids)],
        )

    def totals(self) -> dict:
        kept = self.rows("SELECT count(*) files, coalesce(sum(size), 0)::BIGINT bytes FROM kept")[0]
        dropped = self.rows(
            "SELECT count(*) files, coalesce(sum(size), 0)::BIGINT bytes, "
            "coalesce(sum(size) FILTER (WHERE step <> 'language'), 0)::BIGINT source_bytes FROM dropped"
        )[0]
        return {
            "input_files": kept["files"] + dropped["files"],
            "input_bytes": kept["bytes"] + dropped["bytes"],
            "source_text_bytes": kept["bytes"] + dropped["source_bytes"],
            "kept_files": kept["files"],
            "kept_bytes": kept["bytes"],
        }


def write_repos_table(table: pa.Table, path: Path) -> Path:
    """`repos.parquet`, sorted by `owner_key` (the lowercased owner) in row groups of 100k: a lookup
    `WHERE owner_key = ?` reads only the row groups whose min/max statistics can hold the key."""
    pq.write_table(table, path, row_group_size=100_000, compression="zstd")
    return path


def version_tables(version_dir: Path) -> BuildTables:
    """The SQL views of a built dataset version (its shards and drop ledgers)."""
    layout = BuildLayout(Path(version_dir))
    return BuildTables(layout.data_dir, layout.dropped_root)
