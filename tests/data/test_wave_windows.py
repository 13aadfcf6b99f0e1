"""Wave patches and whole-grid samples read from a store, and the order training draws them in."""
import h5py
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from graphqd import config as cfg
from graphqd import keys as K
from graphqd.data.recipes import wave as recipe
from graphqd.data import wave as wave_data
from graphqd.data.wave import BARRIER_WEIGHT, WaveWindows
from graphqd.graphs.wave import WaveGraphSpec

TINY = {"system": "wave", "runs": {"set": "curriculum", "start": 40, "step": 97, "count": 4},
        "grid": {"points": 128, "length": 100.0},
        "integrator": {"dt": 0.1, "t_final": 1.2, "propagator": "exact"}, "storage": {"dtype": "float64"}}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("wave") / "tiny.h5"
    recipe.generate(cfg.validate(TINY, recipe.SCHEMA), str(path), torch.device("cpu"))
    return str(path)


def test_patches_and_grids_are_the_stored_frames(store):
    spec = WaveGraphSpec(frames=4, width=5, patch=9)
    data = WaveWindows(store, [0, 2, 3], step=2, horizon=1, graphs=spec)
    assert data.starts == list(range(13 - 8)) and len(data) == 3 * 5 * 128
    with h5py.File(store) as h:
        psi, V = h["psi"][()], h["V"][()]
    sample = data.get((1 * 5 + 3) * 128 + 124)     # run 2, start 3, patch from point 124 (wraps)
    points = [124, 125, 126, 127, 0, 1, 2, 3, 4]
    want = psi[2][3:3 + 2 * 4 + 1:2][:, points]
    got = sample[K.PSI].double()
    np.testing.assert_allclose(got[..., 0].T.numpy() + 1j * got[..., 1].T.numpy(), want, atol=1e-7)
    np.testing.assert_allclose(sample[K.POTENTIAL].numpy(), V[2][points], atol=1e-6)
    state = data.state_at(sample, 1)[K.PSI]
    assert state.shape == (9, 4, 2) and torch.equal(state, sample[K.PSI][:, 1:5])
    assert sample[K.WINDOW_EDGE_INDEX].shape == (2, 5 * 5)
    grid = data.window(3, 0, 2)
    assert grid.num_nodes == 128 and grid[K.PSI].shape == (128, 6, 2) and grid[K.WINDOW_EDGE_INDEX].shape == (2, 640)
    whole = WaveWindows(store, [0, 2, 3], step=2, horizon=1, graphs=WaveGraphSpec(frames=4, width=5, patch=0))
    sample = whole.get((1 * 5 + 3) * 128 + 124)   # patch 0: the whole grid of run 2 from start 3
    torch.testing.assert_close(sample[K.PSI], whole.window(2, 3, 1)[K.PSI])
    assert sample.num_nodes == 128 and float(sample[K.NODE_WEIGHT].sum()) == 128


def test_batches_offset_window_edges_and_errors_are_per_run(store):
    data = WaveWindows(store, [0, 1], step=1, horizon=1, graphs=WaveGraphSpec(frames=2, width=3, patch=3))
    batch = Batch.from_data_list([data.window(0, 0, 1), data.window(1, 0, 1)])
    assert int(batch[K.WINDOW_EDGE_INDEX].min()) == 0 and int(batch[K.WINDOW_EDGE_INDEX][:, 384:].min()) == 128
    truth = data.state_at(batch, 1)
    prediction = {K.PSI: truth[K.PSI].clone()}
    prediction[K.PSI][:128, -1, 0] += 0.2      # run 0: Re ψ off by 0.2 everywhere
    prediction[K.PSI][128:, -1] += torch.tensor([0.3, 0.4])  # run 1: Δψ = 0.3 + 0.4i
    error = data.error(prediction, truth, batch)
    np.testing.assert_allclose(error["mae"].numpy(), [0.1, 0.35], atol=1e-6)
    np.testing.assert_allclose(error["mae_modulus"].numpy(), [0.2, 0.5], atol=1e-6)


