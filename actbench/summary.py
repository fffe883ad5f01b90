"""The results table's numbers: trial records in, one row per activation out.

The dataset's metric (`task.Metric`: accuracy, or RMSE for a series) is mean ± std over
seeds, best first; µs/step is the median over seeds of each trial's median step time,
with the IQR likewise (one seed: exactly that trial's median and IQR). Cost and gain are
measured against the run's baseline (`costs.py`); `timing` says when a trial's step times
are disturbed (`disturbance.py`); the profile columns say where an eager step's time goes
(`breakdown.py`). `table.py` formats what this computes.
"""

from __future__ import annotations

import pandas as pd

from actbench import costs, disturbance
from actbench.errors import ActbenchError
from actbench.records import PROFILE_PARTS
from actbench.storage import RunFolder
from actbench.task import ACCURACY, Metric, metric_named

PROFILE_COLUMNS = [f"profile_{part}_us" for part in PROFILE_PARTS]


def metric_of(summary: pd.DataFrame) -> Metric:
    """The metric a summary was made for (its `metric` column; accuracy before datasets)."""
    if "metric" in summary and len(summary):
        return metric_named(summary["metric"].iloc[0])
    return ACCURACY


def summarize(
    trials: pd.DataFrame,
    rounds: pd.DataFrame | None = None,
    baseline: str | None = None,
    metric: Metric = ACCURACY,
) -> pd.DataFrame:
    """One row per activation, best `metric` first; cost and gain over `baseline`."""
    trials = trials.assign(mode=trials.get("mode", "eager"), model=trials.get("model", "mlp"))
    for column in PROFILE_COLUMNS:
        if column not in trials:
            trials[column] = float("nan")
    grouped = trials.groupby("activation", sort=False)
    scores = {}
    for column in filter(None, (metric.column, metric.raw_column)):
        scores[f"{column}_mean"] = grouped[column].mean()
        scores[f"{column}_std"] = grouped[column].std(ddof=1)
    summary = pd.DataFrame(
        {
            "model": grouped["model"].first(),
            "mode": grouped["mode"].first(),
            "seeds": grouped["seed"].nunique(),
            "metric": metric.name,
            **scores,
            "us_per_step_median": grouped["us_per_step_median"].median(),
            "us_per_step_p25": grouped["us_per_step_p25"].median(),
            "us_per_step_p75": grouped["us_per_step_p75"].median(),
            "epochs_mean": grouped["epochs"].mean(),
            "diverged": grouped["diverged"].sum().astype(int),
            "diverged_epochs": grouped["diverged_epoch"].agg(_epochs),
            "timing": disturbance.by_activation(trials),
            **{column: grouped[column].median() for column in PROFILE_COLUMNS},
        }
    )
    summary.index.name = "activation"
    rounds = pd.DataFrame() if rounds is None else rounds
    summary = summary.join(costs.table(trials, rounds, baseline, metric))
    # a disturbed row's cost is not to be trusted: it is never a best trade-off
    trusted = summary["cost_us"].where(summary["timing"] == "")
    summary["pareto"] = costs.pareto(trusted, summary["gain"])
    summary["baseline"] = summary.index == baseline
    return (
        summary.reset_index()
        .sort_values(
            [f"{metric.column}_mean", "us_per_step_median"],
            ascending=[not metric.higher_is_better, True],
            na_position="last",
        )
        .reset_index(drop=True)
    )


def summarize_folder(folder: RunFolder) -> pd.DataFrame:
    """`summarize` of a saved run, against the baseline its configuration names."""
    trials = folder.trials()
    if trials.empty:
        raise ActbenchError(f"run {folder.path} has no finished trials")
    run = folder.run_info()
    baseline = run["config"]["baseline"]
    try:
        summary = summarize(trials, folder.rounds(), baseline, metric_named(run["metric"]))
    except KeyError as exc:
        raise ActbenchError(f"{folder.path / 'trials.csv'} is missing column {exc}") from None
    unit = (run.get("data") or {}).get("unit")
    if unit:  # what a raw metric (RMSE in the data's own unit) is measured in
        summary["raw_unit"] = unit
    return summary


def _epochs(values: pd.Series) -> str:
    return ",".join(str(int(v)) for v in values.dropna())
