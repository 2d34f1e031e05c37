"""Differential suite: every script runs under ``python -u`` and under yanex; both must match."""
