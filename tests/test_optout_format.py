"""The opt-out export format the build consumes: strict reading, case-insensitive matching."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bigcode_release.errors import OptOutListError
from bigcode_release.optout.export_format import OptOutEntry, read_optout_list, write_optout_list


def test_account_and_repo_entries_match_case_insensitively(tmp_path):
    path = write_optout_list(
        [OptOutEntry("Octocat", "req-1"), OptOutEntry("alice", "req-2", repo="alice/Tools")], tmp_path / "o.jsonl"
    )
    optouts = read_optout_list(path)
    assert optouts.match("octocat/anything") == "req-1"
    assert optouts.match("OCTOCAT/x") == "req-1"
    assert optouts.match("alice/tools") == "req-2"
    assert optouts.match("alice/other") is None
    assert optouts.match("bob/tools") is None


def test_parquet_lists_are_read_too(tmp_path):
    path = tmp_path / "o.parquet"
    pq.write_table(pa.table({"owner": ["x"], "repo": [None], "request_id": ["r"]}), path)
    assert read_optout_list(path).match("X/y") == "r"


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not JSON"),
        (json.dumps({"owner": "a"}), "request_id"),
        (json.dumps({"owner": "a/b", "request_id": "r"}), "owner must be a GitHub username"),
        (json.dumps({"owner": "a", "repo": "b/c", "request_id": "r"}), "is not owned by"),
        (json.dumps({"owner": "a", "repo": "nope", "request_id": "r"}), "repo must be 'owner/name'"),
        (json.dumps({"owner": "a", "request_id": "r", "reason": "x"}), "unknown field"),
        (json.dumps(["a"]), "expected an object"),
    ],
)
def test_malformed_lines_name_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"owner": "ok", "request_id": "r0"}) + "\n" + line + "\n")
    with pytest.raises(OptOutListError) as info:
        read_optout_list(path)
    assert f"{path} line 2" in str(info.value) and message in str(info.value)
