"""The web UI in a real browser: Debian's headless Chromium driven by Playwright, against a
real ``yanex ui`` server. Every test fails on a JavaScript error (``console`` errors and
``pageerror``), and saves screenshots of the pages it saw under ``test-artifacts/ui/``
(or ``$YANEX_TEST_ARTIFACTS``), for a person to look at."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ui as ui_helpers
from tests.support.query import make, patch, store_root, write_output

CHROMIUM = os.environ.get("YANEX_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(
    os.environ.get("YANEX_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)

pytest.importorskip("uvicorn", reason="the ui extra is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


pytestmark = pytest.mark.xdist_group("chromium")  # one worker starts the module's browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Page:
    """A browser tab that records JavaScript errors and takes named screenshots."""

    def __init__(self, tab: Any, name: str) -> None:
        self.tab = tab
        self.name = name
        self.errors: list[str] = []
        tab.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        tab.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def shot(self, label: str, **options: Any) -> Path:
        folder = SHOTS / "ui"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}-{label}.png"
        self.tab.screenshot(path=str(path), **options)
        return path

    def chart_points(self, metric: str) -> int:
        return int(self.tab.evaluate("(m) => window.yanexCharts[m].data[0].length", metric))


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    watched = Page(tab, request.node.name.removeprefix("test_"))
    yield watched
    context.close()
    assert watched.errors == [], watched.errors  # any JavaScript error fails the test


@pytest.fixture
def server() -> Iterator[ui_helpers.Server]:
    with ui_helpers.running("--global") as srv:
        yield srv


def rows(page: Page) -> int:
    return int(page.tab.locator("#experiments tbody tr[data-id]").count())


def test_table_loads_and_a_filter_narrows_it(server: ui_helpers.Server, page: Page) -> None:
    """The table shows every experiment; a tag filter narrows it; a status filter too."""
    for i in range(12):
        make(f"run-{i:02d}", tags=["even"] if i % 2 == 0 else ["odd"], config={"i": i})
    page.tab.goto(server.url)
    page.tab.wait_for_selector("#experiments tbody tr[data-id]")
    assert rows(page) == 12
    assert "12 experiments" in page.tab.locator(".pager .count").inner_text()
    page.shot("all")
    page.tab.fill("input[name=tag]", "odd")
    page.tab.wait_for_function(
        "() => document.querySelectorAll('#experiments tbody tr[data-id]').length === 6"
    )
    names = page.tab.locator("#experiments tbody td.name").all_inner_texts()
    assert sorted(names) == [f"run-{i:02d}" for i in range(1, 12, 2)]
    page.tab.click("th[data-sort=name]")  # sort by name, descending first
    page.tab.wait_for_function(
        "() => document.querySelector('#experiments tbody td.name').textContent === 'run-11'"
    )
    page.tab.click("th[data-sort=name]")
    page.tab.wait_for_function(
        "() => document.querySelector('#experiments tbody td.name').textContent === 'run-01'"
    )
    page.tab.select_option("select[name=status]", "failed")
    page.tab.wait_for_selector("text=No experiments match.")
    page.shot("filtered")


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_click_opens_the_detail_page(server: ui_helpers.Server, page: Page) -> None:
    """Clicking a row opens that experiment's page: parameters, the git patch as a diff,
    the lineage graph (its nodes open their experiments) and an image preview."""
    data = make("data-prep")
    exp = make("clicked", config={"lr": 0.01, "model": {"depth": 4}}, depends_on=[f"data={data}"])
    arts = store_root() / exp / "artifacts"
    (arts / "git_diff.patch").write_text(
        "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-old = 1\n+new = 2\n"
    )
    (arts / "dot.png").write_bytes(PNG)
    patch(exp, git_commit="0123abcd", has_uncommitted_changes=True,
          patch_file="artifacts/git_diff.patch")  # fmt: skip
    page.tab.goto(server.url)
    page.tab.click(f"#experiments tr[data-id='{exp}'] td.name")
    page.tab.wait_for_url(f"**/experiments/{exp}")
    page.tab.wait_for_selector("h1 .name")
    assert page.tab.locator("h1 .name").inner_text() == "clicked"
    params = page.tab.locator("section:has(h2:text('Parameters'))").inner_text()
    assert "model.depth" in params and "0.01" in params
    assert page.tab.locator("pre.diff .add").inner_text().strip() == "+new = 2"
    assert page.tab.locator("pre.diff .del").inner_text().strip() == "-old = 1"
    page.tab.wait_for_selector("svg.lineage g.node")
    nodes = page.tab.locator("svg.lineage g.node")
    assert sorted(nodes.evaluate_all("els => els.map(e => e.dataset.id)")) == sorted([data, exp])
    assert page.tab.locator("svg.lineage .slot").text_content() == "data"
    page.tab.locator("section:has(h2:text('Artifacts')) tr:has-text('dot.png') button").click()
    image = page.tab.locator("#preview img")
    image.wait_for()
    page.tab.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 1", arg=image.element_handle()
    )
    page.shot("detail", full_page=True)
    page.tab.click(f"svg.lineage g.node[data-id='{data}']")
    page.tab.wait_for_url(f"**/experiments/{data}")


def test_chart_has_a_point_for_every_step(server: ui_helpers.Server, page: Page) -> None:
    """Each metric is a chart with one point per logged step, values on hover, a log scale
    and zoom by dragging."""
    exp = make("curves", metrics=[{"loss": 10.0 / (s + 1), "acc": s / 37} for s in range(37)])
    page.tab.goto(f"{server.url}/experiments/{exp}")
    page.tab.wait_for_selector(".chart[data-metric=loss] .u-over")
    assert page.chart_points("loss") == 37 and page.chart_points("acc") == 37
    over = page.tab.locator(".chart[data-metric=loss] .u-over")
    box = over.bounding_box()
    page.tab.mouse.move(box["x"] + box["width"] * 0.02, box["y"] + box["height"] / 2)
    legend = page.tab.locator(".chart[data-metric=loss] .u-legend .u-value").nth(1)
    page.tab.wait_for_function("(el) => el.textContent !== '--'", arg=legend.element_handle())
    idx = page.tab.evaluate("window.yanexCharts.loss.cursor.idx")
    assert float(legend.inner_text()) == pytest.approx(10.0 / (idx + 1), rel=0.01)
    page.tab.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
    page.tab.mouse.down()
    page.tab.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=5)
    page.tab.mouse.up()
    span = page.tab.evaluate(
        "(() => { const s = window.yanexCharts.loss.scales.x; return [s.min, s.max]; })()"
    )
    assert 0 < span[0] < span[1] < 36  # zoomed in on part of the steps
    page.tab.check("input[aria-label='log scale loss']")
    page.tab.wait_for_function("() => window.yanexCharts.loss.scales.y.distr === 3")
    assert page.chart_points("loss") == 37
    page.shot("charts", full_page=True)


GROW = """
import pathlib, time, yanex
for i in range(600):
    yanex.log_metrics({"loss": 1.0 / (i + 1)})
    print(f"step {i}", flush=True)
    if pathlib.Path("stop").exists():
        break
    time.sleep(0.2)
