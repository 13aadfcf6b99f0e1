"""Wave emulators through the command line: train on a tiny curriculum, roll out and evaluate
on panel-like cases, and one-line errors for bad input."""
import json

import h5py
import numpy as np
import yaml

from test_cli_holstein import assert_clean_error

CURRICULUM = {"system": "wave", "runs": {"set": "curriculum", "start": 7, "step": 331, "count": 8},
              "grid": {"points": 128, "length": 100.0},
              "integrator": {"dt": 0.1, "t_final": 1.5, "propagator": "exact"}}


def test_train_rollout_evaluate_a_wave_emulator(cli, tmp_path):
    (tmp_path / "curriculum.yaml").write_text(yaml.safe_dump(CURRICULUM))
    data = tmp_path / "curriculum.h5"
    assert cli("simulate", "wave", "--config", tmp_path / "curriculum.yaml", "--out", data).returncode == 0
    config = {"model": {"name": "wave_gru", "hidden": 8},
              "data": {"path": str(data), "split": [0.75, 0.25, 0.0], "batch_size": 8},
              "train": {"steps": 4}, "log": {"run_dir": str(tmp_path / "run"), "val_every": 2, "val_rollout_steps": 3,
                                             "checkpoint_every": 2, "progress": False}}
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(config))
    result = cli("train", "--config", tmp_path / "train.yaml")
    assert result.returncode == 0, result.stderr
    assert "trained to step 4" in result.stdout
    published = {**config, "data": {**config["data"], "order": "published"},
                 "log": {**config["log"], "run_dir": str(tmp_path / "published")}}
    (tmp_path / "published.yaml").write_text(yaml.safe_dump(published))
    result = cli("train", "--config", tmp_path / "published.yaml")
    assert result.returncode == 0 and "trained to step 4" in result.stdout, result.stderr
    published["data"]["extra_paths"] = [str(data)]
    published["log"]["run_dir"] = str(tmp_path / "two_stores")
    (tmp_path / "published.yaml").write_text(yaml.safe_dump(published))
    assert_clean_error(cli("train", "--config", tmp_path / "published.yaml"), "'data.order'", "data.extra_paths")
    assert not (tmp_path / "two_stores").exists()

    out = tmp_path / "rollout.h5"
    result = cli("rollout", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 6, "--runs", 3, "--out", out)
    assert result.returncode == 0, result.stderr
    with h5py.File(out) as h, h5py.File(data) as d:
        assert h.attrs["system"] == "wave" and h.attrs["complete"] and h.attrs["surrogate_model"] == "wave_gru"
        assert h["psi"].shape == (3, 10, 128)
        np.testing.assert_array_equal(h["psi"][:, :4], d["psi"][:3, :4])   # the seed frames
        np.testing.assert_allclose(h["t"][()], d["t"][:10], atol=1e-6)
        assert list(h["kind"].asstr()[()]) == list(d["kind"].asstr()[:3])
        assert np.isfinite(h["psi"][()]).all()

    metrics = tmp_path / "metrics.json"
    result = cli("evaluate", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 6, "--out", metrics)
    assert result.returncode == 0, result.stderr
    found = json.loads(metrics.read_text())
    barrier = found["groups"]["barrier"]
    assert barrier["cases"] == 8 and len(barrier["per_frame"]["correlation"]) == 6
    assert 0 <= barrier["correlation"] <= 1 and barrier["mae"] > 0 and found["parameter_count"] > 0
    with h5py.File(out) as h, h5py.File(data) as d:  # evaluate scores what rollout writes
        first = h["psi"][0, 4:10]
        by_hand = ((np.abs(first.real - d["psi"][0, 4:10].real) + np.abs(first.imag - d["psi"][0, 4:10].imag)) / 2)
    np.testing.assert_allclose(found["cases"][0]["mae"], by_hand.mean(), rtol=1e-5)

    # a potential of the user's, on a box twice as long at the training spacing, beside its exact solution
    np.save(tmp_path / "V.npy", np.where(np.abs(np.arange(256) - 128) < 10, 3.0, 0.0))
    result = cli("rollout", "--checkpoint", tmp_path / "run", "--potential", tmp_path / "V.npy", "--packet", 100, 4, 2,
                 "--steps", 5, "--out", tmp_path / "own.h5")
    assert result.returncode == 0, result.stderr
    with h5py.File(tmp_path / "own.h5") as h, h5py.File(tmp_path / "own_exact.h5") as e:
        assert h["psi"].shape == (1, 9, 256) and e["psi"].shape == (1, 9, 256) and e.attrs["length"] == 200.0
        np.testing.assert_array_equal(h["psi"][0, :4], e["psi"][0, :4])
        np.testing.assert_allclose(e["V"][0], np.load(tmp_path / "V.npy"))
    own = json.loads((tmp_path / "own_metrics.json").read_text())
    assert own["groups"]["all"]["cases"] == 1 and (tmp_path / "own.png").exists()
    np.save(tmp_path / "high.npy", np.full(128, 20.0))
    result = cli("rollout", "--checkpoint", tmp_path / "run", "--potential", tmp_path / "high.npy", "--steps", 2,
                 "--out", tmp_path / "high.h5")
    assert result.returncode == 0 and "warning: V spans [20, 20], outside the trained range" in result.stderr
    np.save(tmp_path / "odd.npy", np.zeros((3, 5)))
    assert_clean_error(cli("rollout", "--checkpoint", tmp_path / "run", "--potential", tmp_path / "odd.npy",
                           "--steps", 2, "--out", tmp_path / "x.h5"), "odd.npy' holds an array of shape (3, 5)")
    assert_clean_error(cli("rollout", "--checkpoint", tmp_path / "run", "--steps", 2, "--out", tmp_path / "x.h5"),
                       "one of --data PATH.h5 or --potential V.npy")
    assert_clean_error(cli("rollout", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 2,
                           "--conserve", "energy", "--out", tmp_path / "x.h5"), "--conserve energy is a Holstein option")
    assert_clean_error(cli("rollout", "--checkpoint", tmp_path / "run", "--data", data, "--steps", 50,
                           "--out", tmp_path / "x.h5"), "--steps 50", "snapshots 0 … 15")
    assert_clean_error(cli("evaluate", "--checkpoint", tmp_path / "missing", "--data", data, "--out", metrics),
                       "missing")
    assert not (tmp_path / "x.h5").exists()
