"""The web UI's server, through its HTTP API: table, experiment, metrics, files, compare,
live streams, management and the security checks (Host, CSRF, paths out of the store)."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import msgspec
import pytest

import yanex
import yanex.results as yr
from tests.support.query import ago, make, patch, store_root, write_output

starlette = pytest.importorskip("starlette", reason="the ui extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from yanex._ui.app import create_app  # noqa: E402

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def ui():
    app = create_app(host="127.0.0.1", port=8000, project=None)
    with TestClient(app, base_url=BASE) as client:
        client.token = app.token  # type: ignore[attr-defined]
        yield client


def post(client, path: str, body: dict | None = None, **headers: str):
    sent = {"X-Yanex-Token": client.token, "Origin": BASE, **headers}
    return client.post(path, json=body or {}, headers=sent)


def write_metrics(exp_id: str, entries: list[dict]) -> None:
    path = store_root() / exp_id / "metrics.json"
    tmp = path.with_name(".metrics.json.test")
    tmp.write_bytes(msgspec.json.encode(entries))
    tmp.replace(path)


# --- the table ----------------------------------------------------------------------------


def test_table_filters_sorts_and_pages(ui) -> None:
    """The table answers with the experiments the filters select, sorted, one page at a time."""
    a = make("alpha", tags=["keep"], project="p1", created=ago(hours=3), started=ago(hours=3))
    b = make("beta", tags=["keep", "x"], project="p1", created=ago(hours=2), started=ago(hours=2))
    c = make("gamma", project="p2", created=ago(hours=1), started=ago(hours=1), status="failed")
    rows = ui.get("/api/experiments").json()
    assert rows["total"] == 3 and [r["id"] for r in rows["rows"]] == [c, b, a]
    assert ui.get("/api/experiments?status=failed").json()["rows"][0]["id"] == c
    assert [r["id"] for r in ui.get("/api/experiments?tag=keep,x").json()["rows"]] == [b]
    assert ui.get("/api/experiments?name=al*").json()["rows"][0]["name"] == "alpha"
    assert ui.get("/api/experiments?project=p2").json()["total"] == 1
    assert ui.get("/api/experiments?q=BET").json()["rows"][0]["id"] == b
    assert ui.get("/api/experiments?started_after=90 minutes ago").json()["total"] == 1
    patch(a, sweep_id="0a1b2c3d")  # the CLI's --sweep filter, every attempt
    assert [r["id"] for r in ui.get("/api/experiments?sweep=0a1b").json()["rows"]] == [a]
    assert ui.get("/api/experiments?sweep=zz").status_code == 400
    by_name = ui.get("/api/experiments?sort=name&order=asc").json()["rows"]
    assert [r["name"] for r in by_name] == ["alpha", "beta", "gamma"]
    page2 = ui.get("/api/experiments?sort=name&order=asc&per_page=2&page=2").json()
    assert page2["total"] == 3 and [r["name"] for r in page2["rows"]] == ["gamma"]


def test_table_archived_toggle_and_default_project_scope(ui) -> None:
    """Archived experiments show only when asked; the server's default scope is a project."""
    kept = make("kept", project="mine")
    gone = make("gone", project="mine")
    assert yr.archive_experiments(ids=[gone]) == 1
    assert [r["id"] for r in ui.get("/api/experiments").json()["rows"]] == [kept]
    both = ui.get("/api/experiments?archived=1").json()["rows"]
    assert {r["id"] for r in both} == {kept, gone}
    only = ui.get("/api/experiments?archived=only").json()["rows"]
    assert [(r["id"], r["archived"]) for r in only] == [(gone, True)]
    make("other", project="theirs")
    scoped = create_app(host="127.0.0.1", port=8000, project="mine")
    with TestClient(scoped, base_url=BASE) as client:
        assert client.get("/api/experiments").json()["total"] == 1
        assert client.get("/api/experiments?project=").json()["total"] == 2


def test_table_bad_filter_is_one_clear_error(ui) -> None:
    """A value the filters cannot understand is a 400 with one message, not a crash."""
    res = ui.get("/api/experiments?status=bogus")
    assert res.status_code == 400 and "unknown status" in res.json()["error"]
    res = ui.get("/api/experiments?sort=nothing")
    assert res.status_code == 400 and "sort" in res.json()["error"]
    assert ui.get("/api/experiments?started_after=not a date").status_code == 400


# --- the experiment page ------------------------------------------------------------------


