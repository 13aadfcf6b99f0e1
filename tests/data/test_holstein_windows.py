"""Holstein window samples: shapes, exact derivative labels, batching, splits, lazy reading in workers."""
import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from conftest import TINY_HOLSTEIN
from graphqd import config as cfg
from graphqd import keys as K
from graphqd.data.dataset import GlobalBatchSampler
from graphqd.data.holstein import HolsteinWindows, params_of_store
from graphqd.data.recipes import holstein as recipe
from graphqd.data.splits import split_runs
from graphqd.errors import ConfigError, StoreError
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_dense
from graphqd.models.normalization import Normalization
from graphqd.physics import holstein

SPEC = HolsteinGraphSpec(site_cutoff=1, band_radius=2, kernel_radius=1)  # L = 6: band of 5 diagonals


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("windows") / "tiny.h5"
    recipe.generate(cfg.validate(TINY_HOLSTEIN, recipe.SCHEMA), str(path), torch.device("cpu"))
    return str(path)


def test_shapes_and_frames(store):
    ds = HolsteinWindows(store, [0, 2], step=2, horizon=3, graphs=SPEC)
    n_starts = 21 - 3 * 2  # 21 snapshots, windows of 7
    assert len(ds) == 2 * n_starts
    s = ds[n_starts + 4]  # run 2, start 4
    L, M = 6, 6 * 5
    assert s.num_nodes == L and s[K.BAND_SITES].shape == (M, 2)
    assert s[K.Q].shape == (L, 4) and s[K.P].shape == (L, 4) and s[K.RHO].shape == (M, 4, 2)
    assert s[K.Q_RATE].shape == (L, 4) and s[K.RHO_RATE].shape == (M, 4, 2)
    assert s[K.SITE_FEATURES].shape == (L, 3) and s[K.BAND_FEATURES].shape == (M, 4)
    assert int(s[K.RUN]) == 2 and int(s[K.START]) == 4
    import h5py
    with h5py.File(store) as h:
        Q = h["Q"][2, 4:11:2]
        rho = h["rho"][2, 4:11:2]
    np.testing.assert_array_equal(s[K.Q].T.numpy(), Q)
    dense = band_to_dense(s[K.RHO].transpose(0, 1), L, True, SPEC).numpy()
    inside = np.abs(dense) > 0
    np.testing.assert_allclose(dense[inside], rho[inside], atol=1e-7)
    # band features: Re, Im, Q_i, Q_j of frame 0; site features Q, P, n
    i, j = s[K.BAND_SITES].T
    torch.testing.assert_close(s[K.BAND_FEATURES][:, 2], s[K.Q][i, 0])
    torch.testing.assert_close(s[K.BAND_FEATURES][:, 3], s[K.Q][j, 0])
    torch.testing.assert_close(s[K.SITE_FEATURES][:, 2], s[K.RHO][s[K.BAND_DIAGONAL], 0, 0])


def test_derivative_labels_equal_rhs(store):
    ds = HolsteinWindows(store, [1], step=1, horizon=2, graphs=HolsteinGraphSpec(1, 3, 1))  # band = full matrix
    s = ds[5]
    state = ds.read(1, 5, 2)
    dQ, dP, drho = holstein.rhs(state, params_of_store(ds.store.file))
    torch.testing.assert_close(s[K.Q_RATE], dQ.T.float())
    torch.testing.assert_close(s[K.P_RATE], dP.T.float())
    rate = band_to_dense(s[K.RHO_RATE].transpose(0, 1), 6, True, ds.graphs)
    torch.testing.assert_close(rate, drho.to(torch.complex64), atol=1e-6, rtol=1e-5)


