"""Metrics library against direct formulas, and rollout → evaluate end to end through the CLI."""
import json
import os
import subprocess
import sys

import ase.io
import h5py
import numpy as np
import pytest
import torch
import yaml
from scipy.stats import wasserstein_distance

from graphqd.evaluate import metrics


def test_rmse_definitions_of_the_paper():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 8)), rng.normal(size=(3, 8))
    np.testing.assert_allclose(metrics.rmse_sites(a, b), np.sqrt(((a - b) ** 2).sum(-1) / 8))
    A, B = rng.normal(size=(2, 8, 8)) + 1j * rng.normal(size=(2, 8, 8)), np.zeros((2, 8, 8))
    np.testing.assert_allclose(metrics.rmse_matrix(A, B), np.sqrt((np.abs(A) ** 2).sum((-1, -2)) / 64))
    np.testing.assert_allclose(metrics.mae(a, b), np.abs(a - b).mean(-1))


def test_normalized_correlation_is_one_for_a_phase():
    psi = np.exp(1j * np.linspace(0, 3, 50)) * np.exp(-np.linspace(-2, 2, 50) ** 2)
    assert metrics.normalized_correlation(psi * np.exp(0.7j), psi) == pytest.approx(1.0)
    assert metrics.normalized_correlation(psi, psi[::-1].conj() * 0 + 1e-3 * psi) == pytest.approx(1.0)
    assert metrics.normalized_correlation(psi, np.roll(psi, 20)) < 0.5


def test_autocorrelation_pooled_over_runs_and_time():
    rng = np.random.default_rng(1)
    x = np.zeros((4, 4000))
    for t in range(1, x.shape[1]):  # AR(1): C(τ) = a^τ
        x[:, t] = 0.8 * x[:, t - 1] + rng.normal(size=4)
    c = metrics.autocorrelation(x, 5)
    assert c[0] == pytest.approx(1.0)
    np.testing.assert_allclose(c, 0.8 ** np.arange(6), atol=0.05)
    cos = np.cos(np.arange(200) * 2 * np.pi / 20)
    assert metrics.autocorrelation(cos, 10)[10] == pytest.approx(-1.0, abs=0.06)


def test_wasserstein_drift_and_valid_time():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=500), rng.normal(0.3, 1.2, size=700)
    assert metrics.wasserstein1(a, b) == pytest.approx(wasserstein_distance(a, b), rel=1e-10)
    assert metrics.wasserstein1(a, a + 0.25) == pytest.approx(0.25)
    np.testing.assert_allclose(metrics.invariant_drift(np.array([[1.0, 1.5, 0.2], [2.0, 2.0, 2.0]])), [0.8, 0.0])
    errors = np.array([[0.1, 0.2, 0.6, 0.1], [0.1, 0.1, 0.1, 0.1]])
    np.testing.assert_allclose(metrics.valid_time(errors, 0.5, dt=0.5), [1.0, 2.0])


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "graphqd", *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=300)


def test_nucleation_time_is_the_first_time_the_polaron_fraction_reaches_the_level():
    t = np.arange(5) * 0.5
    assert metrics.nucleation_time([0.0, 0.1, 0.4, 0.3, 0.8], t, 0.35) == 1.0
    assert metrics.nucleation_time([0.0, 0.1, 0.2], t[:3], 0.35) is None
    assert metrics.nucleation_time([0.0, 0.0], t[:2], 0.0) is None


