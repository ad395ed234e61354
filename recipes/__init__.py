"""Recipes shipped with bigcode-release: copy one with `bigcode-release recipes copy NAME`."""
