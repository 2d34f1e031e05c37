"""``yanex run -D`` as documented: resolved at run time to full ids, refused when it cannot
be honoured, several dependencies vs slot sweeps, --dry-run; a pipeline run end to end;
deleting an experiment others depend on; lineage showing a missing upstream run."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest

import yanex.results as yr
from tests.support.cli import run_cli, write_script
from tests.support.query import assert_error, make, mark_running, store_root
from tests.support.run import experiments

ECHO = "import yanex\nprint('ran', yanex.get_experiment_id())\n"


def entries_of(exp_id: str) -> list[str]:
    return list(json.loads((store_root() / exp_id / "metadata.json").read_text())["depends_on"])


def staged_ids(before: set[str]) -> list[str]:
    return [m["id"] for m in experiments(store_root()) if m["id"] not in before]


def ids_now() -> set[str]:
    return {m["id"] for m in experiments(store_root())}


@pytest.mark.usefixtures("cli_backend")
def test_references_resolve_to_full_ids_and_survive_a_rename(work_dir: Path) -> None:
    """A name, a prefix and a full id are all recorded as full ids (and in
    dependencies.json); renaming the upstream experiment later keeps the link."""
    write_script(work_dir / "s.py", ECHO)
    prep = make("prep-data", script="prep.py")
    other = make("other", script="other.py")
    res = run_cli("run", "s.py", "-D", "prep-data", "-D", f"model={other[:5]}", "-n", "down")
    assert res.returncode == 0, res.stderr
    down = yr.get_experiment("down")
    assert entries_of(down.id) == [f"dep1={prep}", f"model={other}"]
    on_disk = json.loads((down.experiment_dir / "dependencies.json").read_text())
    assert on_disk["dependencies"] == {"dep1": prep, "model": other}
    yr.get_experiment(prep).set_name("renamed")
    assert down.get_dependency("dep1").name == "renamed"
    assert down.get_dependency("model").id == other


@pytest.mark.usefixtures("cli_backend")
@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_failed_or_cancelled_dependency_is_refused(work_dir: Path, status: str) -> None:
    """A dependency that did not complete: one Error line, exit 2, nothing created."""
    write_script(work_dir / "s.py", ECHO)
    bad = make("bad", status=status)
    before = ids_now()
    res = run_cli("run", "s.py", "-D", bad)
    assert_error(res, 2, bad, status)
    assert ids_now() == before and "ran" not in res.stdout


@pytest.mark.usefixtures("cli_backend")
def test_unknown_ambiguous_and_path_references_are_refused(work_dir: Path) -> None:
    """Unknown, ambiguous (name or prefix) and path-like references: exit 2, nothing made."""
    write_script(work_dir / "s.py", ECHO)
    make("twin")
    make("twin")
    prefix = None
    while prefix is None:  # at most 17 experiments: two then share a first hex digit
        pairs = itertools.pairwise(sorted(ids_now()))
        prefix = next((a[0] for a, b in pairs if a[0] == b[0]), None)
        if prefix is None:
            make()
    refs = {
        "nonexist": "no experiment",
        "twin": "matches 2",
        "../../etc": "paths are not accepted",
        "/tmp": "paths are not accepted",
        f"data=..\\{prefix}": "paths are not accepted",
        "~": "paths are not accepted",
        prefix: "matches",
    }
    before = ids_now()
    results = {ref: run_cli("run", "s.py", "-D", ref) for ref in refs}
    for ref, words in refs.items():
        assert_error(results[ref], 2, words)
        assert "ran" not in results[ref].stdout, ref
    assert ids_now() == before


@pytest.mark.usefixtures("cli_backend")
def test_option_syntax_errors(work_dir: Path) -> None:
    """A slot given twice, a bad slot name, an empty reference, -D with --staged: exit 2."""
    write_script(work_dir / "s.py", ECHO)
    a = make("a")
    cases = [
        (["s.py", "-D", f"x={a}", "-D", f"x={a}"], "given twice"),
        (["s.py", "-D", f"1x={a}"], "slot name"),
        (["s.py", "-D", "data="], "no experiment given"),
        (["--staged", "-D", a], "--depends-on"),
    ]
    results = [run_cli("run", *args) for args, _words in cases]
    for (_args, words), res in zip(cases, results, strict=True):
        assert_error(res, 2, words)
    assert ids_now() == {a}


@pytest.mark.usefixtures("cli_backend")
def test_staged_dependency_only_for_staged_runs(work_dir: Path) -> None:
    """A staged dependency has not run: refused for a run, accepted with --stage."""
    write_script(work_dir / "s.py", ECHO)
    staged = make("st", status="staged")
    res = run_cli("run", "s.py", "-D", staged)
    assert_error(res, 2, "staged", "--stage")
    before = ids_now()
    res = run_cli("run", "s.py", "-D", f"data={staged}", "--stage")
    assert res.returncode == 0, res.stderr
    [new] = staged_ids(before)
    assert entries_of(new) == [f"data={staged}"]


@pytest.mark.usefixtures("cli_backend")
def test_running_dependency_is_accepted_with_a_warning(work_dir: Path) -> None:
    """A running dependency may not have written everything yet: a warning, then it runs."""
    write_script(work_dir / "s.py", ECHO)
    live = make("live")
    mark_running(live, os.getpid())  # this test process: alive, so really "running"
    res = run_cli("run", "s.py", "-D", live, "-n", "after-live")
    assert res.returncode == 0, res.stderr
    assert "Warning: dependency" in res.stderr and "running" in res.stderr
    assert entries_of(yr.get_experiment("after-live").id) == [f"dep1={live}"]


@pytest.mark.usefixtures("cli_backend")
def test_comma_list_is_several_dependencies_and_slot_list_is_a_sweep(work_dir: Path) -> None:
    """-D a,b: one experiment with both (the spec); -D slot=a,b: one experiment per value,
    crossed with other slot sweeps and parameter sweeps."""
    write_script(work_dir / "s.py", ECHO)
    a, b, c, d = (make(n) for n in ("ma", "mb", "dc", "dd"))
    before = ids_now()
    res = run_cli("run", "s.py", "-D", f"{a},{b}", "--stage")
    assert res.returncode == 0, res.stderr
    [one] = staged_ids(before)
    assert entries_of(one) == [f"dep1={a}", f"dep2={b}"]

    before = ids_now()
    res = run_cli(
        "run", "s.py", "-D", f"model={a},{b}", "-D", f"data={c},{d}", "-p", "seed=1,2", "--stage"
    )
    assert res.returncode == 0, res.stderr
    made = staged_ids(before)
    assert len(made) == 8
    combos = {tuple(entries_of(i)) for i in made}
    assert combos == {
        (f"model={m}", f"data={x}") for m in (a, b) for x in (c, d)
    }  # each pair twice, once per seed
    names = {yr.get_experiment(i).name for i in made}
    assert f"model-{a}-data-{c}-seed=1" in names and len(names) == 8
    assert all("sweep" in yr.get_experiment(i).tags for i in made)


@pytest.mark.usefixtures("cli_backend")
def test_dry_run_shows_each_planned_experiments_dependencies(work_dir: Path) -> None:
    """--dry-run lists the resolved dependencies of every planned experiment; creates nothing."""
    write_script(work_dir / "s.py", ECHO)
    a, b = make("first"), make("second")
    before = ids_now()
    res = run_cli("run", "s.py", "-D", "m=first,second", "-D", b[:6], "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "2 experiments would run" in res.stdout
    assert f"depends on: m={a} dep1={b}" in res.stdout
    assert f"depends on: m={b} dep1={b}" in res.stdout
    assert ids_now() == before


PREP = """
import yanex
yanex.save_artifact({"rows": [1, 2, 3]}, "data.json")
"""

TRAIN = """
import yanex
yanex.assert_dependency("prep.py", slot="data")
data = yanex.load_artifact("data.json")          # found in the dependency
assert data == {"rows": [1, 2, 3]}, data
assert yanex.get_dependency("data").name == "prep"
assert yanex.get_dependencies()["data"].id == yanex.get_dependencies()[0].id
yanex.save_artifact({"weights": sum(data["rows"])}, "model.json")
"""

EVALUATE = """
import yanex
yanex.assert_dependency("train.py")
data = yanex.load_artifact("data.json")          # two levels up
model = yanex.load_artifact("model.json")
graph = yanex.get_graph()
yanex.log_metrics({"score": model["weights"] * len(data["rows"]), "graph": len(graph)})
"""


@pytest.mark.usefixtures("cli_backend")
def test_pipeline_end_to_end(work_dir: Path) -> None:
    """prep -> train -> eval with -D; load_artifact searches dependencies and theirs;
    assert_dependency fails a stage fed the wrong experiment."""
    for name, body in (("prep.py", PREP), ("train.py", TRAIN), ("eval.py", EVALUATE)):
        write_script(work_dir / name, body)
    assert run_cli("run", "prep.py", "-n", "prep").returncode == 0
    res = run_cli("run", "train.py", "-D", "data=prep", "-n", "train")
    assert res.returncode == 0, res.stderr
    res = run_cli("run", "eval.py", "-D", "train", "-n", "eval")
    assert res.returncode == 0, res.stderr
    assert yr.get_experiment("eval").get_metric("score") == 18
    assert yr.get_experiment("eval").get_metric("graph") == 3
    res = run_cli("run", "eval.py", "-D", "prep", "-n", "bad-eval")
    assert res.returncode == 1
    assert "Error: No dependency from 'train.py' found" in res.stderr
    assert "Current dependencies are from: prep.py" in res.stderr
    assert yr.get_experiment("bad-eval").status == "failed"


def test_delete_of_a_dependency_asks_and_lineage_shows_it_missing() -> None:
    """Deleting an experiment others use warns and asks; no exits 0 and keeps it; --force
    deletes it; show and get upstream then list it as missing."""
    base = make("base", script="prep.py")
    user = make("user", script="train.py", depends_on=[f"data={base}"])
    res = run_cli("delete", base, input="n\n")
    assert res.returncode == 0, res.stderr
    assert f"{user} (user) depends on {base}" in res.stderr
    assert (store_root() / base).is_dir()
    res = run_cli("delete", base, "--force")
    assert res.returncode == 0, res.stderr
    assert f"{user} (user) depends on {base}" in res.stderr
    assert not (store_root() / base).exists()
    show = run_cli("show", user)
    assert any(
        "Depends on:" in line and f"data={base} (missing)" in line
        for line in show.stdout.splitlines()
    )
    up = run_cli("get", "upstream", user)
    assert f"<data> {base} (missing)" in up.stdout
    nodes = json.loads(run_cli("get", "upstream", user, "-F", "json").stdout)["nodes"]
    assert {"id": base, "name": None, "status": "missing"} in nodes
    assert run_cli("get", "upstream", user, "-F", "sweep").stdout.strip() == ""


def test_deleting_a_whole_pipeline_does_not_warn() -> None:
    """Dependents deleted together with their dependency are no reason to ask twice."""
    base = make("base")
    user = make("user", depends_on=[f"data={base}"])
    res = run_cli("delete", base, user, input="y\ny\n")
    assert res.returncode == 0, res.stderr
    assert "depends on" not in res.stderr
    assert ids_now() == set()


@pytest.mark.usefixtures("cli_backend")
def test_archived_dependency_is_accepted(work_dir: Path) -> None:
    """An archived experiment that completed is still a valid dependency."""
    write_script(work_dir / "s.py", ECHO)
    old = make("old-run")
    assert run_cli("archive", old, "--force").returncode == 0
    res = run_cli("run", "s.py", "-D", "old-run", "--dry-run")
    assert res.returncode == 0, res.stderr
    assert f"depends on: dep1={old}" in res.stdout
