"""`graphqd simulate wave` and wave export, end to end on a small grid."""
import h5py
import numpy as np
import pytest
import torch
import yaml
from ase.io import read

from graphqd import config as cfg
from graphqd.data.recipes import wave as recipe
from graphqd.physics import schrodinger, wave_panel

from test_cli_holstein import assert_clean_error

SMALL = {"system": "wave", "runs": {"set": "curriculum", "start": 100, "step": 5, "count": 4},
         "grid": {"points": 256, "length": 100.0},
         "integrator": {"dt": 0.1, "t_final": 1.0, "laplacian": "fd3", "propagator": "split", "internal_dt": 0.005},
         "storage": {"dtype": "float64", "batch": 3}}


@pytest.fixture
def small_recipe(tmp_path):
    path = tmp_path / "wave.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


def test_simulate_matches_the_physics_api_and_exports(cli, small_recipe, tmp_path):
    store = tmp_path / "w.h5"
    result = cli("simulate", "wave", "--config", small_recipe, "--out", store)
    assert result.returncode == 0, result.stderr
    x = schrodinger.grid(256, 100.0)
    runs = wave_panel.curriculum().select(list(range(100, 120, 5)))
    want = schrodinger.simulate(runs.packets(x), runs.potentials(x), x, 0.1, 10, "fd3", "split", 0.005)
    with h5py.File(store) as h:
        assert h.attrs["complete"] and h.attrs["laplacian"] == "fd3" and h.attrs["propagator"] == "split"
        assert h.attrs["internal_steps_per_snapshot"] == 20
        np.testing.assert_allclose(h["psi"][()], want.numpy(), atol=1e-12)
        np.testing.assert_array_equal(h["E0"][()], runs.E0.numpy())
        assert list(h["kind"].asstr()[()]) == ["barrier"] * 4
    out = tmp_path / "w.traj"
    assert cli("export", store, "--trajectory", 2, "--out", out, "--every", 5).returncode == 0
    frames = read(str(out), ":")
    assert len(frames) == 3 and len(frames[0]) == 256
    dx = 100.0 / 256
    assert frames[-1].info["density"].sum() * dx == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(frames[1].info["psi_re"], want[2, 5].real.numpy(), atol=1e-12)


def test_exact_recipe_equals_exact_simulate(tmp_path):
    config = cfg.validate({**SMALL, "integrator": {**SMALL["integrator"], "propagator": "exact"},
                           "runs": {"set": "panel", "start": 20, "count": 5}}, recipe.SCHEMA)
    recipe.generate(config, str(tmp_path / "p.h5"), torch.device("cpu"))
    x = schrodinger.grid(256, 100.0)
    cases = wave_panel.panel_batch(wave_panel.test_panel(x)[20:25], x)
    want = schrodinger.simulate(cases["psi0"], cases["V"], x, 0.1, 10, "fd3", "exact")
    with h5py.File(tmp_path / "p.h5") as h:
        np.testing.assert_allclose(h["psi"][()], want.numpy(), atol=1e-10)
        assert list(h["name"].asstr()[()]) == cases["name"]


@pytest.mark.parametrize("args,phrases", [
    (["--set", "grid.points=255"], ["'grid.points' must be even"]),
    (["--set", "integrator.internal_dt=0.003"], ["internal_dt"]),
    (["--set", "runs.count=1000"], ["select", "runs"]),
    (["--set", "integrator.laplacian=fd5"], ["'integrator.laplacian' must be one of 'fd3', 'spectral'"]),
])
def test_bad_wave_config(cli, small_recipe, tmp_path, args, phrases):
    assert_clean_error(cli("simulate", "wave", "--config", small_recipe, "--out", tmp_path / "x.h5", *args), *phrases)
