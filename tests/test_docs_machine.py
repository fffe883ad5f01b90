"""The figures of measuring.md's "Is it the activation or the machine?" are the committed
runs' and files' own: each table regenerated from them, each prose figure recomputed."""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from actbench import summary as summary_mod
from actbench.storage import RunFolder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
FLUSH = "flush-denormal"
MEASURING = (ROOT / "docs" / "measuring.md").read_text(encoding="utf-8")


@functools.cache
def run(name: str) -> pd.DataFrame:
    return summary_mod.summarize_folder(RunFolder(RESULTS / name)).set_index("activation")


def _cost(row: pd.Series) -> str:
    return f"{row.cost_pct:+.1f} [{row.cost_pct_low:+.1f}, {row.cost_pct_high:+.1f}]"


def test_the_capability_table_is_the_two_runs():
    a, d = run("capability-avx2"), run("capability-default")
    for name in a.index.drop("identity"):
        x, y = a.loc[name], d.loc[name]
        row = (
            f"| {name} | {_cost(x)} | {_cost(y)} | {x.kernel_us:.1f} | {y.kernel_us:.1f} "
            f"| {x.kernel_copy_x:.1f} | {y.kernel_copy_x:.1f} |"
        )
        assert row in MEASURING, row


def test_the_capability_prose_is_the_runs():
    a, d = run("capability-avx2"), run("capability-default")
    moved = (d["cost_pct"] / a["cost_pct"]).drop("identity")
    assert moved.idxmax() == "elu" and round(moved.max()) == 4  # "up to four times (elu)"
    assert a["cost_pct"].drop("identity").idxmax() == "tanh"  # the dearest at AVX2
    assert d.loc["tanh", "cost_pct_low"] <= d.loc["sigmoid", "cost_pct_high"]  # no dearer
    for name in ("capability-avx2", "capability-default"):
        env = json.loads((RESULTS / name / "run.json").read_text())["environment"]
        flags = env["cpu_flags"].split()
        assert "avx2" in flags and "fma" in flags and not any(f.startswith("avx512") for f in flags)
    assert "AVX2 and FMA but no AVX512" in MEASURING


def test_the_flush_table_and_prose_are_the_two_runs():
    for label, name in (("`capability-avx2`", "capability-avx2"), ("`flush-denormal`", FLUSH)):
        s = run(name)
        others = s.drop(index="relu")["profile_optimizer_us"]
        r = s.loc["relu"]
        row = (
            f"| {label} | {r.profile_optimizer_us:.1f} | {others.min():.1f}–{others.max():.1f} "
            f"| {r.subnormal_pct:.2f} % | {_cost(r)} |"
        )
        assert row in MEASURING, row
    a, f = run("capability-avx2"), run(FLUSH)
    assert (
        a.loc["relu", "profile_optimizer_us"] > a.drop(index="relu")["profile_optimizer_us"].max()
    )
    flushed = f.drop(index="relu")["profile_optimizer_us"]
    assert flushed.min() <= f.loc["relu", "profile_optimizer_us"] <= flushed.max()
    assert f"{a.loc['relu', 'subnormal_pct']:.2f} % of its weights and Adam state" in MEASURING
    # "the two costs lie inside each other's intervals"
    ra, rf = a.loc["relu"], f.loc["relu"]
    assert ra.cost_pct_low <= rf.cost_pct <= ra.cost_pct_high
    assert rf.cost_pct_low <= ra.cost_pct <= rf.cost_pct_high
    # "every activation's test accuracy is the same in both runs" (to the table's 0.01 points)
    same = (100 * (a["test_accuracy_mean"] - f["test_accuracy_mean"])).abs().round(2)
    assert (same == 0).all(), same
    run_json = json.loads((RESULTS / FLUSH / "run.json").read_text())
    assert run_json["config"]["flush_denormal"] is True
    assert run_json["environment"]["flush_denormal"] is True


SIZES = {16384: "16 KiB", 262144: "256 KiB", 4194304: "4 MiB", 134217728: "128 MiB"}


@functools.cache
def probe() -> dict:
    return json.loads((RESULTS / "kernels-cpu.json").read_text())


def _normal(capability: str) -> pd.DataFrame:
    f = pd.DataFrame(probe()["readings"])
    return f[(f["capability"] == capability) & (f["range"] == "normal") & ~f["flush_denormal"]]


