"""The machine's fingerprint, read from files written here, and the pins honoured by the
processes that time the steps."""

import json
from dataclasses import replace

import pytest
import torch

from actbench import cli, device, fingerprint, runner, spares
from actbench.errors import ActbenchError
from actbench.run_record import RunRecord

CPUINFO = """processor\t: 0
model name\t: Some CPU
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw amx_tile avx512_bf16 sha_ni
microcode\t: 0xa0011d1

processor\t: 1
flags\t\t: fpu avx2
microcode\t: 0xffff
"""
CONFIG_SHOWN = """PyTorch built with:
  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64
  - Intel(R) MKL-DNN v3.12.0 (Git Hash 80afa71)
  - OpenMP 201511 (a.k.a. OpenMP 4.5)
  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, LAPACK_INFO=open, USE_MKL=ON,
"""


def this_cpu_flags() -> set[str]:
    """The flags as /proc/cpuinfo lists them, read here without the module under test."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(set(line.split(":")[1].split()) for line in f if line.startswith("flags"))
    except (OSError, StopIteration):
        return set()


def test_cpu_info_keeps_the_flags_that_choose_kernels_and_the_first_microcode(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    info = fingerprint.cpu_info(path)
    assert info == {
        "cpu_flags": "amx_tile avx2 avx512_bf16 avx512bw avx512f fma",  # not sse4_2, sha_ni
        "cpu_microcode": "0xa0011d1",
    }
    assert fingerprint.cpu_info(tmp_path / "absent") == {"cpu_flags": "", "cpu_microcode": None}


def test_governor_and_boost_where_sysfs_has_them_none_where_not(tmp_path):
    assert fingerprint.frequency(tmp_path) == {"cpufreq_governor": None, "cpu_boost": None}
    (tmp_path / "cpu0" / "cpufreq").mkdir(parents=True)
    (tmp_path / "cpu0" / "cpufreq" / "scaling_governor").write_text("performance\n")
    (tmp_path / "intel_pstate").mkdir()
    (tmp_path / "intel_pstate" / "no_turbo").write_text("1\n")  # turbo off
    assert fingerprint.frequency(tmp_path) == {
        "cpufreq_governor": "performance",
        "cpu_boost": False,
    }
    (tmp_path / "cpufreq").mkdir()
    (tmp_path / "cpufreq" / "boost").write_text("1\n")
    assert fingerprint.frequency(tmp_path)["cpu_boost"] is True


def test_math_libraries_as_torch_says_them():
    assert fingerprint.math_libraries(CONFIG_SHOWN) == {
        "blas": "mkl",
        "lapack": "open",
        "mkl": "2024.2-Product Build 20240605",
        "onednn": "v3.12.0",
        "openmp": "201511",
    }


def test_flushing_reads_the_state_in_force():
    before = device.flushing()
    try:
        if not torch.set_flush_denormal(True):
            pytest.skip("this CPU cannot flush denormals")
        assert device.flushing() is True
        torch.set_flush_denormal(False)
        assert device.flushing() is False
    finally:
        torch.set_flush_denormal(before)


def test_a_name_torch_does_not_accept_is_refused_in_one_line():
    with pytest.raises(ActbenchError, match=r"'sse9' is not one .* use default, avx2") as caught:
        fingerprint.check_capability("sse9")
    assert "\n" not in str(caught.value)


def test_avx512_is_refused_exactly_where_the_cpu_lacks_it():
    flags = this_cpu_flags()
    if not {"avx2", "fma"} <= flags:
        pytest.skip("not an x86 CPU with AVX2")
    if "avx512f" in flags and "avx512bw" in flags:
        fingerprint.check_capability("avx512")  # torch dispatches it when asked
    else:  # torch would dispatch it anyway, and its kernels would not run here
        with pytest.raises(ActbenchError, match="avx512: this CPU lacks avx512f"):
            fingerprint.check_capability("avx512")
    fingerprint.check_capability("default")


def test_the_workers_readings_are_recorded_once_and_the_parents_where_it_differs():
    flags = {"cpu_flags": "avx2 fma"}
    env = {"parent_cpu_capability": "AVX512", "parent_flush_denormal": False, **flags}
    fingerprint.record_workers(env, {"cpu_capability": "AVX2", "flush_denormal": False})
    fingerprint.record_workers(env, {"cpu_capability": "AVX2", "flush_denormal": False})
    assert env == {
        "parent_cpu_capability": "AVX512",  # the pin changed the workers', not the parent's
        "cpu_capability": "AVX2",
        "flush_denormal": False,
        **flags,
    }
    fingerprint.record_workers(env, {"cpu_capability": "AVX512", "flush_denormal": True})
    assert env["cpu_capability"] == "AVX2, AVX512" and env["flush_denormal"] is None


def test_a_resumed_run_saved_before_fingerprints_gets_no_workers_reading():
    """Its earlier trials' capability is unknown: the new ones' would pass for the run's."""
    env = {"device": "cpu", "threads": 1}  # no fingerprint at all
    fingerprint.record_workers(env, {"cpu_capability": "AVX2", "flush_denormal": False})
    assert env == {"device": "cpu", "threads": 1}


