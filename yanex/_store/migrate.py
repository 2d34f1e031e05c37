"""Bring metadata written by older formats (the published yanex 0.6) to the current schema.

Migrations work on the raw decoded dict, before it is converted to ``schema.Metadata``, and
never rewrite the file by themselves: reading an old store leaves it byte-for-byte unchanged.
"""

from __future__ import annotations

from typing import Any

_GIT_FIELDS = (
    ("git_commit", "commit_hash"),
    ("git_branch", "branch"),
    ("has_uncommitted_changes", "has_uncommitted_changes"),
    ("patch_file", "patch_file"),
)


def normalize_metadata(raw: dict[str, Any]) -> dict[str, Any]:
    """Fill the flat fields of the current format from yanex 0.6's nested/renamed ones."""
    git = raw.get("git")
    if isinstance(git, dict):
        for flat, nested in _GIT_FIELDS:
            if raw.get(flat) is None and git.get(nested) is not None:
                raw[flat] = git[nested]
    if raw.get("pid") is None and isinstance(raw.get("process_id"), int):
        raw["pid"] = raw["process_id"]
    env = raw.get("environment")
    _host_from(raw, env)  # whose pid it is, to tell when a run was abandoned
    if isinstance(env, dict) and raw.get("python_version") is None:
        py = env.get("python")
        if isinstance(py, dict) and isinstance(py.get("python_version"), str):
            raw["python_version"] = py["python_version"].split()[0]
            raw.setdefault("platform", py.get("platform"))
    if raw.get("depends_on") is None:
        cli = raw.get("cli_args")
        if isinstance(cli, dict) and isinstance(cli.get("depends_on"), list):
            raw["depends_on"] = cli["depends_on"]
    for key in ("tags", "script_args", "depends_on"):
        if raw.get(key) is None:
            raw.pop(key, None)
    if raw.get("has_uncommitted_changes") is None:
        raw.pop("has_uncommitted_changes", None)
    if raw.get("cli_args") is None:
        raw.pop("cli_args", None)
    return raw


def _host_from(raw: dict[str, Any], env: Any) -> None:
    if raw.get("host") is not None:
        return
    system = env.get("system") if isinstance(env, dict) else None
    host = system.get("hostname") if isinstance(system, dict) else None
    if isinstance(host, str):
        raw["host"] = host
