"""The top-level folders users browse (recipes/, model_cards/, spaces/) ship inside the wheel as
packages of bigcode_release, so an installed toolkit reads them with importlib.resources."""

from pathlib import Path

from setuptools import find_packages, setup

SHIPPED = {
    "bigcode_release.recipes": "recipes",
    "bigcode_release.model_cards": "model_cards",
    "bigcode_release.spaces": "spaces",
    # each Space's folder (app.py and its README) is a module folder of its own
    **{
        f"bigcode_release.spaces.{app.parent.name}": f"spaces/{app.parent.name}"
        for app in Path("spaces").glob("*/app.py")
    },
}

setup(packages=find_packages(include=["bigcode_release", "bigcode_release.*"]) + sorted(SHIPPED), package_dir=SHIPPED)
