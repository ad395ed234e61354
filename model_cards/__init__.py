"""Card templates shipped with bigcode-release (dataset and model cards, transparency statements)."""
