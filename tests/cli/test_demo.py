"""`graphqd demo`, shrunk, end to end: every output it promises exists and reads back."""
import json

import h5py
from ase.io import read


def test_small_demo_writes_every_output(cli, tmp_path):
    out = tmp_path / "demo"
    args = ("demo", "--out", out, "--trajectories", 4, "--t-final", 8, "--train-steps", 20)
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    for name in ("holstein_shallow", "holstein_deep", "wave_barrier", "negf_domain_wall", "surrogate_rollout_L64",
                 "pretrained_rollout", "deep_pretrained_rollout", "wave_emulator_steps", "negf_learned_domain_wall"):
        assert (out / f"{name}.png").stat().st_size > 10_000
    assert len(read(str(out / "holstein_deep.extxyz"), ":")) == 21
    assert len(read(str(out / "negf_demo.extxyz"), ":")) > 1
    metrics = json.loads((out / "surrogate_metrics.json").read_text())
    assert metrics["rmse_total"] > 0 and len(metrics["rollout_rmse_total"]) == 99
    pretrained = json.loads((out / "pretrained_metrics.json").read_text())
    assert abs(pretrained["steps"] * pretrained["dt"] - 8) <= pretrained["dt"] / 2 and pretrained["L"] == 256
    assert 0 < pretrained["rmse_Q_last_over_amplitude"] < 0.5
    with h5py.File(out / "pretrained_rollout_exact.h5") as h:
        assert h["Q"].shape[-1] == 256
    deep = json.loads((out / "deep_pretrained_metrics.json").read_text())
    assert abs(deep["steps"] * deep["dt"] - 8) <= deep["dt"] / 2 and deep["L"] == 256
    assert all(0 <= deep[f"polaron_fraction_{who}"] <= 1 and deep[f"kinetic_{who}"] >= 0 for who in ("exact", "model"))
    assert all(deep[f"nucleation_time_{who}"] is None or 0 < deep[f"nucleation_time_{who}"] <= 8
               for who in ("exact", "model"))
    with h5py.File(out / "deep_pretrained_rollout.h5") as h:
        assert h["rho_band"].shape[-2:] == (256, 17) and h.attrs["conserve"] == "purity-band,energy-band-conditioned"
    wave = json.loads((out / "wave_emulator_steps_metrics.json").read_text())
    assert wave["steps"] == 80 and 0 < wave["groups"]["all"]["correlation"] <= 1
    with h5py.File(out / "surrogate_rollout_L64_exact.h5") as h:
        assert h["Q"].shape[-1] == 64
    rerun = cli(*args)  # everything is complete: nothing is redone, nothing fails
    assert rerun.returncode == 0, rerun.stderr