def test_experiment_shows_params_metadata_environment_git_and_patch(ui) -> None:
    """The experiment's JSON has its params, metadata, environment, and the git patch."""
    exp = make("detail", config={"lr": 0.1, "model": {"layers": 3}}, tags=["t"])
    patch_text = "diff --git a/x.py b/x.py\n@@ -1 +1 @@\n-old\n+new\n"
    (store_root() / exp / "artifacts" / "git_diff.patch").write_text(patch_text)
    patch(exp, git_commit="abc123", has_uncommitted_changes=True,
          patch_file="artifacts/git_diff.patch")  # fmt: skip
    data = ui.get(f"/api/experiments/{exp}").json()
    assert data["params"] == {"lr": 0.1, "model": {"layers": 3}}
    assert data["metadata"]["name"] == "detail" and data["metadata"]["tags"] == ["t"]
    assert "python" in data["environment"]
    assert data["git"]["commit"] == "abc123" and data["git"]["patch"] == patch_text
    assert data["running"] is False
    assert ui.get(f"/api/experiments/{exp[:5]}").json()["id"] == exp  # a prefix works too
    assert ui.get("/api/experiments/ffffffff").status_code == 404


def test_metrics_have_every_step_and_nan_is_a_gap(ui) -> None:
    """Each numeric metric comes with every logged step; NaN and infinities are gaps."""
    exp = make("m", metrics=[{"loss": 1.0 / (i + 1), "note": "text"} for i in range(30)])
    write_metrics(exp, [*json.loads((store_root() / exp / "metrics.json").read_text())])
    data = ui.get(f"/api/experiments/{exp}/metrics").json()
    assert data["count"] == 30 and list(data["metrics"]) == ["loss"]
    loss = data["metrics"]["loss"]
    assert len(loss["steps"]) == 30 and loss["downsampled"] is False
    assert loss["values"][0] == 1.0
    gap = make("gap", metrics=[{"v": 1.0}, {"v": math.nan}, {"v": math.inf}, {"v": 2.0}])
    assert ui.get(f"/api/experiments/{gap}/metrics").json()["metrics"]["v"]["values"] == [
        1.0, None, None, 2.0
    ]  # fmt: skip


def test_long_metric_is_downsampled_keeping_its_extremes(ui) -> None:
    """A 100,000-step metric comes thinned to the asked number of points, peaks kept."""
    exp = make("long")
    values = [math.sin(i / 500) for i in range(100_000)]
    values[31_337], values[77_777] = 50.0, -50.0  # one spike each way
    write_metrics(exp, [{"step": i, "y": v} for i, v in enumerate(values)])
    data = ui.get(f"/api/experiments/{exp}/metrics?points=1000").json()["metrics"]["y"]
    assert data["total"] == 100_000 and data["downsampled"] is True
    assert len(data["values"]) <= 1000
    assert max(data["values"]) == 50.0 and min(data["values"]) == -50.0
    assert 31_337 in data["steps"] and 77_777 in data["steps"]
    assert data["steps"][0] == 0 and data["steps"][-1] == 99_999
    assert data["steps"] == sorted(data["steps"])


def test_artifacts_listed_previewed_and_downloaded(ui) -> None:
    """Artifacts are listed with a kind; text, JSON and CSV have previews; files download."""
    with yanex.create_experiment(Path("a.py"), name="arts"):
        yanex.save_artifact({"k": [1, 2]}, "summary.json")
        yanex.save_artifact([{"a": 1, "<script>b</script>": 2}], "table.csv")
        yanex.save_artifact("plain text\n", "notes.txt")
        exp = yanex.get_experiment_id()
    listing = {a["name"]: a["kind"] for a in ui.get(f"/api/experiments/{exp}").json()["artifacts"]}
    assert listing == {"summary.json": "json", "table.csv": "csv", "notes.txt": "text"}
    js = ui.get(f"/api/experiments/{exp}/preview?name=summary.json").json()
    assert json.loads(js["text"]) == {"k": [1, 2]}
    csv = ui.get(f"/api/experiments/{exp}/preview?name=table.csv").json()
    assert csv["rows"] == [["a", "<script>b</script>"], ["1", "2"]]
    res = ui.get(f"/files/{exp}/notes.txt")
    assert res.status_code == 200 and res.text == "plain text\n"
    assert "attachment" in res.headers["content-disposition"]
    assert res.headers["x-content-type-options"] == "nosniff"


