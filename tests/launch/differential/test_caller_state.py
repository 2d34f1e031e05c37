"""The caller's state at the moment of each call: working directory, environment (locale,
loader path, PYTHON* start-up variables) and umask, for ``yanex run`` and for every call
of the API from a driver that changes them between calls."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.launch.differential.harness import Case, Run, assert_same, base_env, check, with_dump

API_MODES = ["run_multiple", "aio_run_multiple", "aio_as_completed"]
PORTABLE_ON_LINUX = os.environ.get("YANEX_PLATFORM") == "portable" and sys.platform == "linux"

# What a script can tell of its environment, locale, loader path and umask.
ENVIRONMENT = with_dump(
    """
    import ctypes, locale, os, sys
    try:
        ctypes.CDLL("libdifftest.so")
        lib = "loaded"
    except OSError:
        lib = "not found"
    mask = os.umask(0)
    os.umask(mask)
    OBS_FILE = "obs-" + os.environ.get("STAGE", "x") + ".json"
    obs = {
        "environ": dict(os.environ),
        "lib": lib,
        "umask": oct(mask),
        "fs": [sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()],
        "preferred": locale.getpreferredencoding(False),
        "lc_ctype": locale.setlocale(locale.LC_CTYPE),
        "utf8_mode": sys.flags.utf8_mode,
        "stdio": [[s.encoding, s.errors] for s in (sys.stdin, sys.stdout, sys.stderr)],
        "path0": sys.path[0],
        "safe_path": sys.flags.safe_path,
        "warnoptions": sys.warnoptions,
        "int_max_str_digits": sys.flags.int_max_str_digits,
        "dont_write_bytecode": sys.dont_write_bytecode,
        "dev_mode": sys.flags.dev_mode,
        "path": sys.path,
        "tz": [__import__("time").tzname, __import__("time").timezone,
               __import__("time").strftime("%H:%M %Z", __import__("time").localtime(0))],
        "hash": hash("x") if "PYTHONHASHSEED" in os.environ else "random",
        "nofile": __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE),
        "nice": os.nice(0),
        "faulthandler": __import__("faulthandler").is_enabled(),
    }
    print("é ü", os.environ.get("STAGE"))
    with open("made-" + os.environ.get("STAGE", "x") + ".txt", "w") as f:
        f.write("mode follows the umask\\n")
    """
)


def _libm() -> bytes:
    """A real shared library to load through LD_LIBRARY_PATH (a copy of libm)."""
    for folder in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                   "/lib", "/usr/lib", "/lib/aarch64-linux-gnu"):  # fmt: skip
        path = Path(folder, "libm.so.6")
        if path.is_file():
            return path.read_bytes()
    pytest.fail("no libm.so.6 found to copy")


PLACES = {  # (where the script is, the path given on the command line, the caller's cwd)
    "parent-folder": ("tools/s.py", "../tools/s.py", "work"),
    "spaces-unicode": ("my dir/ünï code.py", "my dir/ünï code.py", ""),
    "symlink": ("real/s.py", "link.py", ""),  # sys.path[0] is the link's target folder
}


@pytest.mark.parametrize("via", ["cli", "run_multiple"])
@pytest.mark.parametrize("place", list(PLACES))
def test_cwd_and_script_path(case: Case, via: str, place: str) -> None:
    """Started as ``../tools/s.py`` from a subfolder, from a folder with spaces and
    non-ASCII letters, and through a symlink: cwd, argv[0], __file__ and sys.path[0] as
    python gives them, and relative writes land in the caller's cwd."""
    name, run_as, cwd = PLACES[place]
    case.write(os.path.join(cwd, "data.txt"), "input\n")
    if place == "symlink":
        case.symlink("link.py", "real/s.py")

    def expect(ref: Run) -> None:
        assert ref.obs[os.path.join(cwd, "obs.json")]["argv"] == [run_as, "x"]
        assert os.path.join(cwd, "here.txt") in ref.files

    check(
        case,
        with_dump(
            """
            import os, sys
            obs = {"cwd": os.getcwd(), "argv": sys.argv, "file": __file__,
                   "path0": sys.path[0], "listing": sorted(os.listdir("."))}
            with open("here.txt", "w") as f:
                f.write(open("data.txt").read())
            """
        ),
        "x",
        name=name,
        run_as=run_as,
        via=via,
        cwd=cwd,
        expect=expect,
    )


