"""Training on several stores at once (data.extra_paths): chains of different lengths in one
dataset and one batch, the split over all trajectories, pooled statistics, clear errors."""
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from conftest import TINY_HOLSTEIN
from graphqd import config as cfg
from graphqd.data.mixture import StoreMixture, apportion
from graphqd.data.recipes import holstein as recipe
from graphqd.errors import ConfigError
from graphqd.runtime import checkpoint as ckpt
from graphqd.runtime.systems import dataset_for
from graphqd.train import train
from graphqd.train.config import resolve
from graphqd.train.trainer import data_splits, validation_runs

MODEL = {"name": "parc_graph", "width": 8, "depth": 1, "band_radius": 2, "splitting": "strang",
         "onsite_phonons": True}


def make_store(path, **changes):
    recipe.generate(cfg.validate(dict(TINY_HOLSTEIN, **changes), recipe.SCHEMA), str(path), torch.device("cpu"))
    return str(path)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixture")
    return (make_store(root / "L6.h5", trajectories=3),
            make_store(root / "L9.h5", trajectories=4, seed=9, lattice={"L": 9, "boundary": "periodic"}))


def config_of(stores, run_dir="unused", **data):
    return resolve({
        "model": MODEL,
        "data": {"path": stores[0], "extra_paths": list(stores[1:]), "step": 1, "split": [0.72, 0.28, 0.0],
                 "batch_size": 4, **data},
        "train": {"steps": 6, "rollout_lengths": [1, 2], "curriculum": [0, 3], "threads": 1},
        "log": {"run_dir": str(run_dir), "every": 1, "val_every": 3, "val_rollout_steps": 5, "val_runs": 2,
                "checkpoint_every": 3, "figures": False, "progress": False}})


def test_runs_are_numbered_over_the_stores_and_batches_mix_lengths(stores):
    config = config_of(stores)
    splits = data_splits(config)
    assert sorted(splits["train"] + splits["val"]) == list(range(7))
    dataset = dataset_for(config, range(7), horizon=2)
    assert isinstance(dataset, StoreMixture) and dataset.L == [6, 9]
    starts = len(dataset.members[0].starts)
    assert len(dataset) == 7 * starts
    first, last = dataset[0], dataset[len(dataset) - 1]
    assert first.num_nodes == 6 and last.num_nodes == 9
    assert int(last.run) == 3  # the last run of the second store, in that store's numbering
    # run 4 of the mixture is run 1 of the second store
    member_run = dataset.members[1].window(1, 0, 5, rates=False)
    assert torch.equal(dataset.validation_samples([4], 5)[0].Q, member_run.Q)


def test_mixed_batch_equals_each_chain_alone(stores):
    from graphqd.models.normalization import Normalization
    from graphqd.models.registry import build_model
    config = config_of(stores)
    dataset = dataset_for(config, range(7), horizon=1)
    torch.manual_seed(0)
    model = build_model(config["model"], Normalization(dataset.statistics(), dataset.dt)).eval()
    samples = [dataset[0], dataset[len(dataset) - 1]]
    with torch.no_grad():
        together = model(Batch.from_data_list(samples), dataset.state_at(Batch.from_data_list(samples), 0))
        alone = [model(Batch.from_data_list([s]), dataset.state_at(Batch.from_data_list([s]), 0)) for s in samples]
    for key in ("Q", "P"):
        torch.testing.assert_close(together[key], torch.cat([a[key] for a in alone]), rtol=1e-5, atol=1e-6)


def test_statistics_pool_the_members(stores):
    one = dataset_for(config_of(stores[:1]), range(3), horizon=1)
    twice = dataset_for(config_of((stores[0], stores[0])), range(6), horizon=1)
    for key, moments in one.statistics().items():
        for name, value in moments.items():
            np.testing.assert_allclose(twice.statistics()[key][name], value, rtol=1e-9, atol=1e-12)
    both = dataset_for(config_of(stores), range(7), horizon=1).statistics()
    means = [m.statistics()["Q"]["mean"][0] for m in dataset_for(config_of(stores), range(7), 1).members]
    assert min(means) <= both["Q"]["mean"][0] <= max(means)


