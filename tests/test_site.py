"""The HTML report as a person uses it: `actbench report` on saved runs, the pages' numbers
against `show` and summary.csv, refusals, the API's twin, and a real headless browser."""

from __future__ import annotations

import html
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import actbench
from actbench import cli
from tests.conftest import in_process, make_mnist

ARTIFACTS = Path(os.environ.get("ACTBENCH_ARTIFACTS", "test-artifacts"))


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables(path: Path) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tables


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """a and b: the same sweep twice; c: the same on two threads (not comparable)."""
    root = tmp_path_factory.mktemp("report")
    options = dict(
        device="cpu", hidden=(32, 32), batch_size=25, epochs=2, patience=0, warmup_steps=5,
        round_steps=4,
        data_dir=make_mnist(root / "data"), download=False, out=root / "results", quiet=True,
        seeds=[0, 1],
    )  # fmt: skip
    with in_process():
        for name, threads in (("a", 1), ("b", 1), ("c", 2)):
            actbench.sweep(["relu", "tanh"], name=name, threads=threads, **options)
    return root / "results"


@pytest.fixture(scope="module")
def site(runs, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("site") / "site"
    assert cli.main(["report", "--out", str(runs), "-o", str(output)]) == 0
    return output


def test_a_page_per_run_and_each_run_against_the_one_before_it_in_its_group(site):
    assert sorted(p.name for p in (site / "runs").glob("*.html")) == ["a.html", "b.html", "c.html"]
    # a and b are one group; c (two threads) is apart, so nothing compares it
    assert [p.name for p in (site / "compare").glob("*.html")] == ["a--b.html"]
    assert (site / "runs" / "a" / "accuracy_vs_us_per_step.png").is_file()
    assert (site / "assets" / "plotly.min.js").stat().st_size > 1_000_000  # no network needed


def test_a_run_page_shows_the_numbers_of_show_and_summary_csv(site, runs, capsys):
    header, *rows = tables(site / "runs" / "a.html")[0]
    page = {row[0].rstrip(" *"): dict(zip(header, row, strict=True)) for row in rows}
    summary = pd.read_csv(runs / "a" / "summary.csv").set_index("activation")
    assert set(page) == set(summary.index) == {"relu", "tanh", "identity"}
    assert cli.main(["show", "a", "--out", str(runs), "--wide", "--format", "plain"]) == 0
    shown = capsys.readouterr().out
    for name, s in summary.iterrows():
        accuracy = f"{100 * s['test_accuracy_mean']:.2f} ± {100 * s['test_accuracy_std']:.2f}"
        assert page[name]["test acc % (mean ± std)"] == accuracy and accuracy in shown
        assert page[name]["µs/step (median, raw)"] == f"{s['us_per_step_median']:.1f}"
        if name == "identity":
            continue
        # The legend's rule, applied here by hand: a point below 0 whose interval holds 0 reads
        # "≈0" (no saving the data cannot bear); a tiny sweep's cost can land on either side.
        near_zero = s["cost_pct"] < 0 <= s["cost_pct_high"]
        point = "≈0" if near_zero else f"{s['cost_pct']:+.1f}"
        cost = f"{point}% [{s['cost_pct_low']:+.1f}, {s['cost_pct_high']:+.1f}]"
        assert page[name]["cost % of baseline step"] == cost and cost in shown


def test_the_index_lists_every_run_and_draws_incomparable_ones_apart(site):
    index = tables(site / "index.html")
    runs = {row[0]: row for row in index[0][1:]}
    assert set(runs) == {"a", "b", "c"}
    cost = index[1]  # each activation's cost across runs, without JavaScript
    group = {row[1]: row[0] for row in cost[1:]}
    assert group["a"] == group["b"] != group["c"]
    step = index[3]  # the third panel's numbers: µs per step, median (IQR)
    assert step[0][:3] == ["group", "run", "started"] and len(step) == 4
    assert " (IQR " in step[1][3]
    text = " ".join((site / "index.html").read_text(encoding="utf-8").split())
    words = "the three tables below hold its numbers, one per panel (cost, gain, µs per step)"
    assert words in text
    assert "<summary>µs per step, median (IQR), raw</summary>" in text


def test_a_comparison_page_says_what_compare_says(runs, tmp_path, capsys):
    output = tmp_path / "pair"
    argv = ["report", "a", "b", "--out", str(runs), "-o", str(output), "--fail-if-slower", "50"]
    assert cli.main(argv) == 0
    page = html.unescape((output / "compare" / "a--b.html").read_text(encoding="utf-8"))
    code = cli.main(["compare", "a", "b", "--out", str(runs), "--fail-if-slower", "50"])
    gate_line = capsys.readouterr().err.strip().splitlines()[-1].removeprefix("actbench: ")
    outcome = gate_line.removeprefix("gate: ").split(";")[0]
    assert (code, outcome) in {(0, "pass"), (3, "untested"), (3, "incomplete")}
    assert gate_line in page
    header, *rows = tables(output / "compare" / "a--b.html")[0]
    assert header[0] == "activation" and {r[0] for r in rows} == {"relu", "tanh", "identity"}


def test_a_report_replaces_its_own_folder_and_refuses_any_other(runs, tmp_path, capsys):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    assert cli.main(["report", "--out", str(runs), "-o", str(mine)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("actbench: error:") and "not an actbench report" in err
    assert len(err.splitlines()) == 1 and (mine / "keep.txt").read_text() == "mine"
    output = tmp_path / "site"
    for _ in range(2):  # the second replaces the first
        assert cli.main(["report", "a", "--out", str(runs), "-o", str(output)]) == 0
    assert sorted(p.name for p in (output / "runs").glob("*.html")) == ["a.html"]
    assert cli.main(["report", "--out", str(tmp_path / "nothing"), "-o", str(output)]) == 2
    assert "no runs under" in capsys.readouterr().err
    shutil.copytree(runs / "a", tmp_path / "copy" / "a")
    argv = ["report", str(runs / "a"), str(tmp_path / "copy" / "a"), "-o", str(output)]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        "actbench: error: two runs named a: a report names pages by run"
    )


def test_the_api_renders_and_writes_the_same_html(runs, tmp_path):
    run = actbench.load("a", out=runs)
    fragment = run._repr_html_()
    assert "data:image/png;base64," in fragment and "cost % of baseline step" in fragment
    comparison = actbench.compare("a", "b", out=runs)
    assert "b against a" in comparison._repr_html_()
    index = actbench.report(["a", "c"], out=runs, output=tmp_path / "api")
    assert index == tmp_path / "api" / "index.html" and index.is_file()
    with pytest.raises(actbench.ActbenchError, match="no runs under"):
        actbench.report(out=tmp_path / "nothing", output=tmp_path / "x")


def _browser() -> str | None:
    """The system's Chromium (Debian's `chromium` package), if Playwright can drive it."""
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (dev extra)")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no Chromium on this machine: apt-get install chromium")


@pytest.mark.slow
def test_the_report_of_this_repositorys_results_in_a_real_browser(tmp_path):
    """Every committed run is on the index, with a point per run in the across-runs chart,
    and the pages load with no console errors."""
    from playwright.sync_api import sync_playwright

    executable = _browser()
    results = Path(__file__).resolve().parents[1] / "results"
    output = tmp_path / "site"
    assert cli.main(["report", "--out", str(results), "-o", str(output)]) == 0
    committed = sorted(p.parent.name for p in results.glob("*/run.json"))
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((output / "index.html").as_uri())
        page.wait_for_selector(".js-plotly-plot .scatterlayer")
        listed = page.eval_on_selector_all(
            "table.runs tbody tr td:first-child", "t => t.map(c => c.innerText)"
        )
        # the step-time panel (every run has one) of each chart: relu's points, one per run
        points = page.evaluate(
            """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd =>
                 gd.data.filter(t => t.name === 'relu' && t.yaxis === 'y3')
                        .map(t => t.x.filter(x => x !== null).length)[0])"""
        )
        bands = page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => "
            "gd.layout.annotations.filter(a => a.text.startsWith('group')).length)"
        )
        page.screenshot(path=str(ARTIFACTS / "report-index.png"), full_page=True)
        page.goto((output / "runs" / "sgd-table.html").as_uri())
        shown = page.inner_text("table.numbers")
        page.screenshot(path=str(ARTIFACTS / "report-run.png"), full_page=True)
        browser.close()
    assert errors == []
    assert sorted(listed) == committed
    with_relu = [
        r for r in committed if "relu" in actbench.load(results / r).info["config"]["activations"]
    ]
    assert sum(points) == len(with_relu)
    assert sum(bands) >= 3  # the committed runs differ in threads, mode and network
    for name in actbench.load(results / "sgd-table").info["config"]["activations"]:
        assert name in shown


def test_a_pair_compare_refuses_is_left_out_saying_why(tmp_path, capsys):
    """An airline run (RMSE) and an MNIST run (accuracy): both pages, no comparison."""
    results = Path(__file__).resolve().parents[1] / "results"
    argv = ["report", "airline-lstm", "sgd-table", "--out", str(results), "-o", str(tmp_path)]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("actbench: left out sgd-table against airline-lstm")
    assert "different kinds of data" in err[0]
    assert sorted(p.name for p in (tmp_path / "runs").glob("*.html")) == [
        "airline-lstm.html", "sgd-table.html",
    ]  # fmt: skip
    assert list((tmp_path / "compare").iterdir()) == []
