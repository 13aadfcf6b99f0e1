"""The climate loss (graphqd.train.climate): lattice energies against the Hamiltonian, an exact integrator in the
model's place scores zero and a heating one a positive kinetic offset, and a training run with it resumes exactly."""
import os
import shutil

import pytest
import torch
import yaml

from conftest import TINY_HOLSTEIN
from graphqd import config as cfg
from graphqd import keys as K
from graphqd.data.holstein import HolsteinWindows
from graphqd.data.recipes import holstein as recipe
from graphqd.errors import ConfigError
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_dense, dense_to_band
from graphqd.physics import holstein
from graphqd.runtime import checkpoint as ckpt
from graphqd.train import train
from graphqd.train.climate import ClimatePool, lattice_energies

SPEC = HolsteinGraphSpec(band_radius=3)  # the whole 6-site ring


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("climate") / "tiny.h5"
    recipe.generate(cfg.validate(dict(TINY_HOLSTEIN, trajectories=6), recipe.SCHEMA), str(path), torch.device("cpu"))
    return str(path)


def test_lattice_energies_are_the_lattice_part_of_the_hamiltonian():
    params = holstein.HolsteinParams(L=6, hopping=0.0, omega=0.4, stiffness=0.7, g=0.0)
    state = holstein.random_state(params, seed=5)
    energies = lattice_energies(state.Q, state.P, params.mass, params.stiffness)
    torch.testing.assert_close(energies.sum(-1) * params.L, holstein.energy(state, params))


class ExactStep(torch.nn.Module):
    """The recipe's RK4 in the model's place (ρ on the band that is the whole ring), P scaled by `heat`."""

    def __init__(self, dataset, heat=1.0):
        super().__init__()
        self.dataset, self.heat = dataset, heat
        self.substeps = int(dataset.store.file.attrs["substeps"])

    def forward(self, batch, state):
        d, L = self.dataset, self.dataset.L
        chains = len(state[K.Q]) // L
        rho = band_to_dense(state[K.RHO].double().reshape(chains, -1, 2), L, d.periodic, d.graphs)
        now = holstein.State(state[K.Q].double().reshape(-1, L), state[K.P].double().reshape(-1, L), rho)
        new = holstein.advance(now, d.params, d.dt / self.substeps, self.substeps)
        band = dense_to_band(new.rho, L, d.periodic, d.graphs).reshape(-1, 2)
        return {K.Q: new.Q.reshape(-1).float(), K.P: (self.heat * new.P).reshape(-1).float(), K.RHO: band.float()}


@pytest.mark.parametrize("heat", [1.0, 1.01])
def test_an_exact_step_scores_zero_and_a_heating_one_runs_hot(store, heat):
    dataset = HolsteinWindows(store, range(6), 1, 1, SPEC, rates=False)
    pool = ClimatePool(dataset, 6, advance=2, window=3, burn_in=4, constraint_maker=None, device="cpu")
    model = ExactStep(dataset, heat)
    for _ in range(2):
        loss = pool.loss(model)
    assert pool.time == 14 and torch.isfinite(loss)
    kinetic, potential = (pool.offset / pool.mean[4:].mean(0)).tolist()
    if heat == 1.0:
        assert abs(kinetic) < 1e-4 and abs(potential) < 1e-4
    else:
        assert kinetic > 1e-3   # ō is a running mean: 0.19 of the window's offset after two steps
    pool.loss(model)   # 14 + 5 > 20 model steps: the next cycle starts at t = 0
    assert pool.time == 0 and pool.cycle == 1


def climate_config(store, run_dir, **train_keys):
    return {"model": {"name": "local_increment", "width": 8, "depth": 2, "band_radius": 2},
            "data": {"path": store, "step": 1, "split": [0.67, 0.17, 0.16], "batch_size": 4},
            "optim": {"lr": 0.01, "grad_clip": 1.0},
            "train": {"steps": 6, "rollout_lengths": [2], "curriculum": [0], "climate_weight": 1.0,
                      "climate_chains": 3, "climate_advance": 2, "climate_window": 2, "climate_burn_in": 3,
                      **train_keys},
            "log": {"run_dir": str(run_dir), "every": 1, "val_every": 6, "val_rollout_steps": 4,
                    "checkpoint_every": 2, "keep_checkpoints": 10, "progress": False, "figures": False}}


def test_training_with_the_climate_loss_resumes_exactly(store, tmp_path):
    full = train(climate_config(store, tmp_path / "full"))
    assert all(torch.isfinite(torch.tensor(list(full.losses.values()))))
    saved = ckpt.load(str(tmp_path / "full")).climate
    assert saved["time"] > 0 and set(saved["state"]) == {K.Q, K.P, K.RHO}
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(tmp_path / "full", resumed_dir)
    for path in ckpt.list_checkpoints(str(resumed_dir))[1:]:
        os.remove(path)
    config = yaml.safe_load((resumed_dir / "config.yaml").read_text())
    resumed = train(config, resume=str(resumed_dir))
    assert [resumed.losses[s] for s in (3, 4, 5, 6)] == [full.losses[s] for s in (3, 4, 5, 6)]


def test_climate_errors(store, tmp_path):
    with pytest.raises(ConfigError, match="train.climate_advance.*at least 30 model steps"):
        train(climate_config(store, tmp_path / "long", climate_advance=25))
    assert not (tmp_path / "long").exists()
