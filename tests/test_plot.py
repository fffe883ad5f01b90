import pytest
from PIL import Image

from actbench import cli, plot, sweep
from actbench.storage import RunFolder


@pytest.fixture
def finished_run(tiny_config):
    tiny_config.seeds = [0, 1]
    return sweep.run(tiny_config, quiet=True).folder


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


def test_plot_overlays_two_runs(finished_run, tiny_config, tmp_path):
    tiny_config.name, tiny_config.seeds = "second", [0]
    sweep.run(tiny_config, quiet=True)
    out = tmp_path / "both.png"
    assert (
        cli.main(["plot", "tiny", "second", "--out", str(tiny_config.out), "--output", str(out)])
        == 0
    )
    assert is_png(out)


def test_describe_names_device_threads_and_mode(finished_run):
    text = plot.describe(RunFolder(finished_run.path).run_info())
    assert text.startswith("cpu (") and "1 threads" in text and text.endswith("eager")


def test_every_builtin_has_its_own_colour_in_every_picture():
    from actbench.activations import BUILTINS

    first = [plot.colour(name) for name in list(BUILTINS)[:10]]
    assert len(set(first)) == 10  # the default sweep's activations never share a colour
    assert plot.colour("relu") == plot.colour("relu")
    assert plot.colour("my.mod:act") == plot.colour("my.mod:act")  # custom: stable by name


def test_a_run_draws_its_timeline_and_breakdown(finished_run):
    for name in (plot.TIMELINE, plot.BREAKDOWN):
        assert is_png(finished_run.path / name)
