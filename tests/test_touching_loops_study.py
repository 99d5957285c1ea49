"""The touching-loops-convergence study (a study experiment of the runner) and the split-noise kernels."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from gridworlds.cli import main
from gridworlds.engines import touching_loops as engine
from gridworlds.engines.rng import seed_state
from gridworlds.runner import run_experiment
from gridworlds.runner.config import Study, load_experiment
from gridworlds.studies import touching_loops as loops_study

EXPERIMENT = Path(__file__).parents[1] / "experiments" / "touching-loops-convergence.toml"
# The quick variant: 2 sizes x 2 tile sets x the file's 4 noise settings, 6 runs each. n = 6 with
# non-touching tiles rarely settles within 3000 sweeps, so the runs include unconverged ones.
QUICK = ["study.n=[4, 6]", "study.runs=6", "study.budget=3000"]
POINTS = 2 * 2 * 4


class Crash(Exception):
    pass


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.toml"
    path.write_text(text)
    return path


def test_the_quick_study_writes_every_file_with_consistent_numbers(tmp_path, capsys):
    sets = [arg for override in QUICK for arg in ("--set", override)]
    assert main(["run", str(EXPERIMENT), "--runs-dir", str(tmp_path), *sets]) == 0
    root = tmp_path / "touching-loops-convergence"
    assert sorted(p.name for p in root.iterdir()) == [
        "config.toml",
        "convergence.png",
        "points",
        "results.csv",
        "summary.csv",
        "summary.json",
    ]
    assert len(list((root / "points").iterdir())) == POINTS
    assert root.joinpath("convergence.png").read_bytes().startswith(b"\x89PNG")
    config = tomllib.loads(root.joinpath("config.toml").read_text())
    assert config == load_experiment(EXPERIMENT, QUICK).to_dict()
    assert config["study"]["budget"] == {"4": 3000, "6": 3000}

    runs = read_csv(root / "results.csv")
    summary = read_csv(root / "summary.csv")
    assert len(runs) == POINTS * 6 and len(summary) == POINTS
    assert {run["converged"] for run in runs} == {"0", "1"}  # both kinds, so the shares below say something
    for run in runs:
        if run["converged"] == "1":
            assert run["valid"] == "1" and int(run["sweeps"]) <= 3000  # the checker agrees with the rule
        else:
            assert int(run["sweeps"]) == 3000
    for row in summary:
        point = [
            run
            for run in runs
            if (run["n"], run["tiles"], run["noise"]) == (row["n"], row["tiles"], row["noise"])
        ]
        sweeps = [int(run["sweeps"]) for run in point]
        stable = [run for run in point if run["converged"] == "1"]
        assert int(row["runs"]) == len(point) == 6
        assert float(row["converged"]) == pytest.approx(len(stable) / len(point))
        assert float(row["sweeps_median"]) == np.median(sweeps)
        assert float(row["sweeps_mean"]) == pytest.approx(np.mean(sweeps))
        if stable:
            assert float(row["density"]) == pytest.approx(np.mean([float(run["density"]) for run in stable]))
        else:
            assert row["density"] == row["loops"] == ""

    over = json.loads(root.joinpath("summary.json").read_text())
    assert over["name"] == "touching-loops-convergence"
    assert over["function"] == "gridworlds.studies.touching_loops:convergence"
    assert [(r["n"], r["tiles"], r["noise"], r["converged"]) for r in over["rows"]] == [
        (int(r["n"]), r["tiles"], r["noise"], float(r["converged"])) for r in summary
    ]
    out = capsys.readouterr().out
    assert "sweeps_median" in out and "free=0,stuck=0.7" in out


def test_the_study_is_reproducible_and_resumes_after_a_crash_without_redoing_points(tmp_path, monkeypatch):
    run_experiment(EXPERIMENT, QUICK, runs_dir=tmp_path / "clean")
    clean = tmp_path / "clean" / "touching-loops-convergence"

    calls = []
    run_point = loops_study.run_point

    def crashing(*args):
        calls.append(args[:3])
        if len(calls) == 3:
            raise Crash
        return run_point(*args)

    monkeypatch.setattr(loops_study, "run_point", crashing)
    with pytest.raises(Crash):
        run_experiment(EXPERIMENT, QUICK, runs_dir=tmp_path / "runs")
    root = tmp_path / "runs" / "touching-loops-convergence"
    assert len(list((root / "points").iterdir())) == 2 and not (root / "results.csv").exists()

    with pytest.raises(ValueError, match="--resume"):
        run_experiment(EXPERIMENT, QUICK, runs_dir=tmp_path / "runs")
    with pytest.raises(ValueError, match="study.runs.4, study.runs.6 changed"):
        run_experiment(EXPERIMENT, [*QUICK, "study.runs=7"], resume=True, runs_dir=tmp_path / "runs")

    calls.clear()
    monkeypatch.setattr(loops_study, "run_point", lambda *args: calls.append(args[:3]) or run_point(*args))
    run_experiment(EXPERIMENT, QUICK, resume=True, runs_dir=tmp_path / "runs")
    assert len(calls) == POINTS - 2  # the two finished points were read back, not run again
    for name in ("results.csv", "summary.csv", "summary.json"):
        assert root.joinpath(name).read_text() == clean.joinpath(name).read_text()

    run_experiment(EXPERIMENT, [*QUICK, "study.seed=1"], runs_dir=tmp_path / "seed-1")
    assert (tmp_path / "seed-1" / "touching-loops-convergence" / "results.csv").read_text() != (
        clean / "results.csv"
    ).read_text()


MINIMAL = """
name = "loops"
[study]
function = "gridworlds.studies.touching_loops:convergence"
"""


def test_overrides_and_defaults_of_the_study_params(tmp_path):
    study = load_experiment(write(tmp_path, MINIMAL))
    assert isinstance(study, Study)
    assert study.params == {
        "n": [6, 8, 10, 12, 16],
        "tiles": ["touching", "non-touching"],
        "noise": [0.3, 0.4, 0.5, {"free": 0.0, "stuck": 0.7}],
        "runs": {"6": 100, "8": 100, "10": 100, "12": 100, "16": 100},
        "budget": {"6": 100_000, "8": 100_000, "10": 100_000, "12": 100_000, "16": 1_000_000},
        "density": 0.5,
        "seed": 0,
    }
    changed = load_experiment(
        write(tmp_path, MINIMAL),
        ["study.n=[8]", "study.noise=[1, {free = 0, stuck = 1}]", "study.runs={8 = 3}"],
    )
    assert changed.params["noise"] == [1.0, {"free": 0.0, "stuck": 1.0}]
    assert changed.params["runs"] == {"8": 3}
    # The resolved config is TOML that loads back into the same study.
    assert load_experiment(write(tmp_path, tomli_w.dumps(changed.to_dict()))) == changed


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("runs = 0", "study.runs must be a positive integer or a table of them by field size, got 0"),
        ("runs = { 6 = 0 }\nn = [6]", "study.runs.6 must be a positive integer, got 0"),
        ("budget = { 6 = 10 }\nn = [6, 8]", "study.budget.8 is missing"),
        ("rnus = 3", "unknown field study.rnus (did you mean study.runs?)"),
        ("n = [2, 6]", "study.n must be a non-empty array of distinct field sizes from 3 to 60"),
        ('tiles = ["loops"]', "study.tiles must be a non-empty array of distinct tile set names"),
        ("noise = [1.5]", "study.noise must be a non-empty array of noise settings"),
        ("noise = [0.3, 0.3]", "study.noise must be an array of distinct settings"),
        ("noise = [{ free = 0.1 }]", "study.noise.0.stuck is missing"),
        (
            "noise = [{ free = 0, stuk = 0.7 }]",
            "unknown field study.noise.0.stuk (did you mean study.noise.0.stuck?)",
        ),
        ("noise = [{ free = 0, stuck = -1 }]", "study.noise.0.stuck must be a number from 0 to 1, got -1"),
        ("density = 2", "study.density must be a number from 0 to 1, got 2"),
        ("seed = -1", "study.seed must be a non-negative integer, got -1"),
    ],
)
def test_a_malformed_study_table_names_the_field(tmp_path, line, message):
    with pytest.raises(ValueError, match="x.toml") as error:
        load_experiment(write(tmp_path, MINIMAL + line + "\n"))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL.replace("touching_loops:convergence", "touching_loops:nothing"), "study.function "),
        (
            MINIMAL.replace("gridworlds.studies.touching_loops", "nowhere"),
            "cannot be loaded: No module named",
        ),
        (MINIMAL.replace(":convergence", ""), "study.function must be a 'module:function' path"),
        (
            MINIMAL.replace("gridworlds.studies.touching_loops:convergence", "gridworlds.runner:__doc__"),
            "a callable",
        ),
        ("[study]\nruns = 3\n", "study.function is missing"),
        ('study = "gridworlds.studies.touching_loops:convergence"\n', "study must be a table"),
        ('world = "gridworlds/2048-v0"\n' + MINIMAL, "unknown field world; the fields are: name, study"),
    ],
)
def test_a_malformed_study_file_names_the_field(tmp_path, text, message):
    with pytest.raises(ValueError, match="x.toml") as error:
        load_experiment(write(tmp_path, text))
    assert message in str(error.value)


@pytest.mark.parametrize("option", [{"seeds": "0-1"}, {"ray_address": "auto"}])
def test_seeds_and_ray_do_not_apply_to_a_study(tmp_path, option):
    with pytest.raises(ValueError, match="is a study"):
        run_experiment(EXPERIMENT, QUICK, runs_dir=tmp_path, **option)


# --- the split-noise kernels ----------------------------------------------------------------------


def random_fields(n: int, runs: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.zeros((runs, n + 4), dtype=np.uint64)
    rngs = np.array([engine.random_field(rows[k], n, 0.5, seed_state(k)) for k in range(runs)], np.uint64)
    return rows, rngs


@pytest.mark.parametrize("tiles", ["touching", "non-touching"])
def test_split_noise_with_equal_probabilities_is_the_rule(tiles):
    templates = engine.tile_set_templates(tiles)
    results = []
    for split in (False, True):
        rows, rngs = random_fields(6, 8)
        sweeps, converged = np.zeros(8, np.int64), np.zeros(8, np.bool_)
        if split:
            engine.run_batch_split_noise(rows, 6, 0.4, 0.4, rngs, 2000, *templates, sweeps, converged)
        else:
            engine.run_batch(rows, 6, 0.4, rngs, 2000, *templates, sweeps, converged)
        results.append((rows, rngs, sweeps, converged))
    for rule, split in zip(*results, strict=True):
        np.testing.assert_array_equal(rule, split)


@pytest.mark.parametrize("tiles", ["touching", "non-touching"])
def test_split_noise_reaches_patterns_the_checker_accepts(tiles):
    n, runs = 6, 10
    templates = engine.tile_set_templates(tiles)
    rows, rngs = random_fields(n, runs)
    sweeps, converged = np.zeros(runs, np.int64), np.zeros(runs, np.bool_)
    engine.run_batch_split_noise(rows, n, 0.0, 0.7, rngs, 300_000, *templates, sweeps, converged)
    assert converged.all()
    field = np.zeros((n, n), dtype=np.int8)
    order = np.empty(n * n, dtype=np.int64)
    for k in range(runs):
        engine.rows_to_field(rows[k], field)
        assert engine.is_loop_pattern(field, tiles == "touching")
        before = rows[k].copy()
        _, invalid = engine.sweep_split_noise(rows[k], n, 0.0, 0.7, rngs[k], order, *templates)
        assert invalid == 0 and np.array_equal(rows[k], before)  # stable: another sweep changes nothing
