"""Randomness per experiment: experiments of one sweep differ as separate python runs do
(str hash seed, random, uuid, tempfile names), and PYTHONHASHSEED fixes the hash as in python."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.launch.differential.harness import Case, Run, base_env

RANDOM = """
import json, random, sys, tempfile, uuid
print(json.dumps({
    "hash": hash("x"),
    "hash_randomization": sys.flags.hash_randomization,
    "random": random.random(),
    "uuid4": str(uuid.uuid4()),
    "mktemp": tempfile.mktemp(),
}))
"""

DIFFERS = ("random", "uuid4", "mktemp")


def _values(runs: list[Run]) -> list[dict[str, Any]]:
    for run in runs:
        assert run.stderr == b"" and run.returncode in (0, None), run.stderr
        if run.meta is not None:
            assert run.meta["status"] == "completed", run.meta
    return [json.loads(run.stdout) for run in runs]


def _two_yanex_runs(case: Case, via: str, env: dict[str, str]) -> list[Run]:
    if via == "sweep":
        return case.cli("s.py", options=["-p", "seed=list(1, 2)"], env=env)
    if via == "sweep-j2":  # more experiments than run at once: some start while others run
        return case.cli("s.py", options=["-p", "seed=list(1, 2, 3, 4)", "-j", "2"], env=env)
    parallel = 2 if via == "aio_run_multiple" else None
    return case.drive([["run", [["s.py", []], ["s.py", []]], parallel]], via, env=env)


VIAS = ["sweep", "sweep-j2", "run_multiple", "aio_run_multiple"]


@pytest.mark.parametrize("via", VIAS)
def test_two_experiments_differ_like_two_python_runs(case: Case, via: str) -> None:
    """Without PYTHONHASHSEED each experiment gets its own str hash seed, random state,
    uuid4 and tempfile names, as two separate ``python`` runs do."""
    case.write("s.py", RANDOM)
    env = base_env()
    refs = _values([case.python("s.py", env=env), case.python("s.py", env=env)])
    assert all(refs[0][key] != refs[1][key] for key in ("hash", *DIFFERS)), refs
    got = _values(_two_yanex_runs(case, via, env))
    assert len(got) == (4 if via == "sweep-j2" else 2)
    same = [key for key in ("hash", *DIFFERS) if len({g[key] for g in got}) < len(got)]
    assert not same, f"equal in two experiments ({via}): {same}: {got}"
    assert {g["hash_randomization"] for g in got} == {refs[0]["hash_randomization"]}


@pytest.mark.parametrize("via", ["sweep-j2", "run_multiple"])
def test_pythonhashseed_of_the_caller_fixes_the_hash(case: Case, via: str) -> None:
    """PYTHONHASHSEED=0 in the caller's environment: every experiment prints python's
    hash("x") under that seed; random, uuid and tempfile names still differ."""
    case.write("s.py", RANDOM)
    env = base_env(PYTHONHASHSEED="0")
    refs = _values([case.python("s.py", env=env), case.python("s.py", env=env)])
    assert refs[0]["hash"] == refs[1]["hash"] and refs[0]["hash_randomization"] == 0
    got = _values(_two_yanex_runs(case, via, env))
    assert [g["hash"] for g in got] == [refs[0]["hash"]] * len(got), got
    assert [g["hash_randomization"] for g in got] == [0] * len(got)
    same = [key for key in DIFFERS if len({g[key] for g in got}) < len(got)]
    assert not same, f"equal in both experiments ({via}): {same}: {got}"
