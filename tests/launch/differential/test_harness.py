"""The comparison itself: every kind of difference is reported, and only YANEX_* is ignored."""

from __future__ import annotations

from typing import Any

from tests.launch.differential.harness import Run, compare, status_problems, strip_yanex


def _run(**changes: Any) -> Run:
    fields: dict[str, Any] = {
        "label": "x",
        "stdout": b"out\n",
        "stderr": b"",
        "files": {"a.txt": ("file", 0o644, b"a\n"), "d": ("dir", 0o755, b"")},
        "obs": {"obs.json": {"environ": {"PATH": "/bin", "YANEX_EXPERIMENT_ID": "1234abcd"}}},
        "returncode": 0,
        "meta": {"status": "completed", "exit_code": 0, "error_message": None},
    }
    fields.update(changes)
    return Run(**fields)


def test_identical_runs_compare_equal_whatever_the_yanex_variables() -> None:
    other = _run(obs={"obs.json": {"environ": {"PATH": "/bin", "YANEX_LAUNCH_PATH": "pool"}}})
    assert compare(_run(), other) == []


def test_each_kind_of_difference_is_reported() -> None:
    ref = _run()
    cases = {
        "stdout": _run(stdout=b"out"),
        "stderr": _run(stderr=b"warning\n"),
        "a.txt": _run(files={**ref.files, "a.txt": ("file", 0o600, b"a\n")}),
        "missing under yanex": _run(files={"d": ("dir", 0o755, b"")}),
        "only under yanex": _run(files={**ref.files, "b": ("file", 0o644, b"")}),
        "environ": _run(obs={"obs.json": {"environ": {"PATH": "/bin", "PYTHONUNBUFFERED": "1"}}}),
        "status": _run(meta={"status": "failed", "exit_code": 1, "error_message": "1"}),
    }
    for needle, got in cases.items():
        problems = "\n".join(compare(ref, got))
        assert needle in problems, (needle, problems)


def test_exit_statuses_are_checked_against_python() -> None:
    failed = {"status": "failed", "exit_code": 3, "error_message": "Script exited with code 3"}
    assert status_problems(3, failed) == []
    assert status_problems(0, failed)
    assert status_problems(4, failed)
    killed = {"status": "failed", "exit_code": -11, "error_message": "killed by signal SIGSEGV"}
    assert status_problems(-11, killed) == []
    assert status_problems(-11, {**killed, "error_message": "crashed"})
    assert status_problems(-11, {**killed, "status": "cancelled"})


def test_only_yanex_variables_are_stripped() -> None:
    value = {"env": {"YANEX_X": "1", "YANEXX": "2", "LANG": "C"}, "list": [{"YANEX_Y": 1}]}
    assert strip_yanex(value) == {"env": {"YANEXX": "2", "LANG": "C"}, "list": [{}]}
