"""Checkpoints are data, for every agent of gridworlds.agents.AGENTS: no loader runs code that a
checkpoint carries, and a damaged checkpoint is a ValueError naming the damaged file.

Each agent saves a small checkpoint once (`saved`); each test damages a copy of it. The stand-in
for an attacker's code is a pickle whose unpickling creates a marker file, put wherever a loader
could unpickle: in place of each file the agent writes (with the manifest's SHA-256 updated, as an
attacker would, so that the file reaches its parser), and as stray files a careless loader might
pick up (stable-baselines3's model.zip with a ":serialized:" entry, a torch checkpoint, ...).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import pickle
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import gridworlds
from gridworlds.agents import AGENTS, MANIFEST, load_agent, make_agent
from gridworlds.engines.voxels.bodies import EXAMPLE_BODIES, body_from_text

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MARKER = "code-ran"  # the file the payloads create, in the directory that holds the checkpoint
QUADRANT = "gridworlds/HideAndSeekQuadrant-v0"
SMALL_PATTERNS = ["0123", "4567", "0145", "1256"]


class Payload:
    """Unpickling it calls open(path, "w"), which creates the file: the harmless stand-in for any
    call an attacker's pickle could make."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def raw_pickle(marker: Path) -> bytes:
    return pickle.dumps(Payload(marker))


def torch_pickle(marker: Path) -> bytes:
    """What torch.save writes: a zip whose data.pkl torch.load(weights_only=False) unpickles."""
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save({"weights": Payload(marker)}, buffer)
    return buffer.getvalue()


