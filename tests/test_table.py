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
    assert s.set_index("activation").loc["sigmoid", "relative_time"] == 1.0
    assert relu["relative_time"] == pytest.approx(850 / 710)


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
