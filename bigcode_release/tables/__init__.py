"""Data tables shipped with the toolkit (languages, licenses); read them, extend them."""

from importlib.resources import files
from pathlib import Path


def table_path(name: str) -> Path:
    """Path of a shipped data table, e.g. `table_path("languages.csv")`."""
    return Path(str(files("bigcode_release.tables") / name))
