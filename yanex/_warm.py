"""Inside a prepared interpreter: preload the Run API, wait for the release, leave no trace.

The pool path starts ``python -u script args`` ahead of need, exactly as the exec path would
start it at the moment of the call (same argv, environment, working directory, umask, stdin,
stdout and stderr), with two start-up variables added: ``PYTHONPATH`` gets ``yanex/_boot``
in front, so that Python imports the hook ``yanex/_boot/sitecustomize.py`` at the end of its
start-up; and ``YANEX_WARM_FD`` names the pipe the release comes through. The hook imports
``PRELOAD`` while the supervisor creates the experiment, then blocks on that pipe.

The release carries the experiment's ``YANEX_*`` variables and the caller's own
``PYTHONPATH``. They go into ``os.environ`` (so the script's children inherit them), the
hook's folder leaves ``sys.path``, the site's own ``sitecustomize`` (if any) runs as it
would have, and then Python runs the script itself. ``__main__``, ``sys.path[0]``, the stack,
tracebacks, the exit status, teardown and the hash seed are therefore the interpreter's own,
not an imitation. What remains different: ``/proc/PID/environ`` (the environment the process
was started with) and the preloaded modules in ``sys.modules``.

End-of-file without a release (the supervisor went away, or the launch was dropped) ends the
process at once with ``os._exit``: nothing of the script ever ran.

The release is a flat NUL-separated list, so that reading it imports nothing (no ``json``):
``S key value`` sets a variable, ``U key`` unsets one, ``P value`` restores ``PYTHONPATH``
(``P`` alone: it was unset).
"""

from __future__ import annotations

import os
import sys

ENV_WARM_FD = "YANEX_WARM_FD"  # = _context.ENV_WARM_FD (this module imports no yanex)
BOOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_boot")

# What a prepared interpreter imports while it waits: the Run API a tracked script uses.
# The rule for this list: nothing in it may, when imported, start a thread, touch a GPU,
# open a file or socket that stays open, write to stdout or stderr, or read the clock or
# random state into module globals. A script must not be able to tell that these were
# imported early, except by finding them in sys.modules.
PRELOAD = ("yanex._api",)


def encode_release(set_vars: dict[str, str], unset: list[str], pythonpath: str | None) -> bytes:
    """The release message for ``hold`` (see the module docstring)."""
    words: list[str] = []
    for key, value in set_vars.items():
        words += ["S", key, value]
    for key in unset:
        words += ["U", key]
    words += ["P"] if pythonpath is None else ["P", pythonpath]
    return b"\0".join(os.fsencode(w) for w in words) + b"\0"


def hold(hook_name: str) -> None:
    """Called by the start-up hook: preload, wait, apply the release, chain the real hook."""
    fd = int(os.environ.pop(ENV_WARM_FD))
    preloaded = _preload()
    data = _read_all(fd)
    if not data:
        os._exit(0)
    _apply(data)
    if not preloaded:  # a script that does not use yanex finds no trace of it either
        for name in ("yanex._warm", "yanex"):
            sys.modules.pop(name, None)
    _chain_sitecustomize(hook_name)


def _preload() -> bool:
    """Import ``PRELOAD`` if the script will want it; True if it was imported."""
    # Verbose or import-time tracing would print our imports as the script's output.
    if sys.flags.verbose or "importtime" in sys._xoptions:
        return False
    if os.environ.get("PYTHONPROFILEIMPORTTIME"):
        return False
    if not _script_uses_yanex():
        return False
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001  the script imports what it needs itself
                return True
    return True


def _script_uses_yanex() -> bool:
    """Worth preloading: the script calls into yanex (``yanex.something``, or ``from yanex
    import``: a bare ``import yanex`` costs nothing to import, and preloading for it would be
    wasted work), and it has no copy of yanex beside it (python would import that one)."""
    if not sys.argv or not sys.argv[0]:
        return False
    script = os.path.realpath(sys.argv[0])
    if os.path.exists(os.path.join(os.path.dirname(script), "yanex")):
        return False
    try:
        with open(script, "rb") as fh:
            source = fh.read(1 << 20)
    except OSError:
        return False
    return b"yanex." in source or b"from yanex import" in source


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _apply(data: bytes) -> None:
    words = [os.fsdecode(w) for w in data.split(b"\0")[:-1]]
    i = 0
    while i < len(words):
        op = words[i]
        if op == "S":
            os.environ[words[i + 1]] = words[i + 2]
            i += 3
        elif op == "U":
            os.environ.pop(words[i + 1], None)
            i += 2
        elif op == "P" and i + 1 < len(words):
            os.environ["PYTHONPATH"] = words[i + 1]
            i += 2
        else:  # a lone "P": PYTHONPATH was not set
            os.environ.pop("PYTHONPATH", None)
            i += 1
    boot = os.path.normcase(BOOT_DIR)
    sys.path[:] = [p for p in sys.path if os.path.normcase(os.path.abspath(p)) != boot]
    for entry in [p for p in sys.path_importer_cache if p and os.path.normcase(p) == boot]:
        del sys.path_importer_cache[entry]


def _chain_sitecustomize(name: str) -> None:
    """Run the ``sitecustomize`` the site would have run, as ``site`` runs it.

    The import of our hook then ends either with that module in its place, or with an
    ImportError naming ``sitecustomize``, which ``site`` ignores and which takes our
    module out of ``sys.modules``: as if no hook had existed.
    """
    spec = None
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is not None:
            spec = find_spec(name, None)
            if spec is not None:
                break
    if spec is None or spec.loader is None:
        raise ImportError(f"No module named {name!r}", name=name)
    bootstrap = sys.modules["_frozen_importlib"]
    module = bootstrap.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001  site.py catches any error of a sitecustomize too
        if sys.flags.verbose:
            sys.excepthook(*sys.exc_info())
        else:  # site's own words for a failing sitecustomize
            sys.stderr.write(
                "Error in sitecustomize; set PYTHONVERBOSE for traceback:\n"
                f"{err.__class__.__name__}: {err}\n"
            )
        raise ImportError(f"No module named {name!r}", name=name) from None