def test_training_on_two_stores_records_them_and_resumes(stores, tmp_path):
    config = config_of(stores, tmp_path / "run")
    result = train(config)
    assert result.step == 6 and len(result.val_rollout_rmse) == 5
    saved = ckpt.load(str(tmp_path / "run"))
    assert saved.dataset["lattice"] == [6, 9]
    assert [p.endswith("L9.h5") for p in saved.dataset["extra_paths"]] == [True]
    resumed = train(dict(config, train=dict(config["train"], steps=9)), resume=str(tmp_path / "run"))
    assert resumed.step == 9


def test_each_store_is_validated_and_the_mean_is_logged(stores, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    config = config_of(stores, tmp_path / "run", split=[0.5, 0.5, 0.0])
    chosen = validation_runs(config, data_splits(config)["val"], 2)
    assert sorted(chosen) == ["L6", "L9"] and all(len(runs) <= 2 for runs in chosen.values())
    assert all(r < 3 for r in chosen["L6"]) and all(r >= 3 for r in chosen["L9"])
    train(config)
    events = EventAccumulator(str(tmp_path / "run"), size_guidance={"scalars": 0})
    events.Reload()
    last = {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"]
            if tag.startswith("val/") and tag.endswith("rollout_rmse")}
    assert sorted(last) == ["val/L6/rollout_rmse", "val/L9/rollout_rmse", "val/rollout_rmse"]
    assert last["val/rollout_rmse"] == pytest.approx(0.5 * (last["val/L6/rollout_rmse"] + last["val/L9/rollout_rmse"]))


def test_store_weights_fix_each_stores_share_of_every_batch(stores):
    config = config_of(stores, store_weights=[1.0, 3.0])
    dataset = dataset_for(config, range(7), horizon=1)
    sizes = [len(m) for m in dataset.members]
    assert apportion(4, [1.0, 3.0]) == [1, 3] and apportion(5, [1.0, 1.0, 1.0]) == [2, 2, 1]
    sampler = dataset.batch_sampler(4, seed=5)
    batches = [sampler.batch(b) for b in range(3 * sizes[0])]
    for batch in batches:  # one sample of the first store, three of the second, in every batch
        assert sum(i < sizes[0] for i in batch) == 1 and len(batch) == 4
    # each store's stream runs through all its samples once per epoch of its own
    first = [i for batch in batches[:sizes[0]] for i in batch if i < sizes[0]]
    assert sorted(first) == list(range(sizes[0]))
    second = [i for batch in batches for i in batch if i >= sizes[0]][:sizes[1]]
    assert sorted(second) == list(range(sizes[0], sum(sizes)))
    # resumable and shared out over ranks as the plain sampler
    assert next(iter(dataset.batch_sampler(4, seed=5, first_batch=7))) == batches[7]
    halves = [dataset.batch_sampler(4, seed=5, rank=r, world=2).batch(7) for r in range(2)]
    assert halves[0] + halves[1] == batches[7]
    assert sampler.batch(0) != dataset.batch_sampler(4, seed=6).batch(0) or sampler.batch(1) != \
        dataset.batch_sampler(4, seed=6).batch(1)
    with pytest.raises(ConfigError, match="data.store_weights"):
        config_of(stores, store_weights=[1.0])
    with pytest.raises(ConfigError, match="data.store_weights"):
        config_of(stores, store_weights=[0.0, 0.0])


def test_stores_that_disagree_are_a_clear_error(stores, tmp_path):
    other_dt = make_store(tmp_path / "dt.h5", integrator=dict(TINY_HOLSTEIN["integrator"], dt=0.04, t_final=0.8))
    with pytest.raises(ConfigError, match="data.extra_paths.*model step"):
        dataset_for(config_of((stores[0], other_dt)), range(8), horizon=1)
    with pytest.raises(ConfigError, match="data.extra_paths"):
        config_of(stores, extra_paths="L9.h5")
