import math

import pandas as pd
import pytest

from actbench import schema, table
from actbench import summary as summary_mod


def trials() -> pd.DataFrame:
    rows = []
    for act, accs, us in (
        ("relu", [0.97, 0.98], [800, 900]),
        ("tanh", [0.99, 0.99], [1200, 1000]),
        ("sigmoid", [0.95, 0.96], [700, 720]),
    ):
        for seed, (acc, t) in enumerate(zip(accs, us, strict=True)):
            rows.append(
                dict(
                    activation=act,
                    seed=seed,
                    test_accuracy=acc,
                    us_per_step_median=t,
                    us_per_step_p25=t - 10,
                    us_per_step_p75=t + 10,
                    us_per_step_mean=t + 1,
                    epochs=10 + seed,
                    steps=1050,
                    warmup_steps=50,
                    diverged=False,
                    diverged_epoch=None,
                )
            )
    return schema.upgrade_trials(pd.DataFrame(rows))  # as a run folder reads them


def test_summary_statistics_and_order():
    s = summary_mod.summarize(trials())
    assert list(s["activation"]) == ["tanh", "relu", "sigmoid"]
    relu = s.set_index("activation").loc["relu"]
    assert relu["test_accuracy_mean"] == pytest.approx(0.975)
    assert relu["test_accuracy_std"] == pytest.approx(0.00707, abs=1e-5)
    assert relu["us_per_step_median"] == 850 and relu["us_per_step_p25"] == 840
    assert relu["timing"] == "" and not s["baseline"].any() and s["cost_us"].isna().all()


def paired_rounds(times: dict[str, list[float]], seeds=(0, 1)) -> pd.DataFrame:
    """rounds.csv rows: per seed, the given per-round medians of every activation."""
    rows = [
        dict(activation=a, seed=s, group=0, round=r, us_median=t * (1 + s))
        for a, ts in times.items()
        for s in seeds
        for r, t in enumerate(ts)
    ]
    return pd.DataFrame(rows)


def test_cost_and_gain_against_the_baseline():
    # the machine drifts by 2x between rounds; relu costs 10% more than sigmoid in every round
    base = [700, 1400, 700, 1400, 700, 1400]
    rounds = paired_rounds({"sigmoid": base, "relu": [1.1 * t for t in base]})
    s = summary_mod.summarize(trials(), rounds, baseline="sigmoid").set_index("activation")
    assert s.loc["relu", "cost_pct"] == pytest.approx(10.0)  # drift cancels exactly
    assert pd.isna(s.loc["relu", "cost_pct_low"])  # no spread at all: no interval, not [10, 10]
    assert s.loc["relu", "cost_rounds"] == 12 and s.loc["sigmoid", "baseline"]
    assert s.loc["relu", "gain"] == pytest.approx(2.0)  # paired: +2 in both seeds
    assert pd.isna(s.loc["relu", "gain_low"])  # +2 in both seeds: no spread, no interval
    assert pd.isna(s.loc["tanh", "cost_us"])  # no rounds: no cost, never a made-up one
    assert s.loc["tanh", "gain"] == pytest.approx(3.5)
    assert s.loc["tanh", "gain_low"] < 3.5 < s.loc["tanh", "gain_high"]
    text = table.render(s.reset_index())
    assert "baseline" in text and "+10.0%" in text and "gain pts [95% CI]" in text


def test_cost_interval_is_a_t_interval_over_seeds():
    """Seed 0 pays 10 % in every round, seed 1 pays 20 %: the interval is Student's t with
    one degree of freedom on the two seeds' log costs, computed here by hand."""
    import math

    from scipy import stats as scipy_stats

    rounds = []
    for seed, extra in ((0, 1.10), (1, 1.20)):
        for r in range(8):
            base = 700 + 50 * (r % 3)  # the machine drifts; the ratio does not
            rounds += [
                dict(activation="sigmoid", seed=seed, group=0, round=r, us_median=base),
                dict(activation="relu", seed=seed, group=0, round=r, us_median=base * extra),
            ]
    s = summary_mod.summarize(trials(), pd.DataFrame(rounds), baseline="sigmoid")
    relu = s.set_index("activation").loc["relu"]
    logs = [math.log(1.10), math.log(1.20)]
    mean, se = sum(logs) / 2, abs(logs[0] - logs[1]) / 2  # sd/sqrt(2) of two values
    half = scipy_stats.t.ppf(0.975, 1) * se
    assert relu["cost_pct"] == pytest.approx(100 * (math.exp(mean) - 1))
    assert relu["cost_pct_low"] == pytest.approx(100 * (math.exp(mean - half) - 1))
    assert relu["cost_pct_high"] == pytest.approx(100 * (math.exp(mean + half) - 1))
    assert relu["cost_over"] == "over seeds" and relu["cost_seeds"] == 2
    assert "t interval over 2 seeds" in table.legend(s)


def test_render_shows_units_and_spread():
    text = table.render(summary_mod.summarize(trials()), "github")
    assert "µs/step (median, raw)" in text and "97.50 ± 0.71" in text and "840.0–860.0" in text
    assert text.splitlines()[2].startswith("| tanh")


def test_single_seed_has_no_std():
    one = trials().query("seed == 0")
    body = table.render(summary_mod.summarize(one)).splitlines()[2:]
    assert body and not any("± " in line for line in body)


