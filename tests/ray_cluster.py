"""A Ray cluster of two nodes on this machine, each started by its own `ray start` (a head and a
worker, as on two hosts): one CPU each, a small object store, distinct ports, and the dashboard on
the head (Ray's state API, which says on which node each task ran, is served by it)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.serving import free_port

RAY = str(Path(sys.executable).parent / "ray")
ENVIRONMENT = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
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
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=ENVIRONMENT
    ).stdout


def _ports(*names: str) -> list[str]:
    return [argument for name in names for argument in (f"--{name}", str(free_port()))]


def _start(arguments: list[str]) -> None:
    result = subprocess.run([RAY, "start", *arguments], capture_output=True, text=True, env=ENVIRONMENT)
    if result.returncode != 0:
        raise RuntimeError(f"ray start {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def ray_cluster() -> Iterator[RayCluster]:
    """Start the two nodes; stop them (and only Ray's processes) afterwards."""
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths must fit
    head_port, dashboard_port = free_port(), free_port()
    node = ["--num-cpus", "1", "--object-store-memory", str(OBJECT_STORE_BYTES), "--disable-usage-stats"]
    per_node = ("node-manager-port", "object-manager-port", "dashboard-agent-listen-port",
                "dashboard-agent-grpc-port", "metrics-export-port", "runtime-env-agent-port")  # fmt: skip
    try:
        _start(
            [
                "--head",
                "--port",
                str(head_port),
                "--include-dashboard",
                "true",
                "--dashboard-port",
                str(dashboard_port),
                "--temp-dir",
                str(temp_dir),
                "--resources",
                '{"head": 1}',
                *_ports("ray-client-server-port", *per_node),
                *node,
            ]  # fmt: skip
        )
        _start(["--address", f"127.0.0.1:{head_port}", "--resources", '{"worker": 1}', *_ports(*per_node), *node])
        yield RayCluster(f"127.0.0.1:{head_port}", f"http://127.0.0.1:{dashboard_port}", temp_dir)
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=ENVIRONMENT)
        shutil.rmtree(temp_dir, ignore_errors=True)
