"""What the script sees of itself and of its interpreter: argv, __main__, sources, pickles,
warnings, flags, stdio, signal dispositions, open files."""

from __future__ import annotations

import signal

import pytest

from tests.launch.differential.harness import (
    DUMP,
    Case,
    Run,
    assert_same,
    base_env,
    check,
    with_dump,
)

IDENTITY = (
    """
import sys
names_at_start = sorted(globals())
import inspect, os
main = sys.modules["__main__"]
obs = {
    "names_at_start": names_at_start,
    "argv": sys.argv,
    "orig_argv": sys.orig_argv,
    "executable": sys.executable,
    "file": __file__,
    "name": __name__,
    "doc": __doc__,
    "cached": __cached__,
    "builtins": type(__builtins__).__name__,
    "path": sys.path,
    "main_is_globals": main.__dict__ is globals(),
    "main_file": getattr(main, "__file__", None),
    "main_spec": repr(main.__spec__),
    "main_loader": type(main.__loader__).__name__,
    "main_package": main.__package__,
    "stack": [(f.filename, f.function) for f in inspect.stack()],
    "prefix": [sys.prefix, sys.base_prefix, sys.exec_prefix],
    "environ": dict(os.environ),
    "cwd": os.getcwd(),
}
"""
    + DUMP
)


@pytest.mark.parametrize("via", ["cli", "run_multiple", "aio_as_completed", "staged"])
def test_identity_of_main(case: Case, via: str) -> None:
    """sys.argv (argv[0] as given), sys.orig_argv, __file__, __name__, sys.path, and the
    __main__ module's attributes are python's own."""

    def expect(ref: Run) -> None:
        assert ref.obs["obs.json"]["argv"] == ["s.py", "a b", "-x", "--flag=1", "é"]

    check(case, IDENTITY, "a b", "-x", "--flag=1", "é", via=via, expect=expect)


@pytest.mark.parametrize("via", ["sweep-j2", "run_multiple"])
def test_experiments_of_a_parallel_sweep(case: Case, via: str) -> None:
    """Each experiment of a sweep run two at a time (and of run_multiple, parallel=2) is
    python's: identity, environment, cwd, and a buffered file left open is flushed."""
    case.write("s.py", IDENTITY + 'out = open("out.txt", "w")\nout.write("kept\\n")\n')
    ref = case.python("s.py", "arg")
    assert ref.files["out.txt"][2] == b"kept\n"
    if via == "sweep-j2":
        runs = case.cli("s.py", "arg", options=["-p", "i=list(1, 2, 3)", "-j", "2"])
    else:
        runs = case.drive([["run", [["s.py", ["arg"]]] * 3, 2]], via)
    assert len(runs) == 3
    assert_same(ref, runs)


ODD_ARGS = {
    "text": ["", "two\nlines", "--", "-p", "x=list(1,2)", "*", "$HOME", "\\", "é"],
    "non-utf8": ["caf\udce9"],  # the byte 0xE9, as a shell passes it
}


@pytest.mark.parametrize("via", ["cli", "run_multiple"])
@pytest.mark.parametrize("kind", list(ODD_ARGS))
def test_unusual_arguments(case: Case, via: str, kind: str) -> None:
    """Empty arguments, newlines, "--", option-like and shell-like text, and a non-UTF-8
    byte reach sys.argv unchanged."""
    args = ODD_ARGS[kind]

    def expect(ref: Run) -> None:
        assert ref.obs["obs.json"]["argv"] == ["s.py", *args]

    check(
        case,
        with_dump("import sys\nobs = {'argv': sys.argv, 'orig_argv': sys.orig_argv}\n"),
        *args,
        via=via,
        expect=expect,
    )


def test_getsource_and_code_locations(case: Case) -> None:
    """inspect.getsource of the script's functions and classes, their code filenames and
    line numbers, and the traceback module's view of the stack."""

    def expect(ref: Run) -> None:
        assert ref.obs["obs.json"]["src"] == 'def answer():\n    """The answer."""\n    return 42\n'

    check(
        case,
        with_dump('''
        import inspect, traceback
        def answer():
            """The answer."""
            return 42
        class Model:
            def forward(self):
                return answer()
        obs = {
            "src": inspect.getsource(answer),
            "cls": inspect.getsource(Model),
            "sourcefile": inspect.getsourcefile(answer),
            "module": inspect.getmodule(answer).__name__,
            "code": [answer.__code__.co_filename, answer.__code__.co_firstlineno],
            "qualname": Model.forward.__qualname__,
            "extract_stack": [tuple(f)[:3] for f in traceback.extract_stack()],
        }
        '''),
        expect=expect,
    )


