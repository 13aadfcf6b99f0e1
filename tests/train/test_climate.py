"""The climate loss (graphqd.train.climate): site statistics against the Hamiltonian, an exact integrator in the
model's place scores zero and a heating one a positive kinetic offset, and a training run with it resumes exactly."""
import math
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
from graphqd.train.climate import STATISTICS, ClimatePool, site_statistics

SPEC = HolsteinGraphSpec(band_radius=3)  # the whole 6-site ring


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("climate") / "tiny.h5"
    recipe.generate(cfg.validate(dict(TINY_HOLSTEIN, trajectories=6), recipe.SCHEMA), str(path), torch.device("cpu"))
    return str(path)


def test_site_statistics_are_the_terms_of_the_hamiltonian():
    params = holstein.HolsteinParams(L=6, hopping=0.0, omega=0.4, stiffness=0.7, g=1.3)
    state = holstein.random_state(params, seed=5)
    n = state.rho.diagonal(dim1=-2, dim2=-1).real
    values = site_statistics(state.Q, state.P, n, params, STATISTICS)
    torch.testing.assert_close(values[..., :3].sum(-1) * params.L, holstein.energy(state, params))
    torch.testing.assert_close(values[..., 3], ((n - 0.5) ** 2).mean(-1))
    polaron = params.g / (2 * params.stiffness)    # K Q = g (n − ½) at n = 1
    unbound = site_statistics(torch.tensor([0.0, polaron / 4, polaron]), state.P[:3], n[:3], params, ["unbound"])
    torch.testing.assert_close(unbound, torch.tensor([(1 + math.exp(-0.5) + math.exp(-8)) / 3], dtype=unbound.dtype))


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
    pool = ClimatePool(dataset, 6, advance=2, window=3, burn_in=4, constraint_maker=None, device="cpu",
                       statistics=STATISTICS)
    model = ExactStep(dataset, heat)
    for _ in range(2):
        loss = pool.loss(model)
    assert pool.time == 14 and torch.isfinite(loss)
    relative = (pool.offset / pool.mean[4:].mean(0).abs()).tolist()
    kinetic = relative[0]
    assert list(pool.offsets()) == [f"climate_{name}" for name in STATISTICS]
    if heat == 1.0:
        assert max(map(abs, relative)) < 1e-4
    else:
        assert kinetic > 1e-3   # ō is a running mean: 0.19 of the window's offset after two steps
        assert pool.offsets()["climate_kinetic"] > 0
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


@pytest.mark.parametrize("gradient", ["sum", "projected"])
def test_training_with_the_climate_loss_resumes_exactly(store, tmp_path, gradient):
    full = train(climate_config(store, tmp_path / "full", climate_statistics=["kinetic", "coupling", "occupation"],
                                climate_gradient=gradient))
    assert all(torch.isfinite(torch.tensor(list(full.losses.values()))))
    saved = ckpt.load(str(tmp_path / "full")).climate
    assert saved["time"] > 0 and set(saved["state"]) == {K.Q, K.P, K.RHO} and saved["offset"].shape == (3,)
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(tmp_path / "full", resumed_dir)
    for path in ckpt.list_checkpoints(str(resumed_dir))[1:]:
        os.remove(path)
    config = yaml.safe_load((resumed_dir / "config.yaml").read_text())
    resumed = train(config, resume=str(resumed_dir))
    assert [resumed.losses[s] for s in (3, 4, 5, 6)] == [full.losses[s] for s in (3, 4, 5, 6)]


def test_climate_errors(store, tmp_path):
    zero_coupling = str(tmp_path / "g0.h5")
    recipe.generate(cfg.validate(dict(TINY_HOLSTEIN, quench={"g_initial": 0.0, "g_final": 0.0}), recipe.SCHEMA),
                    zero_coupling, torch.device("cpu"))
    with pytest.raises(ConfigError, match="train.climate_advance.*at least 30 model steps"):
        train(climate_config(store, tmp_path / "long", climate_advance=25))
    assert not (tmp_path / "long").exists()
    with pytest.raises(ConfigError, match="train.climate_statistics.*each one of 'kinetic'"):
        train(climate_config(store, tmp_path / "unknown", climate_statistics=["kinetic", "polarons"]))
    with pytest.raises(ConfigError, match="train.climate_statistics' names 'unbound'.*g = 0.0"):
        train(climate_config(zero_coupling, tmp_path / "unknown", climate_statistics=["unbound"]))
    with pytest.raises(ConfigError, match="train.climate_statistics' is empty"):
        train(climate_config(store, tmp_path / "empty", climate_statistics=[]))
    assert not (tmp_path / "unknown").exists() and not (tmp_path / "empty").exists()


def test_the_projected_climate_gradient_is_the_one_applied(store, tmp_path):
    """'projected' caps the climate gradient at climate_weight times the data gradient: at weight 1e-30 the steps
    are the data loss's alone, bit for bit (as with the climate loss off), at weight 1 they are not."""
    def weights(name, **keys):
        train(climate_config(store, tmp_path / name, steps=2, **keys))
        return torch.cat([p.reshape(-1) for p in ckpt.load(str(tmp_path / name)).model.values()])

    data_only = weights("off", climate_weight=0.0)
    assert torch.equal(weights("projected", climate_weight=1e-30, climate_gradient="projected"), data_only)
    assert not torch.allclose(weights("projected_1", climate_weight=1.0, climate_gradient="projected"), data_only)
