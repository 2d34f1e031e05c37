"""CLI start-up: each command imports only what it needs (issue 9).

`yanex --help`, `yanex list` and `yanex get` run without an event loop and without the run
planner or the process machinery; `--help` imports no command at all; `get` never loads rich,
even on a terminal. `yanex --help` is answered from a cache of click's own text, without
asyncclick, once click has given it. `yanex run` keeps its loop (asyncio with uvloop,
DESIGN.md). The timing figures themselves are in bench/bench_cli.py, never in a unit test.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import yanex
from tests.support.cli import run_cli
from yanex import errors
from yanex._cli import (
    COMMANDS,
    _fast,
    _fast_cache,
    _fast_describe,
    _fast_parse,
    _get,
    _root,
    _runner,
)

# Runs the CLI entry point as the console script does, then writes sys.modules at exit.
PROBE = """
import atexit, json, sys
out, sys.argv = sys.argv[1], ["yanex", *sys.argv[2:]]
def _dump():
    with open(out, "w") as fh:
        json.dump(sorted(sys.modules), fh)
atexit.register(_dump)
from yanex._cli import main
main()
"""

# Never needed by a command that only reads the store.
LOOP = ("asyncio", "anyio", "uvloop", "trio", "sniffio", "yanex._portal")
RUN_MACHINERY = (
    "yanex._core.planning",
    "yanex._core.runner",
    "yanex._core.batch",
    "yanex._core.child",
    "yanex._core.pool",
    "yanex._supervise",
    "yanex._spawner",
    "yanex._core.sweeps",
)
COMMAND_MODULES = tuple(f"yanex._cli.{module}" for module, _help in COMMANDS.values())


def _modules(tmp_path: Path, *args: str, tty: bool = False) -> set[str]:
    """The modules loaded by one `yanex ARGS` run, in a fresh interpreter."""
    out = tmp_path / "modules.json"
    cmd = [sys.executable, "-c", PROBE, str(out), *args]
    if tty:  # stdout is a terminal: where rich would be used
        leader, follower = pty.openpty()
        try:
            res = subprocess.run(cmd, stdout=follower, stderr=subprocess.PIPE, check=False)
        finally:
            os.close(follower)
            os.close(leader)
    else:
        res = subprocess.run(cmd, capture_output=True, check=False)
    assert res.returncode == 0, res.stderr
    return set(json.loads(out.read_text()))


def _loaded(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {m for m in modules for n in names if m == n or m.startswith(n + ".")}


@pytest.fixture
def exp_id() -> str:
    with yanex.create_experiment(Path("s.py"), name="probe") as exp:
        exp.log_metrics({"acc": 0.5})
    return exp.experiment_id


def test_help_imports_no_command_and_no_loop(tmp_path: Path) -> None:
    """`yanex --help` lists the commands without importing any of them or an event loop."""
    modules = _modules(tmp_path, "--help")
    assert not _loaded(modules, (*LOOP, *RUN_MACHINERY, *COMMAND_MODULES, "yanex._core", "rich"))


@pytest.mark.parametrize(
    ("args", "declared", "own"),
    [
        (["list"], "list_cmd", "_list"),
        (["get", "status"], "get", "_get"),
        (["get", "metrics.acc"], "get", "_get"),
    ],
    ids=["list", "get-status", "get-metric"],
)
def test_query_commands_run_without_loop_or_planner(
    tmp_path: Path, exp_id: str, args: list[str], declared: str, own: str
) -> None:
    """list and get load neither an event loop, nor the run planner, nor other commands;
    once click has described them (the first run, if the cache was cold), not asyncclick
    either (_fast parses their arguments and calls their click-free callback), and no
    subprocess (list finds the project without git)."""
    full = [*args, *([exp_id] if args[0] == "get" else [])]
    first = _modules(tmp_path, *full)
    modules = _modules(tmp_path, *full)
    others = tuple(m for m in COMMAND_MODULES if m != f"yanex._cli.{declared}")
    for loaded in (first, modules):
        assert not _loaded(loaded, (*LOOP, *RUN_MACHINERY, *others))
        assert f"yanex._cli.{own}" in loaded
    assert not _loaded(modules, ("asyncclick", f"yanex._cli.{declared}", "yanex._cli._root"))
    assert not _loaded(modules, ("subprocess",))  # no git run for the project, no Script errors


def test_get_loads_no_rich_on_a_terminal(tmp_path: Path, exp_id: str) -> None:
    """Even with stdout a terminal (where list draws a rich table), get does not load rich."""
    assert "rich" in _modules(tmp_path, "list", tty=True)  # the probe does see a terminal
    assert not _loaded(_modules(tmp_path, "get", "status", exp_id, tty=True), ("rich",))


def test_run_keeps_its_event_loop(tmp_path: Path) -> None:
    """`yanex run` still runs in the portal's loop: asyncio with uvloop by default."""
    modules = _modules(tmp_path, "run", "--help")
    assert {"asyncio", "anyio", "uvloop"} <= modules


