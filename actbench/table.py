"""The comparison table: trial records in, one row per activation out.

Accuracy is mean ± std over seeds; µs/step is the median over seeds of each trial's median
step time, with the IQR likewise (one seed: exactly that trial's median and IQR).
"""

from __future__ import annotations

import sys

import pandas as pd
from tabulate import tabulate

from actbench.errors import ActbenchError
from actbench.storage import RunFolder


def summarize(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per activation, best test accuracy first."""
    trials = trials.assign(mode=trials.get("mode", "eager"), model=trials.get("model", "mlp"))
    grouped = trials.groupby("activation", sort=False)
    summary = pd.DataFrame(
        {
            "model": grouped["model"].first(),
            "mode": grouped["mode"].first(),
            "seeds": grouped["seed"].nunique(),
            "test_accuracy_mean": grouped["test_accuracy"].mean(),
            "test_accuracy_std": grouped["test_accuracy"].std(ddof=1),
            "us_per_step_median": grouped["us_per_step_median"].median(),
            "us_per_step_p25": grouped["us_per_step_p25"].median(),
            "us_per_step_p75": grouped["us_per_step_p75"].median(),
            "epochs_mean": grouped["epochs"].mean(),
            "diverged": grouped["diverged"].sum().astype(int),
            "diverged_epochs": grouped["diverged_epoch"].agg(_epochs),
        }
    ).reset_index()
    fastest = summary["us_per_step_median"].min()
    summary["relative_time"] = summary["us_per_step_median"] / fastest
    return summary.sort_values(
        ["test_accuracy_mean", "us_per_step_median"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)


def _epochs(values: pd.Series) -> str:
    return ",".join(str(int(v)) for v in values.dropna())


def _diverged(count: int, epochs: str) -> str:
    return f"{count} (epoch {epochs})" if count else "0"


def _accuracy(mean: float, std: float) -> str:
    if pd.isna(mean):
        return "—"
    return f"{100 * mean:.2f}" if pd.isna(std) else f"{100 * mean:.2f} ± {100 * std:.2f}"


def display(summary: pd.DataFrame) -> pd.DataFrame:
    """Human-readable columns (strings with units) for tabulate."""
    return pd.DataFrame(
        {
            "activation": summary["activation"],
            "test acc % (mean ± std)": [
                _accuracy(m, s)
                for m, s in zip(
                    summary["test_accuracy_mean"], summary["test_accuracy_std"], strict=True
                )
            ],
            "seeds": summary["seeds"],
            "model": summary["model"],
            "mode": summary["mode"],
            "µs/step (median)": summary["us_per_step_median"].map("{:.1f}".format),
            "µs/step IQR": [
                f"{a:.1f}–{b:.1f}"
                for a, b in zip(summary["us_per_step_p25"], summary["us_per_step_p75"], strict=True)
            ],
            "× fastest": summary["relative_time"].map("{:.2f}".format),
            "epochs": summary["epochs_mean"].map("{:.1f}".format),
            "diverged": [
                _diverged(n, e)
                for n, e in zip(summary["diverged"], summary["diverged_epochs"], strict=True)
            ],
        }
    )


def default_format() -> str:
    """A grid on a terminal; GitHub markdown on a pipe, so output pastes into an issue."""
    return "rounded_grid" if sys.stdout.isatty() else "github"


def render(summary: pd.DataFrame, fmt: str = "github") -> str:
    return tabulate(
        display(summary), headers="keys", tablefmt=fmt, showindex=False, disable_numparse=True
    )


def model_name(cfg: dict) -> str:
    """'MLP 784-100-100-100-10' or 'CNN (Keras example)', from a saved configuration."""
    if cfg.get("model", "mlp") == "cnn":
        return "CNN 32c3-p2-64c3-p2-64c3-64-10 (Keras example)"
    return f"MLP 784-{'-'.join(map(str, cfg['hidden']))}-10"


def footer(run: dict, summary: pd.DataFrame) -> str:
    """The timer's own cost next to the steps it timed: proof that the clock adds nothing."""
    overhead = run.get("timer_overhead_us")
    if overhead is None or summary.empty:
        return ""
    fastest = summary["us_per_step_median"].min()
    return (
        f"timer overhead: {overhead:.2f} µs per timed region "
        f"({100 * overhead / fastest:.3f}% of the fastest median step)"
    )


def markdown_report(run: dict, summary: pd.DataFrame) -> str:
    """summary.md: the table with the configuration and environment needed to read it."""
    cfg, env = run["config"], run["environment"]
    lines = [
        f"# actbench run `{run['name']}`",
        "",
        f"- device: `{env['device']}` ({env['device_name']}), threads: {env['threads']}, "
        f"torch {env['torch_version']}"
        + (f", CUDA {env['cuda_version']}" if env.get("cuda_version") else ""),
        f"- model: {model_name(cfg)}, batch {cfg['batch_size']}, "
        f"mode {cfg.get('mode', 'eager')}, {cfg['optimizer']} lr {cfg['lr']}, "
        f"≤{cfg['epochs']} epochs, patience {cfg['patience']}, "
        f"val fraction {cfg['val_fraction']}"
        + (f", train limit {cfg['train_limit']}" if cfg.get("train_limit") else ""),
        f"- seeds: {', '.join(map(str, cfg['seeds']))}; warm-up steps excluded per trial: "
        f"{cfg['warmup_steps']}; timing: {run['timing_method']}",
        f"- host: {env['hostname']}, {env['cpu_model']}, {env['platform']}",
        f"- started {run['started']}, finished {run.get('finished') or '(not finished)'}",
        "",
        render(summary, "github"),
        "",
        "Sorted by test accuracy. µs/step: median of each trial's median step time over seeds, "
        "IQR likewise; × fastest: median step time relative to the fastest activation in this run.",
        "",
        footer(run, summary),
        "",
    ]
    return "\n".join(lines)


def show_text(folder: RunFolder, fmt: str) -> str:
    """What `actbench show` prints: the run in one line, its table, and where its plots are."""
    run, trials = folder.run_info(), folder.trials()
    if trials.empty:
        raise ActbenchError(f"run {folder.path} has no finished trials")
    try:
        summary = summarize(trials)
    except KeyError as exc:
        raise ActbenchError(f"{folder.path / 'trials.csv'} is missing column {exc}") from None
    env, cfg = run.get("environment", {}), run.get("config", {})
    lines = [
        f"{folder.name}: {env.get('device', '?')} ({env.get('device_name', '?')}), "
        f"{env.get('threads', '?')} threads, "
        f"{cfg.get('model', 'mlp')}, {cfg.get('mode', 'eager')}, "
        f"{run.get('status', '?')}, started {run.get('started', '?')}",
        render(summary, fmt),
        footer(run, summary),
    ]
    lines += [f"plot: {p}" for p in sorted(folder.path.glob("*.png"))]
    return "\n".join(lines)


def listing(folders: list[RunFolder]) -> list[dict]:
    """One row per run folder for `actbench list`: when, where, what, how far."""
    rows = []
    for folder in folders:
        try:
            run = folder.run_info()
            trials = len(folder.trials())
        except ActbenchError as exc:
            rows.append({"run": folder.name, "started": f"unreadable: {exc}"})
            continue
        cfg, env = run.get("config", {}), run.get("environment", {})
        rows.append(
            {
                "run": folder.name,
                "started": run.get("started", ""),
                "status": run.get("status", ""),
                "device": f"{env.get('device', '?')} ({env.get('device_name', '?')})",
                "threads": env.get("threads", ""),
                "model": cfg.get("model", "mlp"),
                "mode": cfg.get("mode", "eager"),
                "activations": ",".join(cfg.get("activations", [])),
                "seeds": ",".join(map(str, cfg.get("seeds", []))),
                "trials": trials,
            }
        )
    return rows
