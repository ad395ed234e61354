"""A Ray cluster of two nodes on this machine, each started by its own `ray start` (a head and a
worker, as on two hosts): one CPU each, a small object store, distinct ports, and the dashboard on
the head (Ray's state API, which says on which node each task ran, is served by it).

The cluster uses Ray's token authentication with a token of its own, handed to every process that
speaks to it (nodes, drivers, the CLI under test) through `RAY_AUTH_MODE` and `RAY_AUTH_TOKEN_PATH`.
Left to itself, Ray >= 2.5x turns token mode on for a head whenever `~/.ray/auth_token` exists (a
local `ray.init()` writes one) but not for a joining worker, which is then refused."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import psutil

from tests.serving import free_port

RAY = str(Path(sys.executable).parent / "ray")
OBJECT_STORE_BYTES = 100 * 2**20


@dataclass(frozen=True)
class RayCluster:
    address: str
    dashboard: str
    temp_dir: Path

    def node_ids(self) -> dict[str, str]:
        """{node id: "head" | "worker"} of the cluster's live nodes (from Ray itself)."""
        script = (
            f"import json, ray; ray.init(address={self.address!r}, log_to_driver=False); "
            "print(json.dumps({n['NodeID']: 'head' if 'head' in n['Resources'] else 'worker' "
            "for n in ray.nodes() if n['Alive']}))"
        )
        return json.loads(_python(script).strip().splitlines()[-1])

    def task_nodes(self) -> list[str]:
        """The node id of every finished task the cluster ran (Ray's state API; tasks run by a driver
        itself have no node and are left out)."""
        script = (
            "import json; from ray.util.state import list_tasks; "
            f"print(json.dumps([t.node_id for t in list_tasks(address={self.dashboard!r}, "
            "filters=[('state', '=', 'FINISHED')], limit=10000, detail=True) if t.node_id]))"
        )
        return json.loads(_python(script).strip().splitlines()[-1])


def _python(script: str) -> str:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout


def _ports(*names: str) -> list[str]:
    return [argument for name in names for argument in (f"--{name}", str(free_port()))]


def _start(arguments: list[str]) -> None:
    result = subprocess.run([RAY, "start", *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ray start {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}")


def _stop(temp_dir: Path, head_port: int) -> None:
    """Stop this cluster's processes and only them (`ray stop` would stop every Ray process of the
    user): those that name its session folder or its head's port, and everything they started;
    again until none is left (a raylet may start a worker while it stops)."""
    for _ in range(5):
        processes = _cluster_processes(temp_dir, head_port)
        if not processes:
            return
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                process.terminate()
        _, alive = psutil.wait_procs(processes, timeout=15)
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                process.kill()


def _cluster_processes(temp_dir: Path, head_port: int) -> list[psutil.Process]:
    mark = re.compile(rf"{re.escape(str(temp_dir))}|:{head_port}(?!\d)")
    me = psutil.Process()
    spared = {me.pid, *(p.pid for p in me.parents())}  # the test process and what runs it
    found: dict[int, psutil.Process] = {}
    for process in psutil.process_iter(["cmdline"]):
        if process.pid not in spared and mark.search(" ".join(process.info["cmdline"] or [])):
            for member in [process, *_descendants(process)]:
                found.setdefault(member.pid, member)
    return [process for pid, process in found.items() if pid not in spared]


def _descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


@contextlib.contextmanager
def ray_cluster() -> Iterator[RayCluster]:
    """Start the two nodes; stop them (and only this cluster's processes) afterwards. While it runs,
    this process's environment (inherited by everything it starts) carries the cluster's token (and
    not an inherited `RAY_AUTH_TOKEN`, which Ray would read first)."""
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths must fit
    token = temp_dir / "auth_token"
    token.write_text(secrets.token_hex(32))
    environment = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "RAY_USAGE_STATS_ENABLED": "0"}
    head_port, dashboard_port = free_port(), free_port()
    node = ["--num-cpus", "1", "--object-store-memory", str(OBJECT_STORE_BYTES), "--disable-usage-stats"]
    per_node = ("node-manager-port", "object-manager-port", "dashboard-agent-listen-port",
                "dashboard-agent-grpc-port", "metrics-export-port", "runtime-env-agent-port")  # fmt: skip
    head = ["--head", "--port", str(head_port), "--include-dashboard", "true", "--dashboard-port", str(dashboard_port),
            "--temp-dir", str(temp_dir), "--resources", '{"head": 1}', *_ports("ray-client-server-port", *per_node)]  # fmt: skip
    worker = ["--address", f"127.0.0.1:{head_port}", "--resources", '{"worker": 1}', *_ports(*per_node)]
    with mock.patch.dict(os.environ, environment):
        os.environ.pop("RAY_AUTH_TOKEN", None)  # restored on leaving the patch
        try:
            _start([*head, *node])
            _start([*worker, *node])
            yield RayCluster(f"127.0.0.1:{head_port}", f"http://127.0.0.1:{dashboard_port}", temp_dir)
        finally:
            _stop(temp_dir, head_port)
            shutil.rmtree(temp_dir, ignore_errors=True)
