"""The interactive ``yanex compare`` (Textual): keys, sorting, filtering, CSV export and
quitting, driven by Textual's pilot; on a real terminal the command opens it, and with
output to a pipe it prints the static table as before."""

from __future__ import annotations

import csv
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.query import ago, make

pytest.importorskip("textual", reason="the ui extra is not installed")

from yanex._cli import compare
from yanex._cli._compare_tui import CompareApp
from yanex._core import compare as core_compare
from yanex._core import query
from yanex._core.filters import Filters


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual runs on asyncio only


def three() -> list[str]:
    return [
        make("alpha", config={"lr": 0.1}, metrics=[{"loss": 0.5}], created=ago(hours=3)),
        make("beta", config={"lr": 0.02}, metrics=[{"loss": 10.0}], created=ago(hours=2)),
        make("gamma", config={"lr": 0.3}, metrics=[{"loss": 2.0}], created=ago(hours=1)),
    ]


def app_for(tmp_path: Path) -> CompareApp:
    records = query.select(Filters()).records
    headers, rows = compare.tui_table(core_compare.build(records))
    return CompareApp(headers, rows, tmp_path)


def names(app: CompareApp) -> list[str]:
    return [row[1] for row in app.view]


@pytest.mark.anyio
async def test_keys_move_the_cursor(tmp_path: Path) -> None:
    """Arrows and hjkl move the cursor; End jumps to the last row."""
    three()
    app = app_for(tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.query_one("#table")
        await pilot.press("j", "j", "l", "l")
        assert tuple(table.cursor_coordinate) == (2, 2)
        await pilot.press("k", "h", "left")
        assert tuple(table.cursor_coordinate) == (1, 0)
        await pilot.press("down", "right")
        assert tuple(table.cursor_coordinate) == (2, 1)


@pytest.mark.anyio
async def test_sort_by_any_column(tmp_path: Path) -> None:
    """s/S sort the cursor's column as text, 1/2 as numbers, R reverses, r resets."""
    three()
    app = app_for(tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        assert names(app) == ["gamma", "beta", "alpha"]  # newest first
        loss = app.headers.index("📈 loss")
        for _ in range(loss):
            await pilot.press("l")
        await pilot.press("1")
        assert names(app) == ["alpha", "gamma", "beta"]  # 0.5, 2.0, 10.0
        await pilot.press("2")
        assert names(app) == ["beta", "gamma", "alpha"]
        await pilot.press("s")  # as text: "0.5" < "10.0" < "2.0"
        assert names(app) == ["alpha", "beta", "gamma"]
        await pilot.press("R")
        assert names(app) == ["gamma", "beta", "alpha"]
        label = app.query_one("#table").ordered_columns[loss].label
        assert str(label) == "📈 loss ↓"  # the sort arrow on the sorted column
        await pilot.press("r")
        assert names(app) == ["gamma", "beta", "alpha"]
        await pilot.press("home", "S")  # the ID column, descending
        assert [r[0] for r in app.view] == sorted((r[0] for r in app.view), reverse=True)


@pytest.mark.anyio
async def test_filter_then_export_csv(tmp_path: Path) -> None:
    """/ filters rows by text; e writes the rows in view to a CSV file; Esc clears."""
    three()
    app = app_for(tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.press("slash", *"alp", "enter")
        assert names(app) == ["alpha"]
        await pilot.press("e")
        assert app.last_export is not None and app.last_export.parent == tmp_path
        with open(app.last_export, newline="") as fh:
            table = list(csv.reader(fh))
        assert table[0][:6] == ["ID", "Name", "Started", "Duration", "Status", "Tags"]
        assert table[0][6:] == ["lr", "loss"]
        assert [row[1] for row in table[1:]] == ["alpha"] and table[1][6:] == ["0.1", "0.5"]
        await pilot.press("escape")
        assert len(app.view) == 3


@pytest.mark.anyio
async def test_q_quits(tmp_path: Path) -> None:
    """q ends the app."""
    three()
    app = app_for(tmp_path)
    async with app.run_test() as pilot:
        await pilot.press("question_mark")  # the keys, as a notification
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


def test_terminal_opens_the_interactive_table(work_dir: Path) -> None:
    """On a terminal, yanex compare opens the interactive table, and q quits it (exit 0)."""
    three()
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 140, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="140", LINES="30")
    proc = subprocess.Popen([sys.executable, "-m", "yanex", "compare"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, cwd=work_dir)  # fmt: skip
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while b"experiments" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 65536)
        assert b"3 of 3 experiments" in seen, seen[-2000:]
        os.write(master, b"q")
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


@pytest.mark.usefixtures("cli_backend")
def test_pipe_keeps_the_static_table() -> None:
    """With output to a pipe (or --no-interactive) the static table is printed, as before."""
    three()
    res = run_cli("compare")
    assert res.returncode == 0 and res.stdout.splitlines()[0].split()[:2] == ["ID", "Name"]
    assert "\x1b[" not in res.stdout
    assert run_cli("compare", "--no-interactive").stdout == res.stdout
