"""Run one script as ``python -u SCRIPT ARGS`` and under yanex, and compare what each left.

Each test lays out a small sandbox (the script, inputs, subfolders) and runs it twice from the
same absolute path, wiping and re-creating the sandbox between the runs so paths, file names
and source mtimes are identical:

1. the reference: ``python -u SCRIPT ARGS`` started by the test (or by a small python driver,
   for the "caller's state at each call" cases), with the cwd, environment, umask and stdin
   the test chose;
2. yanex: ``python -m yanex run [OPTIONS] SCRIPT ARGS`` (or ``--stage`` then ``--staged``)
   with the same cwd, environment, umask and stdin, or a python driver calling
   ``yanex.run_multiple`` / ``yanex.aio.run_multiple`` / ``yanex.aio.as_completed`` with
   ``ExperimentSpec(script_path=SCRIPT, script_args=ARGS)`` (a driver, not pytest's own
   process, so that its cwd, environment and umask are the caller's state at each call).

The caller's environment is small and explicit (``base_env``: PATH, HOME, TERM, a UTF-8
locale, PYTHONUNBUFFERED=1 and PYTHONDONTWRITEBYTECODE=1, as in a container or CI job);
tests about the environment vary it, including runs without the PYTHON* variables.

What is compared, byte for byte:

- every file and folder left in the sandbox: names, permission bits (so umask counts) and
  bytes (the store lives outside the sandbox);
- the script's stdout and stderr: the reference's pipes against the experiment's
  ``artifacts/stdout.txt`` and ``artifacts/stderr.txt``. The yanex CLI's own terminal output
  (banners, progress) is not the script's and is not compared, except in the terminal case;
- what the script observes: scripts dump JSON to ``obs*.json`` files, compared as JSON
  (the whole ``os.environ`` among others);
- for single runs that read stdin, also that the CLI's own stdout shows what the script
  printed (the user's view); in the terminal case, what appears on the terminal;
- the exit status as recorded in ``metadata.json``: python exit 0 -> ``completed`` with
  ``exit_code`` 0 and no ``error_message``; exit N -> ``failed`` with ``exit_code`` N and N in
  the message; death by signal S -> ``failed`` with ``exit_code`` -S (the Popen convention,
  as recorded today) and the signal's name (``SIGSEGV``) in the message. Runs stopped by
  yanex (timeout, Ctrl-C) are checked by their own tests (failed with a timeout message;
  cancelled).

Not compared, by design: the script's pid, parent and process group (the supervisor may
put the script in a group of its own to signal it; but in a terminal the script must be in
the terminal's foreground group with the terminal as its controlling terminal, as under a
shell), and which modules are already in ``sys.modules`` (a pre-started interpreter may
have imported yanex while it waited).

What is normalised, and why (nothing else is):

- environment variables named ``YANEX_*`` are removed from observations: they are the
  documented protocol between yanex and the script (experiment id, store, launch path...).
  This also covers the experiment id, which appears nowhere else;
- a test may pass a ``normalise`` function for values that differ between any two python
  runs too (the thread address faulthandler prints); each use says why in a comment.

Every test runs once per launch path (``YANEX_LAUNCH_PATH=pool`` and ``exec``); the
reference runs are the same for both.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

FIXED_MTIME = 1_700_000_000  # every sandbox file gets it, so .pyc files of helpers match
TIMEOUT = 60.0  # seconds any one run may take before the test gives up

Normaliser = Callable[[bytes], bytes]

# Runs a plan of steps the way a user's driver script would: change the caller's state,
# then start scripts, either with python (the reference) or through the yanex API.
DRIVER = r"""
import base64, json, os, subprocess, sys

plan, mode, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
records = []

def b64(data):
    return base64.b64encode(data).decode()

def run_python(runs):
    for script, args in runs:
        proc = subprocess.run([sys.executable, "-u", script, *args],
                              stdin=subprocess.DEVNULL, capture_output=True)
        records.append({"rc": proc.returncode, "stdout": b64(proc.stdout),
                        "stderr": b64(proc.stderr), "cwd": os.getcwd()})

