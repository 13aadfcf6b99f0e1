"""`graphqd train --config X.yaml [--set key=value ...] [--resume RUN_DIR]`: train a surrogate.

Multi-process: `torchrun --nproc_per_node N -m graphqd train --config X.yaml` (gloo on
the CPU, NCCL on GPUs); data.batch_size is the global batch.
"""
from __future__ import annotations

import os


from graphqd import config as cfg
from graphqd.errors import GraphqdError


def add_parser(subparsers):
    p = subparsers.add_parser("train", help="train a surrogate from a YAML config",
                              description="Train a surrogate (sections model, data, optim, schedule, train, log). "
                                          "The run directory (log.run_dir) gets config.yaml, checkpoints/ and "
                                          "TensorBoard events.")
    p.add_argument("--config", default=None, help="training YAML (optional with --resume: the run's config.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a dotted config key, e.g. --set optim.lr=3e-4 (repeatable)")
    p.add_argument("--resume", default=None, metavar="RUN_DIR",
                   help="continue RUN_DIR from its latest checkpoint (same config; train.steps may grow)")
    return p


def run(args) -> int:
    from graphqd.train import train
    if args.config is None and args.resume is None:
        raise GraphqdError("train needs --config FILE (or --resume RUN_DIR to continue a run)")
    path = args.config
    if path is None:
        path = os.path.join(args.resume, "config.yaml")
        if not os.path.isfile(path):
            raise GraphqdError(f"--resume '{args.resume}' is not a run directory (no config.yaml)")
    config = cfg.load(path, args.overrides)
    result = train(config, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        last = result.losses[max(result.losses)] if result.losses else float("nan")
        print(f"trained to step {result.step} in {result.seconds:.1f} s; last loss {last:.4g}; "
              f"run directory {result.run_dir}")
        if result.val_rollout_rmse:
            print(f"validation rollout error (total): step 1 {result.val_rollout_rmse[0]:.4g}, "
                  f"step {len(result.val_rollout_rmse)} {result.val_rollout_rmse[-1]:.4g}")
    return 0



