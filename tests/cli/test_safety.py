"""Loading and paths that cannot be abused: experiment references are ids, id prefixes or
names (never paths), artifact reads and writes never follow a symbolic link out of the
artifacts directory, torch files load without running code, and a pickle from outside the
current experiment's lineage warns once. Through ``import yanex`` and the CLI."""

from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path

import pytest

import yanex
import yanex.results as yr
from tests.support.cli import run_cli, write_script
from tests.support.query import assert_error, make, store_root
from yanex._core import trust
from yanex.errors import InvalidReferenceError, UntrustedPickleWarning

PATHS = ["../other-store/abcdef12", "/tmp", "..", ".", "a/b", "..\\abcdef12"]


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    """Each test starts as a new process would: no experiment warned about yet."""
    trust._warned.clear()


def _other_store(tmp_path: Path) -> Path:
    """A valid-looking experiment in a second store next to ours."""
    exp_dir = tmp_path / "other-store" / "abcdef12"
    (exp_dir / "artifacts").mkdir(parents=True)
    (exp_dir / "metadata.json").write_text(json.dumps({"id": "abcdef12", "status": "completed"}))
    (exp_dir / "artifacts" / "secret.txt").write_text("not yours")
    return exp_dir


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


# --- experiment references ----------------------------------------------------------------


@pytest.mark.parametrize("ref", PATHS)
def test_create_context_refuses_paths(ref: str, tmp_path: Path) -> None:
    """create_context('../other-store/abcdef12') neither opens nor writes the other store."""
    other = _other_store(tmp_path)
    before = _tree(other)
    with pytest.raises(InvalidReferenceError) as info:
        yanex.create_context(ref)
    assert isinstance(info.value, ValueError)
    assert _tree(other) == before


def test_create_context_takes_an_id_prefix_or_a_name() -> None:
    """An id prefix and a unique name both join the experiment they name."""
    exp_id = make("joinable")
    for ref in (exp_id[:5], "joinable", exp_id):
        with yanex.create_context(ref) as ctx:
            assert ctx.experiment_id == exp_id
            yanex.log_metrics({"ref": ref})
    assert [m["ref"] for m in yr.get_experiment(exp_id).get_metrics()] == [
        exp_id[:5],
        "joinable",
        exp_id,
    ]


@pytest.mark.parametrize("ref", PATHS)
def test_from_experiment_refuses_paths(ref: str, tmp_path: Path) -> None:
    """load_artifact/artifact_exists/list_artifacts(from_experiment=path) are refused."""
    _other_store(tmp_path)
    with pytest.raises(InvalidReferenceError):
        yanex.load_artifact("secret.txt", from_experiment=ref)
    with pytest.raises(InvalidReferenceError):
        yanex.artifact_exists("secret.txt", from_experiment=ref)
    with pytest.raises(InvalidReferenceError):
        yanex.list_artifacts(from_experiment=ref)


def test_from_experiment_takes_a_prefix_or_a_name() -> None:
    with yanex.create_experiment(Path("t.py"), name="source") as ctx:
        yanex.save_artifact("hello", "note.txt")
        exp_id = ctx.experiment_id
    assert yanex.load_artifact("note.txt", from_experiment=exp_id[:4]) == "hello"
    assert yanex.load_artifact("note.txt", from_experiment="source") == "hello"
    assert yanex.list_artifacts(from_experiment="source") == ["note.txt"]


def test_results_refuse_paths(tmp_path: Path) -> None:
    _other_store(tmp_path)
    with pytest.raises(InvalidReferenceError):
        yr.get_experiment("../other-store/abcdef12")
    assert yr.experiment_exists("../other-store/abcdef12") is False
    with pytest.raises(ValueError, match="looks like a path"):
        yr.get_experiments(ids=["../other-store/abcdef12"])


@pytest.mark.parametrize(
    "args",
    [
        ["show", "../other-store/abcdef12"],
        ["get", "status", "../other-store/abcdef12"],
        ["compare", "/tmp"],
        ["delete", "--force", "../other-store/abcdef12"],
        ["list", "-i", "../other-store/abcdef12"],
        ["get", "status", "-i", ".."],
    ],
)
@pytest.mark.usefixtures("cli_backend")
def test_cli_selectors_refuse_paths(args: list[str], tmp_path: Path) -> None:
    """Every selector: one Error line, exit 2, the other store untouched."""
    other = _other_store(tmp_path)
    make("here")
    res = run_cli(*args)
    assert_error(res, 2, "looks like a path")
    assert other.exists() and (other / "artifacts" / "secret.txt").read_text() == "not yours"