def run_yanex(runs, parallel):
    import yanex
    specs = [yanex.ExperimentSpec(script_path=s, script_args=list(a)) for s, a in runs]
    if mode == "run_multiple":
        results = yanex.run_multiple(specs, parallel=parallel)
    else:
        import anyio
        import yanex.aio

        async def go():
            if mode == "aio_run_multiple":
                return await yanex.aio.run_multiple(specs, parallel=parallel)
            return [r async for r in yanex.aio.as_completed(specs, parallel=parallel)]

        results = anyio.run(go)
    for result in results:
        records.append({"id": result.experiment_id, "cwd": os.getcwd(),
                        "result": [result.status, result.error_message]})

for step in plan:
    kind = step[0]
    if kind == "chdir":
        os.chdir(step[1])
    elif kind == "setenv":
        for key, value in step[1].items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    elif kind == "umask":
        os.umask(step[1])
    elif kind == "write":
        with open(step[1], "w") as f:
            f.write(step[2])
    elif kind == "nofile":
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (step[1], resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    elif kind == "nice":
        os.nice(step[1])
    elif mode == "python":
        run_python(step[1])
    else:
        run_yanex(step[1], step[2])

with open(out, "w") as f:
    json.dump(records, f)
"""

VIAS_API = ("run_multiple", "aio_run_multiple", "aio_as_completed")


@dataclass
class Run:
    """What one run of a script left behind."""

    label: str
    stdout: bytes
    stderr: bytes
    files: dict[str, tuple[str, int, bytes]]
    obs: dict[str, Any]
    returncode: int | None = None  # the reference's exit status (Popen convention)
    meta: dict[str, Any] | None = None  # the experiment's metadata.json (yanex runs)
    notes: list[str] = field(default_factory=list)

    @property
    def exp_id(self) -> str:
        assert self.meta is not None
        return str(self.meta["id"])


def base_env(**extra: str | None) -> dict[str, str]:
    """The caller's environment: a small explicit one like a container's or a CI job's
    (PATH, HOME, TERM, a UTF-8 locale, PYTHONUNBUFFERED=1, PYTHONDONTWRITEBYTECODE=1),
    plus ``extra`` (a None value drops the variable). Tests that are about the environment
    also run without the PYTHON* variables. A PYTHONPATH of the test run is kept (to run
    the suite against another checkout), and so is ``YANEX_PLATFORM`` (``make test`` runs
    the launch tests again with the portable fallbacks)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "TERM": "xterm",
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for kept in ("PYTHONPATH", "YANEX_PLATFORM"):
        if os.environ.get(kept):
            env[kept] = os.environ[kept]
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll ``predicate`` every 10 ms until true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def strip_yanex(value: Any) -> Any:
    """``value`` with every ``YANEX_*`` key removed from its dicts (the documented protocol)."""
    if isinstance(value, dict):
        return {k: strip_yanex(v) for k, v in value.items() if not str(k).startswith("YANEX_")}
    if isinstance(value, list):
        return [strip_yanex(v) for v in value]
    return value


def snapshot(root: Path) -> tuple[dict[str, tuple[str, int, bytes]], dict[str, Any]]:
    """(files, observations) under ``root``: kind, permission bits and bytes of each entry;
    ``obs*.json`` files are parsed apart."""
    files: dict[str, tuple[str, int, bytes]] = {}
    obs: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            st = path.lstat()
            mode = st.st_mode & 0o7777
            if path.is_symlink():
                files[rel] = ("link", 0, os.readlink(path).encode())
            elif path.is_dir():
                files[rel] = ("dir", mode, b"")
            elif name.startswith("obs") and name.endswith(".json"):
                try:
                    obs[rel] = json.loads(path.read_bytes())
                except ValueError as exc:
                    obs[rel] = f"<unreadable JSON: {exc}>"
                files[rel] = ("obs", mode, b"")
            else:
                files[rel] = ("file", mode, path.read_bytes())
    return files, obs


def _text(data: bytes) -> list[str]:
    return data.decode("utf-8", "backslashreplace").splitlines(keepends=True)


def _diff(name: str, want: bytes, got: bytes) -> str:
    if len(want) + len(got) > 20000:  # big outputs: say where they part
        pairs = enumerate(zip(want, got, strict=False))
        at = next((i for i, (a, b) in pairs if a != b), min(len(want), len(got)))
        return (
            f"{name}: {len(want)} bytes vs {len(got)} bytes, first difference at byte {at}: "
            f"{want[at : at + 60]!r} vs {got[at : at + 60]!r}"
        )
    lines = difflib.unified_diff(_text(want), _text(got), "python -u", "yanex", lineterm="")
    body = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return f"{name} differs:\n{body}"


def _short(value: Any, limit: int = 700) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _obs_diff(name: str, want: Any, got: Any) -> str:
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"observations {name} differ:"]
        for key in sorted(set(want) | set(got), key=str):
            a, b = want.get(key, "<missing>"), got.get(key, "<missing>")
            if a == b:
                continue
            if isinstance(a, dict) and isinstance(b, dict):  # e.g. os.environ: only what differs
                a = {k: v for k, v in a.items() if b.get(k, "<missing>") != v}
                b = {k: v for k, v in b.items() if want[key].get(k, "<missing>") != v}
            out.append(f"  {key}: python {_short(a)}")
            out.append(f"  {' ' * len(str(key))}  yanex  {_short(b)}")
        return "\n".join(out)
    return f"observations {name} differ: python {_short(want)} / yanex {_short(got)}"


