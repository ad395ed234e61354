"""Scoring code models: HumanEval-style problems, generated programs run in a sandbox, pass@k."""