def test_statistics_match_numpy(store):
    data = WaveWindows(store, [0, 1, 2, 3], step=3, horizon=1, graphs=WaveGraphSpec(frames=1, width=3, patch=3))
    stats = data.statistics()[K.PSI]
    with h5py.File(store) as h:
        psi = h["psi"][()]
    values = np.stack([psi.real, psi.imag], -1)
    np.testing.assert_allclose(stats["mean"], values.reshape(-1, 2).mean(0), atol=1e-10)
    np.testing.assert_allclose(stats["std"], values.reshape(-1, 2).std(0), rtol=1e-8)
    np.testing.assert_allclose(stats["step_std"], (values[:, 3:] - values[:, :-3]).reshape(-1, 2).std(0), rtol=1e-8)


def test_sampler_is_seeded_split_over_ranks_and_favours_the_barrier(store):
    data = WaveWindows(store, [0, 1, 2, 3], step=1, horizon=1, graphs=WaveGraphSpec(frames=4, width=5, patch=9))
    whole = data.batch_sampler(64, seed=3)
    assert whole.batch(7) == data.batch_sampler(64, seed=3, first_batch=7).batch(7)
    assert whole.batch(7) != whole.batch(8) and whole.batch(7) != data.batch_sampler(64, seed=4).batch(7)
    halves = [data.batch_sampler(64, seed=3, rank=r, world=2).batch(7) for r in range(2)]
    assert halves[0] + halves[1] == whole.batch(7)
    overlaps, expected = barrier_share(data, np.array([i for b in range(200) for i in whole.batch(b)]))
    assert abs(overlaps - expected) < 0.03


def barrier_share(data: WaveWindows, drawn: np.ndarray) -> tuple[float, float]:
    """The share of the samples `drawn` whose patch overlaps the potential, and the share barrier weighting gives."""
    run, rest = np.divmod(drawn, len(data.starts) * data.points)
    position = rest % data.points
    overlaps = np.array([data.position_weights(data.runs[r])[p] == BARRIER_WEIGHT for r, p in zip(run, position)])
    share = np.mean([(data.position_weights(r) == BARRIER_WEIGHT).mean() for r in data.runs])
    return overlaps.mean(), share * BARRIER_WEIGHT / (share * BARRIER_WEIGHT + 1 - share)


def test_published_stream_walks_one_run_order_through_a_shuffle_buffer(store, monkeypatch):
    """The published stream with 4 runs and a buffer of 20 windows: batch b is a function of (seed, b); the runs
    drawn follow the fixed order one stretch of c·w stream windows after another, smeared back by the buffer."""
    monkeypatch.setattr(wave_data, "PUBLISHED_BUFFER", 20)
    monkeypatch.setattr(wave_data, "PUBLISHED_INTERLEAVE", 8)
    monkeypatch.setattr(wave_data, "PUBLISHED_WINDOWS_PER_RUN", 4000)   # c·w = 8 · 4 = 32 stream windows per run
    data = WaveWindows(store, [0, 1, 2, 3], step=1, horizon=1, graphs=WaveGraphSpec(frames=4, width=5, patch=9))
    stream = data.published_sampler(16, seed=3)
    assert stream.batch(5) == data.published_sampler(16, seed=3, first_batch=5).batch(5)
    assert stream.batch(5) != data.published_sampler(16, seed=4).batch(5)
    halves = [data.published_sampler(16, seed=3, rank=r, world=2).batch(5) for r in range(2)]
    assert halves[0] + halves[1] == stream.batch(5)
    rank_in_order = np.argsort(stream.order)
    drawn = np.array([i for b in range(64) for i in stream.batch(b)])   # 1,024 windows: 8 passes through 4 runs
    run = drawn // (len(data.starts) * data.points)
    # window k of the stream is input window u = k + 19 − J (J the age in the buffer, mean 20), which lies in the
    # run at order position ⌊(u mod 128) / 32⌋: the newest buffered window's run, or one or two before it
    newest = ((np.arange(len(drawn)) + 19) % 128) // 32
    behind = (newest - rank_in_order[run]) % 4
    assert np.mean(behind == 0) > 0.35 and np.mean(behind <= 1) > 0.8 and np.mean(behind <= 2) > 0.95
    counts = np.bincount(rank_in_order[run], minlength=4)
    assert counts.min() > 0.8 * counts.mean()         # every run a quarter of the stream
    overlaps, expected = barrier_share(data, drawn)
    assert abs(overlaps - expected) < 0.04