def test_image_artifact_is_served_inline_only_as_an_image(ui) -> None:
    """A PNG previews inline with its type; other files are always downloads."""
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    exp = make("img")
    (store_root() / exp / "artifacts" / "dot.png").write_bytes(png)
    (store_root() / exp / "artifacts" / "page.html").write_text("<script>alert(1)</script>")
    res = ui.get(f"/files/{exp}/dot.png?inline=1")
    assert res.headers["content-type"] == "image/png" and res.content == png
    assert res.headers["content-disposition"].startswith("inline")
    html = ui.get(f"/files/{exp}/page.html?inline=1")
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["content-disposition"].startswith("attachment")


def test_downloads_cannot_leave_the_store(ui, tmp_path: Path) -> None:
    """``..``, absolute paths and symlinks out of the artifacts folder are refused."""
    exp = make("safe")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    arts = store_root() / exp / "artifacts"
    arts.mkdir(exist_ok=True)
    (arts / "link.txt").symlink_to(secret)
    for path in (
        f"/files/{exp}/..%2Fmetadata.json",
        f"/files/{exp}/%2Fetc%2Fpasswd",
        f"/files/{exp}/link.txt",
        f"/files/{exp}/sub/../../metadata.json",
    ):
        res = ui.get(path)
        assert res.status_code in (403, 404), path
        assert "top secret" not in res.text and "root:" not in res.text
    for name in ("../metadata.json", "/etc/passwd", "link.txt"):
        res = ui.get(f"/api/experiments/{exp}/preview", params={"name": name})
        assert res.status_code in (403, 404) and "top secret" not in res.text
    assert ui.get("/files/..%2F..%2Fetc/passwd").status_code in (400, 403, 404)
    (arts / "stdout.txt").symlink_to(secret)  # a log that is a link out: not served either
    res = ui.get(f"/api/experiments/{exp}/log/stdout")
    assert res.status_code == 403 and "top secret" not in res.text
    events = ui.get(f"/api/experiments/{exp}/events")
    assert events.status_code == 403 and "top secret" not in events.text
    names = [a["name"] for a in ui.get(f"/api/experiments/{exp}").json()["artifacts"]]
    assert "link.txt" not in names


def test_logs_tail(ui) -> None:
    """stdout and stderr come as text with the offset a live tail continues from."""
    exp = make("logs")
    write_output(exp, "stdout", "line 1\nline 2 é\n")
    data = ui.get(f"/api/experiments/{exp}/log/stdout").json()
    assert data["text"] == "line 1\nline 2 é\n" and data["offset"] == len(
        "line 1\nline 2 é\n".encode()
    )
    assert ui.get(f"/api/experiments/{exp}/log/stderr").json()["text"] == ""
    assert ui.get(f"/api/experiments/{exp}/log/metadata").status_code == 403


def test_lineage_nodes_and_edges(ui) -> None:
    """The lineage holds the dependencies, the dependents, and missing ones."""
    data = make("data")
    model = make("model", depends_on=[f"data={data}", "old=0badc0de"])
    report = make("report", depends_on=[f"model={model}"])
    graph = ui.get(f"/api/experiments/{model}/lineage").json()
    assert {n["id"] for n in graph["nodes"]} == {data, model, report, "0badc0de"}
    edges = {(e["from"], e["to"], e["slot"]) for e in graph["edges"]}
    assert (data, model, "data") in edges and (model, report, "model") in edges
    assert [n["id"] for n in graph["nodes"]].index(data) < [n["id"] for n in graph["nodes"]].index(
        model
    )


def test_compare_marks_differing_params_and_last_values(ui) -> None:
    """Compare answers with each run's params (differing ones listed) and metric series."""
    a = make("a", config={"lr": 0.1, "bs": 32}, metrics=[{"loss": 2.0}, {"loss": 1.0}])
    b = make("b", config={"lr": 0.2, "bs": 32}, metrics=[{"loss": 3.0}, {"loss": 0.5}])
    data = ui.get(f"/api/compare?ids={a},{b}").json()
    assert data["differing"] == ["lr"] and set(data["params"]) == {"lr", "bs"}
    assert [r["last"]["loss"] for r in data["runs"]] == [1.0, 0.5]
    assert data["runs"][1]["series"]["loss"]["values"] == [3.0, 0.5]
    by_filter = ui.get("/api/compare?name=a").json()
    assert [r["id"] for r in by_filter["runs"]] == [a]


# --- live ---------------------------------------------------------------------------------


def read_events(client, url: str, out: list[tuple[str, dict]], done: threading.Event) -> None:
    with client.stream("GET", url) as res:
        name = None
        for line in res.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                out.append((name, json.loads(line[6:])))
                if name == "end":
                    break
    done.set()