def test_batching_offsets_band_fields(store):
    ds = HolsteinWindows(store, [0, 1], step=1, horizon=1, graphs=SPEC)
    batch = next(iter(DataLoader(ds, batch_size=3)))
    M = ds[0][K.BAND_SITES].size(0)
    assert batch[K.BAND_SITES].shape == (3 * M, 2)
    # band_sites point at the sites of their own graph; partner / diagonal at band nodes of their own graph
    assert torch.equal(batch.batch[batch[K.BAND_SITES][:, 0]], torch.arange(3).repeat_interleave(M))
    assert torch.equal(batch[K.BAND_DIAGONAL] // M, torch.arange(3).repeat_interleave(6))
    assert torch.equal(batch[K.BAND_PARTNER][batch[K.BAND_PARTNER]], torch.arange(3 * M))
    assert int(batch[K.BAND_EDGE_INDEX].max()) < 3 * M and int(batch[K.BAND_EDGE_INDEX][:, -1].min()) >= 2 * M


def test_workers_read_the_same_samples(store):
    ds = HolsteinWindows(store, [0, 1, 2], step=1, horizon=2, graphs=SPEC)
    sampler = GlobalBatchSampler(len(ds), 4, seed=1)
    serial = DataLoader(ds, batch_sampler=sampler)
    parallel = DataLoader(ds, batch_sampler=GlobalBatchSampler(len(ds), 4, seed=1), num_workers=2)
    for a, b, _ in zip(serial, parallel, range(4)):
        assert torch.equal(a[K.RHO], b[K.RHO]) and torch.equal(a[K.RUN], b[K.RUN])


def test_batch_order_is_resumable_and_split_over_ranks():
    full = GlobalBatchSampler(20, 4, seed=3)
    later = iter(GlobalBatchSampler(20, 4, seed=3, first_batch=7))
    assert next(later) == full.batch(7)
    halves = [GlobalBatchSampler(20, 4, seed=3, rank=r, world=2).batch(7) for r in range(2)]
    assert halves[0] + halves[1] == full.batch(7)
    with pytest.raises(ConfigError, match="data.batch_size"):
        GlobalBatchSampler(20, 3, seed=0, world=2)


def test_split_by_trajectory_is_fixed_by_seed():
    a = split_runs(10, [0.6, 0.2, 0.2], seed=4)
    assert a == split_runs(10, [0.6, 0.2, 0.2], seed=4)
    assert sorted(a["train"] + a["val"] + a["test"]) == list(range(10)) and len(a["val"]) == 2
    assert split_runs(3, [0.8, 0.1, 0.1], 0)["val"]  # each non-empty split keeps a trajectory
    with pytest.raises(ConfigError, match="data.split"):
        split_runs(10, [0.5, 0.2, 0.2], 0)


def test_statistics_and_normalization(store):
    ds = HolsteinWindows(store, [0, 1, 2], step=2, horizon=1, graphs=SPEC)
    stats = ds.statistics()
    assert set(stats) == {"Q", "P", "rho"} and len(stats["rho"]["std"]) == 2
    norm = Normalization(stats, ds.dt)
    assert norm.dt == pytest.approx(0.16)
    again = Normalization.from_dict(norm.to_dict())
    torch.testing.assert_close(again.get("rho", "step_std"), norm.get("rho", "step_std"))
    x = torch.randn(5, 2)
    torch.testing.assert_close(norm.normalize("rho", x) * norm.get("rho", "std") + norm.get("rho", "mean"), x)


def test_a_band_store_narrower_than_the_model_band_is_refused(tmp_path):
    config = {**TINY_HOLSTEIN, "trajectories": 1, "lattice": {"L": 12, "boundary": "periodic"},
              "integrator": {**TINY_HOLSTEIN["integrator"], "t_final": 0.16},
              "storage": {**TINY_HOLSTEIN["storage"], "rho_band": 2}}
    path = str(tmp_path / "band2.h5")
    recipe.generate(cfg.validate(config, recipe.SCHEMA), path, torch.device("cpu"))
    HolsteinWindows(path, [0], step=1, horizon=1, graphs=HolsteinGraphSpec(1, 2, 1))  # the same band: fine
    wider = HolsteinWindows(path, [0], step=1, horizon=1, graphs=HolsteinGraphSpec(1, 3, 1))
    with pytest.raises(StoreError, match="radius 2, narrower than the model's band_radius 3"):
        wider[0]
