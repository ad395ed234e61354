"""Entry point for nanotron runs launched by `bigcode-release train --engine nanotron`:
installs the data-reader adapter (before nanotron is imported), then runs nanotron's own `run_train.py` from a checkout.

    torchrun --nproc_per_node=8 -m bigcode_release.train.nanotron_entry \\
        --nanotron-repo /path/to/nanotron --config-file config.yaml
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nanotron-repo", required=True, help="a nanotron checkout (holds run_train.py)")
    parser.add_argument("--config-file", required=True)
    args = parser.parse_args(argv)
    script = Path(args.nanotron_repo) / "run_train.py"
    if not script.is_file():
        raise SystemExit(f"{script} not found: --nanotron-repo must be a nanotron checkout")
    from bigcode_release.tokenizer.nanotron_adapter import install

    install()
    sys.argv = [str(script), "--config-file", args.config_file]
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
