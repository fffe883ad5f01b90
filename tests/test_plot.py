import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import matplotlib.colors
import pytest
from PIL import Image

from actbench import cli, painter, plot, printout, runner
from actbench import summary as summary_mod
from actbench.config import SweepConfig
from actbench.run_record import RunRecord, describe
from actbench.storage import RunFolder
from tests.conftest import in_process, make_mnist

pytestmark = pytest.mark.pictures  # every test here is about the pictures


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> SweepConfig:
    """Two runs every test here reads (drawing is what they test, not training): `tiny`,
    two seeds, and `second`, one seed, in the returned configuration's `out`."""
    root = tmp_path_factory.mktemp("plot")
    config = SweepConfig(
        activations=["relu", "tanh"], device="cpu", threads=1, seeds=[0, 1], hidden=(32, 32),
        batch_size=50, epochs=4, patience=2, warmup_steps=5, data_dir=make_mnist(root / "data"),
        download=False, out=root / "results", name="tiny",
    )  # fmt: skip
    with in_process():
        runner.run(config, quiet=True)
        runner.run(replace(config, name="second", seeds=[0]), quiet=True)
    return config


@pytest.fixture
def finished_run(shared) -> RunFolder:
    return RunFolder(shared.out / "tiny")


@pytest.fixture
def second(shared) -> RunFolder:
    return RunFolder(shared.out / "second")


def is_png(path) -> bool:
    with Image.open(path) as img:
        return img.format == "PNG" and img.size[0] > 400


def test_every_run_draws_both_pictures(finished_run):
    for name in (plot.SCATTER, plot.CURVES):
        assert is_png(finished_run.path / name)


def test_plot_redraws_a_run(finished_run, capsys):
    (finished_run.path / plot.SCATTER).unlink()
    assert cli.main(["plot", str(finished_run.path)]) == 0
    assert is_png(finished_run.path / plot.SCATTER)
    assert str(finished_run.path / plot.CURVES) in capsys.readouterr().out


def test_drawing_writes_nothing_and_the_folder_saves_the_pictures(finished_run):
    """plot builds figures; the run folder writes them (whole: no temporary file left)."""
    files = {p.name: p.stat().st_mtime_ns for p in finished_run.path.iterdir()}
    drawn = plot.figures(finished_run)
    assert {p.name: p.stat().st_mtime_ns for p in finished_run.path.iterdir()} == files
    paths = printout.draw(finished_run)
    assert [p.name for p in paths] == list(drawn) and all(is_png(p) for p in paths)
    assert not list(finished_run.path.glob(".*.tmp"))


def test_plot_overlays_two_runs(shared, tmp_path):
    out = tmp_path / "both.png"
    assert cli.main(["plot", "tiny", "second", "--out", str(shared.out), "--output", str(out)]) == 0
    assert is_png(out)


def test_titles_name_the_run_as_show_does(finished_run):
    text = describe(RunFolder(finished_run.path).info())
    assert text.startswith("cpu (") and "1 thread," in text and ", eager, " in text
    title = plot.figures(finished_run)[plot.TIMELINE].axes[0].get_title().replace("\n", " ")
    assert title.endswith(text)


def test_every_builtin_has_its_own_colour_in_every_picture():
    from actbench.activation import BUILTINS

    first = [plot.colour(name) for name in list(BUILTINS)[:10]]
    assert len(set(first)) == 10  # the default sweep's activations never share a colour
    assert plot.colour("relu") == plot.colour("relu")
    assert plot.colour("my.mod:act") == plot.colour("my.mod:act")  # custom: stable by name


def test_a_run_draws_its_timeline_and_breakdown(finished_run):
    for name in (plot.TIMELINE, plot.BREAKDOWN):
        assert is_png(finished_run.path / name)


def _colours(ax) -> dict[str, tuple]:
    """Legend label -> colour of the line or marker it stands for."""
    handles, labels = ax.get_legend_handles_labels()
    out = {}
    for handle, label in zip(handles, labels, strict=True):
        artist = handle.lines[0] if hasattr(handle, "lines") else handle
        out[label] = matplotlib.colors.to_rgba(artist.get_color())
    return out