# --- symbolic links in artifacts ----------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    return path


def test_writes_through_a_directory_link_are_refused(outside: Path) -> None:
    """save_artifact (by extension or custom saver) and copy_artifact refuse to write through
    a directory link that leaves the artifacts directory, and say which link."""
    source = Path("data.txt")
    source.write_text("payload")
    with yanex.create_experiment(Path("t.py")) as ctx:
        (ctx.artifacts_dir / "sub").symlink_to(outside)
        calls = [
            lambda: yanex.save_artifact("x", "sub/a.txt"),
            lambda: yanex.save_artifact({"a": 1}, "sub/deep/a.json"),
            lambda: yanex.save_artifact("x", "sub/b.bin", saver=lambda o, p: p.write_text(o)),
            lambda: yanex.copy_artifact(source, "sub/c.txt"),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="symbolic link") as info:
                call()
            assert "refusing to write" in str(info.value)
            assert "artifacts/sub" in str(info.value)
    assert list(outside.iterdir()) == []


def test_file_link_out_is_neither_read_nor_written_through(outside: Path) -> None:
    target = outside / "victim.txt"
    target.write_text("original")
    with yanex.create_experiment(Path("t.py")) as ctx:
        (ctx.artifacts_dir / "v.txt").symlink_to(target)
        with pytest.raises(ValueError, match="refusing to read"):
            yanex.load_artifact("v.txt")
        assert yanex.artifact_exists("v.txt") is False  # not an artifact of this directory
        with pytest.raises(ValueError, match="refusing to write"):
            yanex.save_artifact("overwritten", "v.txt", saver=lambda o, p: p.write_text(o))
        exp_id = ctx.experiment_id
    assert target.read_text() == "original"
    with pytest.raises(ValueError, match="refusing to read"):
        yr.get_experiment(exp_id).load_artifact("v.txt")
    with pytest.raises(ValueError, match="refusing to read"):
        yanex.load_artifact("v.txt", from_experiment=exp_id)


def test_links_inside_the_artifacts_directory_still_work() -> None:
    with yanex.create_experiment(Path("t.py")) as ctx:
        yanex.save_artifact("inner", "real/a.txt")
        (ctx.artifacts_dir / "alias").symlink_to(ctx.artifacts_dir / "real")
        assert yanex.load_artifact("alias/a.txt") == "inner"
        yanex.save_artifact("more", "alias/b.txt")
    assert (ctx.artifacts_dir / "real" / "b.txt").read_text() == "more"


def test_artifacts_directory_that_is_a_link_out_is_refused(outside: Path) -> None:
    with yanex.create_experiment(Path("t.py")) as ctx:
        ctx.artifacts_dir.rmdir()
        ctx.artifacts_dir.symlink_to(outside)
        with pytest.raises(ValueError, match="refusing to write"):
            yanex.save_artifact("x", "a.txt")
    assert list(outside.iterdir()) == []


@pytest.mark.usefixtures("cli_backend")
def test_cli_run_script_cannot_write_through_a_link(outside: Path) -> None:
    """A script under yanex run that plants a link and saves through it gets the error."""
    write_script(
        Path("plant.py"),
        f"""import os, yanex
os.symlink({str(outside)!r}, os.path.join(yanex.get_artifacts_dir(), "out"))
try:
    yanex.save_artifact("x", "out/escaped.txt")
except ValueError as exc:
    print("REFUSED", exc)
""",
    )
    res = run_cli("run", "plant.py")
    assert res.returncode == 0, res.stderr
    assert "REFUSED refusing to write artifact 'out/escaped.txt'" in res.stdout
    assert list(outside.iterdir()) == []


# --- torch and pickles --------------------------------------------------------------------


