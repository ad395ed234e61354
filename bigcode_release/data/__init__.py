"""The dataset stage: sources, filters, the build and its release directory."""
