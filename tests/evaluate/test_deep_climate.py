"""experiments/holstein_parc/deep_long_chains.py: the climate of an ensemble made a shard at a time equals the
climate of the whole; its statistics equal the direct ones (autocorrelation, W1, quantiles); it survives a file."""
import importlib.util
import os

import numpy as np
import yaml

from conftest import TINY_HOLSTEIN
from graphqd.evaluate import metrics

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = importlib.util.spec_from_file_location(
    "deep_long_chains", os.path.join(ROOT, "experiments", "holstein_parc", "deep_long_chains.py"))
deep_long_chains = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(deep_long_chains)
BURN_IN, MAX_LAG = 5, 6


def _stores(tmp_path, cli):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(dict(TINY_HOLSTEIN, trajectories=4,
                                          integrator=dict(TINY_HOLSTEIN["integrator"], t_final=2.4))))
    paths = [tmp_path / "whole.h5", tmp_path / "s0.h5", tmp_path / "s1.h5"]
    for path, shard in zip(paths, ([], ["--shard", "0/2"], ["--shard", "1/2"])):
        assert cli("simulate", "holstein", "--config", recipe, "--out", path, *shard).returncode == 0
    return [str(p) for p in paths]


def test_shard_climates_add_up_to_the_whole_and_give_the_direct_statistics(tmp_path, cli):
    whole, s0, s1 = _stores(tmp_path, cli)
    direct = deep_long_chains.read(whole)
    c = deep_long_chains.load_climate(whole, None, BURN_IN, MAX_LAG)
    deep_long_chains.save_climate(tmp_path / "s1.npz", deep_long_chains.ensemble_climate(
        deep_long_chains.read(s1), BURN_IN, MAX_LAG))
    merged = deep_long_chains.load_climate(f"{s0},{tmp_path / 's1.npz'}", None, BURN_IN, MAX_LAG)
    stats, merged_stats = deep_long_chains.statistics(c), deep_long_chains.statistics(merged)
    assert merged["runs"] == c["runs"] == 4
    for key in ("C_phi_Q", "C_phi_rho", "Q_cdf", "polaron_history", "kinetic_history"):
        np.testing.assert_allclose(merged_stats[key], stats[key], rtol=1e-6, atol=1e-12, err_msg=key)
    assert merged_stats["occupation_q10"] == stats["occupation_q10"]

    sign = (-1.0) ** np.arange(direct["Q"].shape[-1])
    phi_Q = (direct["Q"][:, BURN_IN:].astype(np.float64) * sign).mean(-1)
    np.testing.assert_allclose(stats["C_phi_Q"], metrics.autocorrelation(phi_Q, MAX_LAG), atol=1e-12)
    q = direct["Q"][:, BURN_IN:]
    assert abs(stats["Q_std"] - q.std()) < 1e-6 * q.std()
    assert abs(stats["occupation_q10"] - np.quantile(direct["n"][:, BURN_IN:], 0.1)) <= 1e-4
    # W1 from the histograms of two ensembles of deep-quench-like spread (std 1.5; bins of 1e-3) against the
    # empirical distance
    rng = np.random.default_rng(0)
    base = dict(direct, Q=rng.normal(0.0, 1.5, direct["Q"].shape).astype(np.float32))
    shifted = dict(base, Q=base["Q"] * 1.1 + 0.05)
    row = deep_long_chains.climate(deep_long_chains.ensemble_climate(shifted, BURN_IN, MAX_LAG),
                                   deep_long_chains.ensemble_climate(base, BURN_IN, MAX_LAG))
    q = base["Q"][:, BURN_IN:]
    exact_w1 = metrics.wasserstein1(shifted["Q"][:, BURN_IN:], q) / q.std()
    assert 0.05 < exact_w1 < 0.2 and abs(row["wasserstein_Q_over_std"] - exact_w1) < 1e-3
