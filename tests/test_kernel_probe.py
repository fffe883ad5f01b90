"""`actbench kernels`: the probe's record, its sizes and its one-line refusals."""

from __future__ import annotations

import json

import pytest

from actbench import cli, fingerprint, kernel_probe

RANGES = {"normal", "negative", "tiny", "subnormal"}


@pytest.fixture(autouse=True)
def short(monkeypatch):
    monkeypatch.setattr(kernel_probe, "MIN_RUN", 0.001)  # a smoke, not a measurement


def test_the_record_holds_every_reading_its_bytes_and_the_environment(tmp_path):
    path = tmp_path / "k.json"
    assert (
        cli.main(["kernels", "--activations", "relu", "--sizes", "4K,16K", "--json", str(path)])
        == 0
    )
    record = json.loads(path.read_text())
    readings = record["readings"]
    # 2 sizes x 4 ranges, flush off only
    assert len(readings) == 8 and {r["range"] for r in readings} == RANGES
    assert {r["size_bytes"] for r in readings} == {4096, 16384}
    # relu keeps its output: 5 tensors the size of its input move
    assert {(r["size_bytes"], r["bytes"]) for r in readings} == {(4096, 20480), (16384, 81920)}
    assert not any(r["flush_denormal"] for r in readings)
    env = record["environment"]
    assert "argv" in env  # this process's (pytest's here): what scripts/remake.py reruns
    assert env["cpu_capability"] and env["torch_version"] and "caches" in record
    assert record["request"]["activations"] == ["relu"] and record["request"]["threads"] == 1


def test_flush_denormal_times_each_range_flushed_and_not():
    request = kernel_probe.request(["tanh"], "4K", flush_denormal=True)
    readings = kernel_probe.run(request)["readings"]
    pairs = {(r["range"], r["flush_denormal"]) for r in readings}
    assert pairs == {(r, f) for r in RANGES for f in (False, True)}
    assert "subnormal flush off/on" in kernel_probe.table({"readings": readings})


def test_the_default_sizes_span_the_caches_to_4x_the_last_level(tmp_path):
    for i, (level, kind, size) in enumerate(
        [
            (1, "Data", "32K"),
            (1, "Instruction", "32K"),
            (2, "Unified", "512K"),
            (3, "Unified", "8192K"),
        ]
    ):
        index = tmp_path / f"index{i}"
        index.mkdir()
        for name, value in (("level", level), ("type", kind), ("size", size)):
            (index / name).write_text(f"{value}\n")
    found = kernel_probe.caches(tmp_path)
    assert [c["bytes"] for c in found] == [32 * 1024, 512 * 1024, 8 * 2**20]  # no instructions
    kib = [s // 1024 for s in kernel_probe.default_sizes(found)]
    assert kib == [4, 16, 64, 256, 1024, 4096, 16384, 32768]  # 4x 8 MiB = 32 MiB last
    assert kernel_probe.parse_sizes("4K,1M,4096") == (4096, 2**20, 4096)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--activations", "nosuch"], "unknown activation 'nosuch'"),
        (["--sizes", "4Q"], "--sizes: '4Q' is not a size"),
        (["--sizes", "2"], "--sizes: '2' holds no float32 value"),
        (["--threads", "0"], "--threads must be a whole number, at least 1"),
        (["--cpu-capability", "neon9"], "--cpu-capability 'neon9' is not one this"),
    ],
)
def test_bad_input_is_refused_in_one_line(argv, said, capsys):
    assert cli.main(["kernels", "--sizes", "4K", *argv]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1, err


def test_a_capability_the_cpu_lacks_is_refused_before_probing(monkeypatch, capsys):
    """As on this VM's CPU (avx2, no avx512), where torch still reports AVX512 when asked
    and dies of an illegal instruction once it runs a kernel."""
    monkeypatch.setattr(fingerprint, "choices", lambda: ("default", "avx2", "avx512"))
    monkeypatch.setattr(fingerprint, "cpu_info", lambda *a: {"cpu_flags": "fma avx avx2"})
    assert cli.main(["kernels", "--sizes", "4K", "--cpu-capability", "avx512"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--cpu-capability avx512: this CPU lacks avx512f, avx512bw, avx512vl, avx512dq" in err
    assert len(err.splitlines()) == 1


@pytest.mark.slow
def test_a_capability_runs_in_a_child_that_really_dispatched_it():
    request = kernel_probe.request(["relu"], "4K")
    readings = kernel_probe.run(request, "default")["readings"]
    assert len(readings) == 4 and {r["capability"] for r in readings} == {"DEFAULT"}


def test_identity_alone_is_nothing_to_probe(capsys):
    assert cli.main(["kernels", "--activations", "identity", "--sizes", "4K"]) == 2
    assert "identity is the null" in capsys.readouterr().err


def test_a_json_that_cannot_be_written_is_refused_before_probing(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where the folder should be
    argv = ["kernels", "--sizes", "4K", "--json", str(blocker / "out.json")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--json cannot write" in err and len(err.splitlines()) == 1


def test_the_api_refuses_an_object_it_cannot_send_to_another_capability():
    import actbench

    with pytest.raises(actbench.ActbenchError, match="cannot see an activation given as an"):
        actbench.probe([lambda x: x * 2], sizes="4K", cpu_capability="default")
    with pytest.raises(actbench.ActbenchError, match="threads must be a whole number"):
        actbench.probe(["relu"], sizes="4K", threads="2")