@pytest.mark.parametrize("via", ["cli", "run_multiple"])
def test_pickle_classes_and_functions_of_the_script(case: Case, via: str) -> None:
    """Objects of classes and functions the script defines pickle as ``__main__.X`` (same
    bytes), and a new process running the script unpickles them."""

    def expect(ref: Run) -> None:
        assert ref.stdout == b"8\nloaded __main__ 5 42\n"

    check(
        case,
        """
        import pickle, subprocess, sys
        class Point:
            def __init__(self, x):
                self.x = x
        def double(v):
            return 2 * v
        if sys.argv[1:] == ["load"]:
            with open("p.pkl", "rb") as f:
                point, fn = pickle.load(f)
            print("loaded", type(point).__module__, point.x, fn(21))
            sys.exit(0)
        data = pickle.dumps((Point(5), double))
        with open("p.pkl", "wb") as f:
            f.write(data)
        print(pickle.loads(data)[1](4))
        subprocess.run([sys.executable, sys.argv[0], "load"], check=True)
        """,
        via=via,
        expect=expect,
    )


def test_import_of_a_sibling_module(case: Case) -> None:
    """A module next to the script is imported from sys.path[0], and (without
    PYTHONDONTWRITEBYTECODE) its .pyc is written as python writes it."""
    case.write("helper.py", "VALUE = 7\nprint('helper imported as', __name__)\n")

    def expect(ref: Run) -> None:
        assert any(name.startswith("__pycache__/helper.") for name in ref.files)

    check(
        case,
        with_dump("""
        import helper, sys
        obs = {"file": helper.__file__, "value": helper.VALUE, "cached": helper.__cached__,
               "dont_write_bytecode": sys.dont_write_bytecode}
        """),
        env=base_env(PYTHONDONTWRITEBYTECODE=None),
        expect=expect,
    )


def test_deprecation_warning_in_main_is_shown(case: Case) -> None:
    """The default filters show DeprecationWarning issued in __main__ (and UserWarning), and
    hide it from other modules; stderr is byte-identical."""

    def expect(ref: Run) -> None:
        assert b"DeprecationWarning: old api" in ref.stderr
        assert b"from elsewhere" not in ref.stderr

    check(
        case,
        with_dump("""
        import sys, warnings
        warnings.warn("old api", DeprecationWarning)
        def f():
            warnings.warn("in a function", DeprecationWarning)
        f()
        warnings.warn("pending", PendingDeprecationWarning)
        warnings.warn("plain", UserWarning)
        exec(compile("import warnings; warnings.warn('from elsewhere', DeprecationWarning)",
                     "other.py", "exec"), {"__name__": "other"})
        obs = {"filters": [repr(f) for f in warnings.filters], "warnoptions": sys.warnoptions}
        """),
        expect=expect,
    )


FLAGS = (
    """
import gc, sys, threading
def stream(s):
    return {"type": type(s).__name__, "encoding": s.encoding, "errors": s.errors,
            "line_buffering": s.line_buffering, "write_through": s.write_through,
            "buffer": type(getattr(s, "buffer", None)).__name__,
            "raw": type(getattr(getattr(s, "buffer", None), "raw", None)).__name__,
            "isatty": s.isatty(), "fileno": s.fileno(), "name": s.name}
obs = {
    "flags": {name: getattr(sys.flags, name) for name in dir(sys.flags)
              if not name.startswith(("_", "n_")) and name not in ("count", "index")},
    "dont_write_bytecode": sys.dont_write_bytecode,
    "pycache_prefix": sys.pycache_prefix,
    "stdin": stream(sys.stdin), "stdout": stream(sys.stdout), "stderr": stream(sys.stderr),
    "same_as_dunder": [sys.stdin is sys.__stdin__, sys.stdout is sys.__stdout__,
                       sys.stderr is sys.__stderr__],
    "recursionlimit": sys.getrecursionlimit(),
    "switchinterval": sys.getswitchinterval(),
    "gc": [gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()],
    "threads": [t.name for t in threading.enumerate()],
    "main_thread": threading.current_thread() is threading.main_thread(),
    "hooks": [sys.excepthook is sys.__excepthook__, sys.displayhook is sys.__displayhook__,
              sys.breakpointhook is sys.__breakpointhook__, threading.excepthook is
              threading.__excepthook__, sys.unraisablehook is sys.__unraisablehook__],
    "trace": [sys.gettrace() is None, sys.getprofile() is None],
    "exc": repr(sys.exc_info()),
    "int_max_str_digits": sys.get_int_max_str_digits(),
    "meta_path": [type(f).__name__ if not isinstance(f, type) else f.__name__
                  for f in sys.meta_path],
    "path_hooks": [repr(h).split(" at ")[0] for h in sys.path_hooks],
    "audit_hooks_test": None,
}
import faulthandler, logging
obs["faulthandler"] = faulthandler.is_enabled()
obs["logging"] = [repr(h) for h in logging.root.handlers] + [logging.root.level]
obs["loggers"] = sorted(logging.root.manager.loggerDict)
"""
    + DUMP
)


