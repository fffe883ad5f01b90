"""Bad input: one clear line on stderr, a non-zero exit, no traceback, nothing trained."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from actbench import cli, executor

TINY = ["--hidden", "8", "--epochs", "1", "--batch-size", "50", "--no-download", "--quiet"]


def run_main(argv, capsys) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse refusals
        code = exit_.code
    err = capsys.readouterr().err
    return code, err


def cpu_sweep(data_dir, out, *extra) -> list[str]:
    return [
        "sweep",
        "--device",
        "cpu",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
        *TINY,
        *extra,
    ]


def assert_refused(code: int, err: str, message: str) -> None:
    assert code == 2, err
    assert message in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    monkeypatch.setattr(executor, "_start", lambda *a, **k: pytest.fail("trained"))
    monkeypatch.setattr(executor.worker, "train_group", lambda *a, **k: pytest.fail("trained"))


NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="refusal needs a CUDA-less host")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--activations", "relu,swish2"],
            "unknown activation 'swish2'; valid: identity, relu, tanh",
        ),
        (["--activations", "nosuch.mod:act"], "cannot import 'nosuch.mod'"),
        (["--baseline", "nope"], "unknown activation 'nope'"),
        (["--round-steps", "0"], "--round-steps must be at least 1"),
        (["--schedule", "random"], "invalid choice: 'random'"),
        (["--activations", "math:pi"], "neither an nn.Module class nor a callable"),
        (["--activations", "torch:sum"], "is not an activation"),
        pytest.param(["--device", "cuda"], "CUDA is not available", marks=NO_CUDA),
        pytest.param(["--device", "cuda:7"], "CUDA is not available", marks=NO_CUDA),
        (["--device", "mps"], "MPS is not available"),
        (["--device", "gpu"], "'gpu' is not a device"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--threads", "-2"], "--threads must be at least 1"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--epochs", "ten"], "--epochs wants a number"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--batch-size", "1.5"], "--batch-size wants a number"),
        (["--lr", "-0.1"], "--lr must be greater than 0"),
        (["--lr", "abc"], "--lr wants a number"),
        (["--patience", "-3"], "--patience must be at least 0"),
        (["--patience", "x"], "--patience wants a number"),
        (["--hidden", "0"], "--hidden wants integers >= 1"),
        (["--hidden=-5,10"], "--hidden wants integers >= 1"),
        (["--hidden", "big"], "--hidden wants comma-separated integers"),
        (["--val-fraction", "0"], "--val-fraction must be between 0 and 1"),
        (["--val-fraction", "1"], "--val-fraction must be between 0 and 1"),
        (["--val-fraction", "nan%"], "--val-fraction wants a number"),
        (["--train-limit", "0"], "--train-limit must be at least 1"),
        (["--train-limit", "601"], "--train-limit must be between 1 and 600"),
        (["--train-limit", "2"], "leaves an empty split"),
        (
            ["--train-limit", "40"],
            "fewer than one batch of 50; lower --batch-size or raise --train-limit",
        ),
        (["--batch-size", "100000"], "fewer than one batch of 100000; lower --batch-size"),
        (["--seeds", "-1"], "--seeds wants integers >= 0"),
        pytest.param(["--mode", "cuda-graph", "--device", "cpu"], "cuda-graph needs a CUDA device"),
        (["--mode", "turbo"], "invalid choice: 'turbo'"),
        (["--cpu-affinity", "999"], "--cpu-affinity names CPU(s) [999]"),
        (["--cpu-affinity", "x"], "--cpu-affinity wants comma-separated integers"),
        (["--cpu-capability", "sse9"], "--cpu-capability 'sse9' is not one this"),
    ],
)
def test_sweep_refusals(argv, message, tiny_mnist, tmp_path, capsys):
    code, err = run_main(
        ["sweep", "--data-dir", str(tiny_mnist), "--out", str(tmp_path), *TINY, *argv], capsys
    )
    assert_refused(code, err, message)


def test_a_capability_this_cpu_lacks_leaves_no_run_folder(tiny_mnist, tmp_path, capsys):
    info = Path("/proc/cpuinfo")
    flags = info.read_text() if info.is_file() else ""
    if " avx512f" in flags or " avx2" not in flags:
        pytest.skip("needs an x86 CPU with AVX2 and without AVX512")
    code, err = run_main(
        cpu_sweep(tiny_mnist, tmp_path / "runs", "--cpu-capability", "avx512"), capsys
    )
    assert_refused(code, err, "--cpu-capability avx512: this CPU lacks avx512f")
    assert not (tmp_path / "runs").exists()


def test_missing_data_with_no_download(tmp_path, capsys):
    code, err = run_main(cpu_sweep(tmp_path / "void", tmp_path), capsys)
    assert_refused(code, err, f"no MNIST data in {tmp_path / 'void' / 'MNIST' / 'raw'}")


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_idx_file(damage, tiny_mnist, tmp_path, capsys):
    path = tiny_mnist / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    blob = path.read_bytes()
    path.write_bytes(blob[:-100] if damage == "truncate" else b"\x00\x00\x08\x01" + b"\xff" * 8)
    code, err = run_main(cpu_sweep(tiny_mnist, tmp_path), capsys)
    assert_refused(code, err, "MNIST")
    assert str(tiny_mnist / "MNIST" / "raw") in err


def test_unwritable_output_folder_is_refused_before_training(tiny_mnist, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, err = run_main(cpu_sweep(tiny_mnist, blocker / "sub"), capsys)
    assert_refused(code, err, f"cannot write results to {blocker / 'sub'}")


def test_existing_run_name_is_refused(tiny_mnist, tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "run.json").write_text("{}")
    code, err = run_main(cpu_sweep(tiny_mnist, tmp_path, "--name", "taken"), capsys)
    assert_refused(code, err, "already exists")


def test_resume_of_a_missing_run(tmp_path, capsys):
    code, err = run_main(["sweep", "--resume", "ghost", "--out", str(tmp_path)], capsys)
    assert_refused(code, err, "no actbench run at ghost")


@pytest.mark.parametrize("broken", ["missing", "bad-json", "bad-csv"])
def test_plot_of_missing_or_malformed_run(broken, tmp_path, capsys):
    run = tmp_path / "run"
    if broken != "missing":
        run.mkdir()
        (run / "run.json").write_text("{oops" if broken == "bad-json" else "{}")
        (run / "trials.csv").write_bytes(
            b'activation,seed\n"unterminated\n'
            if broken == "bad-csv"
            else b"activation,seed\nrelu,0\n"
        )
    code, err = run_main(["plot", str(run)], capsys)
    assert_refused(
        code,
        err,
        {"missing": "no actbench run", "bad-json": "cannot read", "bad-csv": "cannot read"}[broken],
    )


def test_debug_shows_the_traceback(tmp_path):
    argv = [
        sys.executable,
        "-m",
        "actbench",
        "sweep",
        "--debug",
        "--activations",
        "nope",
        "--out",
        str(tmp_path),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    assert "ActbenchError: unknown activation 'nope'" in proc.stderr


def test_a_batch_larger_than_the_data_suggests_no_limit_that_was_not_set(tiny_mnist, capsys):
    """Without --train-limit the whole training set is in use: raising it is no advice."""
    argv = ["sweep", "--data-dir", str(tiny_mnist), "--no-download", "--batch-size", "100000"]
    code, err = run_main(argv, capsys)
    assert code == 2 and "lower --batch-size" in err and "train-limit" not in err
