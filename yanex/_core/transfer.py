"""``yanex push`` / ``pull``: copy whole experiments between stores over SSH with rsync.

Each experiment lands whole or not at all: rsync writes the selected experiments into a
staging folder of the receiving store (``<store>/.incoming/<run>/``, never listed: not an
experiment id), with ``--link-dest`` pointing at the store itself, so a file the receiver
already has is hard-linked instead of sent. Only then is each changed experiment renamed
into place (its previous copy renamed aside first and deleted after), on the receiving
side: by ``os.rename`` for a pull, by one ``sh`` command over the same SSH for a push. An
experiment whose files all matched is left as it was: pushing twice sends nothing new.

A pull selects with the usual filters on the remote store's ``metadata.json`` files,
fetched first into a staging folder of their own.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from yanex._store import layout
from yanex.errors import ConfigError, YanexError

from . import query
from .filters import Filters

INCOMING = ".incoming"


class TransferError(YanexError):
    """rsync or ssh failed (unreachable host, no permission, no such store)."""


@dataclass(frozen=True)
class Remote:
    """``[user@]host:PATH``: a store on another machine, reached with ``rsh``."""

    host: str
    path: str
    rsh: str = "ssh"

    @classmethod
    def parse(cls, target: str, rsh: str | None = None) -> Remote:
        host, sep, path = target.partition(":")
        if not sep or not host or not path or "/" in host:
            raise ConfigError(f"expected [user@]host:PATH (a store over SSH), not {target!r}")
        return cls(host, path.rstrip("/") or "/", rsh or os.environ.get("RSYNC_RSH", "ssh"))

    def spec(self, sub: str = "") -> str:
        return f"{self.host}:{self.path}/{sub}"


@dataclass
class Report:
    """What a push or pull did: experiments sent whole, and those already up to date."""

    sent: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _rsync(args: list[str], rsh: str) -> list[str]:
    """Run rsync; the names it transferred (``--out-format=%n``)."""
    cmd = ["rsync", "-a", "-e", rsh, "--out-format=%n", *args]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise TransferError("rsync is not installed (it is needed on both machines)") from None
    if res.returncode != 0:
        message = res.stderr.strip().splitlines()
        raise TransferError(f"rsync failed: {message[0] if message else res.returncode}")
    return res.stdout.splitlines()


def _changed(names: list[str], ids: list[str]) -> list[str]:
    """The experiments of which rsync sent at least one file (not only made folders)."""
    touched = {n.split("/", 1)[0] for n in names if n and not n.endswith("/")}
    return [i for i in ids if i in touched]


def _list_file(ids: list[str]) -> str:
    fd, path = tempfile.mkstemp(prefix="yanex-transfer-", suffix=".txt")
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{i}/\n" for i in ids))
    return path


def push(ids: list[str], remote: Remote, root: Path | None = None) -> Report:
    """Send the experiments ``ids`` of the local store to ``remote``."""
    root = query.root_dir(root)
    if not ids:
        return Report()
    run = f"{INCOMING}/{uuid.uuid4().hex[:12]}"
    listing = _list_file(ids)
    try:
        names = _rsync(
            ["-r", "--mkpath", f"--files-from={listing}", "--link-dest=../..", f"{root}/",
             remote.spec(run + "/")],
            remote.rsh,
        )  # fmt: skip
    finally:
        Path(listing).unlink()
    report = Report(sent=_changed(names, ids))
    report.unchanged = [i for i in ids if i not in report.sent]
    _remote_swap(remote, run, report.sent)
    return report


def _remote_swap(remote: Remote, run: str, ids: list[str]) -> None:
    """On the remote: each sent experiment renamed into place; the staging folder removed."""
    q = shlex.quote
    lines = [f"cd {q(remote.path)} || exit 1"]
    for exp_id in ids:
        staged, old = q(f"{run}/{exp_id}"), q(f"{run}/{exp_id}.old")
        lines.append(f"if [ -e {exp_id} ]; then mv {exp_id} {old} || exit 1; fi")
        lines.append(f"mv {staged} {exp_id} || exit 1")
    lines.append(f"rm -rf {q(run)}")
    script = "; ".join(lines)
    cmd = [*shlex.split(remote.rsh), remote.host, f"sh -c {q(script)}"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise TransferError(f"renaming into place on {remote.host} failed: {res.stderr.strip()}")


def remote_records(remote: Remote, flt: Filters, root: Path | None = None) -> list[query.Record]:
    """The experiments of the remote store that ``flt`` selects (read from copies of their
    metadata.json, fetched into a staging folder that is removed again)."""
    staging = query.root_dir(root) / INCOMING / f"meta-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        _rsync(
            ["--include=/*/", "--include=/*/metadata.json", "--exclude=*", remote.spec(),
             f"{staging}/"],
            remote.rsh,
        )  # fmt: skip
        records = query.select(flt, root=staging).records
        for rec in records:
            if not layout.ID_RE.match(rec.id):
                raise TransferError(f"unexpected experiment folder {rec.id!r} on {remote.host}")
        return records
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def pull(ids: list[str], remote: Remote, root: Path | None = None) -> Report:
    """Fetch the experiments ``ids`` of ``remote`` into the local store."""
    root = query.root_dir(root)
    if not ids:
        return Report()
    staging = root / INCOMING / uuid.uuid4().hex[:12]
    staging.mkdir(parents=True)
    listing = _list_file(ids)
    try:
        names = _rsync(
            ["-r", f"--files-from={listing}", "--link-dest=../..", remote.spec(), f"{staging}/"],
            remote.rsh,
        )
        report = Report(sent=_changed(names, ids))
        report.unchanged = [i for i in ids if i not in report.sent]
        for exp_id in report.sent:
            _swap(root / exp_id, staging / exp_id, staging / f"{exp_id}.old")
    finally:
        Path(listing).unlink()
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _swap(target: Path, new: Path, old: Path) -> None:
    if target.exists():
        target.rename(old)
    new.rename(target)
