from actbench.progress import Progress
from actbench.records import EpochRecord
from tests.conftest import fake_trial


def epoch(n: int, activation: str = "relu") -> EpochRecord:
    return EpochRecord(activation, 0, n, 0.5, 0.4, 0.9712, 1.0, 812.4, 100.0)


def test_without_a_terminal_each_epoch_is_one_plain_line(capsys):
    progress = Progress(total_trials=12, max_epochs=100, schedule="interleaved", done=2)
    progress.group_started(0, ["relu", "tanh"])
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
    progress.group_started(0, ["relu"])
    progress.epoch(epoch(1))
    progress.trial_finished(fake_trial())
    assert capsys.readouterr().err == ""


def test_a_pacer_is_named_as_such_and_not_counted(capsys):
    progress = Progress(total_trials=2, max_epochs=5)
    progress.trial_finished(fake_trial("identity", 0), pacer=True)
    progress.trial_finished(fake_trial("tanh", 0))
    lines = capsys.readouterr().err.strip().splitlines()
    assert "trained again beside the resumed trials" in lines[0]
    assert lines[1].startswith("[1/2] tanh seed 0: test acc")
