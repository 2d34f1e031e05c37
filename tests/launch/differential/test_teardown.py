"""Teardown and threads: what a script leaves when it ends must be what python leaves."""

from __future__ import annotations

import pytest

from tests.launch.differential.harness import Case, Run, base_env, check


@pytest.mark.parametrize(
    ("via", "plain"),
    [
        ("cli", False),
        ("cli", True),
        ("run_multiple", False),
        ("aio_run_multiple", False),
        ("aio_as_completed", True),
        ("staged", False),
    ],
)
def test_unclosed_buffered_file_is_flushed(case: Case, via: str, plain: bool) -> None:
    """The reported bug: a buffered file left open by a script that defines a function
    (with the caller's PYTHONUNBUFFERED/PYTHONDONTWRITEBYTECODE set, and without)."""
    env = base_env(PYTHONUNBUFFERED=None, PYTHONDONTWRITEBYTECODE=None) if plain else base_env()

    def expect(ref: Run) -> None:
        assert ref.files["out.txt"][2] == b"kept\n" * 3

    check(
        case,
        """
        def f(): pass
        out = open("out.txt", "w")
        out.write("kept\\n" * 3)
    """,
        via=via,
        env=env,
        expect=expect,
    )


def test_atexit_handlers_and_weakref_finalizers_run(case: Case) -> None:
    """atexit handlers run last-registered first; weakref.finalize callbacks run at exit."""

    def expect(ref: Run) -> None:
        assert ref.files["atexit.txt"][2] == b"main\nsecond\nfirst\nfinalize\n"

    check(
        case,
        """
        import atexit, weakref
        def log(word):
            with open("atexit.txt", "a") as f:
                f.write(word + "\\n")
        class Thing: pass
        thing = Thing()
        weakref.finalize(thing, log, "finalize")
        atexit.register(log, "first")
        atexit.register(log, "second")
        atexit.register(print, "printed by atexit")
        log("main")
    """,
        expect=expect,
    )


def test_logging_handlers_flushed_at_shutdown(case: Case) -> None:
    """A MemoryHandler holds records until logging.shutdown (at exit) flushes them to a
    FileHandler opened lazily; a logger without handlers falls back to lastResort on stderr."""

    def expect(ref: Run) -> None:
        assert ref.files["log.txt"][2] == b"one\ntwo\n"
        assert ref.stderr == b"last resort\n"

    check(
        case,
        """
        import logging, logging.handlers
        target = logging.FileHandler("log.txt", delay=True)
        held = logging.handlers.MemoryHandler(100, flushLevel=logging.CRITICAL, target=target)
        log = logging.getLogger("app")
        log.addHandler(held)
        log.setLevel(logging.INFO)
        log.info("one")
        log.warning("two")
        logging.getLogger("other").warning("last resort")
    """,
        expect=expect,
    )


def test_module_global_finalised_after_atexit(case: Case) -> None:
    """``__del__`` of a module-global object runs at interpreter teardown, after atexit."""

    def expect(ref: Run) -> None:
        assert ref.files["order.txt"][2] == b"main\natexit\ndel\n"

    check(
        case,
        """
        import atexit
        def log(word):
            with open("order.txt", "a") as f:
                f.write(word + "\\n")
        class Final:
            def __init__(self):
                self.opener = open
            def __del__(self):
                with self.opener("order.txt", "a") as f:
                    f.write("del\\n")
        keep = Final()
        atexit.register(log, "atexit")
        log("main")
    """,
        expect=expect,
    )


def test_non_daemon_thread_is_joined(case: Case) -> None:
    """The main module ends first; python waits for the non-daemon thread before atexit."""

    def expect(ref: Run) -> None:
        assert ref.files["thread.txt"][2] == b"joined\n"
        assert ref.stdout == b"main done\nthread done\natexit after thread\n"

    check(
        case,
        """
        import atexit, threading, time
        def later():
            time.sleep(0.3)
            with open("thread.txt", "w") as f:
                f.write("joined\\n")
            print("thread done")
        atexit.register(print, "atexit after thread")
        threading.Thread(target=later).start()
        print("main done")
    """,
        expect=expect,
    )


def test_daemon_thread_is_not_joined(case: Case) -> None:
    """A daemon thread still sleeping at exit is abandoned: its file is never written."""

    def expect(ref: Run) -> None:
        assert "daemon.txt" not in ref.files and "started.txt" in ref.files

    check(
        case,
        """
        import os, threading, time
        started = threading.Event()
        def forever():
            open("started.txt", "w").close()
            started.set()
            time.sleep(3)
            open("daemon.txt", "w").close()
        threading.Thread(target=forever, daemon=True).start()
        started.wait()
        print("main done")
    """,
        expect=expect,
    )


def test_exception_in_thread_is_reported(case: Case) -> None:
    """threading.excepthook prints the thread's traceback (named "Thread-1 (boom)": the
    thread counter starts at 1 in a fresh interpreter) and the script still exits 0."""

    def expect(ref: Run) -> None:
        assert ref.returncode == 0 and b"Exception in thread Thread-1 (boom):" in ref.stderr

    check(
        case,
        """
        import threading
        def boom():
            raise RuntimeError("in thread")
        t = threading.Thread(target=boom)
        t.start()
        t.join()
        print("main continues")
    """,
        expect=expect,
    )
