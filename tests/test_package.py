"""The package as it installs: its package list, the experiments it ships, `python -m gridworlds`,
the message for a missing extra, and (slow) a wheel that runs a shipped experiment outside a checkout."""

import configparser
import shutil
import site
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from setuptools import find_packages

from gridworlds.cli import main
from gridworlds.extras import MissingExtra, require
from gridworlds.registry import load
from gridworlds.runner.config import find_experiment, shipped_experiments

REPOSITORY = Path(__file__).parents[1]
RLLIB_AGENT = "gridworlds.agents.hide_and_seek.rllib"


def test_setup_cfg_lists_every_package():
    # setup.cfg lists the packages by hand (find: cannot map gridworlds.experiments); a package of
    # gridworlds/ missing from the list would be missing from the wheel.
    setup = configparser.ConfigParser()
    setup.read(REPOSITORY / "setup.cfg")
    listed = setup["options"]["packages"].split()
    found = find_packages(where=str(REPOSITORY), include=["gridworlds", "gridworlds.*"])
    assert sorted(listed) == sorted([*found, "gridworlds.experiments"])


def test_the_package_ships_the_repository_experiments():
    # tests/test_runner.py loads every file of experiments/; these are the same files, by name.
    files = sorted(path.stem for path in (REPOSITORY / "experiments").glob("*.toml"))
    shipped = shipped_experiments()
    assert sorted(shipped) == files and "2048-baselines" in files
    for name, path in shipped.items():
        assert path.read_text() == (REPOSITORY / "experiments" / f"{name}.toml").read_text()


def test_an_experiment_is_a_path_or_a_shipped_name(tmp_path, monkeypatch):
    assert find_experiment("2048-baselines") == shipped_experiments()["2048-baselines"]
    path = REPOSITORY / "experiments" / "2048-baselines.toml"
    assert find_experiment(path) == path
    monkeypatch.chdir(tmp_path)
    (tmp_path / "2048-baselines").write_text("# a file of the same name comes first\n")
    assert find_experiment("2048-baselines") == Path("2048-baselines")


@pytest.mark.parametrize(
    "experiment, suggestion",
    [
        ("2048-baseline", "did you mean 2048-baselines?"),
        ("experiments/2048-baselines.toml", "did you mean 2048-baselines?"),  # a README path, elsewhere
        ("chess", ""),
    ],
)
def test_an_unknown_experiment_lists_the_shipped_names(tmp_path, monkeypatch, experiment, suggestion):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="neither an experiment file nor the name of a shipped") as error:
        find_experiment(experiment)
    message = str(error.value)
    assert suggestion in message and ("did you mean" in message) == bool(suggestion)
    assert "the shipped experiments are: 2048-baselines, 2048-curves," in message


def test_python_m_gridworlds_is_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "gridworlds", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"gridworlds {metadata.version('gridworlds')}"


def test_a_missing_extra_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where Ray is not installed
    with pytest.raises(MissingExtra) as error:
        require("ray", needed_by="--ray", extra="ray")
    expected = "--ray needs the `ray` extra (ray is not installed): pip install 'gridworlds[ray]'"
    assert str(error.value) == expected
    assert isinstance(error.value, ModuleNotFoundError) and error.value.name == "ray"

    monkeypatch.delitem(sys.modules, RLLIB_AGENT, raising=False)  # imported already where Ray is
    with pytest.raises(MissingExtra) as error:
        load(f"{RLLIB_AGENT}:RLlibPPO")
    assert str(error.value).startswith(f"{RLLIB_AGENT} needs the `rllib` extra (ray is not installed)")


def test_a_missing_module_that_no_extra_installs_is_left_alone():
    with pytest.raises(ModuleNotFoundError) as error:
        load("gridworlds.no_such_module:thing")
    assert not isinstance(error.value, MissingExtra)


def test_the_rllib_experiment_without_ray_is_a_message(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, RLLIB_AGENT, raising=False)
    assert main(["run", "hide-and-seek-quadrant-rllib"]) == 2
    assert capsys.readouterr().err.strip().endswith("pip install 'gridworlds[rllib]'")


@pytest.mark.slow
def test_the_wheel_runs_a_shipped_experiment_outside_a_checkout(tmp_path):
    # Build from a copy of what the build reads, so that setuptools' build/ folder stays out of the
    # checkout (a stale one there would put deleted files into later wheels).
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPOSITORY / name, source / name)
    for name in ("gridworlds", "experiments"):
        shutil.copytree(REPOSITORY / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path, source], check=True)
    (wheel,) = tmp_path.glob("gridworlds-*.whl")

    # A fresh environment holding the wheel alone; its dependencies come from this environment's
    # site-packages (a .pth file adds them to its path), where gridworlds is only an editable finder.
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", fresh], check=True)
    python = fresh / "bin" / "python"
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], check=True)
    (fresh_site,) = (fresh / "lib").glob("python*/site-packages")
    (fresh_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    empty = tmp_path / "empty"
    empty.mkdir()
    imported = [python, "-c", "import gridworlds; print(gridworlds.__file__)"]
    where = subprocess.run(imported, cwd=empty, capture_output=True, text=True, check=True).stdout
    assert Path(where.strip()).is_relative_to(fresh_site)
    gridworlds = fresh / "bin" / "gridworlds"
    subprocess.run([gridworlds, "run", "2048-baselines"], cwd=empty, check=True)
    assert (empty / "runs" / "2048-baselines" / "summary.json").is_file()

    # 2048-search names the checkpoint of a 2048-td-4x6 run as runs/...: relative to the working
    # directory, as the runs are, not to the shipped file.
    few_games = ["--set", "train.budget=20", "--set", "eval.episodes=1"]
    subprocess.run([gridworlds, "run", "2048-td-4x6", *few_games], cwd=empty, check=True)
    one_game_each = ["--set", "eval.episodes=1", "--set", "agents.1.eval_episodes=1"]
    one_game_each += ["--set", "agents.2.eval_episodes=1"]
    subprocess.run([gridworlds, "run", "2048-search", *one_game_each], cwd=empty, check=True)
    assert (empty / "runs" / "2048-search" / "summary.json").is_file()
