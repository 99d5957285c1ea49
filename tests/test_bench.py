"""`gridworlds bench`: the training benchmark's wiring and its argument errors (speeds are never
asserted: the machines are too noisy for timed tests)."""

from gridworlds.cli import main


def test_training_benchmark_trains_and_reports_its_speed(capsys):
    training = ["--training", "--set", "games=1000", "--set", "threads=1"]
    assert main(["bench", "gridworlds/2048-v0", *training]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "4x6, 1 thread(s)"
    assert lines[2].split()[0] == "1000"  # one report per 1,000 games
    assert lines[-1].startswith("overall ") and "M training moves/s" in lines[-1]


def test_training_benchmark_arguments_are_checked(capsys):
    assert main(["bench", "gridworlds/Othello-v0", "--training"]) == 2
    assert "has no training benchmark" in capsys.readouterr().err
    assert main(["bench", "gridworlds/2048-v0", "--training", "--set", "gamez=10"]) == 2
    assert "gamez" in (err := capsys.readouterr().err) and "games: 'int' = 10000" in err
    assert main(["bench", "gridworlds/2048-v0", "--set", "games=10"]) == 2
    assert "--set applies to --training only" in capsys.readouterr().err
