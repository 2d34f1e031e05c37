"""Metadata written by yanex 0.6 brought to the current schema (``_store/migrate.py``),
called directly on raw dicts, and on the files the published yanex 0.6.1 wrote."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.query import FIXTURE_061
from yanex._store import store
from yanex._store.migrate import normalize_metadata
from yanex._store.schema import FORMAT_VERSION, Metadata
from yanex.errors import CorruptFileError

COMMIT = "e95fdf981b8049521c0731ab89cafb4064eda1c0"


def old(**fields: Any) -> dict[str, Any]:
    """A yanex 0.6 metadata dict: nested git and environment facts, ``process_id``."""
    raw: dict[str, Any] = {
        "id": "27a219f5",
        "status": "completed",
        "git": {
            "branch": "master",
            "commit_hash": COMMIT,
            "has_uncommitted_changes": True,
            "patch_file": "artifacts/git_diff.patch",
        },
        "process_id": 1954,
        "environment": {
            "system": {"hostname": "vm"},
            "python": {
                "python_version": "3.11.7 (main, May  9 2026) [GCC 12.2.0]",
                "platform": "Linux-6.18-x86_64",
            },
        },
        "cli_args": {"depends_on": ["aaaa1111"], "tag": []},
    }
    raw.update(fields)
    return raw


def test_old_fields_fill_the_flat_ones() -> None:
    raw = normalize_metadata(old())
    assert (raw["git_commit"], raw["git_branch"]) == (COMMIT, "master")
    assert (raw["has_uncommitted_changes"], raw["patch_file"]) == (
        True,
        "artifacts/git_diff.patch",
    )
    assert (raw["pid"], raw["host"]) == (1954, "vm")
    assert (raw["python_version"], raw["platform"]) == ("3.11.7", "Linux-6.18-x86_64")
    assert raw["depends_on"] == ["aaaa1111"]


def test_the_old_fields_are_kept_for_old_readers() -> None:
    raw = normalize_metadata(old())
    assert raw["git"]["commit_hash"] == COMMIT
    assert raw["process_id"] == 1954
    assert raw["environment"]["system"]["hostname"] == "vm"


def test_flat_fields_already_there_win() -> None:
    raw = normalize_metadata(
        old(
            git_commit="f" * 40,
            git_branch="main",
            pid=77,
            host="node2",
            python_version="3.12.1",
            depends_on=["bbbb2222"],
        )
    )
    assert (raw["git_commit"], raw["git_branch"]) == ("f" * 40, "main")
    assert (raw["pid"], raw["host"]) == (77, "node2")
    assert raw["python_version"] == "3.12.1"
    assert "platform" not in raw  # only filled together with the python version
    assert raw["depends_on"] == ["bbbb2222"]


def test_a_null_flat_field_is_filled_from_the_old_one() -> None:
    raw = normalize_metadata(old(git_commit=None, pid=None, host=None, python_version=None))
    assert (raw["git_commit"], raw["pid"], raw["host"]) == (COMMIT, 1954, "vm")
    assert raw["python_version"] == "3.11.7"


def test_a_current_file_is_unchanged() -> None:
    current = {
        "id": "0000abcd",
        "status": "running",
        "git_commit": COMMIT,
        "pid": 5,
        "host": "h",
        "python_version": "3.11.7",
        "tags": ["a"],
        "depends_on": [],
        "cli_args": {"x": 1},
        "format_version": FORMAT_VERSION,
    }
    assert normalize_metadata(copy.deepcopy(current)) == current


@pytest.mark.parametrize(
    "fields",
    [
        {"git": "not a dict", "environment": ["nor", "this"], "cli_args": "x"},
        {"git": {"branch": 1}, "environment": {"python": "3.11"}},
        {"git": {"commit_hash": None}, "environment": {"system": "vm"}},
        {"environment": {"system": {"hostname": 7}, "python": {"python_version": 3.11}}},
        {"process_id": "1954"},  # not an int: not a pid
        {"cli_args": {"depends_on": "aaaa1111"}},  # not a list
    ],
)
def test_malformed_old_fields_are_ignored(fields: dict[str, Any]) -> None:
    raw = normalize_metadata({"id": "0000abcd", **fields})
    for flat in ("git_commit", "pid", "host", "python_version", "depends_on"):
        assert raw.get(flat) is None


def test_a_wrongly_typed_old_field_is_a_corrupt_file_not_a_crash() -> None:
    raw = {"id": "0000abcd", "git": "not a dict", "environment": "nor this"}
    with pytest.raises(CorruptFileError, match=r"at `\$\.git`"):
        store.to_metadata(raw, Path("0000abcd"))


@pytest.mark.parametrize(
    "key", ["tags", "script_args", "depends_on", "has_uncommitted_changes", "cli_args"]
)
def test_null_lists_and_flags_take_their_defaults(key: str) -> None:
    """yanex 0.6 wrote ``null`` where the schema has a list, dict or bool: the key is
    dropped, so the schema's default applies instead of a validation error."""
    raw = normalize_metadata({"id": "0000abcd", key: None})
    assert key not in raw
    meta = store.to_metadata(raw, Path("0000abcd"))
    assert getattr(meta, key) == getattr(Metadata(id="x"), key)


def test_a_null_that_is_not_migrated_is_a_corrupt_file() -> None:
    """The store's conversion names the file when a field has the wrong type."""
    with pytest.raises(CorruptFileError, match=r"0000abcd/metadata\.json"):
        store.to_metadata({"id": "0000abcd", "tags": "a"}, Path("0000abcd"))


def test_the_id_defaults_to_the_directory_name() -> None:
    assert store.to_metadata({"status": "failed"}, Path("/s/0000abcd")).id == "0000abcd"


@pytest.mark.parametrize(
    ("exp_id", "status", "error"),
    [("27a219f5", "completed", None), ("170aea7b", "failed", "Script exited with code 3")],
)
def test_files_written_by_yanex_061(exp_id: str, status: str, error: str | None) -> None:
    """Reading the published yanex 0.6.1's metadata gives the current fields and writes
    nothing: the file stays byte for byte as it was."""
    path = FIXTURE_061 / exp_id / "metadata.json"
    before = path.read_bytes()
    meta = store.read_metadata(path.parent)
    assert path.read_bytes() == before
    assert (meta.id, meta.status, meta.error_message, meta.project) == (
        exp_id,
        status,
        error,
        "fx",
    )
    assert (meta.git_commit, meta.git_branch, meta.has_uncommitted_changes) == (
        COMMIT,
        "master",
        True,
    )
    assert meta.patch_file == "artifacts/git_diff.patch"
    raw = json.loads(before)
    assert meta.pid == raw["process_id"] and meta.host == "vm"
    assert meta.python_version == "3.11.7"
    assert meta.platform == raw["environment"]["python"]["platform"]
    assert meta.started_at == raw["started_at"] and meta.duration == raw["duration"]
    assert meta.format_version == FORMAT_VERSION
