"""graphqd.runtime: what training and evaluation share, below both.

- `checkpoint` — the checkpoint format (atomic writes, the latest found by name, model export);
- `surrogate` — a trained model loaded from a checkpoint (`load_surrogate`);
- `rollout` — the autoregressive rollout loop;
- `systems` — the system registry that `simulate`, `train`, `rollout`, `evaluate` and `bench` dispatch on.
"""