def object_npy(marker: Path) -> bytes:
    """An .npy of an object array: np.load(allow_pickle=True) unpickles its items."""
    buffer = io.BytesIO()
    np.save(buffer, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def sb3_model_zip(marker: Path) -> bytes:
    """stable-baselines3's model.zip: its loader cloudpickle-loads every ":serialized:" entry of
    the "data" JSON."""
    serialized = base64.b64encode(raw_pickle(marker)).decode()
    data = {"policy_class": {":type:": "<class 'abc.ABCMeta'>", ":serialized:": serialized}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data", json.dumps(data))
        archive.writestr("_stable_baselines3_version", "2.9.2")
    return buffer.getvalue()


PAYLOADS: dict[str, Callable[[Path], bytes]] = {
    "pickle": raw_pickle,
    "torch.save": torch_pickle,
    "object .npy": object_npy,
    "sb3 model.zip": sb3_model_zip,
}


def test_the_payloads_run_code_where_a_pickle_loader_reads_them(tmp_path):
    """The attack is real: each payload creates its marker under the loader it was made for."""
    torch = pytest.importorskip("torch")
    save_util = pytest.importorskip("stable_baselines3.common.save_util")
    marker = tmp_path / MARKER
    loaders = {
        "pickle": lambda path: pickle.loads(path.read_bytes()),
        "torch.save": lambda path: torch.load(path, weights_only=False),
        "object .npy": lambda path: np.load(path, allow_pickle=True)[0],
        "sb3 model.zip": lambda path: save_util.load_from_zip_file(path),
    }
    for kind, make_payload in PAYLOADS.items():
        path = tmp_path / "payload"
        path.write_bytes(make_payload(marker))
        loaders[kind](path)
        assert marker.exists(), kind
        marker.unlink()


# --- one small saved checkpoint per agent ---------------------------------------------------------


def build_random(root: Path) -> None:
    make_agent("random", "gridworlds/2048-v0", seed=1).save(root / "checkpoint")


def build_greedy(root: Path) -> None:
    make_agent("greedy", "gridworlds/2048-v0", seed=1).save(root / "checkpoint")


def build_alphabeta(root: Path) -> None:
    make_agent("alphabeta", "gridworlds/Othello-v0", seed=1, depth=2).save(root / "checkpoint")


def build_ca_rule(root: Path) -> None:
    make_agent("ca-rule", "gridworlds/TouchingLoops-v0", seed=1).save(root / "checkpoint")


def build_scripted(root: Path) -> None:
    make_agent("scripted", QUADRANT, seed=1, hiders="random").save(root / "checkpoint")


def build_ntuple(root: Path) -> None:
    agent = make_agent("ntuple", "gridworlds/2048-v0", seed=0, patterns=SMALL_PATTERNS, tc_after=0)
    agent.learn(None, 5)  # TC from the start: its two accumulator tables are saved too
    agent.save(root / "checkpoint")


def build_expectimax(root: Path) -> None:
    network = make_agent("ntuple", "gridworlds/2048-v0", seed=0, patterns=SMALL_PATTERNS)
    network.learn(None, 5)
    network.save(root / "network")
    make_agent("expectimax", "gridworlds/2048-v0", network=str(root / "network")).save(root / "checkpoint")


def build_othello_gpt(root: Path) -> None:
    pytest.importorskip("torch")
    tiny = {"layers": 1, "d_model": 16, "heads": 2, "batch_size": 8, "dataset_games": 20, "eval_every": 10**9}
    agent = make_agent("othello-gpt", "gridworlds/OthelloVs-v0", seed=0, device="cpu", threads=1, **tiny)
    agent.learn(None, 8)  # one step: the optimiser has a state to save
    agent.save(root / "checkpoint")


def build_sb3(root: Path) -> None:
    pytest.importorskip("stable_baselines3")
    agent = make_agent(
        "sb3",
        "gridworlds/2048-v0",
        seed=0,
        n_envs=1,
        n_steps=16,
        batch_size=16,
        n_epochs=1,
        normalize_reward=True,
    )
    agent.learn(gridworlds.make("gridworlds/2048-v0"), 16)
    agent.save(root / "checkpoint")


def build_sb3_selfplay(root: Path) -> None:
    pytest.importorskip("supersuit")
    agent = make_agent("sb3-selfplay", QUADRANT, seed=0, n_envs=1, n_steps=16, batch_size=64, n_epochs=1)
    agent.learn(gridworlds.make(QUADRANT, horizon=16), 16)
    agent.save(root / "checkpoint")


def build_selfplay_ppo(root: Path) -> None:
    pytest.importorskip("torch")
    agent = make_agent("selfplay-ppo", QUADRANT, seed=3, arenas=2, n_epochs=1, minibatches=1, hidden=8)
    agent.learn(gridworlds.make(QUADRANT, horizon=8), 16)
    agent.save(root / "checkpoint")


def build_rllib_ppo(root: Path) -> None:
    pytest.importorskip("ray.rllib")
    import ray

    agent = make_agent("rllib-ppo", QUADRANT, seed=0, train_batch_size=16, minibatch_size=16, n_epochs=1)
    try:
        agent.learn(gridworlds.make(QUADRANT, horizon=8), 16)
        agent.save(root / "checkpoint")
    finally:
        agent.close()
        ray.shutdown()


def build_shared_ppo(root: Path) -> None:
    pytest.importorskip("torch")
    tiny = {"worlds": 2, "rollout": 8, "n_epochs": 1, "minibatches": 1, "width": 8, "heads": 2, "layers": 1}
    agent = make_agent("shared-ppo", "gridworlds/Walker-v0", seed=0, **tiny)
    body = body_from_text(EXAMPLE_BODIES["strip_h"])
    agent.learn(gridworlds.make("gridworlds/Walker-v0", body=body), 16)
    agent.save(root / "checkpoint")


BUILDERS = {
    "random": build_random,
    "greedy": build_greedy,
    "alphabeta": build_alphabeta,
    "ca-rule": build_ca_rule,
    "scripted": build_scripted,
    "ntuple": build_ntuple,
    "expectimax": build_expectimax,
    "othello-gpt": build_othello_gpt,
    "sb3": build_sb3,
    "sb3-selfplay": build_sb3_selfplay,
    "selfplay-ppo": build_selfplay_ppo,
    "rllib-ppo": build_rllib_ppo,
    "shared-ppo": build_shared_ppo,
}


def test_every_agent_of_the_table_is_attacked():
    assert set(BUILDERS) == set(AGENTS)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> the directory holding that agent's saved `checkpoint/` (and what it refers to),
    built once for the module."""
    roots: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in roots:
            root = tmp_path_factory.mktemp(name)
            BUILDERS[name](root)
            roots[name] = root
        return roots[name]

    return get


@pytest.fixture
def fresh(saved, tmp_path):
    """A copy of an agent's saved checkpoint to damage: its directory (the manifests' paths that
    pointed into the original point into the copy)."""

    def copy(name: str) -> Path:
        original = saved(name)
        root = tmp_path / "copy"
        shutil.copytree(original, root)
        for manifest in root.rglob(MANIFEST):
            manifest.write_text(manifest.read_text().replace(str(original), str(root)))
        return root / "checkpoint"

    return copy


def files_read(checkpoint: Path) -> list[Path]:
    """Every file that loading the checkpoint reads besides its manifest: the files its manifest
    lists, and an expectimax agent's network weights."""
    manifest = json.loads((checkpoint / MANIFEST).read_text())
    files = [checkpoint / name for name in manifest["files"]]
    if manifest["name"] == "expectimax":
        files.append(Path(manifest["params"]["network"]) / "weights.npy")
    return files


def vouch_for(file: Path) -> None:
    """Update the manifest beside `file` to the file's present SHA-256, as an attacker would."""
    manifest_file = file.parent / MANIFEST
    manifest = json.loads(manifest_file.read_text())
    manifest["files"][file.name] = hashlib.sha256(file.read_bytes()).hexdigest()
    manifest_file.write_text(json.dumps(manifest))


def refused(checkpoint: Path, file: Path) -> str:
    """Load the checkpoint, expecting a ValueError that names `file`; returns its message."""
    with pytest.raises(ValueError) as error:
        load_agent(checkpoint)
    message = str(error.value)
    assert str(file) in message
    return message


NAMES = sorted(BUILDERS)


# --- no code runs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_pickle_in_place_of_any_file_is_refused_and_never_unpickled(name, fresh):
    checkpoint = fresh(name)
    marker = checkpoint.parent / MARKER
    for file in [*files_read(checkpoint), checkpoint / MANIFEST]:
        original = file.read_bytes()
        for kind, make_payload in PAYLOADS.items():
            file.write_bytes(make_payload(marker))
            if file.name != MANIFEST:
                refused(checkpoint, file)  # its SHA-256 differs from the manifest's
                vouch_for(file)
            message = refused(checkpoint, file)
            assert not marker.exists(), (kind, file.name, message)
        file.write_bytes(original)
        if file.name != MANIFEST:
            vouch_for(file)
    load_agent(checkpoint)  # whole again


@pytest.mark.parametrize("name", NAMES)
def test_stray_files_a_loader_might_pick_up_are_never_read(name, fresh):
    checkpoint = fresh(name)
    marker = checkpoint.parent / MARKER
    strays = {
        "model.zip": sb3_model_zip,
        "model.pt": torch_pickle,
        "policy.pt": torch_pickle,
        "model.pkl": raw_pickle,
        "weights.pkl": raw_pickle,
        "state.npy": object_npy,
        "rllib": None,  # a folder, as RLlib's own checkpoints are
    }
    for name_on_disk, make_payload in strays.items():
        path = checkpoint / name_on_disk
        if make_payload is None:
            path.mkdir()
            (path / "algorithm_state.pkl").write_bytes(raw_pickle(marker))
        elif not path.exists():
            path.write_bytes(make_payload(marker))
    load_agent(checkpoint)
    assert not marker.exists()


# --- damage ---------------------------------------------------------------------------------------


def flip_a_byte(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0x01
    file.write_bytes(bytes(data))


def cut_in_half(file: Path) -> None:
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def delete(file: Path) -> None:
    file.unlink()


def record_another_sha256(file: Path) -> None:
    manifest_file = file.parent / MANIFEST
    manifest = json.loads(manifest_file.read_text())
    manifest["files"][file.name] = hashlib.sha256(b"something else").hexdigest()
    manifest_file.write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", [flip_a_byte, cut_in_half, delete, record_another_sha256])
@pytest.mark.parametrize("name", [name for name in NAMES if name not in ("random", "greedy", "alphabeta")])
def test_a_damaged_file_is_a_value_error_naming_it(name, damage, fresh):
    checkpoint = fresh(name)
    files = files_read(checkpoint)
    if not files:
        pytest.skip(f"a {name} checkpoint is its manifest alone")
    for file in files:
        manifest_file = file.parent / MANIFEST
        original, manifest = file.read_bytes(), manifest_file.read_bytes()
        damage(file)
        message = refused(checkpoint, file)
        assert ("missing" if damage is delete else "SHA-256") in message
        file.write_bytes(original)
        manifest_file.write_bytes(manifest)
    load_agent(checkpoint)  # whole again


@pytest.mark.parametrize("table", ["weights.npy", "tc_sums.npy", "tc_magnitudes.npy"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_ntuple_tables_holding_nan_or_infinity_are_refused(table, bad, fresh):
    checkpoint = fresh("ntuple")
    file = checkpoint / table
    values = np.load(file)
    values[0, 1, 7] = bad
    np.save(file, values)
    vouch_for(file)
    assert "NaN or infinite" in refused(checkpoint, file)


@pytest.mark.parametrize("name", ["random", "ntuple"])
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda manifest: b"\x80\x04not json", id="not-json"),
        pytest.param(lambda manifest: b"[1, 2]", id="a-list"),
        *(
            pytest.param(
                lambda manifest, field=field: json.dumps(
                    {k: v for k, v in manifest.items() if k != field}
                ).encode(),
                id=f"without-{field}",
            )
            for field in ("name", "world_id", "params", "env", "files")
        ),
        pytest.param(
            lambda manifest: json.dumps({**manifest, "files": {"../agent.json": "0" * 64}}).encode(),
            id="a-file-outside",
        ),
        pytest.param(
            lambda manifest: json.dumps({**manifest, "params": {"depht": 3}}).encode(), id="bad-params"
        ),
    ],
)
def test_a_damaged_manifest_is_a_value_error_naming_it(name, change, fresh):
    checkpoint = fresh(name)
    manifest_file = checkpoint / MANIFEST
    manifest_file.write_bytes(change(json.loads(manifest_file.read_text())))
    refused(checkpoint, manifest_file)
