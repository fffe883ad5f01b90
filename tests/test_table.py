import pandas as pd
import pytest

from actbench import table


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
                    diverged=False,
                    diverged_epoch=None,
                )
            )
    return pd.DataFrame(rows)


def test_summary_statistics_and_order():
    s = table.summarize(trials())
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
    rounds = paired_rounds({"sigmoid": [700, 1400, 700, 1400], "relu": [770, 1540, 770, 1540]})
    s = table.summarize(trials(), rounds, baseline="sigmoid").set_index("activation")
    assert s.loc["relu", "cost_pct"] == pytest.approx(10.0)
    assert s.loc["relu", "cost_pct_low"] == pytest.approx(10.0)  # drift cancels exactly
    assert s.loc["relu", "cost_rounds"] == 8 and s.loc["sigmoid", "baseline"]
    assert s.loc["relu", "gain_points"] == pytest.approx(2.0)  # paired: +2 in both seeds
    assert s.loc["relu", "gain_low"] == pytest.approx(2.0) == s.loc["relu", "gain_high"]
    assert pd.isna(s.loc["tanh", "cost_us"])  # no rounds: no cost, never a made-up one
    assert s.loc["tanh", "gain_points"] == pytest.approx(3.5)
    assert s.loc["tanh", "gain_low"] < 3.5 < s.loc["tanh", "gain_high"]
    text = table.render(s.reset_index())
    assert "baseline" in text and "+10.0%" in text and "gain pts [95% CI]" in text


def test_render_shows_units_and_spread():
    text = table.render(table.summarize(trials()), "github")
    assert "µs/step (median)" in text and "97.50 ± 0.71" in text and "840.0–860.0" in text
    assert text.splitlines()[2].startswith("| tanh")


def test_single_seed_has_no_std():
    one = trials().query("seed == 0")
    body = table.render(table.summarize(one)).splitlines()[2:]
    assert body and not any("± " in line for line in body)


def test_diverged_trials_show_their_epoch():
    t = trials()
    t.loc[t.index[-1], ["diverged", "diverged_epoch"]] = [True, 3]
    text = table.render(table.summarize(t))
    assert "1 (epoch 3)" in text