@pytest.fixture(scope="module")
def store32(tmp_path_factory):
    path = tmp_path_factory.mktemp("wave") / "tiny32.h5"
    recipe.generate(cfg.validate({**TINY, "storage": {"dtype": "float32"}}, recipe.SCHEMA), str(path),
                    torch.device("cpu"))
    return str(path)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cached_runs", [64, 2])
def test_collate_equals_pyg_collation_of_the_samples(store, store32, dtype, cached_runs, monkeypatch):
    # a run cache smaller than a batch's runs gathers the batch in groups and evicts runs in between
    monkeypatch.setattr(wave_data, "ACTIVE_RUNS", cached_runs)
    store = store if dtype == "float64" else store32
    for spec in (WaveGraphSpec(frames=4, width=5, patch=9), WaveGraphSpec(frames=2, width=3, patch=12, margin=2,
                                                                            cutoff=2)):
        data = WaveWindows(store, [0, 1, 3], step=1, horizon=2, graphs=spec)
        indices = data.batch_sampler(6, seed=1).batch(0)
        runs = len(data) // len(data.runs)
        every_run = [2 * runs + 5, 17, runs + 100, 3, 2 * runs + 1]   # runs 3, 0, 1, 0, 3 of the store
        for batch in (every_run, indices):
            fast = data.collate(batch)
            slow = Batch.from_data_list([data[i] for i in batch])
            assert fast.num_graphs == slow.num_graphs == len(batch) and set(fast.keys()) == set(slow.keys())
            for key in slow.keys():
                assert torch.equal(fast[key], slow[key]) if torch.is_tensor(slow[key]) else fast[key] == slow[key]
        loaded = next(iter(data.loader(data.batch_sampler(6, seed=1))))
        assert torch.equal(loaded[K.PSI], fast[K.PSI])


def test_training_loss_is_the_mse_of_the_new_frame(store):
    """The wave state carries its input frames; the loss compares the new frame only (the published
    emulator's MSE), not the copied ones, which would divide it by the number of frames."""
    from graphqd.models.registry import build_model
    from graphqd.models.normalization import Normalization
    from graphqd.train.objective import RolloutObjective

    data = WaveWindows(store, [0, 1], step=1, horizon=1, graphs=WaveGraphSpec(frames=4, width=5, patch=5))
    batch = data.collate(data.batch_sampler(16, seed=0).batch(0))
    stats = {K.PSI: {"mean": [0.0, 0.0], "std": [1.0, 1.0], "step_std": [1.0, 1.0], "rate_std": [1.0, 1.0]}}
    torch.manual_seed(0)
    model = build_model({"name": "wave_gru", "width": 5, "hidden": 6}, Normalization(stats, dt=0.1))
    objective = RolloutObjective(model, data.state_keys, state_at=data.state_at, raw_units=True, scored=data.scored)
    loss, _ = objective(batch, 1)
    with torch.no_grad():
        windows = torch.cat([batch[K.PSI][:, :4], batch[K.POTENTIAL][:, None, None].expand(-1, 4, 1) / 14.0], -1)
        new = model.net(windows.reshape(16, 5, 4, 3).transpose(1, 2))                # (windows, points, 2)
    expected = (new.reshape(-1, 2) - batch[K.PSI][:, 4]).pow(2).mean()
    torch.testing.assert_close(loss.detach(), expected, rtol=1e-5, atol=0.0)
