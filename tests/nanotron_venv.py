"""Run code against nanotron main's real source on a CPU, in the virtualenv NANOTRON_VENV (nanotron
main from a checkout, beside datatrove 0.10.1 and this project; nanotron installs from GitHub only,
so CI cannot have it and deselects the `nanotron` tests). Set up once with:

    python3 -m venv /tmp/ntv && /tmp/ntv/bin/pip install torch==2.13.0 "numpy>=2,<3" pyyaml packaging \\
        safetensors dacite tqdm torchtyping "datatrove[io]==0.10.1" "transformers>=4.46,<5" "datasets>=3,<4"
    /tmp/ntv/bin/pip install --no-deps -e <nanotron checkout> -e .

Only CUDA-only modules are replaced (`CUDA_ONLY_MODULES`), and a one-process gloo group stands in
for torchrun's.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.serving import free_port

# the only modules replaced to import nanotron main on a CPU: each is CUDA-only and never called on the
# paths tested; their decorators keep the function, any call of a replaced name raises
CUDA_ONLY_MODULES = {
    "flash_attn": "flash-attention's CUDA kernels (nanotron.nn.ring_attention imports them at module level)",
    "triton": "the GPU kernel compiler, imported by flash_attn's and nanotron's fused kernels",
}
_PRELUDE = """
import importlib.abc, importlib.machinery, json, sys, types
from transformers import AutoTokenizer, GenerationMixin  # resolved first: transformers probes for flash_attn
class _CudaOnly(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in CUDA_ONLY:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__, module.__version__ = [], "0+cpu-stub"
        def missing(attribute):
            if attribute.startswith("__"):
                raise AttributeError(attribute)
            def unavailable(*args, **kwargs):
                if len(args) == 1 and callable(args[0]) and not kwargs:
                    return args[0]  # a decorator (triton.jit): the function is kept, never compiled
                if not args and kwargs:
                    return lambda function: function  # a decorator factory (triton.autotune(...))
                raise RuntimeError(f"{spec.name}.{attribute} needs CUDA")
            return unavailable
        module.__getattr__ = missing
        return module
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, _CudaOnly())
import torch.distributed
torch.distributed.init_process_group("gloo", init_method=INIT, rank=0, world_size=1)
"""


def run_in_nanotron(body: str) -> dict:
    """Run `body` (which sets `answer`, a JSON-able dict) in NANOTRON_VENV's Python; returns `answer`."""
    python = Path(os.environ["NANOTRON_VENV"]) / "bin" / "python"
    script = (
        f"CUDA_ONLY = {sorted(CUDA_ONLY_MODULES)!r}\nINIT = 'tcp://127.0.0.1:{free_port()}'\n"
        + _PRELUDE
        + body
        + "\nprint('ANSWER ' + json.dumps(answer))\n"
    )
    result = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(next(line for line in reversed(result.stdout.splitlines()) if line.startswith("ANSWER "))[7:])
