"""Catching mistyped options and commands: the nearest known name, by edit distance.

``yanex run`` hands unknown options to the script (``yanex run train.py --fold 0``), so a
typo of one of its own options (``--dryrun``) would silently run the experiment. An unknown
option before ``--`` that is within a small edit distance of a ``yanex run`` option is
refused instead; anything after ``--`` always goes to the script.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import asyncclick as click

from . import _console


def distance(a: str, b: str, *, substitution: int = 1) -> int:
    """Edit distance counting insertions, deletions, substitutions (at the given cost) and
    swaps of neighbours."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + substitution * (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _close(word: str, name: str) -> int | None:
    """How far ``word`` is from ``name`` when close enough to be its typo, else None.

    Two-letter names allow only a swap; short names (``--tag``, ``--name``) one missing,
    extra or swapped character but no replaced one, so a script's ``--tau`` is not taken
    for ``--tag``; names up to 7 characters allow one edit, longer ones two.
    """
    size = len(name.lstrip("-"))
    if size <= 2:  # --id: only a swap (a script's --idx is not a typo of it)
        d = distance(word, name, substitution=2)
        return d if d <= 1 and len(word) == len(name) else None
    if size <= 4:
        d = distance(word, name, substitution=2)
        return d if d <= 1 else None
    d = distance(word, name)
    return d if d <= (1 if size <= 7 else 2) else None


def nearest(word: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``word`` when it is close enough, else None."""
    best: tuple[int, str] | None = None
    for name in known:
        d = _close(word, name)
        if d is not None and (best is None or d < best[0]):
            best = (d, name)
    return best[1] if best else None


def _long_options(command: click.Command) -> tuple[set[str], set[str]]:
    """(every option string, those that take a value) of ``command``."""
    names: set[str] = set()
    with_value: set[str] = set()
    for param in command.params:
        if isinstance(param, click.Option):
            opts = [*param.opts, *param.secondary_opts]
            names.update(opts)
            if not param.is_flag and not param.count:
                with_value.update(opts)
    return names, with_value


def check_run_args(command: click.Command, args: Sequence[str]) -> None:
    """Refuse (exit 2) an unknown option before ``--`` that looks like a typo of one of
    ``command``'s own long options; other unknown options are left for the script."""
    names, with_value = _long_options(command)
    long_names = sorted(n for n in names if n.startswith("--"))
    skip = False
    for arg in args:
        if arg == "--":
            return
        if skip:
            skip = False
            continue
        if not arg.startswith("--"):
            skip = arg in with_value  # -p KEY=VALUE: the value is not an option
            continue
        option = arg.split("=", 1)[0]
        if option in names:
            skip = option in with_value and "=" not in arg
            continue
        guess = nearest(option, long_names)
        if guess is not None:
            _console.fail(
                f"unknown option {option}: did you mean {guess}? "
                "(to pass it to the script, put it after --)",
                _console.EXIT_USAGE,
            )


def unknown_command(name: str, known: Iterable[str]) -> str:
    """The message for an unknown command, with the nearest one when there is one."""
    known = list(known)
    guess = nearest(name, known)
    if guess is None:  # a longer slip: fall back on difflib's similarity
        import difflib

        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        guess = close[0] if close else None
    hint = f" Did you mean '{guess}'?" if guess else ""
    return f"No such command '{name}'.{hint}"