def test_train_rollout_evaluate_end_to_end(tiny_holstein_recipe, tmp_path):
    data = tmp_path / "tiny.h5"
    assert _cli("simulate", "holstein", "--config", tiny_holstein_recipe, "--out", data).returncode == 0
    config = {"model": {"name": "local_increment", "width": 6, "band_radius": 3},
              "data": {"path": str(data), "step": 2, "split": [0.6, 0.2, 0.2], "batch_size": 4},
              "train": {"steps": 6, "rollout_lengths": [1, 2], "curriculum": [0, 3]},
              "log": {"run_dir": str(tmp_path / "run"), "val_every": 3, "checkpoint_every": 3, "progress": False}}
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(config))
    result = _cli("train", "--config", tmp_path / "train.yaml", "--set", "optim.lr=0.003")
    assert result.returncode == 0, result.stderr
    assert "trained to step 6" in result.stdout

    out = tmp_path / "rollout.h5"
    result = _cli("rollout", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 5, "--runs", 2, "--out", out)
    assert result.returncode == 0, result.stderr
    with h5py.File(out) as h, h5py.File(data) as d:
        assert h.attrs["system"] == "holstein" and h.attrs["complete"]
        assert h["Q"].shape == (2, 6, 6) and h["rho"].shape == (2, 6, 6, 6) and h["rho"].dtype == np.complex64
        np.testing.assert_allclose(h["t"][:], np.arange(6) * 0.16, atol=1e-6)
        np.testing.assert_array_equal(h["Q"][:, 0], d["Q"][:2, 0])
        rho = h["rho"][:]
        np.testing.assert_allclose(rho, rho.conj().swapaxes(-1, -2), atol=1e-6)
        np.testing.assert_allclose(np.trace(rho, axis1=-2, axis2=-1).real, 3.0, atol=1e-4)
    # --conserve is passed through: same first Q, the energy and the spectrum of ρ of every chain held,
    # the energy through (Q, P), through ρ or through ρ on the band (with the lattice moved where well conditioned)
    from graphqd.data.holstein import params_of_store
    from graphqd.physics.holstein import State, energy
    for through in ("energy", "energy-rho", "energy-band", "energy-band-conditioned"):
        kept = tmp_path / f"rollout_{through}.h5"
        result = _cli("rollout", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 5, "--runs", 2,
                      "--conserve", through, "--conserve", "spectrum", "--out", kept)
        assert result.returncode == 0, result.stderr
        with h5py.File(kept) as h, h5py.File(out) as b:
            assert h.attrs["conserve"] == f"spectrum,{through}"
            state = State(*(torch.from_numpy(h[k][:]).to(dtype) for k, dtype in
                            (("Q", torch.float64), ("P", torch.float64), ("rho", torch.complex128))))
            E, spectra = energy(state, params_of_store(h)), torch.linalg.eigvalsh(state.rho)
            bare_spectra = torch.linalg.eigvalsh(torch.from_numpy(b["rho"][:]).to(torch.complex128))
        assert float((E - E[:, :1]).abs().max()) < 1e-5 * float(E.abs().max())
        assert float((spectra - spectra[:, :1]).abs().max()) < 1e-6 < float((bare_spectra - spectra[:, :1]).abs().max())
    result = _cli("rollout", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 5, "--conserve", "momentum",
                  "--out", tmp_path / "bad.h5")
    assert result.returncode == 2 and "--conserve momentum is not known" in result.stderr
    assert not (tmp_path / "bad.h5").exists()
    bigger = tmp_path / "rollout12.h5"
    result = _cli("rollout", "--checkpoint", tmp_path / "run" / "checkpoints" / "step_00000006.pt", "--data", data,
                  "--steps", 4, "--lattice", 12, "--runs", 2, "--out", bigger)
    assert result.returncode == 0, result.stderr
    with h5py.File(bigger) as h, h5py.File(tmp_path / "rollout12_exact.h5") as e:
        assert h["Q"].shape == (2, 5, 12) and e["Q"].shape == (2, 5, 12) and e.attrs["complete"]
        np.testing.assert_allclose(h["Q"][:, 0], e["Q"][:, 0], atol=1e-7)
        assert abs(float(e.attrs["dt"]) - 0.16) < 1e-9
    # --rho band keeps only the model's band (radius 3: 7 of 12 columns), in the rollout and the exact run,
    # and every reader gets the same ρ back
    from graphqd.data.density_band import read_density, read_occupations, to_band, to_dense
    banded = tmp_path / "rollout12_band.h5"
    result = _cli("rollout", "--checkpoint", tmp_path / "run" / "checkpoints" / "step_00000006.pt", "--data", data,
                  "--steps", 4, "--lattice", 12, "--runs", 2, "--rho", "band", "--out", banded)
    assert result.returncode == 0, result.stderr
    with h5py.File(banded) as h, h5py.File(bigger) as dense, h5py.File(tmp_path / "rollout12_band_exact.h5") as e, \
            h5py.File(tmp_path / "rollout12_exact.h5") as dense_exact:
        assert "rho" not in h and h["rho_band"].shape == (2, 5, 12, 7) and h.attrs["rho_band_radius"] == 3
        np.testing.assert_array_equal(read_density(h, 1), dense["rho"][1])
        np.testing.assert_array_equal(read_occupations(h, 1), read_occupations(dense, 1))
        assert e["rho_band"].shape == (2, 5, 12, 7)
        np.testing.assert_array_equal(read_density(e, 0), to_dense(to_band(dense_exact["rho"][0], 3, True), True))
    for out_file in ("band.extxyz", "band.png"):
        result = _cli("export", banded, "--out", tmp_path / out_file, "--trajectory", 1)
        assert result.returncode == 0, result.stderr
    frames = ase.io.read(tmp_path / "band.extxyz", index=":")
    with h5py.File(banded) as h:
        np.testing.assert_allclose(frames[-1].arrays["n"], read_occupations(h, 1)[-1], atol=1e-7)
    result = _cli("rollout", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 2, "--rho", "band",
                  "--out", tmp_path / "narrow.h5")
    assert result.returncode == 2 and "radius 3 does not fit a chain of 6 sites" in result.stderr
    # a store whose band (radius 2) is narrower than the model's (3) lacks entries the model reads: the rollouts
    # start at t = 0 from the recipe's states, the stored ones made again; other starts are refused
    narrow_store = tmp_path / "band2.h5"
    result = _cli("simulate", "holstein", "--config", tiny_holstein_recipe, "--out", narrow_store,
                  "--set", "lattice.L=12", "--set", "storage.rho_band=2")
    assert result.returncode == 0, result.stderr
    result = _cli("rollout", "--checkpoint", tmp_path / "run", "--data", narrow_store, "--steps", 2, "--runs", 2,
                  "--rho", "band", "--out", tmp_path / "from_band2.h5")
    assert result.returncode == 0, result.stderr
    with h5py.File(tmp_path / "from_band2.h5") as h, h5py.File(narrow_store) as d:
        np.testing.assert_allclose(h["Q"][:, 0], d["Q"][:2, 0], atol=1e-7)
        np.testing.assert_allclose(h["rho_band"][:, 0, :, 1:6], d["rho_band"][:2, 0], atol=1e-7)
        assert np.abs(h["rho_band"][:, 0, :, [0, 6]]).max() > 1e-2  # distance 3, which the store lacks
    assert not (tmp_path / "from_band2_exact.h5").exists()
    result = _cli("rollout", "--checkpoint", tmp_path / "run", "--data", narrow_store, "--steps", 2, "--start", 1,
                  "--out", tmp_path / "late.h5")
    assert result.returncode == 2 and "narrower than the model's band_radius 3" in result.stderr

    metrics_path = tmp_path / "metrics.json"
    result = _cli("evaluate", "--checkpoint", tmp_path / "run", "--data", data, "--out", metrics_path, "--steps", 8)
    assert result.returncode == 0, result.stderr
    found = json.loads(metrics_path.read_text())
    for key in ("rmse_Q", "rmse_P", "rmse_rho", "rmse_total", "valid_time", "wasserstein_Q", "energy_drift",
                "trace_drift", "parameter_count"):
        assert np.isfinite(found[key]), key
    assert found["rmse_total"] == pytest.approx(found["rmse_Q"] + found["rmse_P"] + found["rmse_rho"])
    assert len(found["rollout_rmse_total"]) == 8 and set(found["autocorr_maxdiff"]) == {"phi_Q", "phi_rho"}
    assert found["data"] == str(data) and found["trace_drift"] < 1e-4 and found["hermiticity_error"] < 1e-6

    result = _cli("evaluate", "--checkpoint", tmp_path / "run", "--data", data, "--out", metrics_path, "--steps", 8,
                  "--conserve", "energy")
    assert result.returncode == 0, result.stderr
    held = json.loads(metrics_path.read_text())
    assert held["conserve"] == ["energy"] and held["rmse_total"] == pytest.approx(found["rmse_total"])
    assert held["energy_drift"] < 1e-5 and held["trace_drift"] < 1e-4

    # the prediction-window error from later starts: against the rollout file written by `graphqd rollout --start`
    from graphqd.errors import GraphqdError
    from graphqd.evaluate.holstein_metrics import window_rmse
    from graphqd.runtime.surrogate import load_surrogate
    surrogate = load_surrogate(str(tmp_path / "run"))
    np.testing.assert_allclose(window_rmse(surrogate, str(data), 8, [0])["total"], found["rollout_rmse_total"],
                               rtol=1e-6)
    later = tmp_path / "later.h5"
    assert _cli("rollout", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 3, "--runs", 2,
                "--start", 2, "--out", later).returncode == 0
    with h5py.File(later) as h, h5py.File(data) as d:
        error = h["Q"][:, 1:] - d["Q"][:2, 4:9:2]
    by_hand = np.sqrt((error.astype(np.float64) ** 2).mean(-1)).mean(0)
    window = window_rmse(surrogate, str(data), 3, [2], max_runs=2)
    np.testing.assert_allclose(window["Q"], by_hand, rtol=1e-5)
    assert window["starts"] == 2 and window["climate_scale"] > 0
    with pytest.raises(GraphqdError, match="must start at snapshots"):
        window_rmse(surrogate, str(data), 8, [5])

    result = _cli("evaluate", "--checkpoint", tmp_path / "nowhere", "--data", data, "--out", metrics_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "nowhere" in result.stderr
    result = _cli("rollout", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 3, "--runs", 99,
                  "--out", tmp_path / "x.h5")
    assert result.returncode == 2 and "--runs 99" in result.stderr


def test_valid_time_ends_where_a_rollout_blows_up(tmp_path):
    import json
    import math

    import numpy as np

    from graphqd.bench.common import write_json
    from graphqd.evaluate.metrics import valid_time
    errors = np.array([[0.1, 0.2, float("nan"), float("nan")], [0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_allclose(valid_time(errors, 0.5, 0.1), [0.2, 0.4])
    write_json(str(tmp_path / "m.json"), {"drift": float("nan"), "curve": [1.0, math.inf]})
    assert json.loads((tmp_path / "m.json").read_text())["curve"] == [1.0, None]
