"""A user's network and data: factories and loaders by spec or by value, the checks that
refuse what cannot train (the same words from the CLI and the API), and what run.json
records of them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

import actbench
from actbench import cli, executor, usercode
from actbench.errors import ActbenchError

FACTORY = """
import torch
from torch import nn

def build(act):
    return nn.Sequential(nn.Linear(6, 5), act(), nn.Linear(5, 3))

class Square(nn.Module):
    def forward(self, x):
        return x * x

def no_module(act):
    act()
    return 3

def no_act(act):
    return nn.Linear(6, 3)

calls = [0]
def restless(act):
    calls[0] += 1
    torch.manual_seed(calls[0])
    return nn.Sequential(nn.Linear(6, 5), act(), nn.Linear(5, 3))

def picky(act):
    made = act()
    first = nn.Linear(6, 5)
    if isinstance(made, nn.ReLU):
        torch.nn.init.zeros_(first.bias)
    return nn.Sequential(first, made, nn.Linear(5, 3))

def four_out(act):
    return nn.Sequential(nn.Linear(6, 5), act(), nn.Linear(5, 4, bias=False), nn.Flatten(0))
"""

LOADER = """
import torch

def _pair(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long()

def load():
    return {"train": _pair(300, 0), "test": _pair(100, 1)}

def uneven():
    x, y = _pair(300, 0)
    return {"train": (x, y[:299]), "test": _pair(100, 1)}

def listed():
    x, y = _pair(300, 0)
    return {"train": (x.tolist(), y), "test": _pair(100, 1)}

def no_test():
    return {"train": _pair(300, 0)}

def nan():
    x, y = _pair(300, 0)
    x[:] = float("nan")
    return {"train": (x, y), "test": _pair(100, 1)}
"""

TINY = dict(device="cpu", epochs=1, batch_size=50, seeds=[0], warmup_steps=1, quiet=True)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "nets.py").write_text(textwrap.dedent(FACTORY))
    (tmp_path / "data.py").write_text(textwrap.dedent(LOADER))
    return tmp_path


def test_a_factory_and_a_loader_from_files_train_and_are_recorded(code, tmp_path):
    run = actbench.sweep(
        ["relu", f"{code}/nets.py:Square"],
        model=f"{code}/nets.py:build",
        dataset=f"{code}/data.py:load",
        out=tmp_path / "runs",
        **TINY,
    )
    assert sorted(run.summary["activation"]) == [f"{code}/nets.py:Square", "identity", "relu"]
    saved = json.loads((run.path / "run.json").read_text())
    # Linear(6, 5) and Linear(5, 3): 6*5 + 5 + 5*3 + 3 weights, counted by hand
    assert saved["network"]["parameters"] == 53
    assert saved["network"]["shapes"]["0.weight"] == [5, 6]
    assert saved["network"]["factory"]["spec"] == f"{code}/nets.py:build"
    assert len(saved["network"]["loader"]["sha256"]) == 64
    assert saved["data"]["train"] == 240 and saved["data"]["val"] == 60  # 300, 20 % held out
    assert saved["config"]["hidden"] is None


@pytest.mark.parametrize(
    ("model", "dataset", "words"),
    [
        ("{code}/none.py:build", "{code}/data.py:load", "no file {code}/none.py"),
        ("nosuchpkg.nets:build", "{code}/data.py:load", "no module 'nosuchpkg'"),
        ("{code}/nets.py:nope", "{code}/data.py:load", "the file {code}/nets.py has no 'nope'"),
        ("{code}/nets.py:no_module", "{code}/data.py:load", "returned int, not a torch.nn.Module"),
        ("{code}/nets.py:no_act", "{code}/data.py:load", "never calls act()"),
        ("{code}/nets.py:restless", "{code}/data.py:load", "is not deterministic for a seed"),
        (
            "{code}/nets.py:picky",
            "{code}/data.py:load",
            "builds different weights for identity and relu at seed 0: 0.bias differs",
        ),
        (
            "{code}/nets.py:four_out",
            "{code}/data.py:load",
            "output (200) does not fit the labels (50)",
        ),
        ("{code}/nets.py:build", "{code}/data.py:uneven", "'train' has 300 inputs but 299 labels"),
        ("{code}/nets.py:build", "{code}/data.py:listed", "'train' holds list and Tensor"),
        ("{code}/nets.py:build", "{code}/data.py:no_test", "needs 'train' and 'test'"),
        ("{code}/nets.py:build", "{code}/data.py:nan", "the loss is nan at the first step"),
    ],
)
def test_each_refusal_is_one_line_with_the_same_words_from_the_cli_and_the_api(
    code, tmp_path, capsys, monkeypatch, model, dataset, words
):
    monkeypatch.setattr(executor, "_start", lambda *a, **k: pytest.fail("trained"))
    # sweeps in tests train in this process, through the worker's own `train_group`
    monkeypatch.setattr(executor.worker, "train_group", lambda *a, **k: pytest.fail("trained"))
    model, dataset, words = (s.format(code=code) for s in (model, dataset, words))
    argv = ["sweep", "--model", model, "--dataset", dataset, "--activations", "relu"]
    argv += ["--device", "cpu", "--epochs", "1", "--batch-size", "50", "--seeds", "0"]
    argv += ["--out", str(tmp_path / "cli"), "--quiet"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    with pytest.raises(ActbenchError, match=None) as refused:
        actbench.sweep(["relu"], model=model, dataset=dataset, out=tmp_path / "api", **TINY)
    assert words in str(refused.value)
    assert not (tmp_path / "cli").exists() and not (tmp_path / "api").exists()


def test_options_of_the_built_in_networks_are_refused_with_a_factory(code, tmp_path):
    with pytest.raises(ActbenchError, match="hidden applies to the built-in networks"):
        actbench.sweep(
            ["relu"], model=f"{code}/nets.py:build", dataset=f"{code}/data.py:load",
            hidden=[8], out=tmp_path, **TINY,
        )  # fmt: skip


def test_a_users_dataset_needs_a_model(code, tmp_path):
    with pytest.raises(ActbenchError, match="model is needed with a user's dataset"):
        actbench.sweep(["relu"], dataset=f"{code}/data.py:load", out=tmp_path, **TINY)


def test_objects_and_tensors_from_python_are_named_and_train(tmp_path):
    def build(act):
        return nn.Sequential(nn.Linear(4, 8), act(), nn.Linear(8, 1))

    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 4, generator=g)
    y = x.sum(dim=1, keepdim=True)  # float targets: regression
    tensors = {"train": (x[:150], y[:150]), "test": (x[150:], y[150:])}
    run = actbench.sweep(["tanh"], model=build, dataset=tensors, out=tmp_path, **TINY)
    saved = json.loads((run.path / "run.json").read_text())
    assert saved["metric"] == "rmse"
    assert saved["config"]["model"].endswith("build")
    assert saved["config"]["dataset"].startswith("tensors:")
    assert saved["network"]["parameters"] == 4 * 8 + 8 + 8 + 1


def test_a_redefined_factory_gets_a_new_name():
    def build(act):
        return nn.Sequential(nn.Linear(2, 2), act())

    first = usercode.give(build, "model")

    def build(act):  # a notebook cell run again, changed
        return nn.Sequential(nn.Linear(2, 3), act())

    second = usercode.give(build, "model")
    assert first != second and second.startswith(first)


def readme_example(tmp_path: Path) -> str:
    """The README's Python example, made small (one epoch of 1000 images, quiet) and
    pointed at this checkout's committed run; otherwise as a user pastes it."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## From Python or a notebook") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", 10)]
    assert "epochs=5" in code and '"results/default"' in code
    committed = Path(__file__).parent.parent / "results" / "default"
    code = code.replace("epochs=5", "epochs=1, train_limit=1000, warmup_steps=2, quiet=True")
    code = code.replace('"results/default"', repr(str(committed)))
    return code + "\nprint('rows', len(run.summary))\n"


@pytest.mark.slow
@pytest.mark.workers
@pytest.mark.parametrize("how", ["script", "stdin", "-c"])
def test_the_readmes_python_example_runs_without_a_main_guard(tmp_path, how):
    """No `if __name__ == "__main__":`, yet the seeds train in worker processes: a worker
    never re-runs the caller's main module (a script, stdin, `python -c`)."""
    import os
    import subprocess
    import sys

    code = readme_example(tmp_path)
    (tmp_path / "example.py").write_text(code)
    argv = {"script": ["example.py"], "stdin": ["-"], "-c": ["-c", code]}[how]
    done = subprocess.run(
        [sys.executable, *argv], cwd=tmp_path, input=code if how == "stdin" else None,
        capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rows 4" in done.stdout  # identity, relu, GELU, sin
    assert "bootstrapping phase" not in done.stderr
    assert (tmp_path / "actbench-runs").is_dir()


OTHER = """
from torch import nn

def build(act):
    return nn.Sequential(nn.Linear(6, 7), act(), nn.Linear(7, 3))
"""


def test_a_users_run_resumes_compares_reports_and_exports(code, tmp_path):
    """Everything that reads a run reads a user's; compare makes no speed verdict between
    two different networks and says why, and the gate calls those rows untested."""
    (code / "other.py").write_text(textwrap.dedent(OTHER))
    spec = dict(dataset=f"{code}/data.py:load", out=tmp_path / "runs", **TINY)
    spec["seeds"] = [0, 1]
    a = actbench.sweep(["relu"], model=f"{code}/nets.py:build", name="a", **spec)
    b = actbench.sweep(["relu"], model=f"{code}/nets.py:build", name="b", **spec)
    c = actbench.sweep(["relu"], model=f"{code}/other.py:build", name="c", **spec)
    again = actbench.resume(a, out=tmp_path / "runs")  # every trial saved: nothing to train
    assert len(again.trials) == len(a.trials) == 4
    same = actbench.compare(a, b)
    assert "different networks" not in " ".join(same.result.warnings)
    other = actbench.compare(a, c)
    assert any("different networks (parameter shapes" in w for w in other.result.warnings)
    assert set(other.rows["verdict"].dropna()) == {"none (different networks)"}
    gate = other.gate(slower_pct=5)
    assert gate.outcome != "pass" and "different networks" in gate.summary()
    index = actbench.report([a, b, c], output=tmp_path / "site")
    assert Path(index).is_file()
    assert any(actbench.export(a, tensorboard=tmp_path / "tb").iterdir())


SHARED = """
import torch
from torch import nn

class Twice(nn.Module):
    '''One act() module called at two widths, and one never called.'''

    def __init__(self, act):
        super().__init__()
        self.act, self.idle = act(), act()
        self.a, self.b, self.out = nn.Linear(6, 5), nn.Linear(5, 4), nn.Linear(4, 3)

    def forward(self, x):
        return self.out(self.act(self.b(self.act(self.a(x)))))

def build(act):
    return Twice(act)

def int32(act):
    return nn.Sequential(nn.Linear(6, 5), act(), nn.Linear(5, 3))
"""


def test_a_shared_or_idle_activation_module_trains_with_its_health_read(code, tmp_path):
    (code / "shared.py").write_text(textwrap.dedent(SHARED))
    run = actbench.sweep(
        ["prelu"], model=f"{code}/shared.py:build", dataset=f"{code}/data.py:load",
        out=tmp_path, **TINY,
    )  # fmt: skip
    assert len(run.trials) == 2 and run.health["dead"].notna().all()


def test_a_built_in_network_takes_a_users_data_with_its_own_widths(tmp_path):
    x = torch.randn(300, 784)
    y = torch.randint(0, 10, (300,), dtype=torch.int32)  # int32 labels: made int64
    run = actbench.sweep(
        ["relu"], model="mlp", dataset={"train": (x[:200], y[:200]), "test": (x[200:], y[200:])},
        out=tmp_path, **TINY,
    )  # fmt: skip
    assert run.record.config.hidden == (100, 100, 100)


def test_a_resume_refuses_a_factory_whose_code_changed(code, tmp_path):
    spec = dict(dataset=f"{code}/data.py:load", out=tmp_path, name="r", **TINY)
    run = actbench.sweep(["relu"], model=f"{code}/nets.py:build", **spec)
    (run.path / "trials.csv").write_text(
        "\n".join((run.path / "trials.csv").read_text().splitlines()[:2]) + "\n"
    )  # one trial lost: something left to train
    (code / "nets.py").write_text(textwrap.dedent(FACTORY) + "\n# edited\n")
    with pytest.raises(ActbenchError, match="the factory's code changed"):
        actbench.resume(run, out=tmp_path)