def test_pictures_use_one_colour_per_activation_everywhere(finished_run):
    figures = plot.figures(finished_run)
    assert set(figures) == {plot.SCATTER, plot.CURVES, plot.TIMELINE, plot.BREAKDOWN, plot.HEALTH}
    scatter_ax = figures[plot.SCATTER].axes[0]
    curves_ax = figures[plot.CURVES].axes[1]
    timeline_ax = figures[plot.TIMELINE].axes[0]
    for ax in (scatter_ax, curves_ax, timeline_ax):
        colours = _colours(ax)
        assert set(colours) == {"identity", "relu", "tanh"}
        for name, rgba in colours.items():
            assert rgba == matplotlib.colors.to_rgba(plot.colour(name)), (ax.get_title(), name)
    bars = figures[plot.BREAKDOWN].axes[0].containers[0]  # the activation part, per row
    assert {matplotlib.colors.to_rgba(plot.colour(n)) for n in ("relu", "tanh")} <= {
        patch.get_facecolor() for patch in bars
    }


def test_the_scatter_says_what_its_bars_are_and_which_way_is_better(finished_run):
    summary = summary_mod.summarize_folder(finished_run)
    costs = ~summary["baseline"]
    summary.loc[costs, ["cost_pct", "cost_pct_low", "cost_pct_high"]] = [4.0, 3.0, 5.0]
    summary.loc[costs, ["gain", "gain_low", "gain_high"]] = [1.0, 0.5, 1.5]
    summary.loc[costs, ["cost_seeds", "gain_seeds"]] = 2.0
    ax = plot.scatter([(finished_run.name, finished_run.info(), summary)]).axes[0]
    assert ax.get_xlabel() == (
        "cost: extra time per step over identity, % of the identity step in the same rounds\n"
        "(← cheaper; bars = 95% CI over 2 seeds)"
    )
    assert ax.get_ylabel() == (
        "gain: test-accuracy points over identity\n(↑ better; bars = 95% CI over 2 seeds)"
    )
    error_bars = [c for c in ax.containers if hasattr(c, "has_xerr") and c.has_xerr]
    assert len(error_bars) == 3  # identity, relu, tanh, each with its interval


def test_learning_curves_shade_the_seeds_and_use_whole_epochs(finished_run):
    fig = plot.figures(finished_run)[plot.CURVES]
    loss_ax = fig.axes[0]
    assert "mean of 2 seeds, band = range" in loss_ax.get_title()
    assert len(loss_ax.collections) == 3  # one band per activation
    ticks = [t for t in loss_ax.get_xticks() if loss_ax.get_xlim()[0] <= t <= loss_ax.get_xlim()[1]]
    assert all(float(t).is_integer() for t in ticks)


def test_the_overlay_links_each_activation_across_runs(finished_run, second):
    ax = plot.overlay([finished_run, second]).axes[0]
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 3  # identity, relu and tanh: first run -> second run
    labels = {label for label in ax.get_legend_handles_labels()[1]}
    assert "relu (tiny)" in labels and "relu (second)" in labels


def test_a_disturbed_row_is_drawn_hollow_and_the_picture_says_so(finished_run):
    summary = summary_mod.summarize_folder(finished_run)
    summary["timing"] = ["seed 0: 50% of rounds ≥ 1.25× its fastest" if a == "relu" else ""
                         for a in summary["activation"]]  # fmt: skip
    ax = plot.scatter([(finished_run.name, finished_run.info(), summary)]).axes[0]
    faces = {
        c.get_label(): matplotlib.colors.to_rgba(c.lines[0].get_markerfacecolor())
        for c in ax.containers
        if hasattr(c, "has_xerr")
    }
    assert faces["relu"] == matplotlib.colors.to_rgba("white")
    assert faces["tanh"] == matplotlib.colors.to_rgba(plot.colour("tanh"))
    assert "hollow: timing disturbed" in ax.get_legend().get_title().get_text()


