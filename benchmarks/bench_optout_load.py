"""200 concurrent opt-out submissions through the running Space's API (gradio_client, loopback):
accepted, refused (with reasons) and lost; every accepted request must be in the registry exactly
once and nothing may be lost. Two rounds: the Space's default per-client rate limit (all requests
come from one loopback client, so most are refused by it), then with the limit lifted.

    .venv/bin/python benchmarks/bench_optout_load.py [--release release/] [--submissions 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from gradio_client import Client  # noqa: E402

from bigcode_release.shipped import load_space  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def round_of(release: Path, registry: Path, submissions: int, per_minute: int) -> dict:
    demo = load_space("in-the-stack").build_app(str(release), str(registry), submissions_per_minute=per_minute)
    demo.queue(default_concurrency_limit=8, max_size=1000)
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False)
        usernames = [f"load-user-{per_minute}-{i:04d}" for i in range(submissions)]
        started = time.perf_counter()

        def submit(name: str) -> str | None:
            try:
                return client.predict(name, "whole account", [], "", "load test", api_name="/submit")
            except Exception as exc:  # a lost submission: the client got no answer
                return f"LOST {type(exc).__name__}"

        with ThreadPoolExecutor(max_workers=submissions) as pool:
            answers = list(pool.map(submit, usernames))
        wall = time.perf_counter() - started
    finally:
        demo.close()
    accepted = {name: a.split("**")[1] for name, a in zip(usernames, answers) if a.startswith("Request **req-")}
    refused = Counter(a.removeprefix("**Error:** ").split(";")[0] for a in answers if a.startswith("**Error:**"))
    lost = sum(1 for a in answers if a.startswith("LOST"))
    with sqlite3.connect(registry) as db:
        stored = Counter(
            row[0]
            for row in db.execute("SELECT id FROM requests WHERE username LIKE ?", (f"load-user-{per_minute}-%",))
        )
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    exactly_once = all(stored[request_id] == 1 for request_id in accepted.values()) and sum(stored.values()) == len(
        accepted
    )
    return {
        "per_minute_limit": per_minute,
        "submissions": submissions,
        "accepted": len(accepted),
        "refused": dict(refused),
        "lost": lost,
        "stored_exactly_once": exactly_once,
        "integrity": integrity,
        "wall_s": round(wall, 2),
        "per_s": round(submissions / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=REPO / "release")
    parser.add_argument("--submissions", type=int, default=200)
    args = parser.parse_args()
    if not (args.release / "dataset-versions").is_dir():
        sys.exit(f"{args.release} has no built dataset; run `bash scripts/release-default.sh` first")
    with tempfile.TemporaryDirectory(prefix="bench-optout-") as tmp:
        registry = Path(tmp) / "registry.sqlite"
        rounds = [round_of(args.release, registry, args.submissions, limit) for limit in (5, 10**6)]
    for r in rounds:
        print(
            f"limit {r['per_minute_limit']}/min: {r['accepted']} accepted, refused {r['refused'] or 0}, "
            f"{r['lost']} lost, stored exactly once: {r['stored_exactly_once']}, integrity {r['integrity']}, "
            f"{r['wall_s']} s ({r['per_s']}/s)"
        )
    ok = all(r["lost"] == 0 and r["stored_exactly_once"] and r["integrity"] == "ok" for r in rounds)
    print(f"nothing lost, every accepted request stored once: {'yes' if ok else 'NO'}")
    print(json.dumps({"benchmark": "optout_load", "rounds": rounds}))


if __name__ == "__main__":
    main()