def test_diverged_trials_show_their_epoch():
    t = trials()
    t.loc[t.index[-1], ["diverged", "diverged_epoch"]] = [True, 3]
    text = table.render(summary_mod.summarize(t))
    assert "1 (epoch 3)" in text


def test_a_disturbed_row_is_never_a_best_trade_off():
    """tanh buys the most and costs least here, so it would be starred; a neighbour
    interrupted 3 % of its steps in both seeds, so its cost is not to be trusted."""
    base = [700.0] * 12
    wobble = [1.2 * t * (1 + 0.01 * (i % 3)) for i, t in enumerate(base)]  # an interval
    rounds = paired_rounds({"sigmoid": base, "relu": wobble,
                            "tanh": [1.1 * t for t in base]})  # fmt: skip
    t = trials().assign(steps=1050, warmup_steps=50, slow_steps=0)
    t.loc[t["activation"] == "tanh", "slow_steps"] = 30
    s = summary_mod.summarize(t, rounds, baseline="sigmoid").set_index("activation")
    assert s.loc["tanh", "timing"].startswith("seed 0: 3.0% of steps > 5× median")
    assert not s.loc["tanh", "pareto"]
    assert s.loc["relu", "pareto"]  # with tanh untrusted, nothing beats relu on both
    compact = table.compact(s.reset_index()).set_index("activation")
    assert compact.loc["tanh", "timing"] == "disturbed ×2" and "tanh *" not in compact.index


def test_the_compact_table_keeps_what_a_reader_decides_by():
    s = summary_mod.summarize(
        trials(), paired_rounds({"sigmoid": [700.0] * 12, "relu": [770.0] * 12}), baseline="sigmoid"
    )
    compact = table.compact(s)
    assert list(compact.columns) == [
        "activation", "test acc %", "µs/step", "cost % [95% CI]", "gain pts [95% CI]", "timing",
    ]  # fmt: skip
    wide = table.display(s)
    assert set(compact.columns) - {"test acc %", "µs/step", "cost % [95% CI]"} <= set(wide.columns)


def test_the_airline_runs_compact_table_fits_100_columns():
    """It was 103 wide: RMSE and its gain at 4 digits; 3 are what the spread can bear."""
    from pathlib import Path

    from actbench import summary as summary_mod
    from actbench.storage import RunFolder

    root = Path(__file__).resolve().parents[1] / "results" / "airline-lstm"
    text = table.render(summary_mod.summarize_folder(RunFolder(root)), "github", wide=False)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert (
        "| tanh *     | 0.092 ± 0.011 | 1256.9  | +12.4 [+12.0, +12.8] | +0.001 [-0.019, +0.021] "
        "| ok     |"
    ) in text.splitlines()


def test_the_wide_breakdown_shows_each_kernel_against_its_copy_and_old_runs_do_not():
    """Hand-made: relu's kernels 2.50x a copy of their bytes at 12.3 GB/s; identity none."""
    from actbench.anatomy import COLUMNS

    rows = {"activation": ["relu", "identity"], **{c: [10.0, 1.0] for c in COLUMNS}}
    rows |= {"kernel_us": [40.0, 0.0], "kernel_copy_x": [2.5, math.nan]}
    rows |= {"kernel_gbs": [12.34, math.nan]}
    now = pd.DataFrame(rows)
    wide = table.breakdown_display(now, wide=True)
    assert list(wide["× copy"]) == ["2.50", "—"] and list(wide["GB/s"]) == ["12.3", "—"]
    assert "× copy" not in table.breakdown_display(now, wide=False)
    before = now.drop(columns=["kernel_copy_x", "kernel_gbs"])  # a run saved before the floor
    assert "× copy" not in table.breakdown_display(before, wide=True)


def test_the_kernels_multiple_is_the_median_of_every_finished_round_of_every_seed():
    """Hand count: relu's rounds are 10-30 µs in seed 0 and 40-80 µs in seed 1, so the
    pooled median of the eight is 45 (the seeds' medians 20 and 60 would say 40), its
    multiple 4.5, and 9000 bytes in 45 µs is 0.2 GB/s. Seed 2 never finished: its round
    is left out; an epoch without a round (NaN) counts for nothing; tanh has no rounds."""
    t = trials()
    t["kernel_bytes"] = [9000.0, 9000.0, math.nan, math.nan, math.nan, math.nan]
    rounds = [(0, [10, 20, 30]), (1, [40, 50, 60, 70, 80]), (2, [1000])]
    rows = [
        {"activation": "relu", "seed": seed, "kernel_us": us, "kernel_copy_x": us / 10}
        for seed, values in rounds
        for us in values
    ]
    rows.append({"activation": "relu", "seed": 0, "kernel_us": math.nan})
    rows.append({"activation": "tanh", "seed": 0, "kernel_us": math.nan})
    s = summary_mod.summarize(t, history=pd.DataFrame(rows)).set_index("activation")
    assert s.loc["relu", "kernel_us"] == 45 and s.loc["relu", "kernel_copy_x"] == 4.5
    assert s.loc["relu", "kernel_gbs"] == pytest.approx(0.2) and s.loc["relu", "kernel_rounds"] == 8
    assert s.loc[["tanh", "sigmoid"], ["kernel_us", "kernel_rounds"]].isna().all().all()
