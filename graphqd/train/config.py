"""The training config: sections model, data, optim, schedule, train, log.

The `model` section is `name` (a registered model) plus that model's own keys; every
other section is fixed here. Unknown keys, wrong types and out-of-range values are
errors naming the dotted key (graphqd.config).
"""
from __future__ import annotations

from graphqd.config import Field, validate
from graphqd.errors import ConfigError
from graphqd.models.registry import model_schema
from graphqd.train.climate import STATISTICS

SECTIONS = {
    "data": {
        "path": Field("str", doc="the HDF5 store to train on"),
        "extra_paths": Field("strs", [], doc="further stores trained on with data.path (same system and model "
                             "step, lattice sizes may differ); their trajectories are numbered after data.path's"),
        "store_weights": Field("floats", [], minimum=0.0, doc="share of every batch drawn from each store, data.path "
                               "first, then each data.extra_paths (normalised; empty: in proportion to their samples)"),
        "step": Field("int", 1, minimum=1, doc="k: stored snapshots per model step (Δt = k × stored spacing)"),
        "start_stride": Field("int", 1, minimum=1, doc="use every n-th snapshot as a window start"),
        "split": Field("floats", [0.8, 0.1, 0.1], minimum=0.0, maximum=1.0,
                       doc="fractions of trajectories for train, val, test (split by trajectory)"),
        "split_seed": Field("int", 0, minimum=0, doc="seed of the permutation of trajectories cut into the splits"),
        "batch_size": Field("int", 16, minimum=1, doc="global batch: shared out over torchrun processes"),
        "num_workers": Field("int", 0, minimum=0, doc="DataLoader workers (each opens the store itself)"),
        "stats_runs": Field("int", 64, minimum=1, doc="training trajectories used for normalisation statistics"),
        "order": Field("str", "default", choices=["default", "published"],
                       doc="order of the training samples: the dataset's own, or (one wave store) the stream the "
                           "published wave emulator read, a few neighbouring runs of one fixed order per batch"),
    },
    "optim": {
        "lr": Field("float", 1.0e-3, positive=True, doc="AdamW learning rate (the peak, after warm-up)"),
        "weight_decay": Field("float", 1.0e-2, minimum=0.0, doc="AdamW (decoupled) weight decay"),
        "betas": Field("floats", [0.9, 0.999], minimum=0.0, maximum=1.0, doc="AdamW [β1, β2]"),
        "grad_clip": Field("float", 1.0, minimum=0.0, doc="max global gradient norm; 0 turns clipping off"),
        "clip_per_tensor": Field("bool", False, doc="clip each parameter's gradient to norm grad_clip on its own "
                                                    "(the published wave emulator) instead of the global norm"),
        "decay_biases": Field("bool", True, doc="weight decay on biases too; false exempts parameters named *bias* "
                                                "(the published wave emulator)"),
    },
    "schedule": {
        "warmup_steps": Field("int", 0, minimum=0, doc="linear warm-up from lr/warmup_steps to lr"),
        "decay": Field("str", "cosine", choices=["cosine", "linear", "constant"],
                       doc="lr after warm-up: cosine or linear decay to min_lr_ratio × lr at train.steps, or "
                           "constant"),
        "min_lr_ratio": Field("float", 0.0, minimum=0.0, maximum=1.0, doc="final lr as a fraction of optim.lr"),
    },
    "train": {
        "steps": Field("int", minimum=1, doc="optimiser steps in total (a resumed run continues to it)"),
        "seed": Field("int", 0, minimum=0, doc="seed of the weight initialisation and of the batch order"),
        "device": Field("str", "auto", choices=["auto", "cpu", "cuda"], doc="auto: cuda when available, else cpu"),
        "threads": Field("int", 1, minimum=0, doc="CPU threads per process (0: torch's default); the small "
                         "tensors of lattice surrogates train fastest on 1, and extra threads contend on busy cores"),
        "rollout_lengths": Field("ints", [1], minimum=1, doc="model steps per training rollout, per stage"),
        "curriculum": Field("ints", [0], minimum=0, doc="optimiser step at which each rollout length starts"),
        "input_noise": Field("float", 0.0, minimum=0.0, doc="std of noise on the input state, in units of the std "
                             "of one step's increment"),
        "conserve": Field("strs", [], doc="Holstein: invariants projected onto after every step of the training "
                          "and validation rollouts, as by 'graphqd rollout --conserve' (e.g. [purity-band, "
                          "energy-band]), kept at their values in the stored first state; the loss sees through "
                          "the projections"),
        "energy_weight": Field("float", 0.0, minimum=0.0, doc="Holstein: weight of the change of each chain's "
                               "energy per site across every raw model step of the training rollouts, before "
                               "train.conserve's projections (squared, hopping units; the exact step keeps it; "
                               "graphqd.train.objective); 0 turns it off"),
        "climate_weight": Field("float", 0.0, minimum=0.0, doc="Holstein: weight of the climate loss "
                                "(graphqd.train.climate), site statistics (climate_statistics) of a pool of chains "
                                "run under the model for as long as data.path's trajectories last, against its "
                                "exact ensemble's; 0 turns it off"),
        "climate_statistics": Field("strs", ["kinetic", "potential"], choices=list(STATISTICS),
                                    doc="site means the climate loss compares: kinetic P²/2m, potential KQ²/2, "
                                        "coupling −gQ(n − ½), occupation (n − ½)², unbound exp(−Q²/2w²) with "
                                        "w = g/(8K)"),
        "climate_gradient": Field("str", "sum", choices=["sum", "projected"],
                                  doc="how the climate gradient joins the data gradient: 'sum' adds climate_weight "
                                      "times it; 'projected' drops its part that raises the data loss and caps "
                                      "its norm at climate_weight times the data gradient's "
                                      "(graphqd.train.gradient_surgery)"),
        "climate_chains": Field("int", 64, minimum=2, doc="chains of data.path in the climate pool"),
        "climate_advance": Field("int", 32, minimum=0, doc="model steps each climate chain advances per optimiser "
                                 "step without gradients"),
        "climate_window": Field("int", 8, minimum=1, doc="model steps each climate chain then advances with "
                                "gradients (the loss compares their lattice energies)"),
        "climate_burn_in": Field("int", 1000, minimum=0, doc="model steps from t = 0 before the climate pool's "
                                 "first comparison (the timing of a quench's nucleation is chaotic)"),
        "rate_weight": Field("float", 1.0, minimum=0.0, doc="weight of the derivative loss (models returning rates)"),
        "loss_units": Field("str", "normalized", choices=["normalized", "raw"],
                            doc="normalized: errors in units of the std of one step's increment (and of du/dt); "
                                "raw: the plain MSE of the state in its own units, as the published wave emulator "
                                "trains (Adam's ε and the clipping threshold then act on gradients of that size)"),
        "checkpoint_steps": Field("bool", False, doc="recompute each rollout step's activations in the backward "
                                  "pass (torch.utils.checkpoint): the memory of one model step instead of the whole "
                                  "rollout, for about one more forward pass; same loss and gradients"),
        "amp": Field("bool", False, doc="automatic mixed precision (float16 on CUDA, bfloat16 on CPU)"),
        "compile": Field("bool", False, doc="torch.compile the model"),
        "init_from": Field("str", "", doc="fine-tune: start from the weights and normalisation of this checkpoint "
                           "(file or run directory; same model step and model config, except band_radius and, "
                           "from a learned lattice step to phonons: exact, phonons and onsite_phonons), with a fresh "
                           "optimiser"),
        "init_step": Field("bool", False, doc="with init_from: continue at that checkpoint's step, so the "
                           "learning-rate schedule and the batch order go on from where it stopped (the optimiser "
                           "moments restart); train.steps counts from 0 and must exceed that step"),
    },
    "log": {
        "run_dir": Field("str", doc="run directory: config.yaml, checkpoints/, TensorBoard events"),
        "every": Field("int", 10, minimum=1, doc="scalar logging interval in steps"),
        "val_every": Field("int", 100, minimum=1, doc="validation-rollout interval in steps (and at the end)"),
        "val_rollout_steps": Field("int", 50, minimum=1, doc="model steps per validation rollout (at most what "
                                                             "the stored trajectories hold)"),
        "val_runs": Field("int", 4, minimum=1, doc="validation trajectories rolled out from each store (data.path "
                                                   "and every data.extra_paths); with several stores each is "
                                                   "logged under val/<store name>/ and val/rollout_rmse is their "
                                                   "mean"),
        "checkpoint_every": Field("int", 100, minimum=1, doc="checkpoint interval in steps (and at the end)"),
        "keep_checkpoints": Field("int", 3, minimum=1, doc="newest checkpoints kept; older ones are deleted"),
        "figures": Field("bool", True, doc="rollout figures in TensorBoard"),
        "progress": Field("bool", True, doc="tqdm progress bar"),
    },
}