def test_running_experiment_streams_until_it_ends(ui) -> None:
    """A running experiment's new steps and output arrive as events; when it ends, the
    stream says so and closes."""
    events: list[tuple[str, dict]] = []
    done = threading.Event()
    with yanex.create_experiment(Path("live.py"), name="live"):
        exp = yanex.get_experiment_id()
        yanex.log_metrics({"loss": 1.0})
        assert ui.get(f"/api/experiments/{exp}").json()["running"] is True
        url = f"/api/experiments/{exp}/events?count=1&stdout=0&stderr=0"
        reader = threading.Thread(target=read_events, args=(ui, url, events, done), daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        for step in range(2, 5):
            yanex.log_metrics({"loss": 1.0 / step})
            time.sleep(0.2)
        write_output(exp, "stdout", "hello from the run\n")
        while not any(n == "log" for n, _ in events) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not done.is_set()  # still streaming while it runs
    assert done.wait(10), events
    names = [n for n, _ in events]
    assert names[-1] == "end" and events[-1][1]["status"] == "completed"
    new_losses = [v for n, d in events if n == "metrics" for v in d["metrics"]["loss"][1]]
    assert new_losses == [0.5, 1 / 3, 0.25]
    assert "".join(d["text"] for n, d in events if n == "log") == "hello from the run\n"


def test_table_status_stream_reports_the_end_of_a_run(ui) -> None:
    """The table's stream of running experiments sends each one's row when its status
    changes, and closes once none of them runs."""
    events: list[tuple[str, dict]] = []
    done = threading.Event()
    with yanex.create_experiment(Path("live.py"), name="row"):
        exp = yanex.get_experiment_id()
        url = f"/api/events/status?ids={exp}"
        reader = threading.Thread(target=read_events, args=(ui, url, events, done), daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
        assert events[0][0] == "row" and events[0][1]["status"] == "running"
    assert done.wait(10), events
    assert [(n, d.get("status")) for n, d in events][-2:] == [("row", "completed"), ("end", None)]


def test_finished_experiment_stream_ends_at_once(ui) -> None:
    """Asking a finished experiment for events gets an end event straight away."""
    exp = make("done")
    events: list[tuple[str, dict]] = []
    done = threading.Event()
    read_events(ui, f"/api/experiments/{exp}/events", events, done)
    assert [n for n, _ in events][-1] == "end"
    with ui.stream("GET", f"/api/experiments/{exp}/events") as res:
        first = next(res.iter_lines())
    assert first.startswith("retry: ") and int(first[7:]) >= 1000  # no reconnect under 1 s


# --- management ---------------------------------------------------------------------------


def test_management_goes_through_the_cli_functions(ui) -> None:
    """Rename, describe, tag, untag, archive, unarchive: the store shows each change."""
    exp = make("before", tags=["old"])
    change = {"name": "after", "description": "why", "add_tags": ["new"], "remove_tags": ["old"]}
    res = post(ui, f"/api/experiments/{exp}/update", change)
    assert res.status_code == 200, res.text
    got = yr.get_experiment(exp)
    assert (got.name, got.description, got.tags) == ("after", "why", ["new"])
    assert post(ui, f"/api/experiments/{exp}/archive").status_code == 200
    assert yr.get_experiment(exp).archived is True
    assert post(ui, f"/api/experiments/{exp}/unarchive").status_code == 200
    assert yr.get_experiment(exp).archived is False
    res = post(ui, f"/api/experiments/{exp}/update", {"add_tags": [""]})
    assert res.status_code == 400 and "tags" in res.json()["error"]


def test_delete_needs_its_confirmation(ui) -> None:
    """Delete without the confirming id does nothing; with it, the experiment is gone."""
    exp = make("doomed")
    res = post(ui, f"/api/experiments/{exp}/delete", {})
    assert res.status_code == 400 and (store_root() / exp).is_dir()
    res = post(ui, f"/api/experiments/{exp}/delete", {"confirm": "00000000"})
    assert res.status_code == 400 and (store_root() / exp).is_dir()
    assert post(ui, f"/api/experiments/{exp}/delete", {"confirm": exp}).status_code == 200
    assert not (store_root() / exp).exists()


# --- security -----------------------------------------------------------------------------


def test_foreign_host_header_is_refused(ui) -> None:
    """A request naming another host (DNS rebinding) is refused, on every path."""
    for host in ("evil.example:8000", "127.0.0.1:9999", "localhost.evil.example:8000"):
        for path in ("/", "/api/experiments", "/static/app.js"):
            assert ui.get(path, headers={"Host": host}).status_code == 421, (host, path)
    assert ui.get("/", headers={"Host": "localhost:8000"}).status_code == 200


def test_wildcard_bind_accepts_ip_literals_not_names() -> None:
    """Bound to 0.0.0.0 the server answers to IP addresses, not to a stranger's name."""
    app = create_app(host="0.0.0.0", port=8000)
    with TestClient(app, base_url="http://192.168.1.20:8000") as client:
        assert client.get("/api/config").status_code == 200
        assert client.get("/", headers={"Host": "evil.example:8000"}).status_code == 421


def test_state_changes_need_token_and_same_origin(ui) -> None:
    """A write without the token, from another origin or another site is refused."""
    exp = make("keep")
    url = f"/api/experiments/{exp}/delete"
    body = {"confirm": exp}
    assert ui.post(url, json=body).status_code == 403
    assert ui.post(url, json=body, headers={"X-Yanex-Token": "guess"}).status_code == 403
    assert post(ui, url, body, Origin="http://evil.example").status_code == 403
    assert post(ui, url, body, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert (store_root() / exp).is_dir()
    assert ui.get(url).status_code == 405  # reading never changes anything


def test_pages_escape_and_restrict_scripts(ui) -> None:
    """Pages carry no store text (the script fills them in as text) and a CSP that allows
    only the package's own scripts."""
    exp = make("<script>alert(1)</script>", tags=["<img src=x onerror=alert(2)>"])
    for path in ("/", f"/experiments/{exp}", "/compare", f"/experiments/{exp}%3Cscript%3E"):
        res = ui.get(path)
        assert "<script>alert" not in res.text and "onerror" not in res.text
        csp = res.headers["content-security-policy"]
        assert (
            "script-src 'self'" in csp
            and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        )
    row = ui.get("/api/experiments").json()["rows"][0]
    assert row["name"] == "<script>alert(1)</script>"  # data stays data


def test_assets_are_served_from_the_package(ui) -> None:
    """uPlot and its licence ship in the package and are served locally (no CDN)."""
    import yanex._ui

    static = Path(yanex._ui.__file__).parent / "static"
    assert "MIT License" in (static / "uPlot.LICENSE").read_text()
    for name in ("uPlot.iife.min.js", "uPlot.min.css", "app.js", "app.css"):
        assert ui.get(f"/static/{name}").status_code == 200
    page = ui.get("/").text
    assert "http://" not in page and "https://" not in page


def test_wheel_ships_the_static_assets(tmp_path: Path) -> None:
    """The built wheel contains the UI's assets and uPlot's licence. (Built with this
    environment's setuptools where it has one, as pyproject requires: an isolated build
    installs its own first, which takes twice as long as the build.)"""
    import importlib.util
    import subprocess
    import sys
    import zipfile

    repo = Path(__file__).resolve().parents[2]
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(repo), "--no-deps", "-q", "-w", str(tmp_path),
         *(["--no-build-isolation"] if importlib.util.find_spec("setuptools") else [])],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    (wheel,) = tmp_path.glob("yanex-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE", "app.js", "app.css"):
        assert f"yanex/_ui/static/{name}" in names


def test_env_root_is_followed(ui, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server reads the store $YANEX_EXPERIMENTS_DIR names, at each request."""
    make("here")
    monkeypatch.setenv("YANEX_EXPERIMENTS_DIR", str(tmp_path / "elsewhere"))
    assert ui.get("/api/experiments").json()["total"] == 0


def test_experiments_written_by_yanex_061_open(ui) -> None:
    """Every experiment of a store written by the published yanex 0.6.1 opens: table, page,
    metrics, lineage and artifact previews."""
    from tests.support.query import copy_061_store

    ids = copy_061_store()
    rows = ui.get("/api/experiments?archived=1").json()["rows"]
    assert {r["id"] for r in rows} == set(ids)
    for exp in ids:
        data = ui.get(f"/api/experiments/{exp}")
        assert data.status_code == 200, data.text
        assert ui.get(f"/api/experiments/{exp}/metrics").status_code == 200
        assert ui.get(f"/api/experiments/{exp}/lineage").status_code == 200
        for art in data.json()["artifacts"]:
            res = ui.get(f"/api/experiments/{exp}/preview", params={"name": art["name"]})
            assert res.status_code == 200, (art, res.text)
