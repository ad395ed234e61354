"""Does the data teach more than its token counts? The tiny recipe trained on the release's tokens
and on the same tokens shuffled within each shard (same counts, no order), with several seeds,
compared by `ablate`: validation loss on the real validation split and HumanEval bits per byte,
per seed, with the ablation's decision rule.

    .venv/bin/python benchmarks/bench_shuffled_tokens.py [--release release] [--seeds 3] [--steps 60]

The baseline is the shuffled copy: a model that learnt only unigram statistics scores it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from bigcode_release.layout import ReleaseLayout
from bigcode_release.tokenizer.ds_format import read_metadata

REPO = Path(__file__).resolve().parents[1]


def shuffled_copy(tokenized: Path, out: Path, seed: int = 0) -> Path:
    """`tokenized` with every train shard's tokens permuted (indexes and metadata kept)."""
    shutil.copytree(tokenized, out)
    rng = np.random.default_rng(seed)
    for shard in sorted((out / "train").glob("*.ds")):
        _, token_size, _ = read_metadata(shard)
        tokens = np.fromfile(shard, dtype=np.uint16 if token_size == 2 else np.uint32)
        rng.permutation(tokens).tofile(shard)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=REPO / "release")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    layout = ReleaseLayout.at(args.release)
    version = layout.current_version()
    tokenized = layout.tokenized_dir(version)
    with tempfile.TemporaryDirectory(prefix="bench-shuffled-") as tmp:
        tmp = Path(tmp)
        shuffled = shuffled_copy(tokenized, tmp / "shuffled")
        recipe = yaml.safe_load((REPO / "recipes" / "train-tiny.yaml").read_text())
        recipe["data"] = {"release": str(args.release.resolve())}
        recipe["batch"] = {**recipe.get("batch", {}), "train_steps": args.steps}
        recipe["checkpoints"] = {**recipe.get("checkpoints", {}), "interval": args.steps}
        recipe["validation"] = {**recipe.get("validation", {}), "interval": args.steps}
        path = tmp / "tiny.yaml"
        path.write_text(yaml.safe_dump(recipe))
        out = args.release / "ablations" / "shuffled-tokens"
        result = subprocess.run(
            [sys.executable, "-m", "bigcode_release.cli", "ablate", str(path), "--variants", f"{version},{shuffled}",
             "--seeds", str(args.seeds), "--out", str(out), "--json", "--no-progress"],
            capture_output=True, text=True, cwd=REPO,
        )  # fmt: skip
        if result.returncode:
            raise SystemExit(f"ablate failed:\n{result.stderr[-3000:]}")
        report = json.loads(result.stdout)
    names = {version: "release tokens", str(shuffled): "shuffled tokens"}
    print(f"tiny recipe, {args.steps} steps, seeds 0..{args.seeds - 1}; validation: {version}'s split")
    print(f"{'variant':16} {'val loss per seed':32} {'mean ± std':18} {'HumanEval bits/byte per seed':32}")
    for variant in report["variants"]:
        losses = ", ".join(f"{v:.4f}" for v in variant["val_losses"])
        bpb = ", ".join(f"{v:.4f}" for v in variant["humaneval_bpb"])
        print(f"{names[variant['variant']]:16} {losses:32} {variant['mean']:.4f} ± {variant['std']:.4f}   {bpb}")
    decided = [(names[a], names[b]) for a, b in report["decisions"]]
    print(f"rule: {report['rule']}; decided: {decided or 'nothing'}; plot: {out / 'ablation.png'}")
    real, shuffled_result = report["variants"]
    print(
        json.dumps(
            {
                "benchmark": "shuffled_tokens",
                "steps": args.steps,
                "seeds": args.seeds,
                "val_loss": {"release": real["mean"], "shuffled": shuffled_result["mean"]},
                "val_loss_std": {"release": real["std"], "shuffled": shuffled_result["std"]},
                "humaneval_bpb": {
                    "release": real["humaneval_bpb_mean"],
                    "shuffled": shuffled_result["humaneval_bpb_mean"],
                },
                "release_better_by_rule": [names[version], "shuffled tokens"] in [list(d) for d in decided],
            }
        )
    )


if __name__ == "__main__":
    main()