# keys that may differ between a run's config.yaml and the config it is resumed with
RESUMABLE_CHANGES = ("train.steps", "train.device", "train.threads", "train.checkpoint_steps", "data.num_workers",
                     "log.every", "log.val_every",
                     "log.val_rollout_steps", "log.val_runs", "log.checkpoint_every", "log.keep_checkpoints",
                     "log.figures", "log.progress")


def resolve(config: dict) -> dict:
    """Validate a training config and fill in defaults."""
    if not isinstance(config, dict):
        raise ConfigError("a training config must be a mapping with sections model, data, optim, schedule, train, log")
    schema = {"model": model_schema(config.get("model", {})), **SECTIONS}
    resolved = validate(config, schema)
    train = resolved["train"]
    lengths, starts = train["rollout_lengths"], train["curriculum"]
    if len(lengths) != len(starts) or starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
        raise ConfigError(f"config key 'train.curriculum' must hold one increasing start step per entry of "
                          f"'train.rollout_lengths', beginning with 0; got {starts} for lengths {lengths}")
    weights, stores = resolved["data"]["store_weights"], 1 + len(resolved["data"]["extra_paths"])
    if weights and (len(weights) != stores or not sum(weights) > 0):
        raise ConfigError(f"config key 'data.store_weights' must hold one weight per store ({stores}: data.path and "
                          f"data.extra_paths), not all zero; got {weights}")
    if len(resolved["optim"]["betas"]) != 2:
        raise ConfigError(f"config key 'optim.betas' must be two numbers in [0, 1], got {resolved['optim']['betas']}")
    return resolved


def rollout_length(config: dict, step: int) -> int:
    """Rollout length of optimiser step `step` (1-based) under the curriculum."""
    train = config["train"]
    length = train["rollout_lengths"][0]
    for start, value in zip(train["curriculum"], train["rollout_lengths"]):
        if step > start:
            length = value
    return length


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two resolved configs."""
    keys = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += differences(a, b, f"{prefix}{name}.")
        elif a != b:
            keys.append(prefix + name)
    return keys