@pytest.mark.parametrize("plain", [False, True], ids=["shell-env", "plain-env"])
def test_flags_stdio_and_interpreter_state(case: Case, plain: bool) -> None:
    """sys.flags (hash randomisation, utf8 mode...), the unbuffered stdio objects, GC, threads,
    hooks, import machinery and logging are those of a fresh ``python -u``; with and
    without PYTHONUNBUFFERED/PYTHONDONTWRITEBYTECODE in the caller's environment."""
    env = base_env(PYTHONUNBUFFERED=None, PYTHONDONTWRITEBYTECODE=None) if plain else base_env()

    def expect(ref: Run) -> None:
        obs = ref.obs["obs.json"]
        assert obs["stdout"]["write_through"] and obs["threads"] == ["MainThread"]

    check(case, FLAGS, env=env, expect=expect)


IGNORED_BY_CALLER = {
    "default": (),
    "nohup": (signal.SIGHUP,),  # nohup yanex run s.py
    "background": (signal.SIGINT, signal.SIGQUIT),  # a job started with & by a script
}


@pytest.mark.parametrize("caller", list(IGNORED_BY_CALLER))
def test_signal_dispositions_mask_and_open_files(case: Case, caller: str) -> None:
    """The script starts with python's signal handlers (and the signals its caller ignores
    still ignored, as exec keeps them), an empty blocked-signal mask, the file descriptors
    python has (0, 1, 2 only) and the caller's resource limits."""
    ignored = IGNORED_BY_CALLER[caller]

    def ignore() -> None:
        for signum in ignored:
            signal.signal(signum, signal.SIG_IGN)

    def expect(ref: Run) -> None:
        assert ref.obs["obs.json"]["fds"] == ["0", "1", "2"]
        handlers = ref.obs["obs.json"]["handlers"]
        assert all(handlers[s.name] == "<Handlers.SIG_IGN: 1>" for s in ignored), handlers

    check(
        case,
        with_dump("""
        import os, resource, signal
        fds = sorted(os.listdir("/proc/self/fd"), key=int)[:-1]  # the last is listdir's own
        obs = {
            "handlers": {s.name: repr(signal.getsignal(s)) for s in signal.valid_signals()
                         if isinstance(s, signal.Signals) and s.name not in ("SIGKILL", "SIGSTOP")},
            "blocked": sorted(str(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
            "fds": fds,
            "fd_kinds": {fd: os.readlink(f"/proc/self/fd/{fd}").split(":")[0] for fd in fds},
            "rlimits": {name: resource.getrlimit(getattr(resource, name)) for name in
                        ("RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_STACK", "RLIMIT_NPROC")},
            "nice": os.nice(0),
            "alarm": signal.alarm(0),
            "itimer": signal.getitimer(signal.ITIMER_REAL),
        }
        """),
        expect=expect,
        preexec_fn=ignore,
    )


@pytest.mark.parametrize("via", ["cli", "run_multiple"])
def test_output_bytes_and_order(case: Case, via: str) -> None:
    """Unbuffered stdio: text, raw os.write, binary and undecodable bytes, a long line and
    a missing final newline all arrive in order, byte for byte."""

    def expect(ref: Run) -> None:
        assert ref.stdout.startswith(b"line1\nno newline|raw|\xff\xfe\x00bin\n")

    check(
        case,
        """
        import os, sys
        print("line1")
        sys.stderr.write("err1\\n")
        sys.stdout.write("no newline")
        os.write(1, b"|raw|")
        sys.stdout.buffer.write(b"\\xff\\xfe\\x00bin\\n")
        print("é ü ✓ \\udcff".encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        sys.stdout.write("x" * 100000 + "\\n")
        for percent in (0, 50, 100):  # a progress bar redrawn in place
            sys.stderr.write(f"\\rprogress {percent:3d}%")
        sys.stderr.write("\\n")
        os.write(2, b"raw err ")
        print("end", end="")
        sys.stderr.write("err-end")
        """,
        via=via,
        expect=expect,
    )


def test_grandchild_shares_stdout_and_stderr(case: Case) -> None:
    """Processes the script starts write to the same stdout and stderr, in order."""

    def expect(ref: Run) -> None:
        assert ref.stdout == b"before\nchild out\nafter\n" and ref.stderr == b"child err\n"

    check(
        case,
        """
        import subprocess
        print("before")
        subprocess.run(["sh", "-c", "echo child out; echo child err >&2"], check=True)
        print("after")
        """,
        expect=expect,
    )


def test_source_encoding_cookie(case: Case) -> None:
    """A script saved in Latin-1 with a coding declaration is decoded by it."""
    source = "# -*- coding: latin-1 -*-\nword = 'caf\u00e9'\nprint(ascii(word), len(word))\n"

    def expect(ref: Run) -> None:
        assert ref.stdout == b"'caf\\xe9' 4\n"

    case.write("s.py", source.encode("latin-1"))
    ref = case.python("s.py")
    expect(ref)
    assert_same(ref, case.run("cli", "s.py"))