ENVIRONMENTS = {
    # LC_ALL=C: no locale coercion, UTF-8 mode on; a loader path; odd values
    "lc_all_c": {"LC_ALL": "C", "LANG": "C", "LD_LIBRARY_PATH": "{lib}", "STAGE": "one",
                 "ODD": "spaces and = signs\nand a second line", "EMPTY": "",
                 "RAW": "caf\udce9"},  # the byte 0xE9, not UTF-8
    # LANG=C alone: python coerces the locale and adds LC_CTYPE=C.UTF-8 to its own
    # environment; the script must start from the caller's (LANG=C), not from the coerced
    # environment of the yanex CLI, or it loses UTF-8 mode
    "lang_c": {"LANG": "C", "LD_LIBRARY_PATH": "/nonexistent:{lib}", "TZ": "Asia/Tokyo"},
    # start-up variables a pre-started interpreter would have to honour
    "startup": {"PYTHONUNBUFFERED": None, "PYTHONDONTWRITEBYTECODE": None,
                "PYTHONIOENCODING": "latin-1", "LC_ALL": "C.UTF-8", "PYTHONSAFEPATH": "1",
                "PYTHONWARNINGS": "ignore::UserWarning", "PYTHONINTMAXSTRDIGITS": "640"},
    # development mode: faulthandler on, default warning filters shown, debug allocator
    "devmode": {"PYTHONDEVMODE": "1", "PYTHONMALLOC": "debug", "PYTHONHASHSEED": "123"},
}  # fmt: skip


@pytest.mark.parametrize("variant", list(ENVIRONMENTS))
def test_environment_locale_and_loader_path(case: Case, variant: str) -> None:
    """The script's environment is the caller's (plus YANEX_*, nothing else): locale and
    encodings follow LANG/LC_ALL, LD_LIBRARY_PATH reaches the dynamic loader, and the
    PYTHON* start-up variables take effect."""
    case.write("lib/libdifftest.so", _libm())
    extra = {
        k: v.format(lib=case.path("lib")) if v else v for k, v in ENVIRONMENTS[variant].items()
    }
    env = base_env(**extra)

    def expect(ref: Run) -> None:
        assert ref.returncode == 0, ref.stderr
        if "LD_LIBRARY_PATH" in extra:
            assert next(iter(ref.obs.values()))["lib"] == "loaded"

    check(case, ENVIRONMENT, env=env, expect=expect)


@pytest.mark.parametrize("via", ["cli", "run_multiple"])
def test_umask_of_the_caller(case: Case, via: str) -> None:
    """Files and folders the script creates get the caller's umask (027)."""

    def expect(ref: Run) -> None:
        assert ref.files["made.txt"][1] == 0o640 and ref.files["made-dir"][1] == 0o750

    check(
        case,
        """
        import os
        with open("made.txt", "w") as f:
            f.write("x\\n")
        os.mkdir("made-dir")
        fd = os.open("made-raw", os.O_CREAT | os.O_WRONLY, 0o666)
        os.close(fd)
        """,
        via=via,
        umask=0o027,
        expect=expect,
    )


@pytest.mark.parametrize("mode", API_MODES)
def test_driver_chdir_between_calls(case: Case, mode: str) -> None:
    """The reported case: ``os.chdir("a")``, run ``s.py``, ``os.chdir("../b")``, run
    ``s.py`` again: the second call runs ``b/s.py`` in ``b``."""
    body = """
        import os, sys
        print("{tag}", os.getcwd(), sys.argv[0])
        with open("ran.txt", "w") as f:
            f.write("{tag}\\n")
        obs = {{"cwd": os.getcwd(), "file": __file__, "path0": sys.path[0]}}
        """
    case.write("a/s.py", with_dump(body.format(tag="a")))
    case.write("b/s.py", with_dump(body.format(tag="b")))
    plan = [
        ["chdir", "a"],
        ["run", [["s.py", []]], None],
        ["chdir", "../b"],
        ["run", [["s.py", []]], None],
    ]
    refs = case.drive(plan, "python")
    assert [r.stdout.split()[0] for r in refs] == [b"a", b"b"]
    got = case.drive(plan, mode)
    assert len(got) == 2, [g.label for g in got]
    for ref, run in zip(refs, got, strict=True):
        assert_same(ref, run)


@pytest.mark.parametrize("mode", API_MODES)
def test_driver_environment_and_umask_between_calls(case: Case, mode: str) -> None:
    """Between two calls the driver changes os.environ (a variable set, one removed, the
    locale, LD_LIBRARY_PATH, the hash seed, the stdio encoding, the time zone) and its
    umask: each call sees the state of its moment."""
    case.write("s.py", ENVIRONMENT)
    case.write("lib/libdifftest.so", _libm())
    env = base_env(DROPPED="present at the first call")
    plan = [
        ["setenv", {"STAGE": "one"}],
        ["umask", 0o022],
        ["run", [["s.py", []]], None],
        ["setenv", {"STAGE": "two", "DROPPED": None, "LC_ALL": "C", "LANG": "C",
                    "LD_LIBRARY_PATH": str(case.path("lib")), "ADDED": "later",
                    "PYTHONHASHSEED": "7", "PYTHONIOENCODING": "latin-1", "TZ": "UTC-5"}],
        ["umask", 0o077],
        ["run", [["s.py", []]], None],
    ]  # fmt: skip
    refs = case.drive(plan, "python", env=env)
    assert [refs[0].obs[f"obs-{stage}.json"]["lib"] for stage in ("one", "two")] == [
        "not found",
        "loaded",
    ]
    got = case.drive(plan, mode, env=env)
    assert len(got) == 2, [g.label for g in got]
    for ref, run in zip(refs, got, strict=True):
        assert_same(ref, run)