"""


def _running_id(deadline: float, run: subprocess.Popen[str]) -> str:
    while time.monotonic() < deadline and run.poll() is None:
        for meta in store_root().glob("*/metadata.json"):
            data = json.loads(meta.read_text())
            if data.get("status") == "running" and (meta.parent / "metrics.log.jsonl").exists():
                return str(data["id"])
        time.sleep(0.1)
    raise AssertionError(f"the experiment did not start: {run.poll()} {run.communicate()[1]}")


def test_running_experiment_chart_grows_live(
    server: ui_helpers.Server, page: Page, work_dir: Path
) -> None:
    """While the page is open, a running experiment's chart and output grow without a
    reload; when it ends the page says so and stops streaming. The table, open in another
    tab, counts its duration up and shows it completed when it ends."""
    (work_dir / "grow.py").write_text(GROW)
    command = [sys.executable, "-m", "yanex", "run", "grow.py"]
    run = subprocess.Popen(
        command, cwd=work_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        exp = _running_id(time.monotonic() + 30, run)
        streams: list[str] = []
        page.tab.on("request", lambda r: streams.append(r.url) if "/events" in r.url else None)
        page.tab.goto(f"{server.url}/experiments/{exp}")
        page.tab.wait_for_selector(".chart[data-metric=loss] .u-over")
        first = page.chart_points("loss")
        page.tab.wait_for_function(
            "(n) => window.yanexCharts.loss.data[0].length >= n + 3", arg=first
        )
        assert page.tab.locator("#live").inner_text() == "● live"
        page.tab.wait_for_function(
            "() => document.getElementById('stdout').textContent.includes('step 3')"
        )
        page.shot("running", full_page=True)
        table = Page(page.tab.context.new_page(), page.name)
        table.tab.goto(server.url)
        row = table.tab.locator(f"#experiments tr[data-id='{exp}']")
        assert row.locator(".status").inner_text() == "running"
        ticking = row.locator("td.duration").inner_text()
        assert ticking.endswith("+")
        table.tab.wait_for_function(
            "([cell, before]) => cell.textContent !== before",
            arg=[row.locator("td.duration").element_handle(), ticking],
        )
        (work_dir / "stop").write_text("")
        table.tab.wait_for_selector(f"#experiments tr[data-id='{exp}'] .status-completed")
        assert table.errors == []
        page.tab.wait_for_selector("#live:text('finished')")
        assert page.tab.locator("#status .status").inner_text() == "completed"
        final = page.chart_points("loss")
        logged = len(json.loads((store_root() / exp / "metrics.json").read_text()))
        assert final == logged
        opened = len(streams)
        page.tab.wait_for_timeout(2500)
        assert len(streams) == opened == 1  # one stream, closed at the end, never reopened
    finally:
        (work_dir / "stop").write_text("")
        run.wait(timeout=30)


def test_compare_overlays_two_runs(server: ui_helpers.Server, page: Page) -> None:
    """Two runs picked in the table are overlaid on one chart per metric, their differing
    parameters highlighted and the best run named."""
    a = make(
        "slow", config={"lr": 0.01, "bs": 32}, metrics=[{"loss": 1 / (s + 1)} for s in range(20)]
    )
    b = make(
        "fast", config={"lr": 0.1, "bs": 32}, metrics=[{"loss": 0.5 / (s + 1)} for s in range(20)]
    )
    make("ignored")
    page.tab.goto(server.url)
    page.tab.check(f"input[aria-label='select {a}']")
    page.tab.check(f"input[aria-label='select {b}']")
    page.tab.click("text=Compare selected")
    page.tab.wait_for_url("**/compare?ids=*")
    page.tab.wait_for_selector(".chart[data-metric=loss] .u-over")
    assert page.tab.evaluate("window.yanexCharts.loss.series.length") == 3  # steps + 2 runs
    labels = page.tab.locator(".chart[data-metric=loss] .u-legend th").all_inner_texts()
    assert any("slow" in t for t in labels) and any("fast" in t for t in labels)
    assert page.tab.locator("tr.differs th").all_inner_texts() == ["lr"]
    assert "fast" in page.tab.locator("#best").inner_text()
    page.tab.select_option("select[aria-label='best direction']", "max")
    assert "slow" in page.tab.locator("#best").inner_text()
    page.shot("compare", full_page=True)


HOSTILE_NAME = "<script>window.__pwned = 1</script>"
HOSTILE_TAG = '<img src=x onerror="window.__pwned = 2">'


def test_hostile_strings_are_shown_as_text(server: ui_helpers.Server, page: Page) -> None:
    """A name, tag, parameter, description, output and CSV column made of HTML show as
    the text they are; none of it runs or becomes an element."""
    import yanex

    with yanex.create_experiment(Path("x.py"), name=HOSTILE_NAME, tags=[HOSTILE_TAG],
                                 config={"<b>p</b>": HOSTILE_TAG},
                                 description=HOSTILE_TAG):  # fmt: skip
        yanex.save_artifact([{HOSTILE_TAG: HOSTILE_NAME}], "evil.csv")
        exp = yanex.get_experiment_id()
    write_output(exp, "stdout", HOSTILE_NAME + "\n")
    page.tab.goto(server.url)
    page.tab.wait_for_selector("#experiments tbody tr[data-id]")
    assert page.tab.locator("#experiments td.name").inner_text() == HOSTILE_NAME
    assert page.tab.locator("#experiments .tag").inner_text() == HOSTILE_TAG
    page.tab.goto(f"{server.url}/experiments/{exp}")
    page.tab.wait_for_selector("h1 .name")
    assert page.tab.locator("h1 .name").inner_text() == HOSTILE_NAME
    assert page.tab.locator("p.description").inner_text() == HOSTILE_TAG
    page.tab.wait_for_function("() => document.getElementById('stdout').textContent.length > 0")
    assert page.tab.locator("#stdout").inner_text().strip() == HOSTILE_NAME
    page.tab.click("button:text('preview')")
    page.tab.wait_for_selector("#preview table.csv")
    assert page.tab.locator("#preview th").inner_text() == HOSTILE_TAG
    assert page.tab.locator("#preview td").inner_text() == HOSTILE_NAME
    page.shot("hostile", full_page=True)
    page.tab.goto(f"{server.url}/compare?ids={exp}")
    page.tab.wait_for_selector("#compare-table")
    for _ in range(2):
        assert page.tab.evaluate("window.__pwned") is None
        assert page.tab.locator("img[src=x], b").count() == 0
        page.tab.goto(f"{server.url}/experiments/{exp}")
        page.tab.wait_for_selector("h1 .name")


def test_delete_asks_first(server: ui_helpers.Server, page: Page) -> None:
    """Delete opens a confirmation naming the experiment; Cancel keeps it, Delete removes it."""
    exp = make("to-delete")
    page.tab.goto(f"{server.url}/experiments/{exp}")
    page.tab.click("#delete")
    dialog = page.tab.locator("dialog.modal")
    dialog.wait_for()
    assert exp in dialog.inner_text() and "cannot be undone" in dialog.inner_text()
    page.shot("delete-dialog")
    dialog.locator("button:text('Cancel')").click()
    dialog.wait_for(state="detached")
    assert (store_root() / exp).is_dir()
    page.tab.click("#delete")
    page.tab.locator("dialog.modal button.danger").click()
    page.tab.wait_for_url(lambda url: "/experiments/" not in url)
    assert not (store_root() / exp).exists()
    page.tab.wait_for_selector("text=No experiments match.")


def test_rename_and_tag_through_the_page(server: ui_helpers.Server, page: Page) -> None:
    """Rename and add a tag through the page's dialogs; the store has the new values."""
    import yanex.results as yr

    exp = make("old-name")
    page.tab.goto(f"{server.url}/experiments/{exp}")
    page.tab.click("button:text('Rename')")
    page.tab.fill("dialog.modal input[name=name]", "new-name")
    page.tab.click("dialog.modal button:text('Save')")
    page.tab.wait_for_selector("h1 .name:text('new-name')")
    page.tab.click("button:text('Add tag')")
    page.tab.fill("dialog.modal input[name=tag]", "promoted")
    page.tab.click("dialog.modal button:text('Add')")
    page.tab.wait_for_selector("[data-remove-tag=promoted]")
    got = yr.get_experiment(exp)
    assert (got.name, got.tags) == ("new-name", ["promoted"])