class Payload:
    """Unpickling this object calls a function (``os.getpid``): loading it runs code."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.getpid, ())


def test_torch_loads_weights_only() -> None:
    torch = pytest.importorskip("torch")
    with yanex.create_experiment(Path("t.py")):
        yanex.save_artifact({"w": torch.ones(2), "epoch": 3}, "model.pt")
        loaded = yanex.load_artifact("model.pt")
        assert loaded["epoch"] == 3 and torch.equal(loaded["w"], torch.ones(2))
        yanex.save_artifact({"obj": Payload()}, "evil.pt")
        with pytest.raises(pickle.UnpicklingError, match="weights_only=True") as info:
            yanex.load_artifact("evil.pt")
        assert "loader=" in str(info.value)
        custom = yanex.load_artifact("evil.pt", loader=lambda p: torch.load(p, weights_only=False))
        assert custom["obj"] == os.getpid()  # the caller chose to run it


def _pickle_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, UntrustedPickleWarning)]


def _with_pickle(name: str, **facts: object) -> str:
    with yanex.create_experiment(Path(f"{name}.py"), name=name) as ctx:
        yanex.save_artifact({"from": name}, "obj.pkl")
    if facts:
        from tests.support.query import patch

        patch(ctx.experiment_id, **facts)
    return ctx.experiment_id


def test_pickle_from_outside_the_lineage_warns_once_per_experiment() -> None:
    dep_dep = _with_pickle("root")
    dep = _with_pickle("dep", depends_on=[f"data={dep_dep}"])
    stranger = _with_pickle("stranger")
    other = _with_pickle("other")
    current = make("current", depends_on=[f"model={dep}"])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with yanex.create_context(current):
            yanex.save_artifact({"own": 1}, "own.pkl")
            assert yanex.load_artifact("own.pkl") == {"own": 1}
            assert yanex.load_artifact("obj.pkl", from_experiment=dep) == {"from": "dep"}
            assert yanex.load_artifact("obj.pkl", from_experiment=dep_dep) == {"from": "root"}
            assert _pickle_warnings(record) == []
            for _ in range(3):
                assert yanex.load_artifact("obj.pkl", from_experiment=stranger)
            yr.get_experiment(stranger).load_artifact("obj.pkl")
            yr.get_experiment(other).load_artifact("obj.pkl")
    found = _pickle_warnings(record)
    assert len(found) == 2, found
    assert stranger in found[0] and "runs any code" in found[0]
    assert other in found[1]
    first = next(w for w in record if issubclass(w.category, UntrustedPickleWarning))
    assert first.filename == __file__  # pointed at the caller's line


def test_pickle_standalone_from_the_store_warns_but_own_folder_does_not() -> None:
    exp_id = _with_pickle("saved")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        yanex.save_artifact({"local": 1}, "local.pkl")  # ./artifacts, standalone
        assert yanex.load_artifact("local.pkl") == {"local": 1}
        assert _pickle_warnings(record) == []
        assert yr.get_experiment(exp_id).load_artifact("obj.pkl") == {"from": "saved"}
    assert len(_pickle_warnings(record)) == 1


@pytest.mark.usefixtures("cli_backend")
def test_cli_run_pickle_warning_names_only_the_stranger() -> None:
    """Under yanex run: a dependency's pickle loads quietly, a stranger's warns on stderr."""
    dep = _with_pickle("upstream")
    stranger = _with_pickle("stranger")
    write_script(
        Path("consume.py"),
        f"""import yanex
print(yanex.load_artifact("obj.pkl", from_experiment={dep!r}))
print(yanex.load_artifact("obj.pkl", from_experiment={stranger!r}))
print(yanex.load_artifact("obj.pkl", from_experiment={stranger!r}))
""",
    )
    res = run_cli("run", "consume.py", "-D", f"data={dep}")
    assert res.returncode == 0, res.stderr
    assert "{'from': 'upstream'}" in res.stdout and "{'from': 'stranger'}" in res.stdout
    lines = [line for line in res.stderr.splitlines() if "UntrustedPickleWarning" in line]
    assert len(lines) == 1 and stranger in lines[0] and dep not in lines[0], res.stderr


def test_readme_says_pickles_run_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Safe loading", 1)[1].split("\n## ", 1)[0]
    assert "run" in section and "weights_only=True" in section and ".pkl" in section


def test_store_root_untouched_by_refused_ids(tmp_path: Path) -> None:
    """Nothing named after a refused reference appears in or beside the store."""
    make("x")
    before = sorted(p.name for p in store_root().iterdir())
    for ref in PATHS:
        with pytest.raises(InvalidReferenceError):
            yanex.create_context(ref)
    assert sorted(p.name for p in store_root().iterdir()) == before


def test_bash_output_artifact_is_not_written_through_a_planted_link(outside: Path) -> None:
    """A command that replaces script_stdout.txt by a link out before printing: its output
    is not appended to the link's target, and the call says why once the command ended."""
    victim = outside / "victim.txt"
    victim.write_text("original\n")
    with yanex.create_experiment(Path("t.py")) as ctx:
        command = f"ln -s {victim} artifacts/script_stdout.txt && echo appended"
        with pytest.raises(ValueError, match=r"refusing to write artifact 'script_stdout\.txt'"):
            yanex.execute_bash_script(command, stream_output=False)
        runs = json.loads((ctx.experiment_dir / "script_runs.json").read_text())
    assert victim.read_text() == "original\n"
    assert runs[-1]["exit_code"] == 0  # the command itself ran and was recorded
