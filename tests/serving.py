"""Start `bigcode-release serve` on a free loopback port for a test, and stop it afterwards."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import CLI, REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(model_dir: Path, *extra: str, timeout: float = 120.0) -> Iterator[str]:
    """The URL of a running server for `model_dir` (waits for /health; the log is shown on failure)."""
    port = free_port()
    log = Path(model_dir).parent / f"serve-{port}.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [*CLI, "serve", str(model_dir), "--port", str(port), *extra],
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not come up in {timeout} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
