"""The git patch of uncommitted changes is scanned with detect-secrets: a warning names each
finding's file and line, and metadata.json's git block records the findings and the size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import yanex
import yanex.results as yr
from tests.support.cli import run_cli

AWS_LINE = 'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"\n'
KEY_LINE = "-----BEGIN RSA PRIVATE KEY-----\n"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(work_dir: Path) -> Path:
    from yanex._core import patchscan

    patchscan._memo.clear()  # each test sees its own warning
    patchscan._warned.clear()
    _git(work_dir, "init", "-q")
    (work_dir / "settings.py").write_text("debug = True\n")
    (work_dir / "notes.txt").write_text("a\nb\nc\n")
    (work_dir / "train.py").write_text("import yanex\nyanex.log_metrics({'a': 1})\n")
    _git(work_dir, "add", ".")
    _git(work_dir, "commit", "-qm", "init")
    return work_dir


def _dirty(repo: Path) -> None:
    with (repo / "settings.py").open("a") as fh:
        fh.write("x = 1\n" + AWS_LINE)  # line 3 of settings.py
    (repo / "notes.txt").write_text("a\n" + KEY_LINE + "b\nc\n")  # line 2 of notes.txt


def test_create_experiment_scans_the_patch(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _dirty(repo)
    with yanex.create_experiment(repo / "train.py") as exp:
        pass
    err = capsys.readouterr().err
    assert "Found 2 potential secret(s)" in err
    assert "AWS Access Key in settings.py at line 3" in err
    assert "Private Key in notes.txt at line 2" in err
    meta = yr.get_experiment(exp.experiment_id).metadata
    git = meta["git"]
    assert git["patch_has_secrets"] is True
    assert git["patch_secret_count"] == 2
    patch = (exp.experiment_dir / "artifacts" / "git_diff.patch").read_bytes()
    assert git["patch_size_bytes"] == len(patch) > 0
    assert git["patch_size_mb"] == pytest.approx(len(patch) / 1024 / 1024, abs=1e-6)
    assert meta["has_uncommitted_changes"] is True


def test_yanex_run_warns_and_records(repo: Path) -> None:
    _dirty(repo)
    res = run_cli("run", "train.py", cwd=repo)
    assert res.returncode == 0, res.stderr
    assert "AWS Access Key in settings.py at line 3" in res.stderr
    assert "Private Key in notes.txt at line 2" in res.stderr
    shown = json.loads(run_cli("show", "--latest", "-F", "json", cwd=repo).stdout)
    assert shown["git"]["patch_secret_count"] == 2
    assert shown["git"]["patch_has_secrets"] is True
    text = run_cli("show", "--latest", cwd=repo).stdout
    assert "Patch secrets:" in text and "2 potential secret(s)" in text


def test_harmless_change_has_no_findings(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "settings.py").write_text("debug = False\n")
    with yanex.create_experiment(repo / "train.py") as exp:
        pass
    assert "secret" not in capsys.readouterr().err
    git = yr.get_experiment(exp.experiment_id).metadata["git"]
    assert git["patch_has_secrets"] is False and git["patch_secret_count"] == 0
    assert git["patch_size_bytes"] > 0


CLEAN = """
import sys, yanex
from pathlib import Path
with yanex.create_experiment(Path("train.py")) as exp:
    pass
print("detect_secrets" in sys.modules, "unidiff" in sys.modules)
"""


def test_clean_tree_does_not_import_detect_secrets(repo: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-c", CLEAN],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]
    exp = yr.get_latest()
    assert exp is not None
    git = exp.metadata["git"]
    assert "patch_has_secrets" not in git and git["has_uncommitted_changes"] is False