def test_a_worker_starts_with_the_pinned_capability_in_its_environment():
    assert spares.environment("avx2")["ATEN_CPU_CAPABILITY"] == "avx2"
    assert spares.environment(None).get("ATEN_CPU_CAPABILITY") == fingerprint.os.environ.get(
        "ATEN_CPU_CAPABILITY"
    )


@pytest.mark.slow
@pytest.mark.workers
def test_the_worker_processes_dispatch_and_flush_as_pinned(tiny_config):
    """A real sweep in worker processes: each trial records what its process read."""
    config = replace(tiny_config, cpu_capability="default", flush_denormal=True, epochs=1)
    folder = runner.run(config, quiet=True).folder
    trials = folder.trials()
    assert set(trials["cpu_capability"]) == {"DEFAULT"}
    assert set(trials["flush_denormal"]) == {True}
    saved = json.loads((folder.path / "run.json").read_text())
    assert saved["config"]["cpu_capability"] == "default" and saved["config"]["flush_denormal"]
    env = RunRecord.from_dict(saved).environment
    assert env.cpu_capability == "DEFAULT" and env.flush_denormal is True
    assert saved["environment"]["parent_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert device.flushing() is False  # the parent's own state is as it was


def test_a_resume_keeps_the_runs_pins_and_refuses_others(tiny_config):
    config = replace(tiny_config, activations=["relu"], flush_denormal=True, epochs=1)
    folder = runner.run(config, quiet=True).folder
    given = replace(tiny_config, flush_denormal=False)
    assert runner._saved_plan(folder, given, set()).config.flush_denormal is True  # not asked
    with pytest.raises(ActbenchError, match="flush_denormal True vs False"):
        runner.resume(folder.path, given, {"flush_denormal"}, quiet=True)


def test_the_python_api_takes_the_pins_and_refuses_as_the_cli_does(tmp_path):
    import actbench

    with pytest.raises(ActbenchError, match="cpu_capability 'sse9' is not one") as caught:
        actbench.sweep(["relu"], cpu_capability="sse9", out=tmp_path / "runs")
    assert "\n" not in str(caught.value) and not (tmp_path / "runs").exists()
    with pytest.raises(ActbenchError, match="flush_denormal must be True or False"):
        actbench.sweep(["relu"], flush_denormal="yes", out=tmp_path / "runs")


def test_pin_flushes_when_asked_and_the_callers_state_comes_back():
    torch.set_flush_denormal(False)
    with device.state_kept():
        device.pin("cpu", 1, flush_denormal=True)
        assert device.flushing() is True
        device.pin("cpu", 1)  # unpinned: nothing flushed
        assert device.flushing() is False
        device.pin("cpu", 1, flush_denormal=True)
    assert device.flushing() is False


def test_the_flush_state_is_read_in_float32_whatever_the_default_dtype():
    was = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)  # 1e-38 is normal in float64
        with device.state_kept():
            torch.set_flush_denormal(True)
            assert device.flushing() is True
            torch.set_flush_denormal(False)
            assert device.flushing() is False
    finally:
        torch.set_default_dtype(was)


def test_a_capability_is_read_in_lower_case_from_the_command_line():
    args = cli.build_parser().parse_args(["sweep", "--cpu-capability", "AVX2"])
    assert args.cpu_capability == "avx2"
