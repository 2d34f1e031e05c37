"""Printing dependency graphs for ``yanex get upstream|downstream|lineage``.

The default form draws each connected part as a tree from its roots (experiments that
depend on nothing shown), every experiment under the ones it depends on; an experiment
reached twice is drawn once and then referred to with ``(see above)``. ``<*>`` marks the
experiments asked about; ``<slot>`` names the slot in which the experiment below uses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yanex._core import dependencies

from . import _console, _render

SYMBOLS = {"completed": "✓", "failed": "✗", "cancelled": "✗", "running": "●"}


def _label(graph: dependencies.Graph, node: str, targets: set[str]) -> str:
    if node in targets:
        return "<*> "
    slots = [slot for dep, _child, slot in graph.edges if dep == node]
    return f"<{slots[0]}> " if slots else ""


def _describe(graph: dependencies.Graph, node: str) -> str:
    rec = graph.nodes.get(node)
    if rec is None:
        return f"{node} (missing) ✗"
    script = Path(rec.summary.script_path or "").name or "-"
    return f"{node} {rec.name or '(unnamed)'} ({script}) {SYMBOLS.get(rec.status, '○')}"


def tree_lines(graph: dependencies.Graph, targets: set[str]) -> list[list[str]]:
    """The drawing, one list of lines per tree."""
    order = graph.topological_ids()
    children: dict[str, list[str]] = {n: [] for n in order}
    has_parent = set()
    for dep, child, _slot in graph.edges:
        if child not in children[dep]:
            children[dep].append(child)
        has_parent.add(child)
    for kids in children.values():
        kids.sort(key=order.index)
    drawer = _Drawer(graph, children, targets)
    trees = []
    for root in (n for n in order if n not in has_parent):
        drawer.lines = []
        drawer.walk(root, "", None)
        trees.append(drawer.lines)
    return trees


class _Drawer:
    def __init__(
        self, graph: dependencies.Graph, children: dict[str, list[str]], targets: set[str]
    ) -> None:
        self.graph, self.children, self.targets = graph, children, targets
        self.drawn: set[str] = set()
        self.lines: list[str] = []

    def walk(self, node: str, prefix: str, last: bool | None) -> None:
        branch = "" if last is None else ("└─" if last else "├─")
        label = _label(self.graph, node, self.targets)
        line = f"{prefix}{branch}• {label}{_describe(self.graph, node)}"
        if node in self.drawn:
            self.lines.append(f"{line} (see above)")
            return
        self.drawn.add(node)
        self.lines.append(line)
        below = prefix if last is None else prefix + ("  " if last else "│ ")
        kids = self.children[node]
        for i, kid in enumerate(kids):
            self.walk(kid, below, i == len(kids) - 1)


def as_json(graph: dependencies.Graph, targets: list[str]) -> dict[str, Any]:
    return {
        "targets": targets,
        "nodes": [
            {"id": n, "name": rec.name, "status": rec.status}
            if (rec := graph.nodes.get(n)) is not None
            else {"id": n, "name": None, "status": "missing"}
            for n in graph.topological_ids()
        ],
        "edges": [{"from": d, "to": c, "slot": s} for d, c, s in graph.edges],
    }


def emit(graph: dependencies.Graph, targets: list[str], fmt: str) -> None:
    if fmt == "json":
        _render.json_out(as_json(graph, targets))
    elif fmt == "csv":
        _render.csv_out(["from", "to", "slot"], graph.edges)
    elif fmt == "markdown":
        _render.markdown_out(["From", "To", "Slot"], graph.edges)
    elif fmt == "sweep":
        ids = [n for n in graph.topological_ids() if n not in targets and n in graph.nodes]
        _render.raw(",".join(ids))
    else:
        _console.echo("<*> marks the experiments asked about.")
        for lines in tree_lines(graph, set(targets)):
            _console.echo()
            for line in lines:
                _console.echo(line)
