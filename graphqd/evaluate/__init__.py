"""graphqd.evaluate: metrics, invariant projections and plots of each system.

- `metrics` — RMSE, MAE, normalised correlation, autocorrelation C(τ), Wasserstein-1,
  invariant drift, valid prediction time;
- `holstein_metrics` / `holstein_rollout` — what `graphqd evaluate` / `graphqd rollout` run for
  Holstein surrogates (`graphqd.runtime.systems`);
- `conservation`, `isospectral`, `energy_shell` — projections of rollouts onto invariants;
- `holstein_plots`, `wave_plots`, `negf_plots`, `cdw_domains` — figures and CDW-domain observables.
"""
