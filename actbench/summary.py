"""The results table's numbers: trial records in, one row per activation out.

The dataset's metric (`task.Metric`: accuracy, or RMSE for a series) is mean ± std over
seeds, best first; µs/step is the median over seeds of each trial's median step time,
with the IQR likewise (one seed: exactly that trial's median and IQR). Cost and gain are
measured against the run's baseline (`costs.py`); `timing` says when a trial's step times
are disturbed (`disturbance.py`); the profile columns say where an eager step's time goes
(`anatomy.py`), `kernel_us` what the activation's kernels take alone (`kernels.py`; with
their multiple of a copy of their bytes, the median over every round of every seed, the
bandwidth they reach from that time, and their time on adversarial inputs over their
real ones, the median over seeds), the
bytes columns what a step holds (`memory.py`, the median over seeds), and the health
columns why it trains as it does (`health.py`: mean over seeds; the gradient ratio's
geometric mean, with a t interval over seeds on its logarithm). `warmup_steps` and
`timed_steps` say what was really timed (the most a trial excluded, the fewest it kept:
a short run excludes less than the configuration's warm-up). `table.py` formats what this
computes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection

import numpy as np
import pandas as pd
from scipy import stats

from actbench import anatomy, costs, disturbance, outliers, subnormals
from actbench.errors import ActbenchError
from actbench.stats import CONFIDENCE
from actbench.storage import RunFolder
from actbench.task import ACCURACY, Metric, metric_named

PROFILE_COLUMNS = anatomy.COLUMNS
KERNEL_COLUMNS = ["kernel_us", "kernel_copy_x", "kernel_gbs", "kernel_bytes"]
SENSITIVE_COLUMNS = ["sensitive_negative", "sensitive_tiny", "sensitive_subnormal"]
MEMORY_COLUMNS = [*KERNEL_COLUMNS, *SENSITIVE_COLUMNS, "saved_bytes", "peak_bytes", "subnormal_pct"]
HEALTH_COLUMNS = ["dead_first", "dead_last", "saturated_first", "saturated_last"]
RATIO_COLUMNS = ["grad_ratio_first", "grad_ratio_last"]


def metric_of(summary: pd.DataFrame) -> Metric:
    """The metric a summary was made for (its `metric` column; accuracy for an empty one)."""
    if "metric" in summary and len(summary):
        return metric_named(summary["metric"].iloc[0])
    return ACCURACY


def summarize(
    trials: pd.DataFrame,
    rounds: pd.DataFrame | None = None,
    baseline: str | None = None,
    metric: Metric = ACCURACY,
    history: pd.DataFrame | None = None,
    first: Collection[int] = (),
) -> pd.DataFrame:
    """One row per activation, best `metric` first; cost and gain over `baseline`; the
    breakdown from `history`'s blocks when given. `trials` in today's columns (a run
    folder's are: `schema.upgrade_trials`); `first`: the first stage of a run sized by
    `--precision` (its costs' intervals are Stein's, `stats.stein`)."""
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
            # what was really timed: the warm-up each trial excluded, the steps it kept
            "warmup_steps": grouped["warmup_steps"].max(),
            "timed_steps": (trials["steps"] - trials["warmup_steps"])
            .groupby(trials["activation"], sort=False)
            .min(),
            "timing": disturbance.by_activation(trials),
            **{column: grouped[column].median() for column in MEMORY_COLUMNS},
            **{column: grouped[column].mean() for column in HEALTH_COLUMNS},
        }
    )
    summary.index.name = "activation"
    for column in RATIO_COLUMNS:
        summary = summary.join(grouped[column].apply(_geometric).unstack().add_prefix(column))
    summary = summary.join(anatomy.table(trials, history))
    summary = summary.join(subnormals.table(history))
    rounds = pd.DataFrame() if rounds is None else rounds
    summary = summary.join(costs.table(trials, rounds, baseline, metric, first))
    summary = summary.join(outliers.table(rounds, baseline, history))
    # a cost without an interval, or disturbed, is never a best trade-off
    summary["pareto"] = costs.pareto(costs.bearable(summary), summary["gain"])
    summary["baseline"] = summary.index == baseline
    summary = _pooled_kernels(summary, trials, history)  # before what reads kernel_us
    summary = anatomy.reconcile(summary)
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
    run = folder.info()
    try:
        summary = summarize(
            trials,
            folder.rounds(),
            run.config.baseline,
            metric_named(run.metric),
            folder.history(),
            run.first_seeds,
        )
    except KeyError as exc:
        raise ActbenchError(f"{folder.path / 'trials.csv'} is missing column {exc}") from None
    unit = run.data_unit
    if unit:  # what a raw metric (RMSE in the data's own unit) is measured in
        summary["raw_unit"] = unit
    return summary


def _pooled_kernels(
    summary: pd.DataFrame, trials: pd.DataFrame, history: pd.DataFrame | None
) -> pd.DataFrame:
    """The kernels' time and multiple of copy as the median over every round of every
    finished seed (history's rows; `kernel_rounds` counts them), and the bandwidth from
    that time. A round is no more like another for sharing its time or its process
    (`instruments.py`), so the pooled median is steadier than the median of three seeds'
    medians. Runs saved before the multiple was read (no `kernel_copy_x` in their history)
    keep the median over seeds they were shown with."""
    if history is None or not {"kernel_us", "kernel_copy_x"} <= set(history.columns):
        return summary
    keys = ["activation", "seed"]
    finished = history.merge(trials[keys].drop_duplicates(), on=keys)
    pooled = finished.dropna(subset=["kernel_us"]).groupby("activation", sort=False)
    for column in ("kernel_us", "kernel_copy_x"):
        summary[column] = pooled[column].median().reindex(summary.index).fillna(summary[column])
    counted = pooled["kernel_copy_x"].count().reindex(summary.index)
    summary["kernel_rounds"] = counted.where(counted > 0)  # identity's has none
    time = summary["kernel_us"].where(summary["kernel_us"] > 0)
    summary["kernel_gbs"] = summary["kernel_bytes"] / time / 1e3
    return summary


def _epochs(values: pd.Series) -> str:
    return ",".join(str(int(v)) for v in values.dropna())


def _geometric(values: pd.Series) -> pd.Series:
    """A ratio's geometric mean over seeds, with a t interval on its logarithm."""
    logs = np.log(values[(values > 0) & np.isfinite(values)].to_numpy(dtype=float))
    if not logs.size:
        return pd.Series({"": np.nan, "_low": np.nan, "_high": np.nan})
    mean = logs.mean()
    if logs.size < 2:
        return pd.Series({"": np.exp(mean), "_low": np.nan, "_high": np.nan})
    half = stats.t.ppf((1 + CONFIDENCE) / 2, logs.size - 1) * logs.std(ddof=1) / np.sqrt(logs.size)
    return pd.Series({"": np.exp(mean), "_low": np.exp(mean - half), "_high": np.exp(mean + half)})


def warm(folder: RunFolder) -> None:
    """Summarize what `folder` holds so far and drop the result: the summary's imports (arch,
    ~1 s) and each finished seed's bootstrap (`stats.seed_value` remembers it by value) are
    then paid now. A sweep calls it on a core its last groups leave idle (`runner.py`), so
    that less of its summary waits for its last step. A failure here is nobody's: the
    summary at the end meets the same data, and says what is wrong."""
    with contextlib.suppress(Exception):
        summarize_folder(folder)
