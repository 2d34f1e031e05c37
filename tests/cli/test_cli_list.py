"""``yanex list``: order, filters, project scope, formats, terminals, bad input, bad data."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.query import (
    ago,
    assert_error,
    copy_061_store,
    dead_pid,
    make,
    mark_running,
    store_root,
)


def listed(*args: str) -> list[dict]:
    res = run_cli("list", "-F", "json", *args)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_newest_first_default_limit_and_all() -> None:
    """The default shows the 10 newest with a note; --all and -l change that. End to end:
    the default listing by a real `yanex` process."""
    made = [make(f"e{i}", created=ago(hours=20 - i)) for i in range(12)]
    res = run_cli_subprocess("list")
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "Name", "Status"]
    assert [line.split()[0] for line in lines[1:11]] == made[::-1][:10]
    assert "Showing 10 of 12 experiments" in res.stdout
    assert [e["id"] for e in listed("--all")] == made[::-1]
    assert [e["id"] for e in listed("-l", "3")] == made[::-1][:3]


def test_filters_narrow_the_listing() -> None:
    """-s, -n (glob and "" for unnamed), -t (AND), -i and time filters select experiments."""
    a = make("train-a", tags=["ml", "base"], started=ago(hours=1), ended=ago(minutes=50))
    b = make("train-b", tags=["ml"], status="failed", started=ago(days=9), ended=ago(days=9))
    c = make(None)
    ids = lambda *args: {e["id"] for e in listed(*args)}  # noqa: E731
    assert ids("-s", "failed") == {b}
    assert ids("-n", "train-*") == {a, b}
    assert ids("-n", "") == {c}
    assert ids("-t", "ml", "-t", "base") == {a}
    assert ids("-i", f"{a},{c[:4]}") == {a, c}
    assert ids("--started-after", "1 week ago") == {a, c}
    assert ids("--started-before", "2 days ago") == {b}
    assert ids("--ended-after", "2 hours ago") == {a, c}
    assert ids("--ended-before", "yesterday") == {b}
    assert ids("-s", "completed", "-t", "ml") == {a}


def test_stale_running_shown_as_failed() -> None:
    """An experiment left 'running' by a dead supervisor is listed as failed."""
    exp = make("zombie")
    mark_running(exp, dead_pid())
    assert listed()[0]["status"] == "failed"
    res = run_cli("list")
    assert "failed" in res.stdout and "running" not in res.stdout


def test_archived_included_with_a() -> None:
    """Archived experiments are hidden unless -a is given."""
    make("active")
    shelved = make("shelved")
    run_cli("archive", shelved, "--force")
    assert [e["name"] for e in listed()] == ["active"]
    both = {e["id"]: e["archived"] for e in listed("-a")}
    assert both[shelved] is True and len(both) == 2


def test_formats_csv_markdown_and_plain() -> None:
    """csv parses with a header; markdown is a pipe table; plain output has no escapes."""
    exp = make("fmt", tags=["a", "b"])
    rows = list(csv.DictReader(io.StringIO(run_cli("list", "-F", "csv").stdout)))
    assert rows[0]["id"] == exp and rows[0]["tags"] == "a, b" and rows[0]["status"] == "completed"
    md = run_cli("list", "-F", "markdown").stdout.splitlines()
    assert md[0].startswith("| ID | Name | Status") and md[1].startswith("| --- ")
    assert f"| {exp} | fmt | completed |" in md[2]
    plain = run_cli("list").stdout
    assert "\x1b[" not in plain and "┃" not in plain and exp in plain


def _on_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    master, slave = pty.openpty()
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "yanex", *args], stdout=slave, stderr=slave, env=full_env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_terminal_gets_rich_table_unless_no_color() -> None:
    """On a terminal the table is drawn by rich; NO_COLOR gives plain text there too."""
    exp = make("tty")
    odd = make("odd [/] [bold]name")  # user text, never rich markup
    fancy = _on_terminal("list")
    assert exp in fancy and ("┃" in fancy or "━" in fancy)
    assert odd in fancy and "[/]" in fancy and "Traceback" not in fancy
    plain = _on_terminal("list", env={"NO_COLOR": "1"})
    assert exp in plain and "┃" not in plain and "\x1b[" not in plain


def test_empty_store_messages() -> None:
    """No experiments: a friendly line, [] in json, a header in csv."""
    res = run_cli("list")
    assert res.returncode == 0 and "No experiments found" in res.stdout
    assert listed() == []
    assert run_cli("list", "-F", "csv").stdout.startswith("id,name,")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-F", "yaml"], ["unknown format 'yaml'"]),
        (["--started-after", "the day after tomorrow"], ["cannot read the time"]),
        (["--ended-before", "5 parsecs ago"], ["cannot read the time"]),
        (["-s", "finished"], ["unknown status 'finished'"]),
    ],
)
def test_bad_input_is_one_error_line_exit_2(args: list[str], words: list[str]) -> None:
    """Bad format, time phrase or status: one Error line, exit 2, nothing printed to stdout."""
    make("x")
    res = run_cli("list", *args)
    assert_error(res, 2, *words)
    assert res.stdout == ""


def test_corrupt_experiment_is_reported_and_listed_as_broken() -> None:
    """A corrupt metadata.json is reported on stderr and its experiment listed as broken;
    the others are listed as usual (exit 0)."""
    good = make("good")
    bad = make("bad")
    (store_root() / bad / "metadata.json").write_text('{"id": "x", "status": ')
    res = run_cli("list")
    assert res.returncode == 0
    assert good in res.stdout
    assert [line.split()[:3] for line in res.stdout.splitlines() if bad in line] == [
        [bad, "-", "broken"]
    ]
    assert f"Warning: skipped experiment {bad}" in res.stderr
    assert "Traceback" not in res.stderr


def _git_repo(path: Path) -> None:
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)


def test_default_scope_is_current_git_project(work_dir: Path) -> None:
    """Inside a git repository only its project is listed; -g lists all, -p picks one."""
    mine = make("mine", project="proj")
    other = make("other", project="elsewhere")
    repo = work_dir / "proj"
    _git_repo(repo)
    scoped = run_cli("list", "-F", "json", cwd=repo)
    assert [e["id"] for e in json.loads(scoped.stdout)] == [mine]
    assert {e["id"] for e in json.loads(run_cli("list", "-g", "-F", "json", cwd=repo).stdout)} == {
        mine,
        other,
    }
    picked = json.loads(run_cli("list", "-p", "elsewhere", "-F", "json", cwd=repo).stdout)
    assert [e["id"] for e in picked] == [other]
    assert "Project" in run_cli("list", "-g", cwd=repo).stdout.splitlines()[0]
    empty = run_cli("list", "-s", "failed", cwd=repo)
    assert "No experiments found in project 'proj'" in empty.stdout


def test_lists_the_published_store() -> None:
    """Experiments written by yanex 0.6.1 are listed with their names and statuses."""
    copy_061_store()
    rows = {e["id"]: e for e in listed()}
    assert rows["27a219f5"]["name"] == "fixture-run" and rows["27a219f5"]["status"] == "completed"
    assert rows["170aea7b"]["status"] == "failed" and rows["27a219f5"]["tags"] == ["t1"]
    assert [e["id"] for e in listed()] == ["170aea7b", "27a219f5"]  # newest first