def test_javascript_errors_are_caught(browser: Any, server: ui_helpers.Server) -> None:
    """The error watch used by every test above does see a script error and a console error."""
    context = browser.new_context()
    watched = Page(context.new_page(), "self-check")
    watched.tab.goto(server.url)
    watched.tab.evaluate("setTimeout(() => { throw new Error('boom'); }, 0); console.error('bad')")
    watched.tab.wait_for_timeout(200)
    context.close()
    assert any("boom" in e for e in watched.errors) and any("bad" in e for e in watched.errors)


def test_screenshot_for_the_readme(server: ui_helpers.Server, page: Page) -> None:
    """A small picture of the compare page (the one in docs/), taken by the tests; with
    UPDATE_DOCS_SHOT=1 it replaces docs/ui-compare.png."""
    ids = []
    for lr, decay in ((0.01, 0.97), (0.05, 0.9), (0.1, 0.85)):
        curve = [{"loss": 2.3 * decay**s + 0.05, "accuracy": 1 - 0.9 * decay**s} for s in range(40)]
        ids.append(make(f"resnet-lr{lr}", config={"lr": lr, "epochs": 40}, metrics=curve))
    page.tab.set_viewport_size({"width": 1000, "height": 720})
    page.tab.goto(f"{server.url}/compare?ids={','.join(ids)}")
    page.tab.wait_for_selector(".chart[data-metric=accuracy] .u-over")
    assert page.tab.evaluate("window.yanexCharts.loss.series.length") == 4
    path = page.shot("readme")
    if os.environ.get("UPDATE_DOCS_SHOT"):
        shutil.copy(path, Path(__file__).parents[2] / "docs" / "ui-compare.png")