def test_help_lists_each_command_with_its_own_short_help() -> None:
    """The short help table kept in COMMANDS says what each command module says."""
    for name, (module, short) in COMMANDS.items():
        command = importlib.import_module(f"yanex._cli.{module}").command
        assert command.name == name
        assert command.get_short_help_str(limit=300) == short, name
    top = run_cli("--help")
    assert top.returncode == 0
    for name in COMMANDS:
        assert f"\n  {name} " in top.stdout, name


def test_bare_yanex_shows_the_help() -> None:
    """`yanex` alone prints the help on stderr (exit 2, as click does), not one squashed line."""
    res = run_cli()
    assert res.returncode == 2
    assert res.stderr.startswith("Usage: yanex") and "\nCommands:\n" in res.stderr


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["list", "-n", "run"], "list"),
        (["-v", "run", "x.py"], "run"),
        (["--verbose", "get", "status"], "get"),
        (["--help"], None),
        ([], None),
    ],
)
def test_command_name_is_the_first_non_option(args: list[str], name: str | None) -> None:
    """The root group's options are flags, so the command is the first non-option word."""
    assert _runner.command_name(args) == name


def test_loop_commands_are_commands() -> None:
    assert set(COMMANDS) >= _runner.LOOP_COMMANDS


class _Suspend:
    """An awaitable that suspends, as a loop's future does."""

    def __await__(self) -> Generator[None, None, None]:
        yield


def test_drive_runs_a_coroutine_without_a_loop() -> None:
    """A coroutine that never waits runs to its end; one that suspends is a bug, said so."""

    async def plain() -> int:
        return 7

    assert _runner.drive(plain()) == 7

    async def waits() -> None:
        await _Suspend()

    with pytest.raises(RuntimeError, match="in_loop"):
        _runner.drive(waits())


def test_in_loop_starts_a_loop_for_a_loop_free_command() -> None:
    """In a command driven without a loop, in_loop runs its coroutine in a fresh one."""

    async def sleeper() -> str:
        await anyio.sleep(0.01)
        return "slept"

    async def command() -> str:
        return await _runner.in_loop(sleeper)

    assert _runner.drive(command()) == "slept"


@pytest.mark.anyio
async def test_in_loop_awaits_in_the_running_loop() -> None:
    """Under a running loop (any backend), in_loop simply awaits in it."""

    async def here() -> str:
        await anyio.lowlevel.checkpoint()
        return "awaited"

    assert await _runner.in_loop(here) == "awaited"


# --- yanex --help from the cache of click's text (_fast) -----------------------------------


@pytest.fixture
def help_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The cache in files of this test's own."""
    monkeypatch.setattr(
        _fast_cache, "_places", lambda what: [str(tmp_path / "cache" / f"{what}.txt")]
    )
    return tmp_path / "cache" / "help.txt"