def test_the_floor_tables_are_the_probes_readings():
    for capability in ("AVX2", "DEFAULT"):
        f = _normal(capability)
        for act in probe()["request"]["activations"]:
            a = f[f["activation"] == act].set_index("size_bytes")
            cells = [
                f"{a.loc[s, 'copy_x']:.1f}" if a.loc[s, "kernel_us"] > 0 else "—" for s in SIZES
            ]
            row = f"| {act} | " + " | ".join(cells) + f" | {a.loc[134217728, 'gbs']:.2f} |"
            assert row in MEASURING, (capability, row)


def test_the_floor_prose_is_the_probes_readings():
    f = _normal("AVX2").pivot(index="activation", columns="size_bytes", values="copy_x")
    at_cache = f[4194304]
    memory_speed = ["relu", "leaky_relu", "relu6", "hardtanh", "hardswish"]
    assert (
        f"{at_cache[memory_speed].min():.1f}–{at_cache[memory_speed].max():.1f} times" in MEASURING
    )
    assert at_cache.drop(memory_speed).min() > at_cache[memory_speed].max()
    arithmetic = ["tanh", "elu", "selu", "celu", "softplus"]
    low, high = at_cache[arithmetic].min(), at_cache[arithmetic].max()
    assert (round(low), round(high)) == (6, 8) and "take 6–8 times, mish 26" in MEASURING
    assert round(at_cache["mish"]) == 26 and at_cache.idxmax() == "mish"
    small, large = f[16384], f[134217728]
    assert f"every multiple is {small.min():.0f}–{small.max():.0f}" in MEASURING
    assert f"{large.min():.0f}–{large.max():.0f} times" in MEASURING
    caches = {c["level"]: c["bytes"] for c in probe()["caches"]}
    assert caches == {1: 32 * 2**10, 2: 512 * 2**10, 3: 32 * 2**20}
    sweep = run("capability-avx2")
    for name in ("relu", "elu"):
        assert f"{sweep.loc[name, 'kernel_copy_x']:.1f}\nfor {name}" in MEASURING or (
            f"{sweep.loc[name, 'kernel_copy_x']:.1f} for {name}" in " ".join(MEASURING.split())
        )


def test_no_sweep_above_was_flagged_for_its_inputs():
    ratios = pd.concat(
        run(name)[["sensitive_negative", "sensitive_tiny", "sensitive_subnormal"]].drop("identity")
        for name in ("capability-avx2", "capability-default", "flush-denormal")
    )
    assert f"within {ratios.min().min():.1f}–{ratios.max().max():.1f} times" in MEASURING
    assert ratios.max().max() < 2 and ratios.min().min() > 0.5


def test_the_precision_example_is_the_runs():
    saved = json.loads((RESULTS / "precision" / "run.json").read_text())
    sizing, config = saved["precision"], saved["config"]
    assert (len(sizing["first_seeds"]), sizing["needed"], sizing["seeds"]) == (3, 12, 10)
    assert config["precision"] == 2 and config["max_seeds"] == 10
    half = (run("precision")["cost_pct_high"] - run("precision")["cost_pct_low"]) / 2
    quoted = (
        f"reached for gelu (±{half['gelu']:.1f}); not for hardtanh (±{half['hardtanh']:.1f}), "
        f"softsign (±{half['softsign']:.1f}) within the cap of 10 seeds (they needed 12)"
    )
    assert half["gelu"] <= 2 < min(half["hardtanh"], half["softsign"])
    assert quoted in " ".join(MEASURING.split())
    assert "its 3 first seeds asked for 12, the cap trained 10" in " ".join(MEASURING.split())


