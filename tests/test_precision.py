import json
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats as scipy_stats

from actbench import executor, precision, runner, stats
from actbench.errors import ActbenchError
from actbench.interrupts import SweepInterrupted
from actbench.printout import show_text
from actbench.storage import RunFolder
from tests.conftest import _in_this_process

T2 = 4.302653  # Student t(2), 97.5 %: tables


def test_stein_needs_the_seeds_its_first_stage_spread_asks_for():
    # per-seed costs 20 % apart by a log sd of 0.01; ±1.2 points at 20 % is asinh(1.2/120)
    # = 0.00999983 in logs; (4.302653 * 0.01 / 0.00999983)^2 = 18.51: 19 seeds
    values = np.log(1.2) + np.array([-0.01, 0.0, 0.01])
    assert precision.seeds_needed(values, np.zeros(3), 1.2) == 19
    # a target wider than three seeds already reach needs none more
    assert precision.seeds_needed(values, np.zeros(3), 10.0) == 3
    # a seed too short for its own error makes no interval, so no size
    assert precision.seeds_needed(values, np.array([0.0, math.nan, 0.0]), 1.2) is None


def test_the_first_stages_within_seed_errors_floor_the_spread():
    # no spread between seeds, each seed's own error 0.01: sized as a spread of 0.01
    values = np.full(3, np.log(1.2))
    assert precision.seeds_needed(values, np.full(3, 0.01), 1.2) == 19


def _series(values: dict[int, float]) -> dict[int, np.ndarray]:
    """Per seed, 40 rounds at exp(value), alternating by 1e-7: no spread within a seed to
    speak of."""
    wobble = np.tile([1.0, 1.0 + 1e-7], 20)
    return {s: math.exp(v) * wobble for s, v in values.items()}


def test_a_sized_run_shows_steins_interval_over_all_its_seeds():
    first = {0: 0.10, 1: 0.12, 2: 0.14}  # sd 0.02
    second = {3: 0.30, 4: 0.30, 5: 0.30, 6: 0.30}  # far off, and no spread of their own
    level = stats.level(_series(first | second), first=[0, 1, 2])
    # mean of all seven; 0.02 / sqrt(7) with t(2), whatever the second stage's spread
    assert level.log == pytest.approx(np.mean(list((first | second).values())), abs=1e-6)
    assert level.se == pytest.approx(0.02 / math.sqrt(7), rel=1e-4)
    assert level.df == 2
    # not sized: the one rule over seeds (all seven's spread, t(6))
    plain = stats.level(_series(first | second))
    assert plain.df == 6
    sd = np.std(list((first | second).values()), ddof=1)
    assert plain.se == pytest.approx(sd / math.sqrt(7), rel=1e-4)


def _procedure(
    cost: float, sd_points: float, asked: float, draw, rng, cap: int = 10, n0: int = 3
) -> tuple[bool, bool, float | None]:
    """One run of the procedure on per-seed log costs `draw`n around `cost` %: whether
    Stein's interval and the one-stage rule on all seeds cover the cost, and Stein's
    half-width in points, net of the cost's move, when the cap did not bind."""
    sigma = sd_points / (100 + cost)
    values = math.log1p(cost / 100) + sigma * draw(rng, cap)
    errors = np.zeros(cap)
    n = min(precision.seeds_needed(values[:n0], errors[:n0], asked), cap)
    x, first = values[:n], np.arange(n) < n0
    se, df = stats.stein(x, errors[:n], first) if n > n0 else (x.std(ddof=1) / math.sqrt(n), n - 1)

    def covers(se: float, df: float) -> tuple[bool, float]:
        h = float(scipy_stats.t.ppf(0.975, df)) * se
        low, high = 100 * math.expm1(x.mean() - h), 100 * math.expm1(x.mean() + h)
        return low <= cost <= high, (high - low) / 2

    stein, half = covers(se, df)
    one_stage, _ = covers(x.std(ddof=1) / math.sqrt(n), n - 1)
    # ±P points was turned into logs at the first stage's cost: the points' half-width is
    # at most P times how far the cost moved between the stages, exp(mean - first mean)
    moved = math.exp(x.mean() - values[:n0].mean())
    return stein, one_stage, (half / max(1.0, moved) if n < cap else None)


def _normal(rng, n):
    return rng.standard_normal(n)


