"""One resolver for experiment references: ``get_experiment``, ``--clone-from`` and ``-D`` take
the same id / unique id prefix / name, in the same order, with the same refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

import yanex.results as yr
from tests._query_support import make
from tests.conftest import run_cli, write_script
from yanex.errors import AmbiguousExperimentError, ExperimentNotFoundError, InvalidReferenceError

CASES = {
    "twin": (AmbiguousExperimentError, "matches 2"),
    "nobody": (ExperimentNotFoundError, "no experiment"),
    "~twin": (InvalidReferenceError, "paths are not accepted"),
    "../twin": (InvalidReferenceError, "paths are not accepted"),
}


def test_every_face_resolves_and_refuses_alike(work_dir: Path) -> None:
    """A prefix that is also a name resolves as the prefix everywhere; errors match."""
    first = make("twin", config={"who": "a"})
    make("twin", config={"who": "b"})
    make(first, config={"who": "name"})  # a name that is also an id: the id wins
    write_script(work_dir / "p.py", "import yanex\nprint(yanex.get_params())\n")
    for ref, (error, words) in CASES.items():
        with pytest.raises(error, match=words.split()[0]):
            yr.get_experiment(ref)
        for option in ("--clone-from", "-D"):
            res = run_cli("run", "p.py", option, ref, "--dry-run")
            assert res.returncode == 2, res.stderr
            assert words in res.stderr and option in res.stderr, res.stderr
    assert yr.get_experiment(first).id == first
    res = run_cli("run", "p.py", "--clone-from", first, "--dry-run")
    assert res.returncode == 0 and '"who": "a"' in res.stdout, res.stdout + res.stderr