def test_the_rerun_of_the_quick_start_is_the_scripts():
    saved = json.loads((RESULTS / "rerun_check-default-cpu.json").read_text())
    text = " ".join(MEASURING.split())
    within = saved["checks"]["within this set"]
    quoted = (
        f"{within['hold']} of {within['checks']} checks hold; median half-width "
        f"{saved['median_half_width_pct']:.2f} points"
    )
    assert quoted in text
    assert saved["config"]["epochs"] == 0 and saved["config"]["runs"] == 4  # the defaults
    walls = saved["seconds"].values()
    assert f"walls {min(walls):.0f}–{max(walls):.0f} s" in text
    points = saved["cost_apart_points"]
    quoted = ", ".join(f"{a} {points[a]:.2f}" for a in ("elu", "relu", "tanh", "sigmoid"))
    assert f"({quoted})" in text and f"more than {max(points.values()):.2f} points" in text
    kernel = saved["kernel"]
    apart = {a: f"{kernel[a]['copy_x_apart_pct']:.1f} %" for a in kernel}
    quoted = (
        f"at most {apart['elu']} from the four runs' median for elu, {apart['relu']} for relu, "
        f"{apart['tanh']} for tanh, {apart['sigmoid']} for sigmoid"
    )
    assert quoted in text
    worst = max(v["copy_x_apart_pct"] for v in kernel.values())
    assert ("every activation within the ±10 %" in text) == (worst <= 10)
    seeds = [max(v["apart_pct"].values()) for v in saved["kernel_seeds"].values()]
    assert f"up to {min(seeds):.1f}–{max(seeds):.1f} % from their run's median" in text
    assert all(len(s) == 3 for v in saved["kernel_seeds"].values() for s in v["seeds"].values())


def test_the_rounds_and_the_machine_it_quotes_are_the_scripts():
    """The correlation of two kernel rounds and each run's shift, as measuring.md says."""
    saved = json.loads((RESULTS / "rerun_check-default-cpu.json").read_text())
    text = " ".join(MEASURING.split())
    alike = saved["kernel_rounds"]
    same, other = alike["same process"], alike["other processes"]
    assert f"in one process correlate at {same['under 3 s']['r']:+.2f}" in text
    assert f"minutes apart at {same['over 60 s']['r']:+.2f}" in text
    rs = [v["r"] for v in other.values()]
    assert f"in two processes at {min(rs):+.2f} to {max(rs):+.2f}" in text
    assert f"standard deviation of {alike['round_sd_log']:.2f} in log units" in text
    assert all(abs(v["r"]) < 0.1 for kind in (same, other) for v in kind.values())
    shift = saved["machine_shift"].values()
    ref = [v["reference_pct"] for v in shift]
    mul = [v["multiples_pct"] for v in shift]
    assert f"lay {min(ref):+.1f} to {max(ref):+.1f} % from the four runs' median" in text
    assert f"{min(mul):+.1f} to {max(mul):+.1f} % (`machine_shift`)" in text
    assert max(map(abs, mul)) < max(map(abs, ref))  # "the machine moved; the multiple did not"


def test_the_earlier_reruns_it_cites_are_in_the_history():
    cited = re.findall(
        r"read (\w+) ([\d.]+) % \(`git show (\w+):(results/[\w./-]+)`\)",
        " ".join(MEASURING.split()),
    )
    assert len(cited) >= 2, "measuring.md cites earlier rerun checks by commit"
    for activation, value, commit, path in cited:
        shown = subprocess.run(
            ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True
        )
        if shown.returncode:  # a clone without that history (shallow): nothing to read
            pytest.skip(f"git show {commit}: {shown.stderr.strip()}")
        earlier = json.loads(shown.stdout)["kernel"][activation]["copy_x_apart_pct"]
        assert f"{earlier:.1f}" == value, (activation, commit)


def test_the_six_seed_rerun_is_the_scripts():
    six = json.loads((RESULTS / "rerun_check-6seeds-cpu.json").read_text())
    three = json.loads((RESULTS / "rerun_check-default-cpu.json").read_text())
    text = " ".join(MEASURING.split())
    assert six["config"]["epochs"] == 8 and six["config"]["extra"][:2] == ["--seeds", "0-5"]
    walls = [
        f"{min(s['seconds'].values()):.0f}–{max(s['seconds'].values()):.0f} s" for s in (six, three)
    ]
    assert f"walls {walls[0]} against {walls[1]}" in text
    within = six["checks"]["within this set"]
    quoted = (
        f"{within['hold']} of {within['checks']} checks hold; median half-width "
        f"{six['median_half_width_pct']:.2f} points"
    )
    assert quoted in text
    names = ("elu", "relu", "tanh", "sigmoid")
    points = ", ".join(f"{a} {six['cost_apart_points'][a]:.2f}" for a in names)
    assert f"point moved at most {points} points" in text
    multiples = ", ".join(f"{a} {six['kernel'][a]['copy_x_apart_pct']:.1f} %" for a in names)
    assert f"the multiple at most {multiples}" in text
