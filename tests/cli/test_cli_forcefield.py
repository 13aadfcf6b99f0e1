"""NEGF force fields end to end: data across biases, training, the learned force as a drop-in for
the exact one in `graphqd simulate negf` on a larger lattice, and the errors of bad input."""
import dataclasses
import json

import h5py
import numpy as np
import pytest
import torch
import yaml

from graphqd import config as cfg
from graphqd.data.negf import ForceSamples
from graphqd.data.recipes import negf as recipe
from graphqd.errors import ConfigError
from graphqd.graphs.negf import ForceFieldSpec
from graphqd.physics import negf
from graphqd.runtime import checkpoint as ckpt
from graphqd.runtime.force_field import learned_force_field
from graphqd.train import train
from graphqd.train.config import resolve

from test_cli_holstein import assert_clean_error

DATA = {"system": "negf", "seed": 5, "trajectories": 8, "lattice": {"Lx": 10, "Ly": 5},
        "leads": {"gate": "left"}, "sweep": {"bias": [0.0, 2.5, 3.5, 5.0], "q_noise": [0.3, 1.0]},
        "dynamics": {"dt": 0.1, "t_final": 3.0, "record_every": 3}, "storage": {"batch": 4, "chunk_records": 10}}
TRAIN = {"model": {"name": "forcefield_graph", "cutoff": 2.0, "channels": 16, "hidden": 32, "layers": 1},
         "data": {"split": [0.75, 0.25, 0.0], "batch_size": 8},
         "optim": {"lr": 3.0e-3}, "schedule": {"warmup_steps": 20}, "train": {"steps": 300, "rollout_lengths": [1]},
         "log": {"every": 50, "val_every": 100, "val_rollout_steps": 1, "val_runs": 2, "checkpoint_every": 300}}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A tiny exact data set across four biases and a force field fitted to it through the CLI."""
    from conftest import run_cli
    root = tmp_path_factory.mktemp("forcefield")
    recipe.generate(cfg.validate(DATA, recipe.SCHEMA), str(root / "data.h5"), torch.device("cpu"))
    config = dict(TRAIN, data=dict(TRAIN["data"], path=str(root / "data.h5")),
                  log=dict(TRAIN["log"], run_dir=str(root / "run")))
    (root / "train.yaml").write_text(yaml.safe_dump(config))
    result = run_cli("train", "--config", root / "train.yaml")
    assert result.returncode == 0, result.stderr
    return root


def test_samples_are_the_stored_snapshots(fitted):
    samples = ForceSamples(str(fitted / "data.h5"), [1, 6], 1, 1, ForceFieldSpec(lead_columns=2))
    assert len(samples) == 2 * 11
    sample = samples.window(6, 4)
    with h5py.File(fitted / "data.h5") as h:
        np.testing.assert_array_equal(sample.Q.numpy(), h["Q"][6, 4].reshape(-1))
        np.testing.assert_array_equal(sample.n.numpy(), h["n"][6, 4].reshape(-1))
        assert float(sample.mu_left) == h["mu_left"][6] == 5.0 and float(sample.mu_right) == 0.0
    assert sample.node_weight.reshape(5, 10)[0].tolist() == [0, 0] + [1] * 6 + [0, 0]
    with pytest.raises(ConfigError, match="train.rollout_lengths must be"):
        ForceSamples(str(fitted / "data.h5"), [1], 1, 2)


def test_training_on_slabs_of_two_lengths(fitted, tmp_path):
    """A force field trains on stores of two lattice lengths at once: Q and n statistics are pooled,
    batches mix the lengths, each store is validated."""
    shorter = tmp_path / "Lx8.h5"
    recipe.generate(cfg.validate(dict(DATA, seed=6, lattice={"Lx": 8, "Ly": 5}), recipe.SCHEMA), str(shorter),
                    torch.device("cpu"))
    config = resolve(dict(TRAIN, data=dict(TRAIN["data"], path=str(fitted / "data.h5"), extra_paths=[str(shorter)]),
                          train=dict(TRAIN["train"], steps=4),
                          log=dict(TRAIN["log"], run_dir=str(tmp_path / "run"), val_every=4, checkpoint_every=4)))
    result = train(config)
    assert result.step == 4 and np.isfinite(result.val_rollout_rmse).all()
    assert set(ckpt.load(str(tmp_path / "run")).normalization["stats"]) >= {"Q", "n"}


def test_learned_force_is_the_exact_force_of_the_learned_density(fitted):
    """On held-out snapshots the fitted density is within 30 % of the spread of n, and the force
    callable rebuilds F = g(n − ½) − K Q − κ Σ_nn Q exactly from it."""
    with h5py.File(fitted / "data.h5") as h:
        Q, n, bias = torch.as_tensor(h["Q"][7], dtype=torch.float64), h["n"][()], float(h["bias"][7])
    params = recipe.params_of(cfg.validate(DATA, recipe.SCHEMA), bias)
    force = learned_force_field(str(fitted / "run"), params)
    F, extras = force(Q)
    assert F.shape == Q.shape and torch.isnan(extras["current"]).all()
    torch.testing.assert_close(F, negf.forces(Q, params, n=extras["n"]), rtol=0, atol=1e-12)
    rmse = float((extras["n"] - negf.density(Q, params)).pow(2).mean().sqrt())
    assert rmse < 0.3 * n.std()


def test_simulate_with_learned_force_on_a_larger_lattice_and_export(cli, fitted, tmp_path):
    recipe_path = tmp_path / "learned.yaml"
    recipe_path.write_text(yaml.safe_dump({
        "system": "negf", "seed": 1, "trajectories": 2, "lattice": {"Lx": 24, "Ly": 7},
        "leads": {"gate": "left", "bias": 3.0}, "dynamics": {"dt": 0.1, "t_final": 1.2, "record_every": 3},
        "force": {"checkpoint": str(fitted / "run"), "current": "exact"}, "storage": {"batch": 2}}))
    out = tmp_path / "learned.h5"
    result = cli("simulate", "negf", "--config", recipe_path, "--out", out)
    assert result.returncode == 0, result.stderr
    with h5py.File(out) as h:
        assert h["Q"].shape == (2, 5, 7, 24) and h.attrs["force_field"] == str(fitted / "run")
        params = negf.NEGFParams(Lx=24, Ly=7, bias=3.0, mu=1.5)
        Q = torch.as_tensor(h["Q"][1, 3], dtype=torch.float64)
        np.testing.assert_allclose(h["force"][1, 3], negf.forces(Q, params, n=torch.as_tensor(h["n"][1, 3])),
                                   atol=1e-5)
        left, right = negf.current(Q, params)
        assert h["current"][1, 3] == pytest.approx(0.5 * float(left - right), abs=1e-6)
    assert cli("export", out, "--trajectory", 1, "--out", tmp_path / "wall.png").returncode == 0
    assert (tmp_path / "wall.png").stat().st_size > 0


def test_bad_input_is_one_line(cli, fitted, tmp_path):
    config = dict(TRAIN, data=dict(TRAIN["data"], path=str(fitted / "data.h5")),
                  log=dict(TRAIN["log"], run_dir=str(tmp_path / "bad")))
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(config))
    assert_clean_error(cli("train", "--config", tmp_path / "train.yaml", "--set", "model.width=3"),
                       "unknown config key 'model.width'")
    assert_clean_error(cli("train", "--config", tmp_path / "train.yaml", "--set", "model.cutoff=6"),
                       "Ly = 5 rows is smaller than the force field's neighbourhood")
    recipe_path = tmp_path / "learned.yaml"
    recipe_path.write_text(yaml.safe_dump({"system": "negf", "lattice": {"Lx": 12, "Ly": 4},
                                           "force": {"checkpoint": str(fitted / "run")}}))
    assert_clean_error(cli("simulate", "negf", "--config", recipe_path, "--out", tmp_path / "x.h5"),
                       "Ly = 4 rows", "needs Ly >= 5")
    from graphqd.runtime import checkpoint as ckpt
    saved = ckpt.load(str(fitted / "run"))
    changed = dataclasses.replace(saved, config=dict(saved.config, model=dict(saved.config["model"], channels=8)))
    ckpt.save(changed, str(tmp_path / "changed"))  # weights of 16 channels under a config of 8
    assert_clean_error(cli("evaluate", "--checkpoint", tmp_path / "changed", "--data", fitted / "data.h5", "--out",
                           tmp_path / "m.json"), "does not fit the forcefield_graph model", "size mismatch")
    holstein = "experiments/holstein_parc/pretrained/shallow_graph.pt"
    assert_clean_error(cli("simulate", "negf", "--config", recipe_path, "--out", tmp_path / "y.h5",
                           "--set", f"force.checkpoint={holstein}"), "holstein surrogate", "negf")


def test_bench_times_learned_against_exact_and_extrapolates(cli, fitted, tmp_path):
    out = tmp_path / "bench.json"
    result = cli("--threads", 1, "bench", "surrogate", "--checkpoint", fitted / "run", "--quick", "--lattices",
                 "10x5", "20x5", "40x5", "--exact-max-sites", 100, "--out", out)
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["exact"] for r in rows[:2]] == ["measured", "measured"] and rows[2]["exact"].startswith("extrapolated")
    assert all(r["learned_force_s"] > 0 and r["speedup"] > 0 for r in rows)
    assert rows[2]["exact_force_s"] >= rows[1]["exact_force_s"] * 8 * 0.999  # at least N^3


def test_ase_calculator_exact_and_learned_forces_read_back(fitted):
    from graphqd.io.ase_calculator import NEGFCalculator, lattice_atoms
    params = negf.NEGFParams(Lx=10, Ly=5, bias=2.5, mu=1.25)
    Q = negf.checkerboard(params) + 0.2 * torch.randn(5, 10, generator=torch.Generator().manual_seed(1),
                                                       dtype=torch.float64)
    atoms = lattice_atoms(params, Q.numpy())
    atoms.calc = NEGFCalculator(params)
    forces = atoms.get_forces()
    np.testing.assert_allclose(forces[:, 2], negf.forces(Q, params).numpy().ravel(), atol=1e-12)
    assert np.all(forces[:, :2] == 0) and np.allclose(atoms.positions[12], [2.0, 1.0, float(Q[1, 2])])
    learned = learned_force_field(str(fitted / "run"), params)
    atoms.calc = NEGFCalculator(params, learned)
    np.testing.assert_allclose(atoms.get_forces()[:, 2], learned(Q)[0].numpy().ravel(), atol=1e-12)
