"""The interactive ``yanex compare``: a Textual table to move around, sort, filter and export.

Keys follow the documented ones: arrows or hjkl move, Home/End and PageUp/PageDown jump,
``s``/``S`` sort the current column as text (ascending/descending), ``1``/``2`` as
numbers, ``R`` reverses, ``r`` resets to the start-time order, ``/`` filters rows by text
(Escape clears), ``e`` exports the rows in view to a CSV file, ``?`` shows the keys, and
``q`` or Ctrl-C quits. Values keep their exact form in the export; the table shows them
as the static table does (long floats rounded, missing ones as ``-``).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, Static

from . import _render

HELP = (
    "arrows/hjkl move · Home/End/PgUp/PgDn jump · s/S sort asc/desc · 1/2 numeric sort · "
    "R reverse · r reset · / filter (Esc clears) · e export CSV · q quit"
)


class _Table(DataTable[str]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "cursor_left", show=False),
        Binding("j", "cursor_down", show=False),
        Binding("k", "cursor_up", show=False),
        Binding("l", "cursor_right", show=False),
    ]


def _number(value: Any) -> tuple[int, float]:
    """Numeric sort key: numbers first, in order; anything else after them."""
    if isinstance(value, bool):
        return (1, 0.0)
    if isinstance(value, int | float):
        return (0, float(value))
    try:
        return (0, float(str(value)))
    except ValueError:
        return (1, 0.0)


def _missing(value: Any) -> bool:
    return value is None or value == "-"


class CompareApp(App[None]):
    """Rows of experiments with the documented keys; ``export_dir`` receives the CSV files."""

    TITLE = "yanex compare"
    CSS = "#filter { display: none; } #filter.shown { display: block; } #status { height: 1; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", show=False, priority=True),
        Binding("s", "sort(False, False)", "Sort ↑"),
        Binding("S", "sort(True, False)", "Sort ↓"),
        Binding("1", "sort(False, True)", "Num ↑", show=False),
        Binding("2", "sort(True, True)", "Num ↓", show=False),
        Binding("R", "reverse", "Reverse", show=False),
        Binding("r", "reset", "Reset"),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", show=False),
        Binding("e", "export", "Export CSV"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(
        self, headers: Sequence[str], rows: Sequence[Sequence[Any]], export_dir: Path
    ) -> None:
        super().__init__()
        self.headers = list(headers)
        self.all_rows = [list(r) for r in rows]
        self.view = list(self.all_rows)
        self.export_dir = export_dir
        self.sort_col: int | None = None
        self.descending = False
        self.numeric = False
        self.filter_text = ""
        self.last_export: Path | None = None

    def compose(self) -> ComposeResult:
        yield _Table(id="table", zebra_stripes=True, cursor_type="cell")
        yield Input(placeholder="filter rows (Enter keeps, Esc clears)", id="filter")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.refill()
        self.query_one(_Table).focus()

    # --- what is shown ----------------------------------------------------------------

    def _label(self, i: int) -> str:
        if i != self.sort_col:
            return self.headers[i]
        return f"{self.headers[i]} {'↓' if self.descending else '↑'}"

    def refill(self) -> None:
        table = self.query_one(_Table)
        row, col = table.cursor_coordinate
        table.clear(columns=True)
        table.add_columns(*(self._label(i) for i in range(len(self.headers))))
        for cells in self.view:
            table.add_row(*(_render.cell(v) if not _missing(v) else "-" for v in cells))
        if self.view:
            table.move_cursor(row=min(row, len(self.view) - 1), column=col)
        shown = f"{len(self.view)} of {len(self.all_rows)} experiments"
        extra = f" · filter: {self.filter_text}" if self.filter_text else ""
        self.query_one("#status", Static).update(shown + extra + " · ? for keys")

    def _apply(self) -> None:
        text = self.filter_text.lower()
        rows = [
            r for r in self.all_rows if not text or any(text in _render.text(v).lower() for v in r)
        ]
        if self.sort_col is not None:
            rows = self._sorted(rows)
        self.view = rows
        self.refill()

    def _sorted(self, rows: list[list[Any]]) -> list[list[Any]]:
        col = self.sort_col
        assert col is not None
        present = [r for r in rows if not _missing(r[col])]
        absent = [r for r in rows if _missing(r[col])]  # missing values always last
        key = (lambda r: _number(r[col])) if self.numeric else (lambda r: _render.text(r[col]))
        return sorted(present, key=key, reverse=self.descending) + absent

    # --- actions ----------------------------------------------------------------------

    def action_sort(self, descending: bool, numeric: bool) -> None:
        self.sort_col = self.query_one(_Table).cursor_coordinate.column
        self.descending = descending
        self.numeric = numeric
        self._apply()

    def action_reverse(self) -> None:
        if self.sort_col is None:
            self.view.reverse()
            self.refill()
            return
        self.descending = not self.descending
        self._apply()

    def action_reset(self) -> None:
        self.sort_col = None
        self.descending = False
        self._apply()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.value = self.filter_text
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._apply()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.remove_class("shown")
        self.query_one(_Table).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("shown")
        if self.filter_text:
            self.filter_text = ""
            self._apply()
        self.query_one(_Table).focus()

    def action_export(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.export_dir / f"yanex-compare-{stamp}.csv"
        n = 1
        while path.exists():
            n += 1
            path = self.export_dir / f"yanex-compare-{stamp}-{n}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([h.removeprefix("📊 ").removeprefix("📈 ") for h in self.headers])
            writer.writerows([[_render.text(v) for v in row] for row in self.view])
        self.last_export = path
        self.notify(f"Wrote {len(self.view)} rows to {path}")

    def action_help(self) -> None:
        self.notify(HELP, title="Keys", timeout=10)


async def run(headers: Sequence[str], rows: Sequence[Sequence[Any]], export_dir: Path) -> None:
    """Show the table until the user quits (on the running asyncio loop)."""
    await CompareApp(headers, rows, export_dir).run_async()
