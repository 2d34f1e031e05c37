"""archive, unarchive, delete, update and open: confirmation, safety, formats, errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.query import assert_error, make, store_root


def names(*args: str) -> list[str]:
    return [e["name"] for e in json.loads(run_cli("list", "-F", "json", "--all", *args).stdout)]


def test_archive_asks_and_moves_into_archived_folder() -> None:
    """archive asks first (no/none keep it), moves <store>/<id> to <store>/archived/<id>.
    End to end: a real `yanex` process reading the answers from a pipe."""
    exp = make("old")
    for answer, code, said in (("n\n", 0, "nothing was archived"), ("", 1, "no answer")):
        res = run_cli_subprocess("archive", exp, input=answer)
        assert res.returncode == code and said in res.stderr  # "no" exits 0; no answer 1
        assert (store_root() / exp / "metadata.json").is_file()
    res = run_cli_subprocess("archive", exp, input="y\n")
    assert res.returncode == 0, res.stderr
    assert f"Archived {exp} (old)" in res.stdout
    assert not (store_root() / exp).exists()
    assert (store_root() / "archived" / exp / "metadata.json").is_file()
    assert names() == [] and names("-a") == ["old"]
    assert_error(run_cli("archive", exp, "--force"), 1, exp)  # no longer active


def test_archive_by_filters_and_unarchive() -> None:
    """Filters select what to archive; unarchive restores, by id or by filters."""
    a = make("a", status="failed")
    make("b")
    res = run_cli("archive", "-s", "failed", "--force", "-F", "json")
    assert json.loads(res.stdout) == [
        {"id": a, "name": "a", "result": "archived", "detail": str(store_root() / "archived" / a)}
    ]
    assert names() == ["b"]
    res = run_cli("unarchive", "-n", "a", "--force")
    assert res.returncode == 0 and f"Unarchived {a}" in res.stdout
    assert sorted(names()) == ["a", "b"]
    assert_error(run_cli("archive"), 2, "say which experiments")
    assert_error(run_cli("archive", a, "-s", "failed"), 2, "not both")


def test_unarchive_needs_an_archived_experiment() -> None:
    """unarchive only looks among archived experiments."""
    exp = make("active")
    assert_error(run_cli("unarchive", exp, "--force"), 1, exp)


def _other_device_dir() -> Path:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tempfile.gettempdir()).st_dev:
        pytest.skip("needs a second filesystem (/dev/shm) for a cross-device move")
    return Path(tempfile.mkdtemp(dir=shm))


def test_archive_across_filesystems_copies_then_removes() -> None:
    """With archived/ on another filesystem, archive and unarchive still move everything."""
    exp = make("far", config={"lr": 1}, metrics=[{"acc": 0.5}])
    elsewhere = _other_device_dir()
    try:
        (store_root() / "archived").symlink_to(elsewhere)
        assert run_cli("archive", exp, "--force").returncode == 0
        assert not (store_root() / exp).exists()
        assert json.loads((elsewhere / exp / "config.json").read_text()) == {"lr": 1}
        assert [p.name for p in elsewhere.iterdir()] == [exp]
        assert run_cli("unarchive", exp, "--force").returncode == 0
        assert (store_root() / exp / "metrics.json").is_file() and list(elsewhere.iterdir()) == []
        assert run_cli("get", "metrics.acc", exp).stdout.strip() == "0.5"
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)


def test_interrupted_cross_filesystem_archive_loses_nothing() -> None:
    """SIGKILL in the middle of a cross-device archive leaves the experiment whole and usable."""
    exp = make("big")
    (store_root() / exp / "artifacts" / "blob.bin").write_bytes(os.urandom(1 << 20) * 150)
    elsewhere = _other_device_dir()
    try:
        (store_root() / "archived").symlink_to(elsewhere)
        proc = subprocess.Popen([sys.executable, "-m", "yanex", "archive", exp, "--force"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(elsewhere.iterdir()):
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        listed = json.loads(run_cli("list", "-a", "-F", "json").stdout)
        assert [e["id"] for e in listed] == [exp]
        home = store_root() / exp if not listed[0]["archived"] else elsewhere / exp
        assert (home / "artifacts" / "blob.bin").stat().st_size == 150 << 20
        if not listed[0]["archived"]:  # cut short: archiving again finishes the job
            assert run_cli("archive", exp, "--force").returncode == 0
        assert [p.name for p in elsewhere.iterdir()] == [exp]
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)


def test_delete_confirms_once_for_one_and_twice_for_many() -> None:
    """delete asks; several experiments need a second yes; -F json still asks."""
    a, b, c = make("a", tags=["tmp"]), make("b", tags=["tmp"]), make("c")
    res = run_cli("delete", a, input="n\n")
    assert res.returncode == 0 and (store_root() / a).exists()
    res = run_cli("delete", "-t", "tmp", input="y\nn\n")
    assert res.returncode == 0 and "cannot be undone" in res.stderr
    assert (store_root() / a).exists() and (store_root() / b).exists()
    res = run_cli("delete", "-t", "tmp", "-F", "json", input="y\ny\n")
    assert res.returncode == 0, res.stderr
    assert {r["id"] for r in json.loads(res.stdout)} == {a, b}
    assert not (store_root() / a).exists() and not (store_root() / b).exists()
    res = run_cli("delete", c, input="y\n")
    assert res.returncode == 0 and f"Deleted {c} (c)" in res.stdout
    assert names() == []


def test_delete_archived_needs_a_flag() -> None:
    """delete works on active experiments unless -a, then on archived ones only."""
    exp = make("shelved")
    run_cli("archive", exp, "--force")
    assert_error(run_cli("delete", exp, "--force"), 1, exp)
    assert run_cli("delete", exp, "-a", "--force").returncode == 0
    assert not (store_root() / "archived" / exp).exists()


def test_delete_never_touches_anything_outside_the_store(tmp_path: Path) -> None:
    """A symlinked experiment loses only its link; other folders in the store stay."""
    outside = tmp_path / "precious"
    exp = make("linked")
    shutil.move(str(store_root() / exp), str(outside))
    (store_root() / exp).symlink_to(outside)
    (store_root() / "notes").mkdir()
    (store_root() / "notes" / "keep.txt").write_text("keep")
    res = run_cli("delete", exp, "--force")
    assert res.returncode == 0, res.stderr
    assert not (store_root() / exp).exists()
    assert (outside / "metadata.json").is_file()
    assert (store_root() / "notes" / "keep.txt").read_text() == "keep"
    assert_error(run_cli("delete", "--force"), 2)


def test_update_fields_tags_and_status() -> None:
    """update sets name, description, project, status and tags; "" clears the name."""
    exp = make("before", tags=["debug", "x"])
    res = run_cli(
        "update", exp, "--set-name", "after", "--set-description", "d", "--set-project", "p",
        "--set-status", "cancelled", "--add-tag", "prod", "--remove-tag", "debug",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    meta = json.loads((store_root() / exp / "metadata.json").read_text())
    assert (meta["name"], meta["description"], meta["project"]) == ("after", "d", "p")
    assert meta["status"] == "cancelled" and meta["tags"] == ["x", "prod"]
    run_cli("update", exp, "--set-name", "")
    assert json.loads((store_root() / exp / "metadata.json").read_text())["name"] is None


def test_update_dry_run_and_bulk_confirmation() -> None:
    """--dry-run changes nothing; several experiments need a yes unless --force."""
    a, b = make("a", status="failed"), make("b", status="failed")
    res = run_cli("update", "-s", "failed", "--add-tag", "review", "--dry-run")
    assert res.returncode == 0 and res.stdout.count("Would update") == 2
    assert "review" not in (store_root() / a / "metadata.json").read_text()
    assert run_cli("update", "-s", "failed", "--add-tag", "review", input="n\n").returncode == 0
    assert run_cli("update", "-s", "failed", "--add-tag", "review", input="y\n").returncode == 0
    for exp in (a, b):
        assert "review" in json.loads((store_root() / exp / "metadata.json").read_text())["tags"]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--set-status", "finished"], 2, ["unknown status"]),
        ([], 2, ["nothing to change"]),
        (["--set-name", "x", "-F", "yaml"], 2, ["unknown format"]),
    ],
)
def test_update_bad_input(args: list[str], code: int, words: list[str]) -> None:
    """Bad update requests give one Error line and change nothing."""
    exp = make("keep")
    before = (store_root() / exp / "metadata.json").read_bytes()
    assert_error(run_cli("update", exp, *args), code, *words)
    assert (store_root() / exp / "metadata.json").read_bytes() == before


@pytest.mark.usefixtures("cli_backend")
def test_open_prints_the_folder_without_a_file_manager() -> None:
    """Without a graphical session, open prints the experiment's folder."""
    exp = make("here")
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    res = run_cli("open", exp[:6], env=env)
    assert res.returncode == 0
    assert res.stdout.strip() == str(store_root() / exp)
    assert "could not open a file manager" in res.stderr
    assert run_cli("open", "--latest", env=env).stdout.strip() == str(store_root() / exp)
    assert_error(run_cli("open", "ffffffff", env=env), 1)
