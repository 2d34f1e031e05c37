"""Processes the script starts itself: multiprocessing (spawn, forkserver) and
ProcessPoolExecutor, mapping functions the script defines."""

from __future__ import annotations

import pytest

from tests.launch.differential.harness import Case, Run, check

MULTIPROCESSING = """
import multiprocessing as mp, sys
def square(x):
    return x * x
class Job:
    def __init__(self, n):
        self.n = n
    def run(self):
        return self.n + 1
def call(job):
    return job.run()
if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    with ctx.Pool(2) as pool:
        print(pool.map(square, range(6)))
        print(pool.map(call, [Job(1), Job(2)]))
    child = ctx.Process(target=print, args=("from a child process",))
    child.start()
    child.join()
    print("child exit code", child.exitcode)
"""


@pytest.mark.parametrize(
    ("method", "via"), [("spawn", "cli"), ("spawn", "run_multiple"), ("forkserver", "cli")]
)
def test_multiprocessing_pool(case: Case, method: str, via: str) -> None:
    """A Pool maps functions and instances of classes defined in the script: the children
    re-import the script as ``__mp_main__`` from ``__main__``'s file."""

    def expect(ref: Run) -> None:
        assert ref.returncode == 0, ref.stderr
        assert ref.stdout == (
            b"[0, 1, 4, 9, 16, 25]\n[2, 3]\nfrom a child process\nchild exit code 0\n"
        )

    check(case, MULTIPROCESSING, method, via=via, expect=expect)


def test_process_pool_executor(case: Case) -> None:
    """concurrent.futures.ProcessPoolExecutor with the default start method."""

    def expect(ref: Run) -> None:
        assert (ref.returncode, ref.stdout) == (0, b"[0, 1, 8, 27, 64]\n'__main__'\n"), ref.stderr

    check(
        case,
        """
        from concurrent.futures import ProcessPoolExecutor
        def cube(x):
            return x ** 3
        def where():
            return cube.__module__
        if __name__ == "__main__":
            with ProcessPoolExecutor(2) as ex:
                print(list(ex.map(cube, range(5))))
                print(repr(ex.submit(where).result()))
        """,
        expect=expect,
    )
