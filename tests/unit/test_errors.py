"""The error tree of ``yanex.errors``: every error yanex raises on purpose is a YanexError and
keeps its stdlib base; the module is a leaf whose docstring draws the whole tree."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import yanex
from tests.support.cli import REPO, run_cli
from yanex import _spawner, errors
from yanex._core import manage
from yanex.errors import InvalidUpdateError, SpawnError, SpecError, YanexError

# error -> the stdlib base it keeps, so code catching the stdlib error still catches it
STDLIB_BASES = {
    "InvalidReferenceError": ValueError,
    "ConfigError": ValueError,
    "InvalidFilterError": ValueError,
    "InvalidUpdateError": ValueError,
    "SpecError": ValueError,
    "AmbiguousKeyError": ValueError,
    "KeyNotFoundError": KeyError,
    "SpawnError": OSError,
    "ScriptTimeoutError": subprocess.TimeoutExpired,
    "ScriptFailedError": subprocess.CalledProcessError,
}


def test_errors_keep_their_stdlib_bases() -> None:
    """Each error that stands for a stdlib error is both a YanexError and that error."""
    for name, base in STDLIB_BASES.items():
        cls = getattr(errors, name)
        assert issubclass(cls, YanexError), name
        assert issubclass(cls, base), name


def test_errors_module_is_a_leaf() -> None:
    """errors.py imports nothing of yanex (anywhere, lazily or not), so every layer may use it."""
    tree = ast.parse((REPO / "yanex" / "errors.py").read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import)]
    imported = [alias.name for node in imports for alias in node.names]
    imported += [
        node.module or "."
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module != "__future__"
    ]
    assert set(imported) == {"_thread", "os", "subprocess"}  # the stdlib only


def test_subprocess_is_imported_when_its_errors_are_first_used() -> None:
    """ScriptTimeoutError and ScriptFailedError are made on first lookup (importing
    subprocess then), once: every lookup, from any thread, gives the same class, which
    pickles and names itself as a module-level class of yanex.errors."""
    probe = (
        "import sys, threading, pickle\n"
        "import yanex.errors as e\n"
        "assert 'subprocess' not in sys.modules\n"
        "seen = []\n"
        "ts = [threading.Thread(target=lambda: seen.append(e.ScriptTimeoutError))"
        " for _ in range(8)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "assert len(set(seen)) == 1 and seen[0] is e.ScriptTimeoutError\n"
        "err = e.ScriptFailedError(3, 'cmd')\n"
        "assert type(pickle.loads(pickle.dumps(err))) is e.ScriptFailedError\n"
        "print(e.ScriptTimeoutError.__module__, e.ScriptTimeoutError.__qualname__)\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["yanex.errors", "ScriptTimeoutError"]
    with pytest.raises(AttributeError):
        errors.NoSuchError  # noqa: B018 (the lookup is the test)


def test_docstring_draws_every_class() -> None:
    """The trees in the module docstring draw exactly the classes of __all__."""
    drawn = re.findall(r"^    (?:[│ ]   )*(?:[├└]── )?([A-Z]\w+)", errors.__doc__ or "", re.M)
    assert sorted(drawn) == sorted(errors.__all__)


def test_spawn_error_is_an_oserror_of_the_tree(tmp_path: Path) -> None:
    """A child that cannot be started (its working directory is gone) raises SpawnError,
    which `except OSError` and `except YanexError` both catch; _supervise re-exports it."""
    from yanex import _portal, _supervise

    launch = _spawner.Launch(argv=["true"], env={}, cwd=str(tmp_path / "gone"), umask=0o22)
    with pytest.raises(OSError, match="working directory does not exist") as info:
        _portal.call(_spawner.spawn, launch)
    assert isinstance(info.value, SpawnError)
    assert isinstance(info.value, YanexError)
    assert _supervise.SpawnError is SpawnError


def test_spec_validation_raises_spec_error(work_dir: Path) -> None:
    """ExperimentSpec.validate and run_multiple's checks raise SpecError, still a ValueError."""
    with pytest.raises(SpecError, match=r"\.py"):
        yanex.ExperimentSpec(script_path=work_dir / "notes.txt").validate()
    with pytest.raises(SpecError, match="index 0"):
        yanex.run_multiple([yanex.ExperimentSpec(script_path=work_dir / "missing.py")])
    with pytest.raises(SpecError, match="empty"):
        yanex.run_multiple([])
    (work_dir / "ok.py").write_text("")
    with pytest.raises(ValueError, match="parallel"):
        yanex.run_multiple([yanex.ExperimentSpec(script_path=work_dir / "ok.py")], parallel=-1)


def test_bad_update_value_is_not_a_filter_error() -> None:
    """A status or tag that cannot be set raises InvalidUpdateError, not a filter error."""
    for changes in (manage.Changes(status="finished"), manage.Changes(add_tags=[" "])):
        with pytest.raises(InvalidUpdateError) as info:
            changes.validate()
        assert not isinstance(info.value, errors.InvalidFilterError)
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--set-status", "finished"], "unknown status"), (["--add-tag", " "], "non-empty")],
    ids=["status", "tag"],
)
def test_update_with_a_bad_value_is_a_usage_error(args: list[str], words: str) -> None:
    """`yanex update` with a bad value: one `Error:` line, exit 2, the experiment unchanged."""
    with yanex.create_experiment(Path("s.py"), name="keep"):
        pass
    exp = run_cli("get", "id", "-n", "keep").stdout.strip()
    meta = Path(run_cli("get", "experiment-dir", exp).stdout.strip()) / "metadata.json"
    before = meta.read_bytes()
    res = run_cli("update", exp, *args)
    assert res.returncode == 2
    assert res.stderr.startswith("Error: ") and words in res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert meta.read_bytes() == before
