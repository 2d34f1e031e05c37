"""The layer map of yanex holds: every import under ``yanex/`` points down the map.

Every ``import`` statement counts, at module level, inside functions (lazy imports) and under
``if TYPE_CHECKING:``. A module may import its own group (``_core`` modules import each other)
and any group of a lower layer, never one of its own layer or above. README.md, "Layout of
the code", draws the same map; ``make lint`` runs this file.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "yanex"

# Top to bottom. Groups in one layer are independent of each other.
LAYERS: list[set[str]] = [
    {"yanex.__main__"},  # python -m yanex
    {"yanex._cli"},  # the command line (it serves _ui for ``yanex ui``)
    {"yanex", "yanex.aio", "yanex._ui"},  # the faces: blocking, async, web
    {"yanex._contexts"},  # ExperimentContext / AsyncExperimentContext, methods from _api
    {"yanex._api"},  # the one implementation of each Run API function
    {"yanex.results"},  # the query face; the Run API returns its Experiment objects
    {"yanex._core"},  # lifecycle, params, artifacts, runs, batches, queries; launchers (below)
    {"yanex._supervise", "yanex._store", "yanex._portal"},  # processes, files, sync<->async
    {"yanex._spawner", "yanex._sinks"},  # launch paths; output sinks of the supervisor
    {"yanex._spawnd"},  # the spawner process, parent of every child
    {"yanex._start"},  # how the spawner starts one child (exec, or a prepared interpreter)
    {"yanex._platform", "yanex._boot"},  # Linux-only calls; the prepared interpreter's hook
    # Leaves: they import nothing of yanex but the exception tree (spec errors, env names).
    {"yanex._context", "yanex._models", "yanex._records", "yanex._jobctl"},
    {"yanex.errors", "yanex._warm"},  # import nothing of yanex; _warm: stdlib only (below)
]

# Run inside the user's script's interpreter before the script starts: only the stdlib at
# module level (``_warm`` preloads ``yanex._api`` by name, on purpose, once released).
STDLIB_ONLY_AT_MODULE_LEVEL = {"yanex._warm": set(), "yanex._boot": {"yanex._warm"}}

# ``yanex.__version__`` is a constant: reading it imports nothing beyond the package itself.
CONSTANTS = {"yanex.__version__"}

# Packages that are one group with another: the launchers are the core's way to run
# experiments elsewhere (_core/cluster.py submits through _launchers/slurm.py), and what a
# Slurm job runs on its node (_launchers/slurm_job.py) is the core's child runner there.
SAME_GROUP = {"yanex._launchers": "yanex._core"}

RANK = {group: rank for rank, layer in enumerate(LAYERS) for group in layer}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    root = PACKAGE.parent
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def _group(name: str) -> str | None:
    """The map's group of a yanex module (longest matching prefix); None if unplaced."""
    if name == "yanex":  # the package itself is the blocking face, not all of yanex
        return name
    parts = name.split(".")
    for n in range(len(parts), 1, -1):
        prefix = ".".join(parts[:n])
        if prefix in RANK or prefix in SAME_GROUP:
            return SAME_GROUP.get(prefix, prefix)
    return None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    """The yanex modules (or ``yanex.<constant>``) an import statement loads."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    for alias in node.names:
        full = f"{base}.{alias.name}"
        yield full if _is_module(full) or full in CONSTANTS else base


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _targets(node, module, is_package):
                yield node.lineno, target


def _module_level(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported (not inside functions)."""
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))


def _sources() -> list[tuple[str, Path]]:
    return sorted((_module_name(p), p) for p in PACKAGE.rglob("*.py"))


def _check(module: str, tree: ast.AST, is_package: bool) -> list[str]:
    """The imports of ``module`` that go against the map."""
    group = _group(module)
    if group is None:
        return [f"{module}: not in the layer map (add it to LAYERS and to README.md)"]
    out = []
    for lineno, target in _imports(tree, module, is_package):
        if target in CONSTANTS or not (target == "yanex" or target.startswith("yanex.")):
            continue
        wanted = _group(target)
        if wanted is None or (wanted != group and RANK[wanted] <= RANK[group]):
            out.append(f"{module}:{lineno} imports {target} ({group} -> {wanted})")
    return out


def _violations() -> list[str]:
    out = []
    for module, path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        out += _check(module, tree, path.name == "__init__.py")
    return out


def test_every_import_points_down_the_layer_map() -> None:
    """No module of yanex imports one of its own layer or above, lazily, under TYPE_CHECKING
    or at module level; every module has a place in the map."""
    assert _violations() == []


@pytest.mark.parametrize("group", sorted(STDLIB_ONLY_AT_MODULE_LEVEL))
def test_prepared_interpreter_code_imports_only_the_stdlib(group: str) -> None:
    """What runs in the user's interpreter before the script imports only the standard
    library at module level (and the boot hook, ``_warm``)."""
    allowed = STDLIB_ONLY_AT_MODULE_LEVEL[group]
    for module, path in _sources():
        if _group(module) != group:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _module_level(tree):
            for target in _targets(node, module, path.name == "__init__.py"):
                top = target.split(".")[0]
                assert top in sys.stdlib_module_names or target in allowed, (module, target)


def test_the_check_catches_upward_imports() -> None:
    """The check itself works: a TYPE_CHECKING import, a lazy one, a relative one and one of
    a sibling layer are each reported; downward ones and the stdlib are not."""
    source = (
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "from yanex._store import fs\n"
        "from yanex import _context\n"
        "if TYPE_CHECKING:\n    from yanex.results import Experiment\n"
        "def f():\n    from yanex import _api\n    from .. import aio\n"
    )
    found = _check("yanex._core.fake", ast.parse(source), is_package=False)
    assert [line.split(" imports ")[1].split()[0] for line in found] == [
        "yanex.results",
        "yanex._api",
        "yanex.aio",
    ]
    assert _check("yanex._store.fake", ast.parse("from yanex import _portal"), False)
    assert _check("yanex.fake", ast.parse("import os"), False)  # unplaced module
