"""Parameters of `yanex run` through the real CLI: typed --param values with dot nesting,
config files (YAML/JSON/TOML, merged left to right, ./config.yaml), YANEX_PARAM_ variables,
precedence, the `yanex:` defaults section, --clone-from and --dry-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support.cli import run_cli, write_script
from tests.support.run import config, experiments, only, store_is_empty

pytestmark = pytest.mark.usefixtures("cli_backend")  # yanex run/compare: every backend

PARAMS = "import json, yanex\nprint(json.dumps(yanex.get_params()))\n"


def _params_of_run(*args: str, env: dict[str, str] | None = None) -> dict:
    res = run_cli("run", "p.py", *args, env=env)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_typed_values_and_dot_nesting(store_dir: Path, work_dir: Path) -> None:
    """--param values become int/float/bool/null/JSON/strings; dots build nested dicts."""
    write_script(work_dir / "p.py", PARAMS)
    got = _params_of_run(
        "-p", "i=100", "-p", "f=0.001", "-p", "e=1e-3", "-p", "b=true", "-p", "off=false",
        "-p", "n=null", "-p", "s=adam", "-p", "layers=[64,128,256]", "-p", 'names=["a","b"]',
        "-p", 'obj={"k": [1, {"z": null}]}', "-p", "model.opt.lr=0.5", "-p", "model.depth=3",
        "-p", 'q="1,2"', "-p", "empty=",
    )
    assert got == {
        "i": 100, "f": 0.001, "e": 0.001, "b": True, "off": False, "n": None, "s": "adam",
        "layers": [64, 128, 256], "names": ["a", "b"], "obj": {"k": [1, {"z": None}]},
        "model": {"opt": {"lr": 0.5}, "depth": 3}, "q": "1,2", "empty": "",
    }
    exp_dir = store_dir / only(store_dir)["id"]
    assert config(store_dir, exp_dir.name) == got
    assert yaml.safe_load((exp_dir / "params.yaml").read_text()) == got  # what yanex 0.6 reads


def test_config_files_merge_left_to_right(work_dir: Path) -> None:
    """Several --config files (YAML, JSON, TOML) merge deeply, later files winning."""
    write_script(work_dir / "p.py", PARAMS)
    (work_dir / "base.yaml").write_text("lr: 0.01\nbatch: 32\nmodel:\n  depth: 2\n  act: relu\n")
    (work_dir / "over.json").write_text('{"lr": 0.001, "model": {"depth": 4}}')
    (work_dir / "extra.toml").write_text('workers = 8\n[model]\nact = "gelu"\n')
    got = _params_of_run("-c", "base.yaml", "--config", "over.json", "-c", "extra.toml")
    assert got == {"lr": 0.001, "batch": 32, "model": {"depth": 4, "act": "gelu"}, "workers": 8}


def test_default_config_yaml_is_picked_up_only_without_config(work_dir: Path) -> None:
    """./config.yaml is used when no --config is given, and ignored when one is."""
    write_script(work_dir / "p.py", PARAMS)
    (work_dir / "config.yaml").write_text("source: default\nkeep: 1\n")
    (work_dir / "other.yaml").write_text("source: other\n")
    assert _params_of_run() == {"source": "default", "keep": 1}
    assert _params_of_run("-c", "other.yaml") == {"source": "other"}


def test_environment_parameters_and_precedence(work_dir: Path) -> None:
    """YANEX_PARAM_ variables (with __ nesting) beat config files; --param beats both."""
    write_script(work_dir / "p.py", PARAMS)
    (work_dir / "config.yaml").write_text("lr: 0.1\nbatch: 32\nmodel:\n  depth: 2\n  act: relu\n")
    env = {"YANEX_PARAM_lr": "0.2", "YANEX_PARAM_model__depth": "5", "YANEX_PARAM_flag": "true"}
    got = _params_of_run("-p", "lr=0.3", env=env)
    assert got == {"lr": 0.3, "batch": 32, "model": {"depth": 5, "act": "relu"}, "flag": True}
    assert _params_of_run(env=env)["lr"] == 0.2


def test_yanex_section_sets_run_defaults(store_dir: Path, work_dir: Path) -> None:
    """The config's `yanex:` section sets name, tags, description and project; flags win;
    the section is not a parameter."""
    write_script(work_dir / "p.py", PARAMS)
    (work_dir / "config.yaml").write_text(
        "lr: 0.1\nyanex:\n  name: from-config\n  tag: [x, y]\n  description: desc\n"
        "  project: proj\n"
    )
    assert _params_of_run() == {"lr": 0.1}
    meta = only(store_dir)
    assert (meta["name"], meta["tags"], meta["description"], meta["project"]) == (
        "from-config", ["x", "y"], "desc", "proj")
    _params_of_run("-n", "from-cli", "-t", "z", "--project", "other")
    latest = experiments(store_dir)[-1]
    assert (latest["name"], latest["tags"], latest["description"], latest["project"]) == (
        "from-cli", ["z"], "desc", "other")


def test_yanex_section_dry_run_and_stage(store_dir: Path, work_dir: Path) -> None:
    """`yanex: {dry_run: true}` runs nothing; `yanex: {stage: true}` stages instead of running."""
    write_script(work_dir / "p.py", PARAMS)
    (work_dir / "dry.yaml").write_text("a: 1\nyanex:\n  dry_run: true\n")
    res = run_cli("run", "p.py", "-c", "dry.yaml")
    assert res.returncode == 0 and '"a": 1' in res.stdout
    assert store_is_empty(store_dir)
    (work_dir / "stage.yaml").write_text("a: 1\nyanex:\n  stage: true\n")
    res = run_cli("run", "p.py", "-c", "stage.yaml")
    assert res.returncode == 0, res.stderr
    assert only(store_dir)["status"] == "staged"


def test_clone_from_copies_parameters_and_accepts_overrides(
    store_dir: Path, work_dir: Path
) -> None:
    """--clone-from ID (or a unique prefix, or a name) starts from that experiment's params."""
    write_script(work_dir / "p.py", PARAMS)
    _params_of_run("-p", "lr=0.5", "-p", "model.depth=3", "-n", "origin")
    origin = only(store_dir)["id"]
    assert _params_of_run("--clone-from", origin) == {"lr": 0.5, "model": {"depth": 3}}
    assert _params_of_run("--clone-from", origin[:5], "-p", "lr=0.9") == {
        "lr": 0.9, "model": {"depth": 3}}
    assert _params_of_run("--clone-from", "origin")["lr"] == 0.5


def test_dry_run_prints_resolved_params_and_creates_nothing(
    store_dir: Path, work_dir: Path
) -> None:
    """--dry-run lists every experiment's resolved parameters and writes nothing."""
    write_script(work_dir / "p.py", PARAMS)
    (work_dir / "config.yaml").write_text("base: 1\n")
    res = run_cli("run", "p.py", "--dry-run", "-p", "lr=0.1,0.2", "-p", "m.d=7")
    assert res.returncode == 0, res.stderr
    assert "2 experiments" in res.stdout
    printed = [json.loads(line.split("params: ", 1)[1]) for line in res.stdout.splitlines()
               if "params: " in line]
    assert printed == [{"base": 1, "lr": 0.1, "m": {"d": 7}}, {"base": 1, "lr": 0.2, "m": {"d": 7}}]
    assert store_is_empty(store_dir)
