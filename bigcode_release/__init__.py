"""bigcode-release: run a BigCode-style open-science release of a code LLM on the Hugging Face stack."""

__version__ = "0.1.0"
