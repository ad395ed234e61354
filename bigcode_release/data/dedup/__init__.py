"""Exact and near deduplication of code files (datatrove's MinHash stages, configured for code)."""
