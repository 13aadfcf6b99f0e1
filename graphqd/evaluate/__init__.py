"""graphqd.evaluate: rollouts of trained surrogates and their metrics.

- `rollout` — load a checkpoint (`load_surrogate`) and roll a model out step by step;
- `metrics` — RMSE, MAE, normalised correlation, autocorrelation C(τ), Wasserstein-1,
  invariant drift, valid prediction time;
- `holstein_metrics` / `holstein_rollout` — `graphqd evaluate` / `graphqd rollout`;
- `holstein_plots`, `cdw_domains` — plots and CDW-domain observables.
"""
