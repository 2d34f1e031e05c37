"""The public faces: ``yanex`` and ``yanex.aio`` expose the same Run API with the same
signatures, ``__all__`` is exact, and ``import yanex`` stays light."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys

import pytest

import yanex
import yanex.aio
import yanex.errors

# Every function of the Run API reference (docs/run-api.md), including those of later issues.
SPEC_FUNCTIONS = {
    "get_params",
    "get_param",
    "get_cli_args",
    "is_standalone",
    "has_context",
    "log_metrics",
    "log_results",
    "copy_artifact",
    "save_artifact",
    "load_artifact",
    "artifact_exists",
    "list_artifacts",
    "get_experiment_id",
    "get_status",
    "get_metadata",
    "get_experiment_dir",
    "get_artifacts_dir",
    "execute_bash_script",
    "run_multiple",
    "create_experiment",
    "create_context",
    "completed",
    "fail",
    "cancel",
    "get_dependencies",
    "get_dependency",
    "assert_dependency",
    "get_graph",
}
SPEC_TYPES = {"ExperimentSpec", "ExperimentResult", "ExperimentContextError"}
# The async face returns these for ``async with`` / ``async for`` rather than being coroutines.
NOT_COROUTINES = {"create_experiment", "create_context", "as_completed", "AsyncExperimentContext"}


def _run_api_names() -> list[str]:
    return [n for n in yanex.__all__ if inspect.isfunction(getattr(yanex, n))]


def test_all_covers_the_spec() -> None:
    """yanex.__all__ names every function and type of the Run API reference."""
    assert set(_run_api_names()) >= SPEC_FUNCTIONS
    assert set(yanex.__all__) >= SPEC_TYPES


def test_all_lists_resolvable_public_names() -> None:
    """Every name in the public __all__ lists resolves, is public, and appears once."""
    for module in (yanex, yanex.aio, yanex.errors):
        assert len(module.__all__) == len(set(module.__all__)), module.__name__
        for name in module.__all__:
            assert not name.startswith("_")
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"


def test_public_functions_are_all_listed() -> None:
    """No public function of yanex or yanex.aio is missing from its __all__."""
    for module in (yanex, yanex.aio):
        public = {
            n
            for n, v in vars(module).items()
            if inspect.isfunction(v) and not n.startswith("_") and v.__module__ == module.__name__
        }
        assert public <= set(module.__all__), module.__name__


def _implementation(name: str) -> object:
    """The one implementation of a Run API function: in _api, or in _contexts for the context
    managers (read from the source modules, not from either face)."""
    import yanex._api
    import yanex._contexts

    if name in ("create_experiment", "create_context"):
        return getattr(yanex._contexts, name)
    return getattr(yanex._api, name)


def _contract(fn: object) -> tuple[inspect.Signature, str]:
    return inspect.signature(fn), inspect.getdoc(fn) or ""  # type: ignore[arg-type]


def test_blocking_face_is_the_implementation() -> None:
    """Each Run API function of yanex has the signature and whole docstring of its
    implementation: it is the implementation, or (for coroutines) wraps it."""
    for name in _run_api_names():
        impl, face = _implementation(name), getattr(yanex, name)
        assert face is impl or face.__wrapped__ is impl, name
        assert _contract(face) == _contract(impl), name
        signature, doc = _contract(impl)
        for param in signature.parameters:  # the docstring explains every parameter
            named = re.search(rf"``{param}\b", doc)  # ``param`` or ``param="value"``
            assert named, f"{name}: its docstring does not explain {param}"


def test_async_face_is_derived_from_the_implementation() -> None:
    """Each Run API function of yanex exists in yanex.aio with the implementation's signature
    and docstring; only the async context managers have their own (same parameters)."""
    for name in _run_api_names():
        impl, face = _implementation(name), getattr(yanex.aio, name, None)
        assert face is not None and name in yanex.aio.__all__, f"yanex.aio lacks {name}"
        if name in ("create_experiment", "create_context"):
            params = inspect.signature(face).parameters
            assert params == inspect.signature(impl).parameters, name
            assert "async with" in (face.__doc__ or ""), name
            continue
        assert face is impl or face.__wrapped__ is impl, name
        assert _contract(face) == _contract(impl), name


def test_help_shows_the_whole_contract_on_both_faces() -> None:
    """help() of a Run API function renders the implementation's whole docstring and its
    parameters, on yanex and on yanex.aio."""
    import pydoc

    for name in ("run_multiple", "execute_bash_script", "get_param", "load_artifact"):
        doc = inspect.getdoc(_implementation(name)) or ""
        for face in (yanex, yanex.aio):
            text = pydoc.render_doc(getattr(face, name), renderer=pydoc.plaintext)
            assert all(line.strip() in text for line in doc.splitlines()), (face, name)
            assert str(inspect.signature(_implementation(name))).split(" -> ")[0] in text


def test_context_methods_are_derived_from_the_implementation() -> None:
    """ExperimentContext and AsyncExperimentContext offer the same methods, each with the
    signature (after self) and docstring of the Run API function of that name; the async
    ones are coroutines."""
    import yanex._contexts as contexts

    sync_cls, async_cls = contexts.ExperimentContext, contexts.AsyncExperimentContext
    names = {n for n, v in vars(sync_cls).items() if inspect.isfunction(v) and n[0] != "_"}
    assert names == {n for n, v in vars(async_cls).items() if inspect.isfunction(v)} - {
        "__aenter__",
        "__aexit__",
    } - {n for n in vars(async_cls) if n.startswith("_")}
    assert len(names) >= 20
    for name in names:
        impl = getattr(yanex._api, name)
        for cls in (sync_cls, async_cls):
            method = getattr(cls, name)
            params = list(inspect.signature(method).parameters.values())
            assert params[0].name == "self"
            assert params[1:] == list(inspect.signature(impl).parameters.values()), name
            assert method.__doc__ == impl.__doc__, name
        assert inspect.iscoroutinefunction(getattr(async_cls, name)), name
        assert not inspect.iscoroutinefunction(getattr(sync_cls, name)), name
    assert yanex.ExperimentContext is sync_cls and yanex.aio.AsyncExperimentContext is async_cls


def test_async_face_is_awaitable() -> None:
    """Every yanex.aio function is a coroutine function, except the context managers and
    as_completed (an async generator); the blocking face has no coroutine functions."""
    for name in yanex.aio.__all__:
        fn = getattr(yanex.aio, name)
        if name == "as_completed":
            assert inspect.isasyncgenfunction(fn)
        elif name in NOT_COROUTINES:
            assert not inspect.iscoroutinefunction(fn)
        else:
            assert inspect.iscoroutinefunction(fn), name
    for name in _run_api_names():
        assert not inspect.iscoroutinefunction(getattr(yanex, name)), name


def test_errors_derive_from_yanex_error() -> None:
    """Every exception in yanex.errors derives from YanexError, every warning from
    YanexWarning (a Warning, not an error: the docstring draws both trees)."""
    for name in yanex.errors.__all__:
        cls = getattr(yanex.errors, name)
        base = yanex.errors.YanexWarning if issubclass(cls, Warning) else yanex.errors.YanexError
        assert issubclass(cls, base), name
        assert not issubclass(cls, Warning) or not issubclass(cls, yanex.errors.YanexError)
    assert yanex.ExperimentContextError is yanex.errors.ExperimentContextError


PROBE = """
import json, sys, threading
before = set(sys.modules)
import pytest