@pytest.mark.parametrize("mode", API_MODES)
def test_driver_limits_and_niceness_between_calls(case: Case, mode: str) -> None:
    """Between two calls the driver lowers its open-file limit and raises its niceness
    (inherited by any process it starts): the second call's script has them too."""
    case.write("s.py", ENVIRONMENT)
    plan = [
        ["setenv", {"STAGE": "one"}],
        ["run", [["s.py", []]], None],
        ["setenv", {"STAGE": "two"}],
        ["nofile", 200],
        ["nice", 2],
        ["run", [["s.py", []]], None],
    ]
    refs = case.drive(plan, "python")
    assert refs[0].obs["obs-two.json"]["nofile"][0] == 200
    got = case.drive(plan, mode)
    assert len(got) == 2, [g.label for g in got]
    if mode == "run_multiple" and PORTABLE_ON_LINUX:
        # Linux keeps a nice value per thread: the portable fallback (getpriority, right
        # where it is per process, as on macOS) reads the blocking face's event-loop
        # thread's, not the driver's. Everything else must still match.
        assert got[1].obs["obs-two.json"].pop("nice") == 0
        refs[1].obs["obs-two.json"].pop("nice")
    for ref, run in zip(refs, got, strict=True):
        assert_same(ref, run)


@pytest.mark.parametrize("mode", API_MODES)
def test_driver_script_edited_between_calls(case: Case, mode: str) -> None:
    """The driver rewrites ``s.py`` between two calls (as after an edit in an editor): the
    second call runs the new text."""
    case.write("s.py", "print('version one')\n")
    plan = [
        ["run", [["s.py", []]], None],
        ["write", "s.py", "import sys\nprint('version two', sys.argv[1:])\n"],
        ["run", [["s.py", ["arg"]]], None],
    ]
    refs = case.drive(plan, "python")
    assert [r.stdout for r in refs] == [b"version one\n", b"version two ['arg']\n"]
    got = case.drive(plan, mode)
    assert len(got) == 2, [g.label for g in got]
    for ref, run in zip(refs, got, strict=True):
        assert_same(ref, run)


def test_pythonpath_and_sitecustomize_of_the_caller(case: Case) -> None:
    """A PYTHONPATH entry of the caller comes first in sys.path after the script's folder,
    and its sitecustomize runs once, at start-up, before the script."""
    case.write(
        "site/sitecustomize.py",
        "import builtins, sys\n"
        "builtins.SITE_MARK = getattr(builtins, 'SITE_MARK', 0) + 1\n"
        "print('sitecustomize imported', file=sys.stderr)\n",
    )
    paths = [str(case.path("site")), os.environ.get("PYTHONPATH", "")]
    env = base_env(PYTHONPATH=os.pathsep.join(p for p in paths if p))

    def expect(ref: Run) -> None:
        assert ref.stderr == b"sitecustomize imported\n"
        assert ref.obs["obs.json"]["mark"] == 1

    check(
        case,
        with_dump(
            """
            import sys
            obs = {"mark": SITE_MARK, "path": sys.path,
                   "site_file": sys.modules["sitecustomize"].__file__}
            """
        ),
        env=env,
        expect=expect,
    )


@pytest.mark.parametrize("mode", ["run_multiple", "aio_run_multiple"])
def test_burst_of_specs_with_their_own_scripts_and_args(case: Case, mode: str) -> None:
    """Five specs in one call, two scripts alternating, each with its own arguments, two at
    a time: each experiment runs its own script with its own argv."""
    body = """
        import os, sys
        OBS_FILE = "obs-" + sys.argv[1] + ".json"
        obs = {"argv": sys.argv, "file": __file__, "tag": "{tag}"}
        print("{tag}", sys.argv[1:])
        """
    case.write("a.py", with_dump(body.replace("{tag}", "a")))
    case.write("b.py", with_dump(body.replace("{tag}", "b")))
    specs = [["a.py" if i % 2 == 0 else "b.py", [str(i), f"-x={i}"]] for i in range(5)]
    refs = case.drive([["run", specs, None]], "python")
    assert refs[3].stdout == b"b ['3', '-x=3']\n"
    got = case.drive([["run", specs, 2]], mode)
    assert len(got) == 5, [g.label for g in got]
    for ref, run in zip(refs, got, strict=True):
        assert_same(ref, run)