def status_problems(returncode: int | None, meta: dict[str, Any] | None) -> list[str]:
    """How ``meta`` fails to record what python's exit status ``returncode`` was."""
    if meta is None or returncode is None:
        return ["no metadata to compare the exit status with"]
    got = (meta.get("status"), meta.get("exit_code"), meta.get("error_message"))
    message = str(meta.get("error_message") or "")
    if returncode == 0:
        want_ok = got == ("completed", 0, None)
        return [] if want_ok else [f"status: python exited 0, yanex recorded {got!r}"]
    problems = []
    if meta.get("status") != "failed" or meta.get("exit_code") != returncode:
        problems.append(f"status: python exit status {returncode}, yanex recorded {got!r}")
    if returncode < 0:
        name = signal.Signals(-returncode).name
        if name not in message:
            problems.append(f"status: error_message does not name {name}: {message!r}")
    elif str(returncode) not in message:
        problems.append(f"status: error_message does not give exit code {returncode}: {message!r}")
    return problems


def compare(
    ref: Run,
    got: Run,
    *,
    normalise: Normaliser | None = None,
    status: bool = True,
    outputs: bool = True,
) -> list[str]:
    """Every difference between the reference run and the yanex run, readable."""
    norm = normalise or (lambda data: data)
    problems: list[str] = list(got.notes)
    if outputs:
        for name, want, have in (
            ("stdout", ref.stdout, got.stdout),
            ("stderr", ref.stderr, got.stderr),
        ):
            if norm(want) != norm(have):
                problems.append(_diff(name, norm(want), norm(have)))
    for rel in sorted(set(ref.files) | set(got.files)):
        want_f, have_f = ref.files.get(rel), got.files.get(rel)
        if want_f is None or have_f is None:
            problems.append(
                f"file {rel}: {'only under yanex' if want_f is None else 'missing under yanex'}"
            )
        elif want_f[:2] != have_f[:2]:
            problems.append(
                f"file {rel}: kind/mode python {want_f[0]} {want_f[1]:o}, "
                f"yanex {have_f[0]} {have_f[1]:o}"
            )
        elif want_f[2] != have_f[2]:
            problems.append(_diff(f"file {rel}", want_f[2], have_f[2]))
    for rel in sorted(set(ref.obs) & set(got.obs)):
        want_o, have_o = strip_yanex(ref.obs[rel]), strip_yanex(got.obs[rel])
        if want_o != have_o:
            problems.append(_obs_diff(rel, want_o, have_o))
    if status:
        problems += status_problems(ref.returncode, got.meta)
    return problems