import yanex
print(json.dumps({"new": sorted(set(sys.modules) - before), "threads": threading.active_count()}))
"""

HEAVY = ("yanex._cli", "asyncclick", "rich", "pandas", "numpy")


def _fresh(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_import_yanex_is_light() -> None:
    """In a fresh interpreter ``import yanex`` loads no CLI, rich, pandas or numpy and starts
    no thread."""
    result = _fresh(PROBE)
    heavy = [m for m in result["new"] if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert heavy == []
    assert result["threads"] == 1
    # nor msgspec or anyio, nor any module of yanex: the faces load on first use
    assert not {"msgspec", "anyio"} & {m.split(".")[0] for m in result["new"]}
    assert [m for m in result["new"] if m.split(".")[0] == "yanex"] == ["yanex"]


def test_standalone_use_stays_light() -> None:
    """Standalone calls of the blocking face start no thread and load no heavy module."""
    code = PROBE.replace(
        "import yanex\n",
        "import yanex\nyanex.log_metrics({'a': 1}); yanex.get_params(); yanex.is_standalone()\n",
    )
    result = _fresh(code)
    assert [m for m in result["new"] if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []
    assert result["threads"] == 1


def test_import_aio_is_light() -> None:
    """``import yanex.aio`` loads no CLI, rich, pandas or numpy and starts no thread either."""
    result = _fresh(PROBE.replace("import yanex\n", "import yanex.aio\n"))
    assert [m for m in result["new"] if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []
    assert result["threads"] == 1


class _Handle:
    """A stand-in experiment handle for ``_context`` (``id`` and ``after_fork``)."""

    id = "feedbeef"

    def after_fork(self) -> None:
        pass


@pytest.mark.anyio
async def test_awaitable_runs_marked_functions_in_a_worker_thread() -> None:
    """_portal.awaitable runs a function marked in_worker_thread off the event loop's
    thread and an unmarked one inline, both with the caller's current experiment; the
    coroutine keeps the function's name, docstring and __wrapped__."""
    import threading

    from yanex import _context, _portal

    seen: dict[str, tuple[int, object]] = {}

    def on_disk() -> None:
        """Reads files."""
        seen["thread"] = (threading.get_ident(), _context.current())

    def in_memory() -> None:
        seen["inline"] = (threading.get_ident(), _context.current())

    handle = _Handle()
    threaded = _portal.awaitable(_portal.in_worker_thread(on_disk))
    with _context.using(handle):
        await threaded()
        await _portal.awaitable(in_memory)()
    assert _context.current() is None  # using() restored the caller's state
    here = threading.get_ident()
    assert seen["thread"][0] != here and seen["thread"][1] is handle
    assert seen["inline"] == (here, handle)
    assert threaded.__wrapped__ is on_disk and threaded.__doc__ == "Reads files."
    assert threaded.__name__ == "on_disk" and inspect.iscoroutinefunction(threaded)
