"""The training loop on a tiny Holstein store: loss falls, TensorBoard events, resume, NaN guard,
config errors, and a 2-process gloo torchrun run equal to the single-process run."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from conftest import TINY_HOLSTEIN
from graphqd import config as cfg
from graphqd.data.recipes import holstein as recipe
from graphqd.errors import ConfigError
from graphqd.runtime import checkpoint as ckpt
from graphqd.train import train


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("loop") / "tiny.h5"
    recipe.generate(cfg.validate(dict(TINY_HOLSTEIN, trajectories=6), recipe.SCHEMA), str(path), torch.device("cpu"))
    return str(path)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only contend on shared cores
    yield
    torch.set_num_threads(threads)


def base_config(store, run_dir, **train):
    return {"model": {"name": "local_increment", "width": 8, "depth": 2, "band_radius": 2},
            "data": {"path": store, "step": 1, "split": [0.67, 0.17, 0.16], "batch_size": 4},
            "optim": {"lr": 0.01, "grad_clip": 1.0},
            "schedule": {"warmup_steps": 3, "decay": "cosine"},
            "train": {"steps": 8, "rollout_lengths": [1, 2], "curriculum": [0, 4], "input_noise": 0.1, **train},
            "log": {"run_dir": str(run_dir), "every": 1, "val_every": 4, "val_rollout_steps": 6,
                    "checkpoint_every": 2, "keep_checkpoints": 10, "progress": False}}


def test_loss_falls(store, tmp_path):
    config = base_config(store, tmp_path / "run", steps=80, rollout_lengths=[1], curriculum=[0], input_noise=0.0)
    config["log"].update(every=20, val_every=80, checkpoint_every=80, figures=False)
    result = train(config)
    losses = np.array([result.losses[s] for s in range(1, 81)])
    assert losses[-20:].mean() < 0.6 * losses[:10].mean(), losses
    assert result.step == 80 and len(result.val_rollout_rmse) == 6
    # TensorBoard's train/loss is the mean over the steps since the last log, as the published codes log it
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / "run"), size_guidance={"scalars": 0})
    events.Reload()
    logged = {e.step: e.value for e in events.Scalars("train/loss")}
    assert sorted(logged) == [20, 40, 60, 80]
    np.testing.assert_allclose([logged[s] for s in (20, 40, 60, 80)], losses.reshape(4, 20).mean(1), rtol=1e-6)


def test_tensorboard_checkpoints_and_resume(store, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    full = train(base_config(store, tmp_path / "full"))
    run_dir = tmp_path / "full"
    assert (run_dir / "config.yaml").is_file()
    names = [os.path.basename(p) for p in ckpt.list_checkpoints(str(run_dir))]
    assert names == [f"step_{s:08d}.pt" for s in (2, 4, 6, 8)]
    state = ckpt.load(str(run_dir))
    assert state.step == 8 and state.config["model"]["name"] == "local_increment"
    assert set(state.normalization["stats"]) == {"Q", "P", "rho"} and state.code_version.startswith("0.")

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    for tag in ("train/loss", "train/loss_Q", "train/loss_P", "train/loss_rho", "train/lr", "train/grad_norm",
                "val/rollout_rmse", "val/rollout_rmse_step_0001", "val/rollout_rmse_curve"):
        assert tag in scalars, tag
    assert [e.step for e in events.Scalars("train/loss")] == list(range(1, 9))
    assert [e.step for e in events.Scalars("val/rollout_rmse_curve")] == list(range(1, 7))
    assert "val/rollout" in events.Tags()["images"]
    assert "hparam/val_rollout_rmse" in scalars
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")  # add_hparams(run_name=".")
    lr = [e.value for e in events.Scalars("train/lr")]
    assert lr[0] == pytest.approx(0.01 / 3) and lr[2] == pytest.approx(0.01) and lr[-1] < lr[3]

    # an interrupted run: the same run stopped after its step-4 checkpoint, then resumed
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(run_dir, resumed_dir)
    for path in ckpt.list_checkpoints(str(resumed_dir))[2:]:
        os.remove(path)
    config = yaml.safe_load((resumed_dir / "config.yaml").read_text())
    resumed = train(config, resume=str(resumed_dir))
    assert sorted(resumed.losses) == [5, 6, 7, 8]
    for step in (5, 6, 7, 8):
        assert resumed.losses[step] == full.losses[step]
    a, b = ckpt.load(str(run_dir)).model, ckpt.load(str(resumed_dir)).model
    assert all(torch.equal(a[k], b[k]) for k in a)

    with pytest.raises(Exception, match="already reached step 8"):
        train(config, resume=str(resumed_dir))
    changed = dict(config, optim=dict(config["optim"], lr=0.5))
    with pytest.raises(ConfigError, match="optim.lr"):
        train(changed, resume=str(resumed_dir))


def test_config_errors(store, tmp_path):
    config = base_config(store, tmp_path / "bad")
    config["train"]["rollout_lenghts"] = [1]
    with pytest.raises(ConfigError, match="train.rollout_lenghts"):
        train(config)
    config = base_config(store, tmp_path / "bad", curriculum=[0, 4, 8])
    with pytest.raises(ConfigError, match="train.curriculum"):
        train(config)
    with pytest.raises(Exception, match="train.conserve energy and train.conserve energy-band"):
        train(base_config(store, tmp_path / "bad", conserve=["energy", "energy-band"]))
    assert not (tmp_path / "bad").exists()


def test_training_through_the_rollout_constraints(store, tmp_path):
    """train.conserve: the training rollouts are projected after every step (the loss stays finite) and the
    validation rollouts are those of `graphqd rollout --conserve` with the same invariants."""
    config = base_config(store, tmp_path / "run", steps=4, conserve=["purity-band", "energy-band"])
    config["log"].update(val_every=4, figures=False)
    result = train(config)
    assert result.step == 4 and all(np.isfinite(list(result.losses.values())))
    from graphqd.runtime.conservation import invariant_projection
    from graphqd.runtime.rollout import rollout
    from graphqd.runtime.surrogate import load_surrogate
    from graphqd.train.config import resolve
    from graphqd.train.trainer import Validator, data_splits
    resolved = resolve(config)
    validator = Validator(resolved, data_splits(resolved)["val"], torch.device("cpu"))
    model = load_surrogate(str(tmp_path / "run")).model
    _, states = validator(model)
    dataset = validator.dataset
    initial = dataset.state_at(validator.batch, 0)
    constraint = invariant_projection(("purity-band", "energy-band"), dataset.params, dataset.graphs)(initial)
    expected = rollout(model, validator.batch, initial, validator.steps, constraint=constraint)
    bare = rollout(model, validator.batch, initial, validator.steps)
    for key in initial:
        torch.testing.assert_close(states[-1][key], expected[-1][key], rtol=0, atol=0)
    assert not torch.allclose(states[-1]["rho"], bare[-1]["rho"])


def test_export_model_and_fine_tune(store, tmp_path):
    from graphqd.runtime.surrogate import load_surrogate
    source = tmp_path / "source"
    train(base_config(store, source, steps=4))
    exported = tmp_path / "pretrained" / "model.pt"
    result = _cli(["export", source, "--out", exported])
    assert result.returncode == 0, result.stderr
    full, slim = ckpt.load(str(source)), ckpt.load(str(exported))
    assert exported.stat().st_size < 0.6 * os.path.getsize(ckpt.find(str(source)))
    assert slim.optimizer == {} and slim.step == 4 and slim.normalization == full.normalization
    assert all(torch.equal(full.model[k], slim.model[k]) for k in full.model)
    assert "/" not in slim.dataset["path"]
    assert load_surrogate(str(exported)).parameter_count == load_surrogate(str(source)).parameter_count

    bad = _cli(["export", store, "--out", tmp_path / "x.pt"])
    assert bad.returncode == 2 and "run directory or checkpoint" in bad.stderr and "Traceback" not in bad.stderr

    # fine-tuning starts from the exported weights and statistics, with a fresh optimiser and its own steps
    tuned = base_config(store, tmp_path / "tuned", steps=2, init_from=str(exported))
    tuned["optim"]["lr"] = 1e-12
    tuned["schedule"]["warmup_steps"] = 0
    train(tuned)
    after = ckpt.load(str(tmp_path / "tuned"))
    assert after.step == 2 and after.normalization == slim.normalization
    assert all(torch.allclose(slim.model[k].float(), after.model[k].float(), atol=1e-6) for k in slim.model)

    # the band radius shapes the graphs, not the weights: a model of a wider band starts from these weights
    wider_band = base_config(store, tmp_path / "wider_band", steps=1, init_from=str(exported))
    wider_band["model"]["band_radius"] = 3
    wider_band["optim"]["lr"] = 1e-12
    train(wider_band)
    banded = ckpt.load(str(tmp_path / "wider_band"))
    assert banded.config["model"]["band_radius"] == 3
    assert all(torch.allclose(slim.model[k].float(), banded.model[k].float(), atol=1e-6) for k in slim.model)

    wider = base_config(store, tmp_path / "wider", init_from=str(exported))
    wider["model"]["width"] = 16
    with pytest.raises(ConfigError, match="model.width"):
        train(wider)
    coarser = base_config(store, tmp_path / "coarser", init_from=str(exported))
    coarser["data"]["step"] = 2
    with pytest.raises(ConfigError, match="train.init_from"):
        train(coarser)


@pytest.mark.parametrize("onsite", [False, True])
def test_init_from_a_learned_lattice_step_into_phonons_exact(store, tmp_path, onsite):
    """model.phonons learned -> exact drops the four phonon networks (on-site or not) and keeps the rho networks'
    weights, with the store's lattice constants in the normalisation, and so does particle_hole; exact -> learned
    has no weights for them, and neither has a learned lattice step whose networks change shape (onsite_phonons)."""
    def parc(run_dir, phonons, onsite_phonons=False, **train_keys):
        config = base_config(store, run_dir, steps=1, **train_keys)
        config["model"] = {"name": "parc_graph", "width": 4, "depth": 1, "band_radius": 2, "splitting": "strang",
                           "phonons": phonons, "onsite_phonons": onsite_phonons}
        config["optim"]["lr"] = 1e-12
        config["schedule"]["warmup_steps"] = 0
        return config
    train(parc(tmp_path / "learned", "learned", onsite))
    learned = ckpt.load(str(tmp_path / "learned"))
    train(parc(tmp_path / "exact", "exact", init_from=str(tmp_path / "learned")))
    exact = ckpt.load(str(tmp_path / "exact"))
    assert exact.normalization["constants"] == pytest.approx({"g": 2.0, "stiffness": 0.4, "mass": 2.5})
    assert {k.split(".")[0] for k in exact.model if not k.startswith("normalization")} == \
        {"derivative_rho", "integral_rho"}
    assert all(torch.allclose(learned.model[k].float(), v.float(), atol=1e-6) for k, v in exact.model.items())
    symmetric = parc(tmp_path / "symmetric", "exact", init_from=str(tmp_path / "exact"))
    symmetric["model"]["particle_hole"] = True     # applies the same networks twice: the weights carry over
    train(symmetric)
    assert all(torch.allclose(exact.model[k].float(), v.float(), atol=1e-6)
               for k, v in ckpt.load(str(tmp_path / "symmetric")).model.items())
    with pytest.raises(ConfigError, match="derivative_"):
        train(parc(tmp_path / "back", "learned", init_from=str(tmp_path / "exact")))
    with pytest.raises(ConfigError, match="derivative_Q"):
        train(parc(tmp_path / "reshaped", "learned", not onsite, init_from=str(tmp_path / "learned")))


def test_init_step_continues_the_schedule_of_a_checkpoint_without_optimiser_state(store, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def rates(run_dir):
        events = EventAccumulator(str(run_dir))
        events.Reload()
        return {e.step: e.value for e in events.Scalars("train/lr")}
    train(base_config(store, tmp_path / "full"))
    train(base_config(store, tmp_path / "first", steps=4))
    exported = tmp_path / "first.pt"
    assert _cli(["export", tmp_path / "first", "--out", exported]).returncode == 0
    train(base_config(store, tmp_path / "continued", init_from=str(exported), init_step=True))
    full, continued = rates(tmp_path / "full"), rates(tmp_path / "continued")
    assert sorted(continued) == [5, 6, 7, 8] and ckpt.load(str(tmp_path / "continued")).step == 8
    assert all(np.isclose(continued[s], full[s], rtol=1e-6) for s in continued), (continued, full)

    with pytest.raises(ConfigError, match="train.steps"):
        train(base_config(store, tmp_path / "short", steps=4, init_from=str(exported), init_step=True))
    with pytest.raises(ConfigError, match="train.init_step"):
        train(base_config(store, tmp_path / "alone", init_step=True))


def test_checkpointed_rollout_steps_train_the_same_weights(store, tmp_path):
    """train.checkpoint_steps recomputes activations in the backward pass: same losses and weights
    (to round-off) over a run with 3-step rollouts, for a band-convolution PARC model."""
    def run(name, **train_keys):
        config = base_config(store, tmp_path / name, steps=6, rollout_lengths=[3], curriculum=[0], **train_keys)
        config["model"] = {"name": "parc_graph", "width": 8, "depth": 1, "band_radius": 2, "splitting": "strang"}
        config["log"].update(val_every=6, checkpoint_every=6, figures=False)
        return train(config), ckpt.load(str(tmp_path / name)).model
    (kept, a), (recomputed, b) = run("kept"), run("recomputed", checkpoint_steps=True)
    assert all(np.isclose(recomputed.losses[s], kept.losses[s], rtol=1e-5) for s in kept.losses)
    assert all(torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-7) for k in a)


def _cli(args, env_extra=None, module="graphqd"):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_nan_guard_stops_and_keeps_last_good_checkpoint(store, tmp_path):
    config = base_config(store, tmp_path / "nan", steps=6)
    config["optim"].update(lr=1.0e30, grad_clip=0.0)
    config["schedule"]["warmup_steps"] = 0
    config["log"]["checkpoint_every"] = 1
    path = tmp_path / "nan.yaml"
    path.write_text(yaml.safe_dump(config))
    result = _cli(["train", "--config", path])
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "not finite" in lines[0] and "last good checkpoint" in lines[0]
    step = int(lines[0].split("training stopped at step ")[1].split(":")[0])
    kept = ckpt.list_checkpoints(str(tmp_path / "nan"))
    assert kept and kept[-1].endswith(f"step_{step - 1:08d}.pt") and kept[-1] in lines[0]


def test_torchrun_two_processes_match_one(store, tmp_path):
    single = base_config(store, tmp_path / "single", steps=4)
    single["log"]["figures"] = False
    single_result = train(single)
    double = base_config(store, tmp_path / "double", steps=4)
    double["log"]["figures"] = False
    path = tmp_path / "double.yaml"
    path.write_text(yaml.safe_dump(double))
    result = _cli(["--standalone", "--nproc_per_node", "2", "-m", "graphqd", "train", "--config", path],
                  module="torch.distributed.run")
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = ckpt.load(str(tmp_path / "single")), ckpt.load(str(tmp_path / "double"))
    assert b.step == 4
    for key in a.model:
        torch.testing.assert_close(a.model[key], b.model[key], rtol=1e-5, atol=1e-6)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / "double"))
    events.Reload()
    losses = [e.value for e in events.Scalars("train/loss")]
    np.testing.assert_allclose(losses, [single_result.losses[s] for s in range(1, 5)], rtol=1e-5)


def test_energy_weight_adds_the_raw_steps_energy_change(store, tmp_path):
    """train.energy_weight: the loss holds each chain's energy across the raw model steps (logged as loss_energy):
    the first step's loss grows by the weight times that term (the tiny store's early quench changes the energy by
    about 1e-7 per site and step, hence the large weight), and what is learned changes."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    weight, runs, logged = 1e12, {}, {}
    for w in (0.0, weight):
        config = base_config(store, tmp_path / f"w{w:g}", steps=3, conserve=["energy-band"], energy_weight=w)
        config["log"].update(val_every=3, figures=False)
        runs[w] = train(config)
        events = EventAccumulator(str(tmp_path / f"w{w:g}"), size_guidance={"scalars": 0})
        events.Reload()
        logged[w] = {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
    assert "train/loss_energy" not in logged[0.0]
    energy = logged[weight]["train/loss_energy"]
    assert len(energy) == 3 and all(np.isfinite(energy)) and min(energy) > 0
    assert runs[weight].losses[1] - runs[0.0].losses[1] == pytest.approx(weight * energy[0], rel=1e-2)
    weights = [ckpt.load(str(tmp_path / f"w{w:g}")).model for w in (0.0, weight)]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