def test_a_long_title_wraps_instead_of_being_cut(finished_run):
    run = finished_run.run_info()
    run["environment"]["device_name"] = "AMD EPYC 9654 96-Core Processor with a very long name"
    fig = plot.timeline(finished_run.name, RunRecord.from_dict(run), finished_run.rounds())
    title = fig.axes[0].get_title()
    assert "\n" in title and max(len(line) for line in title.splitlines()) <= 81


def test_legends_sit_beside_the_data_and_overlay_arrows_bend_apart(finished_run, second):
    legend = plot.figures(finished_run)[plot.BREAKDOWN].axes[0].get_legend()
    anchor = legend.get_bbox_to_anchor().transformed(legend.axes.transAxes.inverted())
    assert anchor.x0 >= 1.0 or anchor.y0 >= 1.0  # beside or above the bars, never over them
    ax = plot.overlay([finished_run, second]).axes[0]
    arrows = [t.arrow_patch for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    bends = {arrow.get_connectionstyle().rad for arrow in arrows}
    assert len(bends) == 3  # identity, relu and tanh each bend their own way


def _x_of(ax) -> dict[str, float]:
    """Legend label -> x of the point it stands for."""
    return {
        c.get_label(): float(c.lines[0].get_xdata()[0]) for c in ax.containers
        if hasattr(c, "has_xerr")
    }  # fmt: skip


def test_an_mlp_and_a_cnn_10x_apart_share_a_linear_cost_axis():
    """results/default (≈ 900 µs/step) against results/cnn (≈ 25 000): each cost as % of
    its own run's identity step, the tables' cost % (+5.7 and +13.1 for relu)."""
    root = Path(__file__).resolve().parents[1] / "results"
    ax = plot.overlay([RunFolder(root / "default"), RunFolder(root / "cnn")]).axes[0]
    x = _x_of(ax)
    assert round(x["relu (default)"], 1) == 5.7 and round(x["relu (cnn)"], 1) == 13.1
    assert round(x["tanh (cnn)"], 1) == 45.0 and x["identity (cnn)"] == 0.0
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == (
        "cost: extra time per step over identity, % of each run's own identity step in the "
        "same rounds\n(← cheaper; bars = 95% CI over 3 seeds)"
    )


def test_every_point_is_named_beside_it(finished_run):
    ax = plot.figures(finished_run)[plot.SCATTER].axes[0]
    names = [t.get_text() for t in ax.texts if getattr(t, "arrow_patch", None) is None]
    assert sorted(names) == ["identity", "relu", "tanh"]


def test_a_scatter_without_cost_intervals_draws_no_bars_and_says_so(finished_run):
    summary = summary_mod.summarize_folder(finished_run)
    costs = ~summary["baseline"]
    summary.loc[costs, ["cost_pct_low", "cost_pct_high"]] = float("nan")
    ax = plot.scatter([(finished_run.name, finished_run.info(), summary)]).axes[0]
    assert ax.get_xlabel().endswith(
        "(← cheaper; no bars: no interval could be computed (the table says why))"
    )


def test_plot_o_writes_one_runs_scatter_and_leaves_its_folder(finished_run, tmp_path, capsys):
    files = {p.name: p.stat().st_mtime_ns for p in finished_run.path.iterdir()}
    out = tmp_path / "x.png"
    assert cli.main(["plot", str(finished_run.path), "-o", str(out)]) == 0
    assert is_png(out) and capsys.readouterr().out == f"{out}\n"
    assert {p.name: p.stat().st_mtime_ns for p in finished_run.path.iterdir()} == files
    text = tmp_path / "x.txt"
    assert cli.main(["plot", str(finished_run.path), "-o", str(text)]) == cli.EXIT_ERROR
    error = capsys.readouterr().err.strip()
    assert error.endswith(f"-o {text}: the scatter is a PNG; name a .png file")


def _drawn_by(tmp_path: Path, monkeypatch, fail_in_child: bool = False) -> Path:
    """Record, in a file, which process drew each picture (a forked child's record reaches
    the file, not this process's memory); with `fail_in_child`, a child's drawing fails."""
    log, parent, real = tmp_path / "drawn_by.txt", os.getpid(), plot.png

    def spy(fig):
        title = fig.get_suptitle() or fig.axes[0].get_title()
        if fail_in_child and os.getpid() != parent:
            raise RuntimeError("a picture that cannot be drawn")
        with log.open("a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {title[:40]!r}\n")
        return real(fig)

    monkeypatch.setattr(plot, "png", spy)
    return log


def test_health_is_drawn_by_a_forked_child_into_the_same_bytes(finished_run, tmp_path, monkeypatch):
    """painter.py: a child draws health.png and the timeline while this process draws the
    rest; the files are the bytes this process alone draws."""
    copy = RunFolder(Path(shutil.copytree(finished_run.path, tmp_path / "run")))
    monkeypatch.setattr(painter, "forks", lambda: False)
    alone = {p.name: p.read_bytes() for p in printout.draw(copy)}
    assert plot.HEALTH in alone and len(alone) == 5
    log = _drawn_by(tmp_path, monkeypatch)
    monkeypatch.setattr(painter, "forks", lambda: True)
    paths = printout.draw(copy)
    assert {p.name: p.read_bytes() for p in paths} == alone
    pids = [int(line.split()[0]) for line in log.read_text(encoding="utf-8").splitlines()]
    assert sorted(pids.count(pid) for pid in set(pids)) == [2, 3]  # two apart, three here
    assert pids.count(os.getpid()) == 3


def test_a_child_that_fails_leaves_its_picture_to_this_process(finished_run, tmp_path, monkeypatch):
    copy = RunFolder(Path(shutil.copytree(finished_run.path, tmp_path / "run")))
    (copy.path / plot.HEALTH).unlink()
    log = _drawn_by(tmp_path, monkeypatch, fail_in_child=True)
    monkeypatch.setattr(painter, "forks", lambda: True)
    paths = printout.draw(copy)
    assert [p.name for p in paths] == list(plot.NAMES) and is_png(copy.path / plot.HEALTH)
    pids = {int(line.split()[0]) for line in log.read_text(encoding="utf-8").splitlines()}
    assert pids == {os.getpid()}


def test_no_child_is_forked_beside_another_thread():
    """A thread of this process could hold a lock the child would need (a Jupyter kernel's)."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not painter.forks()
    finally:
        stop.set()
        other.join()


def test_a_child_that_hangs_is_killed_and_its_pictures_drawn_here(
    finished_run, tmp_path, monkeypatch
):
    """A child stuck for good (a lock some thread held at the fork) costs `PATIENCE`, then
    this process draws what it owed."""
    copy = RunFolder(Path(shutil.copytree(finished_run.path, tmp_path / "run")))
    (copy.path / plot.HEALTH).unlink()
    parent, real = os.getpid(), plot.png

    def stuck_in_child(fig):
        if os.getpid() != parent:
            threading.Event().wait()  # never set: the child hangs
        return real(fig)

    monkeypatch.setattr(plot, "png", stuck_in_child)
    monkeypatch.setattr(painter, "forks", lambda: True)
    monkeypatch.setattr(painter, "PATIENCE", 1.0)
    paths = printout.draw(copy)
    assert [p.name for p in paths] == list(plot.NAMES) and is_png(copy.path / plot.HEALTH)


def test_no_child_to_fork_leaves_every_picture_to_this_process(finished_run, tmp_path, monkeypatch):
    copy = RunFolder(Path(shutil.copytree(finished_run.path, tmp_path / "run")))
    (copy.path / plot.HEALTH).unlink()

    def refused():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(painter, "forks", lambda: True)
    monkeypatch.setattr(painter.os, "fork", refused)
    paths = printout.draw(copy)
    assert [p.name for p in paths] == list(plot.NAMES) and is_png(copy.path / plot.HEALTH)
