"""Opt-out: the list format the dataset build consumes (the registry and request flow build on it)."""
