"""The system registry, and the verbs that dispatch on the system of a store or checkpoint."""
import dataclasses
from pathlib import Path

import pytest
import yaml

from conftest import TINY_HOLSTEIN
from graphqd.data.dataset import WindowDataset
from graphqd.errors import ConfigError, GraphqdError
from graphqd.runtime import checkpoint as ckpt
from graphqd.runtime import systems

PRETRAINED = Path(__file__).resolve().parents[2] / "experiments" / "holstein_parc" / "pretrained" / "shallow_graph.pt"
TINY_WAVE = {"system": "wave", "runs": {"set": "curriculum", "start": 0, "step": 1, "count": 1},
             "grid": {"points": 64, "length": 100.0}, "integrator": {"dt": 0.1, "t_final": 0.5, "internal_dt": 0.01}}
TINY_NEGF = {"system": "negf", "trajectories": 1, "lattice": {"Lx": 4, "Ly": 2},
             "dynamics": {"dt": 0.1, "t_final": 0.2, "record_every": 1}}
API = {"recipe": ("SCHEMA", "generate"), "rollout": ("write_rollouts", "summary"), "metrics": ("evaluate", "summary"),
       "bench": ("add_arguments", "run")}


def assert_one_line(result, *phrases):
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


@pytest.fixture
def stores(cli, tmp_path):
    paths = {}
    for system, recipe in (("holstein", TINY_HOLSTEIN), ("wave", TINY_WAVE), ("negf", TINY_NEGF)):
        (tmp_path / f"{system}.yaml").write_text(yaml.safe_dump(recipe))
        paths[system] = tmp_path / f"{system}.h5"
        result = cli("simulate", system, "--config", tmp_path / f"{system}.yaml", "--out", paths[system])
        assert result.returncode == 0, result.stderr
    return paths


def test_every_registered_role_resolves_to_its_interface():
    assert systems.names() == ["holstein", "wave", "negf"]
    for system in systems.SYSTEMS.values():
        for role in systems.ROLES:
            if getattr(system, role) is None:
                continue
            served = system.load(role)
            if role == "dataset":
                assert issubclass(served, WindowDataset) and served.system == system.name
            elif role == "plots":
                assert callable(served)
            else:
                assert all(callable(getattr(served, name)) or name == "SCHEMA" for name in API[role]), (system, role)


def test_unknown_systems_and_missing_roles_are_one_sentence():
    with pytest.raises(ConfigError, match="config key 'system' must be one of holstein, wave, negf, got 'ising'"):
        systems.get("ising")
    with pytest.raises(GraphqdError, match=r"^'n.h5' is a negf store, and the negf system has no surrogate rollouts "
                                           r"yet \(available for: holstein, wave\)$"):
        systems.get("negf").load("rollout", "'n.h5' is a negf store")


def test_rollout_and_evaluate_name_the_system_of_data_and_checkpoint(cli, stores, tmp_path):
    result = cli("rollout", "--checkpoint", PRETRAINED, "--data", stores["negf"], "--out", tmp_path / "x", "--steps", 2)
    assert_one_line(result, f"'{stores['negf']}' is a negf store", "the negf system has no surrogate rollouts yet")
    result = cli("evaluate", "--checkpoint", PRETRAINED, "--data", stores["negf"], "--out", tmp_path / "x")
    assert_one_line(result, f"'{PRETRAINED}' holds a holstein surrogate, but the data given are negf data")
    for verb, extra in (("rollout", ["--steps", 2]), ("evaluate", [])):
        result = cli(verb, "--checkpoint", PRETRAINED, "--data", stores["wave"], "--out", tmp_path / "x", *extra)
        assert_one_line(result, f"'{PRETRAINED}' holds a holstein surrogate, but the data given are wave data")
    negf_run = tmp_path / "negf_run"  # a checkpoint recorded as trained on NEGF data
    checkpoint = ckpt.load(str(PRETRAINED))
    ckpt.save(dataclasses.replace(checkpoint, dataset=dict(checkpoint.dataset, system="negf")), str(negf_run))
    for verb, extra in (("rollout", ["--steps", 2]), ("evaluate", [])):
        result = cli(verb, "--checkpoint", negf_run, "--data", stores["holstein"], "--out", tmp_path / "x", *extra)
        assert_one_line(result, "holds a negf surrogate, but the data given are holstein data")
    result = cli("bench", "surrogate", "--checkpoint", negf_run, "--out", tmp_path / "b.json")
    assert_one_line(result, f"'{negf_run}", "model, not a negf force field")
    assert not (tmp_path / "x").exists() and not (tmp_path / "b.json").exists()


def test_train_reads_the_system_of_its_data(cli, stores, tmp_path):
    for system, phrases in (("negf", ["'local_increment', a holstein model", "holds negf data"]),
                            ("wave", ["'local_increment', a holstein model", "holds wave data"])):
        config = {"model": {"name": "local_increment", "width": 4, "band_radius": 2},
                  "data": {"path": str(stores[system])}, "train": {"steps": 1},
                  "log": {"run_dir": str(tmp_path / "run")}}
        (tmp_path / "train.yaml").write_text(yaml.safe_dump(config))
        assert_one_line(cli("train", "--config", tmp_path / "train.yaml"), *phrases)
        assert not (tmp_path / "run").exists()


def test_export_draws_the_figure_of_the_store_system(cli, stores, tmp_path):
    for system, path in stores.items():
        result = cli("export", path, "--trajectory", 0, "--out", tmp_path / f"{system}.png")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / f"{system}.png").read_bytes()[:4] == b"\x89PNG"
