import json
import subprocess
import sys
from pathlib import Path

import pytest

from actbench import cli, plan, sweep_flags
from actbench.config import SweepConfig

SWEEP_FLAGS = [
    "--activations",
    "--device",
    "--threads",
    "--hidden",
    "--batch-size",
    "--optimizer",
    "--lr",
    "--momentum",
    "--dataset",
    "--window",
    "--epochs",
    "--patience",
    "--val-fraction",
    "--train-limit",
    "--seeds",
    "--data-dir",
    "--no-download",
    "--out",
    "--name",
]


def parse(*argv):
    return sweep_flags.config_from(cli.build_parser().parse_args(["sweep", *argv]))


def test_defaults_are_the_seed_article_setup():
    cfg = parse()
    assert cfg == SweepConfig(activations=["relu", "tanh", "sigmoid", "elu"])
    assert plan.build(cfg).filled == {
        "model": "mlp",
        "hidden": (100, 100, 100),
        "batch_size": 100,
        "epochs": 100,
        "patience": 10,
        "val_fraction": 0.2,
    }
    assert cfg.optimizer == "adam" and cfg.momentum == 0.0 and cfg.window is None
    assert cfg.lr == 1e-3 and cfg.seeds == (0, 1, 2) and cfg.dataset == "mnist"


def test_airline_defaults_are_the_articles_lstm():
    cfg = parse("--dataset", "airline", "--epochs", "20")
    assert plan.build(cfg).filled == {
        "model": "lstm",
        "hidden": (6,),
        "batch_size": 1,
        "patience": 0,
        "val_fraction": 0.1,
        "window": 10,
    }
    assert cfg.epochs == 20  # given, so not the dataset's 150


def test_the_pins_are_config_fields_unset_by_default():
    assert (parse().cpu_capability, parse().flush_denormal) == (None, False)
    cfg = parse("--cpu-capability", "avx2", "--flush-denormal")
    assert (cfg.cpu_capability, cfg.flush_denormal) == ("avx2", True)


def test_lists_and_ranges():
    cfg = parse(
        "--hidden",
        "64,32",
        "--seeds",
        "0-2,7",
        "--activations",
        "relu,gelu",
        "--threads",
        "1",
        "--no-download",
        "--train-limit",
        "1000",
    )
    assert cfg.hidden == (64, 32) and cfg.seeds == (0, 1, 2, 7)
    assert cfg.activations == ("relu", "gelu") and cfg.threads == 1
    assert cfg.download is False and cfg.train_limit == 1000


def test_help_lists_every_flag_with_its_default(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["sweep", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at -
    for flag in SWEEP_FLAGS:
        assert flag in text
    assert "(default: relu,tanh,sigmoid,elu)" in text and "(default: 0.001)" in text
    # a default that follows the dataset says so, for each dataset
    assert "Default by dataset: mnist, fashion-mnist, kmnist: 100; airline: 150" in text
    assert "Default by dataset: mnist, fashion-mnist, kmnist: mlp; airline: lstm" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--batch-size", "-5"], "--batch-size must be at least 1"),
        (["--lr", "0"], "--lr must be greater than 0"),
        (["--lr", "fast"], "--lr wants a number"),
        (["--patience", "-1"], "--patience must be at least 0"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--hidden", "100,0"], "--hidden wants integers >= 1"),
        (["--hidden", "a,b"], "--hidden wants comma-separated integers"),
        (["--hidden", "100,,100"], "--hidden has an empty item: '100,,100'"),
        (["--seeds", "0,"], "--seeds has an empty item"),
        (["--val-fraction", "1.5"], "--val-fraction must be between 0 and 1"),
        (["--optimizer", "rmsprop"], "invalid choice"),
        (["--seeds", "5-2"], "--seeds has a reversed range '5-2'; write 2-5"),
    ],
)
def test_bad_flags_are_one_line_errors(argv, message, capsys, tmp_path):
    """Unparsable values stop argparse; values out of range stop the plan: one line either
    way, exit 2, and nothing is created."""
    try:
        code = cli.main(["sweep", *argv, "--out", str(tmp_path / "out")])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def run_cli(*argv, env=None):
    return subprocess.run(
        [sys.executable, "-m", "actbench", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--activations", "relu,nope"],
            "unknown activation 'nope'; valid: identity, relu, tanh, sigmoid",
        ),
        (["--device", "tpu9"], "'tpu9' is not a device"),
        (["--activations", "nosuch.mod:act"], "cannot import 'nosuch.mod'"),
    ],
)
def test_refusals_from_the_command_line_have_no_traceback(argv, message, tmp_path):
    proc = run_cli("sweep", "--out", str(tmp_path), *argv)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("actbench: error:")


