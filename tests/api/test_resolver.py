"""One resolver for experiment references: ``get_experiment``, ``--clone-from`` and ``-D`` take
the same id / unique id prefix / name, in the same order, with the same refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

import yanex.results as yr
from tests.support.cli import run_cli, write_script
from tests.support.query import make
from yanex._core import query
from yanex.errors import (
    AmbiguousExperimentError,
    ExperimentNotFoundError,
    InvalidReferenceError,
    YanexError,
)

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


def test_matching_over_a_whole_store_agrees_with_resolve(work_dir: Path) -> None:
    """``query.find_in`` (lineage, dependents: one pass over the store) picks what
    ``query.resolve`` picks, and nothing where resolve raises."""
    first = make("twin")
    make("twin")
    solo = make("solo")
    by_id = {r.id: r for r in query.scan() if isinstance(r, query.Record)}
    for ref in (
        first,
        first.upper(),
        first[:5],
        first[:1],
        "solo",
        solo[:4],
        "twin",
        "nobody",
        "~twin",
    ):
        try:
            expected: str | None = query.resolve(ref).id
        except YanexError:
            expected = None
        found = query.find_in(ref, by_id)
        assert (found.id if found else None) == expected, ref