def assert_same(ref: Run, got: Run | Sequence[Run], **kwargs: Any) -> None:
    """Fail with a readable report unless each yanex run matches the reference."""
    runs = [got] if isinstance(got, Run) else list(got)
    assert runs, "yanex recorded no experiment"
    report = []
    for run in runs:
        problems = compare(ref, run, **kwargs)
        if problems:
            report.append(f"== {run.label} differs from python -u ==\n" + "\n".join(problems))
    if report:
        pytest.fail("\n".join(report), pytrace=False)


def kill_session(sid: int) -> None:
    """SIGKILL every process of session ``sid`` (cleanup after a hung terminal test)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)


class Case:
    """One differential case: a sandbox layout, run both ways under one launch path."""

    def __init__(self, root: Path, launch_path: str) -> None:
        self.root = root
        self.sandbox = root / "sb"
        self.store = root / "store"
        self.launch_path = launch_path
        self.layout: dict[str, bytes] = {}
        self.links: dict[str, str] = {}
        self.driver = root / "driver.py"
        root.mkdir(parents=True, exist_ok=True)
        self.driver.write_text(DRIVER)

    # --- set-up ---------------------------------------------------------------------------

    def write(self, rel: str, content: str | bytes) -> Case:
        """Add a file to the sandbox layout (written afresh before every run)."""
        self.layout[rel] = content.encode() if isinstance(content, str) else content
        return self

    def symlink(self, rel: str, target: str) -> Case:
        """Add a symbolic link ``rel`` -> ``target`` to the sandbox layout."""
        self.links[rel] = target
        return self

    def reset(self) -> None:
        for path in (self.sandbox, self.store):
            if path.exists():
                shutil.rmtree(path)
        self.sandbox.mkdir(parents=True)
        for rel, data in self.layout.items():
            path = self.sandbox / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            os.utime(path, (FIXED_MTIME, FIXED_MTIME))
        for rel, target in self.links.items():
            (self.sandbox / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.sandbox / rel).symlink_to(target)

    def path(self, rel: str = "") -> Path:
        return self.sandbox / rel

    def yanex_env(self, env: dict[str, str] | None, **extra: str) -> dict[str, str]:
        """The caller's environment for a yanex call: ``env`` plus the control variables."""
        full = dict(env if env is not None else base_env())
        full.update(
            YANEX_EXPERIMENTS_DIR=str(self.store), YANEX_LAUNCH_PATH=self.launch_path, **extra
        )
        return full

    # --- reference ------------------------------------------------------------------------

    def popen_python(
        self,
        script: str,
        *args: str,
        cwd: str = "",
        env: dict[str, str] | None = None,
        stdin: Any = subprocess.DEVNULL,
        umask: int = -1,
        **kwargs: Any,
    ) -> subprocess.Popen[bytes]:
        """Reset the sandbox and start ``python -u SCRIPT ARGS`` (output on pipes)."""
        self.reset()
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(
            [sys.executable, "-u", script, *args],
            cwd=self.path(cwd),
            env=env if env is not None else base_env(),
            stdin=stdin,
            umask=umask,
            **kwargs,
        )

    def finish_python(self, proc: subprocess.Popen[bytes], input: bytes | None = None) -> Run:
        out, err = proc.communicate(input, timeout=TIMEOUT)
        files, obs = snapshot(self.sandbox)
        return Run("python -u", out, err, files, obs, returncode=proc.returncode)

    def python(self, script: str, *args: str, stdin: bytes | None = None, **kwargs: Any) -> Run:
        """The reference run: ``python -u SCRIPT ARGS``; ``stdin`` bytes or /dev/null."""
        pipe = subprocess.PIPE if stdin is not None else subprocess.DEVNULL
        proc = self.popen_python(script, *args, stdin=pipe, **kwargs)
        return self.finish_python(proc, stdin)

    # --- yanex ----------------------------------------------------------------------------

    def cli_args(self, script: str, args: Iterable[str], options: Iterable[str]) -> list[str]:
        args = list(args)
        dashes = ["--"] if any(a.startswith("-") for a in args) else []
        named = [script] if script else []
        return [sys.executable, "-m", "yanex", "run", *options, *named, *dashes, *args]

    def popen_cli(
        self,
        script: str,
        *args: str,
        options: Sequence[str] = (),
        cwd: str = "",
        env: dict[str, str] | None = None,
        stdin: Any = subprocess.DEVNULL,
        umask: int = -1,
        control: dict[str, str] | None = None,
        reset: bool = True,
        **kwargs: Any,
    ) -> subprocess.Popen[bytes]:
        """Reset the sandbox (unless ``reset`` is false) and start ``yanex run OPTIONS
        SCRIPT ARGS`` (no SCRIPT when it is empty)."""
        if reset:
            self.reset()
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(
            self.cli_args(script, args, options),
            cwd=self.path(cwd),
            env=self.yanex_env(env, **(control or {})),
            stdin=stdin,
            umask=umask,
            **kwargs,
        )

    def finish_cli(
        self, proc: subprocess.Popen[bytes], input: bytes | None = None, label: str = "yanex run"
    ) -> tuple[list[Run], bytes, bytes]:
        """(experiment runs, CLI stdout, CLI stderr) once ``yanex run`` ends."""
        try:
            out, err = proc.communicate(input, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"{label} did not end in {TIMEOUT} s:\n{err.decode(errors='replace')}")
        runs = self.experiments(f"{label} [{self.launch_path}]")
        if not runs:
            pytest.fail(
                f"{label} recorded no experiment (exit {proc.returncode}):\n"
                f"{err.decode(errors='replace')}",
                pytrace=False,
            )
        return runs, out, err

    def cli(self, script: str, *args: str, stdin: bytes | None = None, **kwargs: Any) -> list[Run]:
        """``yanex run OPTIONS SCRIPT ARGS``: one Run per experiment, oldest first."""
        pipe = subprocess.PIPE if stdin is not None else subprocess.DEVNULL
        proc = self.popen_cli(script, *args, stdin=pipe, **kwargs)
        return self.finish_cli(proc, stdin)[0]

    def experiments(self, label: str) -> list[Run]:
        """Every experiment in the store (oldest first), with the sandbox as it is now."""
        files, obs = snapshot(self.sandbox)
        metas = []
        for folder in self.store.iterdir() if self.store.exists() else []:
            meta_file = folder / "metadata.json"
            if meta_file.is_file():
                metas.append(json.loads(meta_file.read_text()))
        runs = []
        for meta in sorted(metas, key=lambda m: m["created_at"]):
            runs.append(self._experiment_run(meta, label, files, obs))
        return runs

    def _experiment_run(
        self,
        meta: dict[str, Any],
        label: str,
        files: dict[str, tuple[str, int, bytes]],
        obs: dict[str, Any],
    ) -> Run:
        artifacts = self.store / meta["id"] / "artifacts"
        outputs, notes = [], []
        for name in ("stdout.txt", "stderr.txt"):
            path = artifacts / name
            outputs.append(path.read_bytes() if path.exists() else b"")
            if not path.exists():
                notes.append(f"artifacts/{name} missing (compared as empty)")
        return Run(
            f"{label} {meta['id']}", outputs[0], outputs[1], files, obs, meta=meta, notes=notes
        )

    # --- drivers (caller's state at each call) --------------------------------------------

    def drive(
        self,
        plan: list[list[Any]],
        mode: str,
        *,
        cwd: str = "",
        env: dict[str, str] | None = None,
        stdin: bytes | None = None,
        umask: int = -1,
    ) -> list[Run]:
        """Run ``plan`` in a python driver: steps ``["chdir", dir]``, ``["setenv", {k: v}]``,
        ``["umask", m]``, ``["write", path, text]``, ``["nofile", soft limit]``, ``["nice",
        increment]``, ``["run", [[script, args], ...], parallel]``. ``mode`` "python"
        starts each script with ``python -u`` (the reference); otherwise with the yanex API
        of that name. One Run per script started, in call order."""
        self.reset()
        records_file = self.root / "records.json"
        full_env = (
            (env if env is not None else base_env()) if mode == "python" else self.yanex_env(env)
        )
        proc = subprocess.run(
            [sys.executable, str(self.driver), json.dumps(plan), mode, str(records_file)],
            cwd=self.path(cwd),
            env=full_env,
            input=stdin,
            capture_output=True,
            umask=umask,
            timeout=TIMEOUT,
            check=False,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"driver ({mode}) failed with {proc.returncode}:\n"
                f"{proc.stderr.decode(errors='replace')}",
                pytrace=False,
            )
        records = json.loads(records_file.read_text())
        files, obs = snapshot(self.sandbox)
        if mode == "python":
            return [
                Run(
                    "python -u (driver)",
                    base64.b64decode(r["stdout"]),
                    base64.b64decode(r["stderr"]),
                    files,
                    obs,
                    returncode=r["rc"],
                )
                for r in records
            ]
        label = f"{mode} [{self.launch_path}]"
        runs = []
        for record in records:
            meta_file = self.store / record["id"] / "metadata.json"
            if not meta_file.is_file():
                pytest.fail(f"{label}: no experiment stored for result {record}", pytrace=False)
            meta = json.loads(meta_file.read_text())
            run = self._experiment_run(meta, label, files, obs)
            if record["result"][0] != meta["status"]:
                run.notes.append(f"ExperimentResult.status {record['result'][0]!r} but "
                                 f"metadata.json says {meta['status']!r}")  # fmt: skip
            runs.append(run)
        return runs

    def run(
        self, via: str, script: str, *args: str, stdin: bytes | None = None, **kwargs: Any
    ) -> Run:
        """One experiment of SCRIPT ARGS through ``via``: "cli", "staged" (``yanex run
        --stage`` then ``yanex run --staged`` from the same cwd, environment and umask) or
        one of the API modes."""
        if via == "cli":
            runs = self.cli(script, *args, stdin=stdin, **kwargs)
        elif via == "staged":
            self.cli(script, *args, options=["--stage"], **kwargs)
            pipe = subprocess.PIPE if stdin is not None else subprocess.DEVNULL
            proc = self.popen_cli("", options=["--staged"], reset=False, stdin=pipe, **kwargs)
            runs = self.finish_cli(proc, stdin, label="yanex run --staged")[0]
        else:
            runs = self.drive([["run", [[script, list(args)]], None]], via, stdin=stdin, **kwargs)
        assert len(runs) == 1, [r.label for r in runs]
        return runs[0]


