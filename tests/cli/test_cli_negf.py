"""`graphqd simulate negf`: Brownian NEGF runs in resumable time chunks, export, errors."""
import h5py
import numpy as np
import pytest
import torch
import yaml
from ase.io import read

from graphqd import config as cfg
from graphqd.data import store as store_module
from graphqd.data.recipes import negf as recipe
from graphqd.physics import negf

from test_cli_holstein import assert_clean_error

SMALL = {"system": "negf", "seed": 2, "trajectories": 3, "lattice": {"Lx": 6, "Ly": 2},
         "leads": {"bias": 3.0}, "initial": {"q_noise": 0.05},
         "dynamics": {"dt": 0.1, "t_final": 1.2, "record_every": 2},
         "storage": {"dtype": "float64", "batch": 2, "chunk_records": 2}}


def test_layout_forces_and_current_conservation(tmp_path):
    path = tmp_path / "n.h5"
    recipe.generate(cfg.validate(SMALL, recipe.SCHEMA), str(path), torch.device("cpu"))
    with h5py.File(path) as h:
        assert h.attrs["complete"] and h["Q"].shape == (3, 7, 2, 6) and h["current"].shape == (3, 7)
        np.testing.assert_allclose(h["t"][()], np.arange(7) * 0.2)
        Q = torch.as_tensor(h["Q"][1, 4])
        params = recipe.params_of(cfg.validate(SMALL, recipe.SCHEMA))
        np.testing.assert_allclose(h["force"][1, 4], negf.forces(Q, params).numpy(), atol=1e-12)
        np.testing.assert_allclose(h["n"][1, 4], negf.density(Q, params).numpy(), atol=1e-12)
        left, right = negf.current(Q, params)
        assert float(left + right) == pytest.approx(0.0, abs=1e-10)
        assert h["current"][1, 4] == pytest.approx(float(left), abs=1e-10)


def test_interrupted_run_resumes_mid_trajectory_identically(tmp_path, monkeypatch):
    config = cfg.validate(SMALL, recipe.SCHEMA)
    full, resumed = tmp_path / "full.h5", tmp_path / "resumed.h5"
    recipe.generate(config, str(full), torch.device("cpu"))
    original, calls = store_module.StoreWriter.write, []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # inside the first block of runs, after two of its time chunks
            raise KeyboardInterrupt
        original(self, *args, **kwargs)

    monkeypatch.setattr(store_module.StoreWriter, "write", failing)
    with pytest.raises(KeyboardInterrupt):
        recipe.generate(config, str(resumed), torch.device("cpu"))
    with h5py.File(resumed) as h:
        assert h.attrs["runs_done"] == 0 and h.attrs["records_done"] == 3
    monkeypatch.setattr(store_module.StoreWriter, "write", original)
    recipe.generate(config, str(resumed), torch.device("cpu"))
    with h5py.File(full) as a, h5py.File(resumed) as b:
        for name in ("Q", "n", "force", "current"):
            np.testing.assert_array_equal(a[name][()], b[name][()])


def test_cli_shards_merge_and_export(cli, tmp_path):
    recipe_path = tmp_path / "negf.yaml"
    recipe_path.write_text(yaml.safe_dump(SMALL))
    for i in range(2):
        result = cli("simulate", "negf", "--config", recipe_path, "--out", tmp_path / f"s{i}.h5", "--shard", f"{i}/2")
        assert result.returncode == 0, result.stderr
    assert cli("merge", tmp_path / "m.h5", tmp_path / "s1.h5", tmp_path / "s0.h5").returncode == 0
    recipe.generate(cfg.validate(SMALL, recipe.SCHEMA), str(tmp_path / "full.h5"), torch.device("cpu"))
    with h5py.File(tmp_path / "m.h5") as a, h5py.File(tmp_path / "full.h5") as b:
        np.testing.assert_array_equal(a["Q"][()], b["Q"][()])
    out = tmp_path / "n.extxyz"
    assert cli("export", tmp_path / "m.h5", "--trajectory", 2, "--out", out).returncode == 0
    frames = read(str(out), ":")
    assert len(frames) == 7 and len(frames[0]) == 12 and list(frames[0].pbc) == [False, True, False]
    np.testing.assert_allclose(frames[3].positions[7], [1.0, 1.0, 0.0])
    with h5py.File(tmp_path / "m.h5") as h:
        np.testing.assert_allclose(frames[3].arrays["Q"], h["Q"][2, 3].ravel(), atol=1e-7)
        assert frames[3].info["current"] == pytest.approx(float(h["current"][2, 3]), abs=1e-9)
        assert frames[3].info["bias"] == 3.0


@pytest.mark.parametrize("args,phrases", [
    (["--set", "dynamics.record_every=5"], ["'dynamics.record_every' (5) must divide"]),
    (["--set", "leads.gamma=0"], ["'leads.gamma' must be a number > 0"]),
    (["--set", "lattice.periodic_y=maybe"], ["'lattice.periodic_y' must be true or false"]),
])
def test_bad_negf_config(cli, tmp_path, args, phrases):
    recipe_path = tmp_path / "negf.yaml"
    recipe_path.write_text(yaml.safe_dump(SMALL))
    assert_clean_error(cli("simulate", "negf", "--config", recipe_path, "--out", tmp_path / "x.h5", *args), *phrases)


def test_sweep_runs_equal_single_condition_runs(tmp_path):
    """Run k of a sweep is the run k of a store made at that run's bias and bath temperature."""
    swept = dict(SMALL, trajectories=4, sweep={"bias": [1.0, 3.0], "temperature": [0.0, 0.2]},
                 leads={"bias": 0.0, "gate": "left"})
    recipe.generate(cfg.validate(swept, recipe.SCHEMA), str(tmp_path / "sweep.h5"), torch.device("cpu"))
    single = dict(SMALL, trajectories=4, leads={"bias": 3.0, "gate": "left"},
                  dynamics=dict(SMALL["dynamics"], temperature=0.2))
    recipe.generate(cfg.validate(single, recipe.SCHEMA), str(tmp_path / "single.h5"), torch.device("cpu"))
    with h5py.File(tmp_path / "sweep.h5") as a, h5py.File(tmp_path / "single.h5") as b:
        np.testing.assert_array_equal(a["bias"][()], [1.0, 1.0, 3.0, 3.0])
        np.testing.assert_array_equal(a["bath_temperature"][()], [0.0, 0.2, 0.0, 0.2])
        np.testing.assert_array_equal(a["mu_left"][()], [1.0, 1.0, 3.0, 3.0])
        np.testing.assert_array_equal(a["mu_right"][()], [0.0] * 4)
        for name in ("Q", "n", "force", "current"):
            np.testing.assert_array_equal(a[name][3], b[name][3])
        assert not np.array_equal(a["Q"][2], b["Q"][2])  # run 2 is at V = 3 but without bath noise
