"""yanex push / pull over rsync and SSH, against an sshd the tests start on 127.0.0.1 with
keys they generate. Without sshd or rsync, the tests skip with one line."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import yanex
from tests.support.cli import run_cli

SSHD = Path("/usr/sbin/sshd")
REASON = None
if not SSHD.exists() or shutil.which("rsync") is None or shutil.which("ssh-keygen") is None:
    REASON = "no sshd, rsync or ssh-keygen here (apt-get install openssh-server rsync)"
elif os.geteuid() != 0:
    REASON = "sshd for these tests is started as root (it needs /run/sshd)"
pytestmark = [
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
    pytest.mark.xdist_group("sshd"),  # one worker starts the module's sshd
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def rsh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The remote shell (``ssh -p PORT -i KEY ...``) of an sshd on 127.0.0.1."""
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "user_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True
        )
    (d / "authorized_keys").write_text((d / "user_key.pub").read_text())
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(d / "sshd_config")])
    try:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield (
            f"ssh -p {port} -i {d}/user_key -o StrictHostKeyChecking=no "
            "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def make(name: str, tags: list[str]) -> str:
    with yanex.create_experiment(Path("t.py"), name=name, tags=tags) as exp:
        exp.log_metrics({"acc": 0.5})
        exp.save_artifact({"name": name}, "summary.json")
        return exp.id


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".lock" not in p.name
    }


def test_push_selected_whole_and_only_once(rsh: str, store_dir: Path, tmp_path: Path) -> None:
    keep, other = make("a", ["keep"]), make("b", ["other"])
    remote = tmp_path / "remote-store"
    target = f"127.0.0.1:{remote}"
    res = run_cli("push", target, "-g", "-t", "keep", "--rsh", rsh)
    assert res.returncode == 0, res.stderr
    assert "Pushed 1 experiment to 127.0.0.1 (0 already up to date)" in res.stdout
    assert sorted(p.name for p in remote.iterdir()) == [".incoming", keep]
    assert list((remote / ".incoming").iterdir()) == []  # the staging folder is gone
    assert files(remote / keep) == files(store_dir / keep)
    assert not (remote / other).exists()
    again = run_cli("push", target, "-g", "-t", "keep", "--rsh", rsh)
    assert "Pushed 0 experiments to 127.0.0.1 (1 already up to date)" in again.stdout
    # a change travels, whole; the receiving side then lists it like its own
    (store_dir / keep / "artifacts" / "more.txt").write_text("more")
    res = run_cli("push", target, keep, "--rsh", rsh)
    assert "Pushed 1 experiment" in res.stdout
    assert (remote / keep / "artifacts" / "more.txt").read_text() == "more"
    listed = run_cli("list", "-g", env={"YANEX_EXPERIMENTS_DIR": str(remote)})
    assert keep in listed.stdout and other not in listed.stdout


def test_pull_with_filters_on_the_remote_store(
    rsh: str, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "cluster-store"
    monkeypatch.setenv("YANEX_EXPERIMENTS_DIR", str(remote))  # made "on the cluster"
    made, _ = make("x", ["x"]), make("y", ["y"])
    monkeypatch.setenv("YANEX_EXPERIMENTS_DIR", str(store_dir))
    source = f"127.0.0.1:{remote}"
    res = run_cli("pull", source, "-g", "-t", "x", "--rsh", rsh)
    assert res.returncode == 0, res.stderr
    assert "Pulled 1 experiment from 127.0.0.1" in res.stdout
    assert files(store_dir / made) == files(remote / made)
    assert sorted(p.name for p in store_dir.iterdir() if not p.name.startswith(".")) == [made]
    again = run_cli("pull", source, made, "--rsh", rsh)
    assert "Pulled 0 experiments from 127.0.0.1 (1 already up to date)" in again.stdout
    assert list((store_dir / ".incoming").iterdir()) == []


def test_transfer_errors_are_one_line_and_leave_nothing(rsh: str, store_dir: Path) -> None:
    keep = make("a", ["keep"])
    res = run_cli("push", "no-colon-here", keep, "--rsh", rsh)
    assert res.returncode == 2 and "expected [user@]host:PATH" in res.stderr
    res = run_cli("push", "127.0.0.1:/proc/nope", keep, "--rsh", rsh)
    assert res.returncode == 1
    assert res.stderr.startswith("Error: rsync failed") and len(res.stderr.splitlines()) == 1
    res = run_cli("pull", "127.0.0.1:/nonexistent-store", "-g", "--rsh", rsh)
    assert res.returncode == 1 and res.stderr.startswith("Error: rsync failed")
    assert sorted(p.name for p in store_dir.iterdir() if not p.name.startswith(".")) == [keep]
