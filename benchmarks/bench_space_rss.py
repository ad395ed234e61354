"""Peak memory of each Space's process on a release, against the free CPU Space it must fit in
(16 GiB RAM, 2 vCPU). Each Space is started as its own process (`bigcode-release spaces serve`), asked
a few questions through gradio_client, and its peak resident set (VmHWM, /proc/<pid>/status) read.

    .venv/bin/python benchmarks/bench_space_rss.py [--release release/]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from bigcode_release.hardware import peak_rss_bytes

FREE_CPU_SPACE_BYTES = 16 * 2**30
REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(name: str, args: list[str], questions) -> dict:
    from gradio_client import Client

    port = _free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "bigcode_release.cli", "spaces", "serve", name, "--port", str(port), *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        ready_s = time.perf_counter() - started
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for api_name, values in questions:
            client.predict(*values, api_name=api_name)
        peak = peak_rss_bytes(process.pid)
        if peak is None:
            raise RuntimeError(f"no VmHWM for {process.pid}")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    return {
        "space": name,
        "ready_s": round(ready_s, 1),
        "peak_rss_mib": round(peak / 2**20, 1),
        "share_of_free_cpu_space": round(peak / FREE_CPU_SPACE_BYTES, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=REPO / "release")
    args = parser.parse_args()
    release = args.release.resolve()
    shard = sorted((release / "dataset" / "data").rglob("*.parquet"))[0]
    row = pq.read_table(shard, columns=["content", "repo_name"]).slice(0, 1).to_pylist()[0]
    owner, version = row["repo_name"].split("/")[0], Path(os.path.realpath(release / "dataset")).name
    with tempfile.TemporaryDirectory() as tmp:
        results = [
            measure(
                "in-the-stack",
                ["--release", str(release), "--registry", str(Path(tmp) / "optout.sqlite")],
                [("/check", (owner, version))],
            ),
            measure(
                "data-inspector",
                ["--release", str(release)],
                [("/search", ("load_dataset", "(any)", "(any)")), ("/browse", ("python",))],
            ),
            measure("membership-test", ["--release", str(release)], [("/check", (row["content"][:20_000], 64))]),
        ]
    for result in results:
        print(
            f"{result['space']:>16}: ready in {result['ready_s']:5.1f} s, peak RSS {result['peak_rss_mib']:8.1f} MiB "
            f"= {result['share_of_free_cpu_space']:.1%} of the free CPU Space's 16 GiB"
        )
    print(json.dumps({"benchmark": "space_rss", "release": str(release), "spaces": results}))


if __name__ == "__main__":
    main()