# Appended to scripts that record observations: dumps their ``obs`` dict as ``obs.json``.
DUMP = """
import json as _json
with open(globals().get("OBS_FILE", "obs.json"), "w") as _f:
    _json.dump(obs, _f, indent=1, sort_keys=True, default=repr)
"""


def with_dump(body: str) -> str:
    """``body`` (dedented) followed by the dump of its ``obs`` dict."""
    return textwrap.dedent(body).lstrip("\n") + DUMP


def check(
    case: Case,
    script: str,
    *args: str,
    via: str = "cli",
    name: str = "s.py",
    run_as: str | None = None,
    normalise: Normaliser | None = None,
    expect: Callable[[Run], Any] | None = None,
    **kwargs: Any,
) -> tuple[Run, Run]:
    """Write ``script`` (dedented) as ``name`` in the sandbox, run it both ways as
    ``run_as`` (the path given on the command line, default ``name``) with the same
    arguments, cwd, environment, umask and stdin, and assert they match; (reference, yanex
    run). ``expect`` first checks the reference does what the test is about (so a test
    cannot pass by both runs doing nothing)."""
    case.write(name, textwrap.dedent(script).lstrip("\n"))
    ref = case.python(run_as or name, *args, **kwargs)
    if expect is not None:
        expect(ref)
    got = case.run(via, run_as or name, *args, **kwargs)
    assert_same(ref, got, normalise=normalise)
    return ref, got
