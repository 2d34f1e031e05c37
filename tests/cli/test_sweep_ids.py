"""Sweep ids through the CLI and ``import yanex``: every ``yanex run`` and every
``run_multiple`` call records one sweep id on each experiment it starts and prints it;
``list --sweep``, ``yanex.results`` (``sweep_id=``) and ``show`` find and name it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yanex
import yanex.results as yr
from tests.support.cli import run_cli, write_script
from tests.support.run import experiments, only, store_is_empty

QUICK = "import yanex\nprint(yanex.get_params())\n"


def _listed(*args: str) -> list[dict]:
    res = run_cli("list", "-g", "--all", "-F", "json", *args)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_a_single_run_records_its_sweep_and_prints_it(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """Even one experiment gets a sweep id: stored on it, printed at its start, named by
    ``show``, with the sweep's record (its member, the script's hash) beside the store."""
    write_script(work_dir / "one.py", QUICK)
    res = run_cli("run", "one.py", "-p", "x=1")
    assert res.returncode == 0, res.stderr
    meta = only(store_dir)
    sweep_id = meta["sweep_id"]
    assert re.fullmatch(r"[0-9a-f]{8}", sweep_id)
    assert meta["sweep_index"] == 0 and meta["retry_of"] is None
    assert f"[sweep {sweep_id}]" in res.stderr.splitlines()[0]
    record = json.loads((store_dir / ".sweeps" / f"{sweep_id}.json").read_text())
    assert [m["config"] for m in record["members"]] == [{"x": 1}]
    assert meta["script_sha256"] == record["script_sha256"][str(work_dir / "one.py")]
    shown = run_cli("show", meta["id"])
    assert re.search(rf"Sweep:\s+{sweep_id} \(member 1\)", shown.stdout), shown.stdout


def test_each_yanex_run_is_its_own_sweep_and_list_sweep_selects_one(
    cli_backend: str, store_dir: Path, work_dir: Path
) -> None:
    """A 3-member sweep shares one id (members 0, 1, 2, said on its first line); another
    ``yanex run`` gets another; ``list --sweep`` (id or prefix) and ``yanex.results`` with
    ``sweep_id=`` select exactly the first one's experiments."""
    write_script(work_dir / "p.py", QUICK)
    first = run_cli("run", "p.py", "-p", "x=range(3)")
    second = run_cli("run", "p.py", "-p", "x=9")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    metas = experiments(store_dir)
    sweep_a = metas[0]["sweep_id"]
    assert [m["sweep_id"] for m in metas[:3]] == [sweep_a] * 3
    assert sorted(m["sweep_index"] for m in metas[:3]) == [0, 1, 2]
    assert metas[3]["sweep_id"] != sweep_a
    assert f"sweep {sweep_a}: running 3 experiments" in first.stderr
    wanted = {m["id"] for m in metas[:3]}
    assert {i["id"] for i in _listed("--sweep", sweep_a)} == wanted
    assert {i["id"] for i in _listed("--sweep", sweep_a[:5])} == wanted
    assert all(i["sweep_id"] == sweep_a for i in _listed("--sweep", sweep_a))
    assert {e.id for e in yr.get_experiments(sweep_id=sweep_a)} == wanted
    assert {d["id"] for d in yr.find(sweep_id=sweep_a)} == wanted
    assert all(e.sweep_id == sweep_a for e in yr.get_experiments(sweep_id=sweep_a))
    other = "00000000" if sweep_a != "00000000" else "11111111"
    assert yr.get_experiments(sweep_id=other) == []


def test_run_multiple_is_one_sweep(store_dir: Path, work_dir: Path) -> None:
    """A run_multiple call records one sweep id on each experiment (and each result), and
    a second call another."""
    script = write_script(work_dir / "p.py", QUICK)
    specs = [yanex.ExperimentSpec(script_path=script, config={"x": x}) for x in range(3)]
    results = yanex.run_multiple(specs, parallel=2)
    again = yanex.run_multiple(specs[:1])
    sweep_id = results[0].sweep_id
    assert sweep_id and all(r.sweep_id == sweep_id for r in results)
    assert again[0].sweep_id not in (None, sweep_id)
    assert {i["id"] for i in _listed("--sweep", sweep_id)} == {r.experiment_id for r in results}
    by_id = {m["id"]: m for m in experiments(store_dir)}
    assert [by_id[r.experiment_id]["sweep_index"] for r in results] == [0, 1, 2]


def test_bad_sweep_filters_are_refused(store_dir: Path) -> None:
    """A sweep id that is not hex, and --all-attempts without --sweep: one Error line,
    exit 2; a valid id that names no sweep lists nothing."""
    for args in (["--sweep", "nothex!"], ["--all-attempts"]):
        res = run_cli("list", "-g", *args)
        assert res.returncode == 2, res
        assert res.stderr.startswith("Error:") and len(res.stderr.splitlines()) == 1
    assert _listed("--sweep", "abcdef01") == []
    assert store_is_empty(store_dir)
