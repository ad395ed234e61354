"""Gradio Spaces shipped with bigcode-release: one folder per Space (app.py + README.md)."""