def _by_fast(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    """``yanex ARGS`` answered by _fast (asserted: it ran the command, not click)."""
    run_cli(*args)  # click describes the command for _fast, if it had not yet
    ran: list[bool] = []
    real = _fast._run

    def spy(*a: Any) -> bool:
        ran.append(True)  # it ends with SystemExit after an error: it did run the command
        ran[-1] = real(*a)
        return ran[-1]

    with monkeypatch.context() as m:
        m.setattr(_fast, "_run", spy)
        res = run_cli(*args)
    assert ran and ran[-1] is not False, "_fast did not run it"
    return res.returncode, res.stdout, res.stderr


def _by_click(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    with monkeypatch.context() as m:
        m.setattr(_fast, "answer", lambda _args: False)
        res = run_cli(*args)
    return res.returncode, res.stdout, res.stderr


@pytest.mark.parametrize("args", [["--help"], ["-h"], []], ids=["help", "h", "bare"])
def test_help_from_the_cache_is_what_click_prints(
    monkeypatch: pytest.MonkeyPatch, help_cache: Path, args: list[str]
) -> None:
    """The first answer is click's and fills the cache; the next is read from it, the same
    bytes on the same stream with the same exit code."""
    first = run_cli(*args)
    assert help_cache.is_file()
    assert _fast_cache.read("help") is not None
    again = run_cli(*args)
    expected = _by_click(monkeypatch, *args)
    assert (first.returncode, first.stdout, first.stderr) == expected
    assert (again.returncode, again.stdout, again.stderr) == expected
    assert "Usage: yanex" in expected[1] + expected[2]


def test_help_cache_holds_for_its_own_circumstances_only(
    monkeypatch: pytest.MonkeyPatch, help_cache: Path
) -> None:
    """Another terminal width, locale or asyncclick, or another argument, goes to click."""
    _fast.remember(["--help"])
    assert _fast_cache.read("help") == _root.help_text()
    monkeypatch.setenv("COLUMNS", "60")  # click would wrap the text differently
    assert _fast_cache.read("help") is None
    assert not _fast.answer(["--help"])
    monkeypatch.delenv("COLUMNS")
    with monkeypatch.context() as m:  # another narrow terminal: another text
        m.setattr(_fast_cache, "_terminal_width", lambda: 70)
        assert _fast_cache.read("help") is None
    monkeypatch.setenv("LANGUAGE", "de")  # gettext could translate "Usage:"
    assert _fast_cache.read("help") is None
    monkeypatch.delenv("LANGUAGE")
    assert _fast_cache.read("help") is not None
    with monkeypatch.context() as m:
        m.setattr(_fast_cache, "_stat", lambda path: (0, 0))  # a _cli module has changed
        assert _fast_cache.read("help") is None
    lines = help_cache.read_text().split("\n")
    assert "/_cli/_root.py" in lines[0]  # the modules it was made with are named
    help_cache.write_text("\n".join([str(help_cache.parent), *lines[1:]]))  # another click
    assert _fast_cache.read("help") is None
    for args in (["list"], ["--version"], ["-v", "--help"], ["get", "--help"]):
        assert not _fast.answer(args)


def test_terminals_wider_than_clicks_maximum_share_the_help_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """click wraps help at the terminal's width up to 80 columns: any wider terminal gives
    the same text (so the cache holds for all of them)."""
    texts = set()
    for columns in ("80", "81", "120", "300"):
        monkeypatch.setenv("COLUMNS", columns)
        texts.add(_root.help_text())
    monkeypatch.setenv("COLUMNS", "70")
    assert len(texts) == 1 and _root.help_text() not in texts
    size = os.terminal_size((200, 50))
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: size)
    assert _fast_cache._terminal_width() == _fast_cache._MAX_WIDTH == 80


def test_help_cache_is_kept_only_when_it_can_be_printed_as_click_would() -> None:
    """Text with an ANSI escape (which click strips off a terminal), or non-ASCII text for a
    stream that is not UTF-8, goes to click."""
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    ascii_stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert _fast._printable("Usage: yanex", ascii_stream)
    assert _fast._printable("Usage: yanex – ok", utf8)
    assert not _fast._printable("Usage: yanex – ok", ascii_stream)
    assert not _fast._printable("\x1b[1mUsage\x1b[0m", utf8)


def test_cached_help_loads_no_asyncclick(tmp_path: Path) -> None:
    """Once click has answered `yanex --help`, the next one imports no asyncclick."""
    _modules(tmp_path, "--help")  # click answers (unless the cache holds it already)
    modules = _modules(tmp_path, "--help")
    assert not _loaded(modules, ("asyncclick", "typing", "yanex._cli._root"))


# --- list and get parsed from click's description of them (_fast) --------------------------

PARSED = {
    "list": [
        [], ["-g"], ["--global", "--all"], ["-ga"], ["-ag", "-l", "3"], ["-gl3"],
        ["-g", "--limit=3", "--format=csv"], ["-s", "completed", "-s", "failed", "-t", "x"],
        ["--status=completed", "-n", ""], ["--name=", "-l", "2"], ["-n", "a*", "-F", "json"],
        ["--ids", "a,b", "-i", "c"], ["--sweep", "s1", "--all-attempts"], ["-l", "007"],
        ["--started-after", "1 week ago", "--ended-before", "2020-01-01"], ["-p", "p", "-c", "x"],
    ],
    "get": [
        ["status", "abc"], ["status"], ["status", "-g", "--latest"], ["-g", "status", "x"],
        ["stdout", "abc", "--head", "2"], ["stdout", "abc", "--tail=3", "-f"],
        ["lr", "--default", "X", "abc"], ["status", "--", "-abc"], ["lineage", "--depth", "3"],
        ["id", "-gs", "completed", "-F", "sweep"], ["--", "-x"],
    ],
}  # fmt: skip
REFUSED = [
    ["list", "x"], ["list", "-l"], ["list", "-l", "x"], ["list", "-l", "-3"], ["list", "-z"],
    ["list", "--nope"], ["list", "--all=1"], ["list", "-a=1"], ["list", "-h"], ["list", "--help"],
    ["list", "-n", "-x"], ["get"], ["get", "a", "b", "c"], ["get", "a", "--head", "x"],
    ["--version"], ["-x", "list"], ["get", "a", "-v"], ["list", "-gh"],
    ["get", "a", "b", "--", "-l"],
]  # fmt: skip


def _spec(name: str) -> dict[str, Any]:
    spec = _fast_describe.describe(name)
    assert spec is not None, f"{name} is not described for _fast"
    return spec


def _click_params(name: str, args: list[str]) -> dict[str, Any]:
    ctx = _root.cli.context_class(_root.cli, info_name="yanex", **_root.cli.context_settings)
    command = _root.cli.get_command(ctx, name)
    assert command is not None
    return _runner.drive(command.make_context(name, list(args), parent=ctx)).params


@pytest.mark.parametrize(
    ("name", "args"), [(name, args) for name, cases in PARSED.items() for args in cases]
)
def test_fast_parse_gives_what_click_gives(name: str, args: list[str]) -> None:
    """For ordinary command lines, the values _fast passes are exactly click's."""
    parsed = _fast_parse.parse(_spec(name)["command"], args)
    assert parsed is not None, args
    kwargs, rest = parsed
    assert rest == []
    by_click = _click_params(name, args)
    assert kwargs == by_click
    assert {k: type(v) for k, v in kwargs.items()} == {k: type(v) for k, v in by_click.items()}


@pytest.mark.parametrize("args", REFUSED, ids=" ".join)
def test_fast_leaves_to_click_what_it_does_not_know(args: list[str]) -> None:
    """Help, --version, unknown options, bad or missing values, extra arguments: click's (and
    so are its messages: these give the same output either way, see the next test)."""
    name = next((a for a in args if not a.startswith("-")), "list")
    assert _fast_parse.parsed(name, _spec(name), args) is None


@pytest.mark.parametrize(
    "args",
    [["list", "-g", "-l", "2"], ["list", "-l", "x"], ["get", "nosuch", "-g", "--latest"],
     ["-v", "get", "status", "-g", "--latest"], ["list", "--help"], ["get", "status", "a", "b"]],
    ids=" ".join,
)  # fmt: skip
def test_fast_answers_as_click_does(
    monkeypatch: pytest.MonkeyPatch, exp_id: str, args: list[str]
) -> None:
    """The same output, streams and exit code whether _fast or click answers."""
    if _fast_parse.parsed(args[args[0] == "-v"], _spec(args[args[0] == "-v"]), args) is None:
        fast = run_cli(*args)  # click's to answer either way
        assert (fast.returncode, fast.stdout, fast.stderr) == _by_click(monkeypatch, *args)
        return
    assert _by_fast(monkeypatch, *args) == _by_click(monkeypatch, *args)


def test_fast_runs_only_commands_without_click_in_their_callback(
    help_cache: Path, exp_id: str
) -> None:
    """Commands whose callback is in their click module, and those that run in an event
    loop, are never described for _fast (click runs them); that is kept too, so that click
    is not asked again after each run."""
    assert _fast_describe.describe("show") is None
    assert _fast_describe.describe("run") is None
    assert _fast_describe.describe("nosuch") is None
    assert run_cli("show", exp_id).returncode == 0
    assert (help_cache.parent / "show.txt").read_text().endswith("\nnull")
    assert not _fast.answer(["show", exp_id])


def test_a_spoilt_cache_goes_to_click_and_is_rewritten(help_cache: Path, exp_id: str) -> None:
    """A cache file that does not hold what _fast wrote is not used; click answers and the
    cache is written again."""
    run_cli("get", "status", exp_id)
    spec = help_cache.parent / "get.txt"
    lines = spec.read_text().split("\n")
    spec.write_text("\n".join([*lines[:2], "{not json"]))
    assert not _fast.answer(["get", "status", exp_id])
    res = run_cli("get", "status", exp_id)
    assert (res.returncode, res.stdout) == (0, "completed\n")
    assert _fast_cache.spec("get") is not None


def test_a_cache_naming_functions_outside_the_cli_is_not_used(
    help_cache: Path, exp_id: str
) -> None:
    """What a cache file says to call must be a function of yanex._cli: a file naming any
    other module is not used (click answers, and the file is written again)."""
    run_cli("get", "status", exp_id)
    spec = help_cache.parent / "get.txt"
    spec.write_text(spec.read_text().replace("yanex._cli._get:run", "os:system"))
    assert _fast_cache.spec("get") is None
    assert not _fast.answer(["get", "status", exp_id])
    run_cli("get", "status", exp_id)
    assert _fast_cache.spec("get") is not None


def test_the_cache_goes_elsewhere_when_the_package_is_read_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Where the package folder cannot be written, the cache is under XDG_CACHE_HOME."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(_fast_cache, "_HERE", str(blocker / "pkg"))  # no folder can be made there
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _fast.remember(["--help"])
    assert (tmp_path / "xdg" / "yanex" / "yanex-cli-help.txt").is_file()
    assert _fast_cache.read("help") == _root.help_text()


@pytest.mark.parametrize(
    "raised",
    [KeyboardInterrupt(), EOFError(), errors.ConfigError("bad value"), errors.StorageError("no")],
    ids=lambda e: type(e).__name__,
)
def test_fast_ends_on_errors_as_click_and_run_cli_do(
    monkeypatch: pytest.MonkeyPatch, exp_id: str, raised: BaseException
) -> None:
    """An interrupt, end of input or yanex error in the command: the same lines and exit
    code whether _fast or click ran it."""

    def fail(*_args: object) -> None:
        raise raised

    monkeypatch.setattr(_get, "_records", fail)
    fast = _by_fast(monkeypatch, "get", "status", exp_id)
    assert fast == _by_click(monkeypatch, "get", "status", exp_id)
    assert fast[0] in (1, 2, 130)