def _heavy(rng, n):  # Student t(5) scaled to unit variance: heavier tails than a normal
    return rng.standard_t(5, n) / math.sqrt(5 / 3)


@pytest.mark.slow
@pytest.mark.parametrize("draw", [_normal, _heavy], ids=["normal", "t5"])
@pytest.mark.parametrize(
    "cost, sd_points, asked",
    [(20.0, 1.6, 2.0), (40.0, 3.0, 2.0), (5.0, 0.3, 0.5)],  # ratio sd / P: 0.8, 1.5, 0.6
)
def test_simulated_coverage_is_at_least_95_percent_and_the_width_as_asked(
    cost, sd_points, asked, draw
):
    rng = np.random.default_rng(35)
    runs = [_procedure(cost, sd_points, asked, draw, rng) for _ in range(1500)]
    stein = np.mean([r[0] for r in runs])
    # Stein (1945): coverage >= 1 - alpha under normality; 1500 runs put 0.95's sampling
    # sd at 0.0056, so 0.935 is 2.7 sd below it
    assert stein >= 0.935
    halves = np.array([r[2] for r in runs if r[2] is not None])
    # under the cap: at most P, once the cost's move between the stages is allowed for
    assert halves.max() <= asked * (1 + 1e-9)


@pytest.mark.slow
def test_the_one_stage_rule_after_a_sized_run_falls_short():
    """Why the interval of a sized run is Stein's: the one rule on all N seeds, N chosen
    from the first seeds' spread, covers less than 95 % (small first spreads stop early)."""
    rng = np.random.default_rng(36)
    runs = [_procedure(20.0, 1.6, 2.0, _normal, rng) for _ in range(3000)]
    one_stage = np.mean([r[1] for r in runs])
    assert one_stage < 0.94  # about 0.92 (docs/measuring.md); 0.95 is 5 sd above that


def _far_apart(factor: float):
    """`executor.local`'s in-process stand-in, with tanh's rounds `factor` times as slow
    on odd seeds: per-seed costs far apart."""

    def local(groups, plan, pinning, started, on_epoch, finished, jobs=1, spares=None):
        for result in _in_this_process(groups, plan, pinning, started, on_epoch, finished):
            if result.activation == "tanh" and result.seed % 2:
                rounds = [replace(r, us_median=r.us_median * factor) for r in result.rounds]
                result = replace(result, rounds=rounds)
            yield result

    return local


def test_precision_adds_seeds_up_to_the_cap_and_says_it_could_not_reach(tiny_config, monkeypatch):
    monkeypatch.setattr(executor, "local", _far_apart(3.0))
    config = replace(
        tiny_config, seeds=(0, 1, 2), round_steps=3, precision=1.0, max_seeds=4, epochs=3
    )
    folder = runner.run(config, quiet=True).folder
    run = json.loads((folder.path / "run.json").read_text())
    assert run["config"]["seeds"] == [0, 1, 2, 3] and run["config"]["precision"] == 1.0
    assert run["precision"]["first_seeds"] == [0, 1, 2] and run["precision"]["needed"] > 4
    assert sorted(set(folder.trials()["seed"])) == [0, 1, 2, 3]
    assert run["status"] == "complete"
    text = " ".join(show_text(folder, "github").split())
    note = text[text.find("precision asked") :][:300]
    assert note.startswith("precision asked ±1 points")
    short = note.partition("not for ")[2]  # the tiny sweep's relu may be short of it too
    assert "tanh (±" in short and "within the cap of 4 seeds" in short, note


def test_a_precision_already_reached_adds_no_seed(tiny_config):
    config = replace(tiny_config, seeds=(0, 1), round_steps=3, precision=1e6, epochs=3)
    folder = runner.run(config, quiet=True).folder
    run = json.loads((folder.path / "run.json").read_text())
    assert run["config"]["seeds"] == [0, 1] and run["precision"]["needed"] == 2
    assert sorted(set(folder.trials()["seed"])) == [0, 1]
    text = " ".join(show_text(folder, "github").split())
    note = text[text.find("precision asked") :].partition(". ")[0]
    reached = note.partition("reached for ")[2]
    assert "relu (±" in reached and "tanh (±" in reached and "not for" not in note, note


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"precision": 0.0}, "greater than 0"),
        ({"precision": 1.0, "seeds": (0,)}, "two or more"),
        ({"precision": 1.0, "seeds": (0, 1), "baseline": None}, "baseline"),
        ({"precision": 1.0, "seeds": (0, 1, 2), "max_seeds": 2}, "cannot be fewer"),
    ],
)
def test_a_precision_that_cannot_be_met_is_refused_in_one_line(tiny_config, changes, words):
    with pytest.raises(ActbenchError, match=words) as refused:
        runner.run(replace(tiny_config, **changes), quiet=True)
    assert "\n" not in str(refused.value)
    assert not (tiny_config.out / tiny_config.name).exists()


