from actbench.progress import Progress
from actbench.records import EpochRecord
from tests.conftest import fake_trial


def epoch(n: int) -> EpochRecord:
    return EpochRecord("relu", 0, n, 0.5, 0.4, 0.9712, 1.0, 812.4, 100.0)


def test_without_a_terminal_each_epoch_is_one_plain_line(capsys):
    progress = Progress(total_trials=12, max_epochs=100)
    progress.trial_started(3, "relu", 0)
    progress.epoch(epoch(1))
    progress.epoch(epoch(2))
    progress.trial_finished(fake_trial("relu", 0))
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 3
    assert lines[0] == (
        "[3/12] relu seed 0 epoch 1/100: val loss 0.4000, val acc 97.12%, 812 µs/step"
    )
    assert lines[2].startswith("[3/12] relu seed 0: test acc 97.00%") and "on testhost" in lines[2]


def test_quiet_prints_nothing(capsys):
    progress = Progress(total_trials=1, max_epochs=5, quiet=True)
    progress.trial_started(1, "relu", 0)
    progress.epoch(epoch(1))
    progress.trial_finished(fake_trial())
    assert capsys.readouterr().err == ""


def test_submitted_trials_report_only_their_end(capsys):
    progress = Progress(total_trials=2, max_epochs=5)
    progress.trial_submitted(1, "relu", 0)
    progress.trial_submitted(2, "tanh", 0)
    progress.trial_finished(fake_trial("tanh", 0))
    assert capsys.readouterr().err.startswith("[2/2] tanh seed 0: test acc")