@pytest.mark.slow
def test_missing_data_is_a_clear_error(tmp_path):
    proc = run_cli(
        "sweep",
        "--device",
        "cpu",
        "--data-dir",
        str(tmp_path / "none"),
        "--no-download",
        "--out",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"no MNIST data in {tmp_path / 'none' / 'MNIST' / 'raw'}" in proc.stderr
    assert not (tmp_path / "out").exists()  # no run folder for a sweep that never started


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["--activations", "relu,,tanh"],
        ["--activations", "torch:tensor"],
        ["--train-limit", "700"],  # more than the 600 training images there are
        ["--batch-size", "1000", "--train-limit", "500"],
    ],
)
def test_a_refused_sweep_leaves_no_run_folder(argv, tiny_mnist, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("sweep", "--data-dir", str(tiny_mnist), "--out", str(out), *argv)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_a_failed_download_is_one_line_with_the_fix(tmp_path, monkeypatch, capsys):
    import torchvision.datasets

    class Offline:  # torchvision makes its folders, then fails to fetch
        def __init__(self, root, *args, **kwargs):
            (Path(root) / "MNIST" / "raw").mkdir(parents=True)
            raise RuntimeError(
                "Error downloading train-images-idx3-ubyte.gz:\nTried https://x/, got:\n"
                "<urlopen error [Errno -2] Name or service not known>"
            )

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    code = cli.main(["sweep", "--data-dir", str(tmp_path / "d"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "Name or service not known" in err and "$ACTBENCH_DATA" in err
    assert not (tmp_path / "o").exists()
    assert not (tmp_path / "d").exists()  # no empty MNIST/raw left behind


def test_in_process_sweep_prints_the_table(tiny_mnist, tmp_path, capsys):
    code = cli.main(
        [
            "sweep",
            "--device",
            "cpu",
            "--data-dir",
            str(tiny_mnist),
            "--no-download",
            "--hidden",
            "16",
            "--epochs",
            "2",
            "--batch-size",
            "50",
            "--quiet",
            "--activations",
            "relu,torch:sin",
            "--out",
            str(tmp_path),
            "--name",
            "cli",
            "--format",
            "github",
            "--cpu-capability",
            "default",
            "--flush-denormal",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("| activation")
    assert "| torch:sin" in out and (tmp_path / "cli" / "trials.csv").is_file()
    saved = json.loads((tmp_path / "cli" / "run.json").read_text())
    assert saved["config"]["cpu_capability"] == "default" and saved["config"]["flush_denormal"]
    # trained in this process (the workers' stand-in here): it flushed, as pinned
    assert saved["environment"]["flush_denormal"] is True


@pytest.mark.slow
def test_a_closed_pipe_is_not_an_error(tmp_path):
    """`actbench list | head -1`: the reader leaving early is no traceback (`true` leaves
    before actbench has even started writing)."""
    import subprocess
    import sys

    from actbench.storage import RunFolder
    from tests.conftest import fake_trial

    for i in range(3):
        folder = RunFolder.create(tmp_path, f"run{i:02d}")
        folder.write_run({"name": f"run{i:02d}", "config": {"activations": ["relu"], "seeds": [0]}})
        folder.add_trial(fake_trial())
    cmd = f"{sys.executable} -m actbench list --out {tmp_path} --format plain | true"
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


ANSWERED_AT_ONCE = [["--help"], ["--version"], ["sweep", "--help"], ["sweep", "--bogus"],
                    ["sweep", "--seeds", "5-2"], ["compare"]]  # fmt: skip


@pytest.mark.parametrize("argv", ANSWERED_AT_ONCE)
def test_help_version_and_argument_errors_never_import_torch(argv):
    """What argparse answers, it answers before torch is imported (the ~3 s that every
    command but these needs): the modules loaded are the evidence, not a stopwatch."""
    probe = (
        "import sys\n"
        "from actbench import cli\n"
        f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'pandas' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "False False", done.stderr


def test_the_flags_vocabulary_names_the_objects():
    """`--help` answers from plain names; they are the names of the real objects."""
    from actbench import activation, config, dataset, model

    assert tuple(activation.BUILTINS) == config.ACTIVATIONS
    assert model.MODELS == config.MODELS
    assert {n: (d.models, d.defaults) for n, d in dataset.DATASETS.items()} == config.DATASETS


def test_resume_command_is_the_typed_line_with_resume_added():
    line = cli.resume_command(["sweep", "--epochs", "3", "--name", "r one"], "r one")
    assert line.endswith("sweep --epochs 3 --name 'r one' --resume 'r one'")
    again = cli.resume_command(["sweep", "--resume", "old", "--quiet"], "old")
    assert again.endswith("sweep --quiet --resume old")


def sweep_argv(tiny_mnist, out, *more):
    return [
        "sweep", "--data-dir", str(tiny_mnist), "--no-download", "--hidden", "16",
        "--epochs", "2", "--batch-size", "50", "--seeds", "0", "--quiet",
        "--activations", "relu,tanh", "--out", str(out), "--name", "int1", *more,
    ]  # fmt: skip


def test_an_interrupt_names_the_run_and_the_command_that_finishes_it(
    tiny_mnist, tmp_path, capsys, monkeypatch
):
    from tests.conftest import first_result_then_interrupt

    first_result_then_interrupt(monkeypatch)
    argv = sweep_argv(tiny_mnist, tmp_path)
    assert cli.main(argv) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert f"finished trials are saved in {tmp_path / 'int1'}" in err
    said = err.strip().splitlines()[-1]
    assert said.startswith("finish the run with: ") and said.endswith("--resume int1")
    monkeypatch.undo()
    typed = said.removeprefix("finish the run with: ").split()
    assert cli.main(typed[typed.index("sweep") :]) == 0  # the command it gave finishes it


def test_an_interrupt_before_any_trial_says_nothing_was_kept(
    tiny_mnist, tmp_path, capsys, monkeypatch
):
    from actbench import executor

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
        yield  # a generator, like the executor's

    monkeypatch.setattr(executor, "local", interrupted)
    assert cli.main(sweep_argv(tiny_mnist, tmp_path)) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "before any trial finished: nothing was kept" in err and "was removed" in err
    assert not (tmp_path / "int1").exists() and "--resume" not in err
