from actbench.activation import resolve
from actbench.groups import Group
from actbench.progress import Progress
from actbench.records import EpochRecord
from tests.conftest import fake_trial


def group(*names: str, seed: int = 0) -> Group:
    return Group(seed, tuple(resolve(n) for n in names))


def epoch(n: int, activation: str = "relu") -> EpochRecord:
    return EpochRecord(activation, 0, n, 0.5, 0.4, 0.9712, 1.0, 812.4, 100.0)


def test_without_a_terminal_each_epoch_is_one_plain_line(capsys):
    progress = Progress(total_trials=12, max_epochs=100, schedule="interleaved", done=2)
    progress.group_started(group("relu", "tanh"))
    progress.epoch(epoch(1))
    progress.epoch(epoch(1, "tanh"))
    progress.trial_finished(fake_trial("relu", 0))
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 4
    assert lines[0] == "seed 0: relu, tanh (interleaved)"
    assert lines[1] == "seed 0 relu epoch 1/100: val loss 0.4000, val acc 97.12%, 812 µs/step"
    assert lines[3].startswith("[3/12] relu seed 0: test acc 97.00%") and "on testhost" in lines[3]


def test_quiet_prints_nothing(capsys):
    progress = Progress(total_trials=1, max_epochs=5, quiet=True)
    progress.group_started(group("relu"))
    progress.epoch(epoch(1))
    progress.trial_finished(fake_trial())
    assert capsys.readouterr().err == ""


def test_a_pacer_is_named_as_such_and_not_counted(capsys):
    progress = Progress(total_trials=2, max_epochs=5)
    progress.trial_finished(fake_trial("identity", 0), pacer=True)
    progress.trial_finished(fake_trial("tanh", 0))
    lines = capsys.readouterr().err.strip().splitlines()
    assert "trained again beside the seed's other trials" in lines[0]
    assert lines[1].startswith("[1/2] tanh seed 0: test acc")


def test_a_split_seed_keeps_one_bar_until_its_last_part_ends(monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    progress = Progress(total_trials=3, max_epochs=5, quiet=False)
    progress.interactive = True
    first, second = (
        Group(2, group("identity", "relu").activations),
        Group(2, group("identity", "tanh").activations, id=1),
    )
    progress.group_started(first)
    progress.group_started(second)
    assert list(progress._bars) == [2] and progress._bars[2].total == 20  # 5 epochs x 4
    progress.group_finished(first)
    assert list(progress._bars) == [2]
    progress.group_finished(second)
    assert progress._bars == {}