def test_more_seeds_than_the_cap_are_fine_without_a_precision(tiny_config):
    from actbench import plan

    plan.build(replace(tiny_config, seeds=tuple(range(12))))  # no refusal


def test_a_resume_finishes_the_second_stage_and_takes_the_first_seeds_as_typed(
    tiny_config, monkeypatch
):
    monkeypatch.setattr(executor, "local", _far_apart(3.0))
    config = replace(
        tiny_config, seeds=(0, 1, 2), round_steps=3, precision=1.0, max_seeds=4, epochs=3
    )
    real = RunFolder.add_trial

    def stop_in_the_second_stage(self, result):
        real(self, result)
        if result.seed == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "add_trial", stop_in_the_second_stage)
    with pytest.raises(SweepInterrupted):
        runner.run(config, quiet=True)
    monkeypatch.setattr(RunFolder, "add_trial", real)
    typed = {"seeds", "precision", "max_seeds"}  # the command as first typed, with --resume
    outcome = runner.resume(config.out / config.name, config, typed, quiet=True)
    assert outcome.trained == 2  # seed 3's other two; no stage sized again
    trials = outcome.folder.trials()
    assert len(trials) == 12 and sorted(set(trials["seed"])) == [0, 1, 2, 3]
    run = json.loads((outcome.folder.path / "run.json").read_text())
    assert run["precision"]["first_seeds"] == [0, 1, 2] and run["config"]["seeds"] == [0, 1, 2, 3]
    assert runner.resume(config.out / config.name, config, typed, quiet=True).trained == 0


def test_a_run_stopped_before_its_sizing_was_saved_sizes_it_on_resume(tiny_config, monkeypatch):
    """The first stage saved every trial and wrote `complete`; the stop came before the
    sizing reached run.json (while drawing, or during the sizing itself)."""
    monkeypatch.setattr(executor, "local", _far_apart(3.0))
    config = replace(
        tiny_config, seeds=(0, 1, 2), round_steps=3, precision=1.0, max_seeds=4, epochs=3
    )
    real = runner._second_stage

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_second_stage", stopped)
    with pytest.raises(KeyboardInterrupt):
        runner.run(config, quiet=True)
    monkeypatch.setattr(runner, "_second_stage", real)
    folder = config.out / config.name
    assert "precision" not in json.loads((folder / "run.json").read_text())
    typed = {"seeds", "precision", "max_seeds"}
    outcome = runner.resume(folder, config, typed, quiet=True)
    assert outcome.trained == 3  # seed 3: identity, relu, tanh
    run = json.loads((folder / "run.json").read_text())
    assert run["precision"]["first_seeds"] == [0, 1, 2] and run["config"]["seeds"] == [0, 1, 2, 3]


def test_the_line_between_the_stages_says_what_the_first_asked_for():
    sizing = precision.Sizing((0, 1, 2), 14, (0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
    assert precision.announce(sizing, 2.0, 10) == (
        "precision ±2 points: the first 3 seeds ask for 14; training seeds 3-9, 10 in all "
        "(the cap, --max-seeds 10)"
    )
    assert precision.announce(precision.Sizing((0, 1), 2, (0, 1)), 2.0, 10).endswith(
        "no seed to add"
    )


def test_the_python_api_refuses_a_precision_in_its_own_words(tiny_config):
    import actbench

    where = {"device": "cpu", "data_dir": tiny_config.data_dir, "out": tiny_config.out}
    with pytest.raises(ActbenchError, match="precision is a half-width"):
        actbench.sweep(["relu"], precision=-1.0, **where)
    with pytest.raises(ActbenchError, match="precision wants a number"):
        actbench.sweep(["relu"], precision="2", **where)
    with pytest.raises(ActbenchError, match="max_seeds caps"):
        actbench.sweep(["relu"], precision=2.0, seeds=[0, 1, 2], max_seeds=2, **where)
