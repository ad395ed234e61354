"""Entry point for nanotron runs launched by `bigcode-release train --engine nanotron`:
installs the data-reader adapter (before nanotron is imported) and makes nanotron's
`Starcoder2Config` loadable, then runs nanotron's own `run_train.py` from a checkout.

    torchrun --nproc_per_node=8 -m bigcode_release.train.nanotron_entry \\
        --nanotron-repo /path/to/nanotron --config-file config.yaml
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path


def patch_starcoder2_config(config_class: type | None = None) -> type:
    """Give nanotron main's `Starcoder2Config` the three names its `Config` and its logging read from
    every model config and that only `LlamaConfig` has (at 2411b022 loading a StarCoder2 config fails
    on `'Starcoder2Config' object has no attribute 'num_key_value_heads'`): read-only views of
    its own fields, so the YAML, the model and the checkpoints are unchanged."""
    if config_class is None:
        from nanotron.config.models_config import Starcoder2Config as config_class
    if not hasattr(config_class, "num_key_value_heads"):
        config_class.num_key_value_heads = property(
            lambda self: 1 if self.multi_query else (self.num_kv_heads or self.num_attention_heads)
        )
    if not hasattr(config_class, "tie_word_embeddings"):
        config_class.tie_word_embeddings = property(lambda self: True)  # the model ties them, always
    if not hasattr(config_class, "hidden_act"):
        config_class.hidden_act = property(lambda self: self.activation_function)
    return config_class


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
    patch_starcoder2_config()
    sys.argv = [str(script), "--config-file", args.config_file]
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
