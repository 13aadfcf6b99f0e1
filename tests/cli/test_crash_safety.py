"""kill -9 at random moments, then the same command again: `graphqd simulate` of every system
ends with a store identical to an uninterrupted run's, and `graphqd train --resume` with the
weights of an uninterrupted run, every checkpoint left behind loading. Real processes and
signals, on tiny data; the kill times come from a seeded generator."""
import copy
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import torch
import yaml

from conftest import TINY_HOLSTEIN
from graphqd.runtime import checkpoint as ckpt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = {
    "holstein": dict(TINY_HOLSTEIN, trajectories=16, storage={"dtype": "float32", "batch": 1},
                     integrator={"dt": 0.08, "substeps": 4, "t_final": 16.0}),
    "wave": {"system": "wave", "runs": {"set": "curriculum", "start": 7, "step": 11, "count": 6},
             "integrator": {"dt": 0.1, "t_final": 6.0, "laplacian": "fd3", "propagator": "exact"},
             "storage": {"dtype": "float32", "batch": 1}},
    "negf": {"system": "negf", "seed": 1, "trajectories": 2, "lattice": {"Lx": 10, "Ly": 4, "periodic_y": True},
             "leads": {"bias": 2.5, "gate": "left"}, "dynamics": {"dt": 0.1, "t_final": 20.0, "record_every": 2},
             "storage": {"batch": 1, "chunk_records": 5}},
}


def command(*args) -> list[str]:
    return [sys.executable, "-m", "graphqd", "--threads", "1", *map(str, args)]


def killed(args, watch: str, delay: float, *also_watch: str) -> bool:
    """Run `args`, kill -9 it `delay` s after `watch` (or any of `also_watch`) appears; False when
    it finished first."""
    process = subprocess.Popen(command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    while not any(map(os.path.exists, (watch, *also_watch))) and process.poll() is None:
        time.sleep(0.01)
    time.sleep(delay)
    if process.poll() is not None:
        return False
    process.kill()
    process.wait()
    return True


def watched_seconds(args, watch: str) -> float:
    """Run `args` to the end; the seconds from `watch` appearing to the exit (the span a kill can hit)."""
    process = subprocess.Popen(command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    while not os.path.exists(watch) and process.poll() is None:
        time.sleep(0.01)
    began = time.perf_counter()
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return time.perf_counter() - began


def finish(args) -> None:
    result = subprocess.run(command(*args), capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr


def assert_same_store(path: str, reference: str) -> None:
    with h5py.File(path) as got, h5py.File(reference) as want:
        assert sorted(got) == sorted(want) and bool(got.attrs["complete"])
        for name in want:
            a, b = got[name][()], want[name][()]
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), name
        for key in ("config", "runs_done", "runs_total"):
            assert got.attrs[key] == want.attrs[key], key


@pytest.mark.parametrize("system", sorted(RECIPES))
def test_simulate_killed_and_rerun_equals_uninterrupted(system, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPES[system]))
    reference = tmp_path / "reference.h5"
    span = watched_seconds(["simulate", system, "--config", recipe, "--out", reference], str(reference))
    rng = np.random.default_rng(sum(map(ord, system)))
    out = tmp_path / "interrupted.h5"
    # the first kill falls while the empty store is being laid out (it appears as '.partial')
    delays = [rng.uniform(0, 0.02), *rng.uniform(0, 0.6 * span, size=3)]
    kills = sum(killed(["simulate", system, "--config", recipe, "--out", out], str(out), delay, f"{out}.partial")
                for delay in delays)
    assert kills >= 1, "every run finished before its kill: lengthen the recipe"
    finish(["simulate", system, "--config", recipe, "--out", out])
    assert_same_store(str(out), str(reference))


def test_train_killed_and_resumed_equals_uninterrupted(tmp_path):
    from graphqd import config as cfg
    from graphqd.data.recipes import holstein as recipe
    store = tmp_path / "tiny.h5"
    recipe.generate(cfg.validate(dict(TINY_HOLSTEIN, trajectories=6), recipe.SCHEMA), str(store),
                    torch.device("cpu"))
    base = {"model": {"name": "local_increment", "width": 8, "depth": 2, "band_radius": 2},
            "data": {"path": str(store), "step": 1, "split": [0.67, 0.17, 0.16], "batch_size": 4},
            "optim": {"lr": 0.01}, "train": {"steps": 120, "rollout_lengths": [1, 2], "curriculum": [0, 60]},
            "log": {"every": 5, "val_every": 40, "val_rollout_steps": 4, "checkpoint_every": 1, "keep_checkpoints": 3,
                    "figures": False, "progress": False}}
    configs = {}
    for name in ("reference", "interrupted"):
        config = copy.deepcopy(base)
        config["log"]["run_dir"] = str(tmp_path / name)
        configs[name] = tmp_path / f"{name}.yaml"
        configs[name].write_text(yaml.safe_dump(config))
    span = watched_seconds(["train", "--config", configs["reference"]], str(tmp_path / "reference" / "config.yaml"))
    run_dir = tmp_path / "interrupted"
    rng = np.random.default_rng(19)
    watch = str(run_dir / "config.yaml")
    assert killed(["train", "--config", configs["interrupted"]], watch, rng.uniform(0.2, 0.6) * span)
    resume = ["train", "--config", configs["interrupted"], "--resume", run_dir]
    for _ in range(2):  # checkpoints are written every step, so kills land in writes too
        for path in ckpt.list_checkpoints(str(run_dir)):
            ckpt.load(path)
        killed(resume, watch, rng.uniform(0.2, 0.6) * span)
    if not ckpt.list_checkpoints(str(run_dir)) or ckpt.load(str(run_dir)).step < 120:  # a resume may have finished
        finish(resume)
    got, want = ckpt.load(str(run_dir)), ckpt.load(str(tmp_path / "reference"))
    assert got.step == want.step == 120
    for key, value in want.model.items():
        assert torch.equal(got.model[key], value), key
    assert not [f for f in os.listdir(run_dir) if f.endswith(".tmp")]
