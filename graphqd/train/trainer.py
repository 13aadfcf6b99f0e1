"""One training loop for every registered model (DESIGN.md §6).

    run = train(config)                 # a resolved or raw config dict (see graphqd.train.config)
    run = train(config, resume=RUN_DIR) # continue from RUN_DIR's latest checkpoint

Each optimiser step draws the global batch of the dataset's `batch_sampler` (a function of the seed
and the step), adds input noise drawn the same way, rolls the model out for the
curriculum's length, and takes an AdamW step with gradient clipping and the warm-up/decay
schedule. The run directory holds config.yaml, checkpoints/ and TensorBoard events.
Resuming restores model, optimiser, scheduler, scaler, RNG states and the step, so the
next losses equal those of an uninterrupted run. A non-finite loss or gradient stops the
run with a GraphqdError before anything is written: the last checkpoint stays the last good one.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch_geometric.data import Batch
from tqdm import tqdm

from graphqd import config as cfg
from graphqd.data.splits import split_runs
from graphqd.errors import ConfigError, GraphqdError
from graphqd.models.normalization import Normalization
from graphqd.models.registry import build_model, model_class, validate_model_section
from graphqd.runtime import checkpoint as ckpt
from graphqd.runtime import conservation
from graphqd.runtime.rollout import rollout
from graphqd.runtime.systems import dataset_class, dataset_for, run_counts, store_paths
from graphqd.train import distributed
from graphqd.train.climate import ClimatePool, check_store
from graphqd.train.config import RESUMABLE_CHANGES, differences, resolve, rollout_length
from graphqd.train.gradient_surgery import project_auxiliary
from graphqd.train.objective import RolloutObjective, input_noise
from graphqd.train.optimizer import build_optimizer, clip_gradients
from graphqd.train.schedule import build_scheduler


@dataclass
class TrainResult:
    run_dir: str
    step: int
    losses: dict = field(default_factory=dict)        # step -> global mean loss of that step (this call)
    val_rollout_rmse: list = field(default_factory=list)  # last validation curve, per rollout step
    checkpoint: str = ""
    seconds: float = 0.0


def validation_runs(config: dict, runs: list[int], count: int) -> dict[str, list[int]]:
    """The first `count` validation runs of each store that has any, by store name (the file name
    without its extension): a training set of several chain lengths is validated at each."""
    ends = np.cumsum(run_counts(config)).tolist()
    chosen = {}
    for path, first, end in zip(store_paths(config), [0, *ends[:-1]], ends):
        mine = [r for r in runs if first <= r < end][:count]
        if mine:
            chosen.setdefault(os.path.splitext(os.path.basename(path))[0], []).extend(mine)
    return chosen


def data_splits(config: dict) -> dict:
    """Trajectories of each split, numbered over data.path and then data.extra_paths."""
    return split_runs(sum(run_counts(config)), config["data"]["split"], config["data"]["split_seed"])


def _write_config(path: str, config: dict) -> None:
    """config.yaml written atomically: a run killed while writing it keeps the old one."""
    with open(path + ".tmp", "w") as fh:
        fh.write(cfg.dump(config))
    os.replace(path + ".tmp", path)


def _prepare_run_dir(config: dict, resume: str | None, processes) -> tuple[dict, str, ckpt.Checkpoint | None]:
    if resume is None:
        run_dir = config["log"]["run_dir"]
        if os.path.exists(os.path.join(run_dir, "config.yaml")) or ckpt.list_checkpoints(run_dir):
            raise GraphqdError(f"run directory '{run_dir}' already holds a run; resume it with --resume {run_dir} "
                               f"or choose another log.run_dir")
        processes.barrier()  # every process has checked before the first one writes
        if processes.is_main:
            os.makedirs(run_dir, exist_ok=True)
            _write_config(os.path.join(run_dir, "config.yaml"), config)
        return config, run_dir, None
    run_dir = resume
    saved_path = os.path.join(run_dir, "config.yaml")
    if not os.path.isfile(saved_path):
        raise GraphqdError(f"--resume '{run_dir}' is not a run directory (no config.yaml)")
    with open(saved_path) as fh:
        saved = resolve(yaml.safe_load(fh))
    config = dict(config, log=dict(config["log"], run_dir=saved["log"]["run_dir"]))
    changed = [k for k in differences(saved, config) if k not in RESUMABLE_CHANGES]
    if changed:
        raise ConfigError(f"config key '{changed[0]}' differs from the run's config.yaml; a resumed run keeps its "
                          f"config (only {', '.join(RESUMABLE_CHANGES)} may change)")
    # a run killed before its first checkpoint starts again from step 0
    checkpoint = ckpt.load(run_dir) if ckpt.list_checkpoints(run_dir) else None
    if checkpoint is not None and checkpoint.step >= config["train"]["steps"]:
        raise GraphqdError(f"run '{run_dir}' already reached step {checkpoint.step} of train.steps = "
                           f"{config['train']['steps']}; raise train.steps (--set train.steps=N) to continue")
    processes.barrier()
    if processes.is_main:
        _write_config(saved_path, config)
    return config, run_dir, checkpoint


def initial_weights(config: dict, dt: float) -> ckpt.Checkpoint | None:
    """The checkpoint named by train.init_from, checked to fit this run's model and model step (a model
    class's GRAPH_KEYS, which change its graphs and not its weights, its REDUCING_KEYS, which drop or reshape
    networks and keep the others' weights, and its WRAPPING_KEYS, which change how the networks are applied, may
    differ)."""
    source = config["train"]["init_from"]
    if not source:
        if config["train"]["init_step"]:
            raise ConfigError("config key 'train.init_step' needs train.init_from (the checkpoint whose step it "
                              "continues)")
        return None
    initial = ckpt.load(source)
    # keys that shape only the graphs a model reads (e.g. the band radius of ρ) may change: the weights fit
    cls = model_class(config["model"]["name"])
    may_differ = {f"model.{key}" for name in ("GRAPH_KEYS", "REDUCING_KEYS", "WRAPPING_KEYS")
                  for key in getattr(cls, name, ())}
    changed = [key for key in differences(validate_model_section(initial.config["model"]), config["model"], "model.")
               if key not in may_differ]
    if changed:
        raise ConfigError(f"config key '{changed[0]}' differs from the model of train.init_from '{source}'; "
                          f"fine-tuning needs the same model config (keys {sorted(may_differ)} may differ)")
    if not math.isclose(initial.normalization["dt"], dt, rel_tol=1e-9):
        raise ConfigError(f"config key 'train.init_from': '{source}' was trained with model step "
                          f"{initial.normalization['dt']:g}, this run's data give {dt:g}")
    if config["train"]["init_step"] and initial.step >= config["train"]["steps"]:
        raise ConfigError(f"config key 'train.steps' ({config['train']['steps']}) must exceed the step of "
                          f"train.init_from '{source}' ({initial.step}) with train.init_step")
    return initial


def first_store(dataset):
    """The dataset of the first store of a mixed-store dataset (data.extra_paths), or the dataset itself."""
    return dataset.members[0] if hasattr(dataset, "members") else dataset


def constraint_maker(config: dict, dataset):
    """make(batch, initial) -> constraint of `train.conserve` for the dataset's chains, or None."""
    conserve = config["train"]["conserve"]
    if not conserve:
        return None
    member = first_store(dataset)
    return conservation.batch_projection(tuple(conserve), member.params, member.graphs)


def energy_maker(config: dict, dataset):
    """energy(batch, state) -> energy per site of each chain, for `train.energy_weight`, or None."""
    if not config["train"]["energy_weight"]:
        return None
    member = first_store(dataset)
    return conservation.batch_energy(member.params, member.graphs)


class Validator:
    """Rollouts from t = 0 of validation trajectories against the stored ones (with `train.conserve`'s
    projections)."""

    def __init__(self, config: dict, runs: list[int], device: torch.device):
        self.dataset = dataset_for(config, runs, 1, rates=False)
        frames = self.dataset.num_frames
        self.steps = min(config["log"]["val_rollout_steps"], (frames - 1) // self.dataset.step)
        self.batch = Batch.from_data_list(self.dataset.validation_samples(runs, self.steps)).to(device)
        self.constraint_for = constraint_maker(config, self.dataset)

    def __call__(self, model) -> tuple[list[float], list[dict]]:
        was_training = model.training
        model.eval()
        initial = self.dataset.state_at(self.batch, 0)
        constraint = self.constraint_for(self.batch, initial) if self.constraint_for else None
        states = rollout(model, self.batch, initial, self.steps, constraint=constraint)
        model.train(was_training)
        curve = [float(self.dataset.error(states[h], self.dataset.state_at(self.batch, h), self.batch)["total"].mean())
                 for h in range(1, self.steps + 1)]
        return curve, states


def rollout_figure(validator: Validator, states: list[dict], curve: list[float]):
    """Figure: rollout error per step, and the first state channel at the node of the first
    trajectory where it is largest at t = 0, truth vs model."""
    from matplotlib.figure import Figure
    figure = Figure(figsize=(8, 3))
    left, right = figure.subplots(1, 2)
    dataset, batch = validator.dataset, validator.batch
    times = [dataset.dt * h for h in range(len(states))]
    left.semilogy(times[1:], curve)
    left.set(xlabel="t", ylabel="rollout error (total)")
    key = dataset.state_keys[0]
    first = dataset.state_at(batch, 0)[key]
    first = first[:batch.num_nodes // batch.num_graphs] if first.size(0) == batch.num_nodes else first
    node = int(first.reshape(first.size(0), -1)[:, 0].abs().argmax())
    right.plot(times, [float(dataset.state_at(batch, h)[key][node].reshape(-1)[0]) for h in range(len(states))],
               label="truth")
    right.plot(times, [float(s[key][node].reshape(-1)[0]) for s in states], "--", label="model")
    right.set(xlabel="t", ylabel=f"{key} at node {node}")
    right.legend()
    figure.tight_layout()
    return figure


def train(config: dict, resume: str | None = None) -> TrainResult:
    """Train the model of `config`; see the module docstring."""
    config = resolve(config)
    if config["train"]["threads"]:
        torch.set_num_threads(config["train"]["threads"])
    processes = distributed.start(config["train"]["device"])
    try:
        return _train(config, resume, processes)
    finally:
        processes.close()


def _train(config: dict, resume: str | None, processes) -> TrainResult:
    began = time.perf_counter()
    # before anything is written: the data's system has surrogates and is the model's, and has the sample order asked
    system = dataset_class(config).system
    if config["data"]["order"] == "published" and (system != "wave" or config["data"]["extra_paths"]):
        raise ConfigError(f"config key 'data.order' is 'published', the published wave emulator's window stream, "
                          f"which needs one wave store; data.path holds {system} data"
                          + (" and data.extra_paths is set" if config["data"]["extra_paths"] else ""))
    if config["train"]["climate_weight"]:
        if system != "holstein":
            raise ConfigError(f"config key 'train.climate_weight' compares Holstein site statistics; data.path "
                              f"holds {system} data: leave it 0")
        climate = config["train"]
        check_store(config["data"]["path"], config["data"]["step"], climate["climate_burn_in"],
                    climate["climate_advance"], climate["climate_window"], climate["climate_statistics"])
    if config["train"]["energy_weight"] and system != "holstein":
        raise ConfigError(f"config key 'train.energy_weight' holds Holstein chains to their energy; data.path holds "
                          f"{system} data: leave it 0")
    if config["train"]["conserve"]:
        if system != "holstein":
            raise ConfigError(f"config key 'train.conserve' projects Holstein rollouts; data.path holds {system} "
                              f"data: leave it empty")
        conservation.check(config["train"]["conserve"], "train.conserve")
    config, run_dir, checkpoint = _prepare_run_dir(config, resume, processes)
    device, seed = processes.device, config["train"]["seed"]
    splits = data_splits(config)
    horizon = max(config["train"]["rollout_lengths"])
    train_set = dataset_for(config, splits["train"], horizon, rates=True)

    initial = initial_weights(config, train_set.dt) if checkpoint is None else None
    if checkpoint is not None or initial is not None:
        normalization = Normalization.from_dict((checkpoint or initial).normalization)
    else:
        normalization = Normalization(train_set.statistics(config["data"]["stats_runs"]), train_set.dt)
    if normalization.constants is None:  # also for a train.init_from checkpoint written before they were kept
        normalization.constants = getattr(first_store(train_set), "constants", None)
    torch.manual_seed(seed)
    model = build_model(config["model"], normalization).to(device)
    objective = RolloutObjective(model, train_set.state_keys, config["train"]["rate_weight"], train_set.state_at,
                                 config["train"]["checkpoint_steps"], config["train"]["loss_units"] == "raw",
                                 train_set.scored, constraint_maker(config, train_set), energy_maker(config, train_set),
                                 config["train"]["energy_weight"])
    if config["train"]["compile"]:
        objective.model = torch.compile(model)
    wrapped = DistributedDataParallel(objective) if processes.active else objective
    optim = config["optim"]
    optimizer = build_optimizer(model, optim)
    scheduler = build_scheduler(optimizer, config)
    amp = config["train"]["amp"]
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")
    step = 0
    if initial is not None:
        # a REDUCING_KEYS change drops networks or reshapes some: those weights count as missing
        own = model.state_dict()
        fitting = {k: v for k, v in initial.model.items() if k not in own or own[k].shape == v.shape}
        missing, _ = model.load_state_dict(fitting, strict=False)
        missing += [k for k in initial.model if k not in fitting]
        if missing:
            raise ConfigError(f"config key 'train.init_from': '{config['train']['init_from']}' has no weights for "
                              f"{missing[0]} of this run's model")
        if config["train"]["init_step"]:
            step = initial.step
            scheduler.last_epoch = step
            for group, base, factor in zip(optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
                group["lr"] = base * factor(step)
    if checkpoint is not None:
        model.load_state_dict(checkpoint.model)
        optimizer.load_state_dict(checkpoint.optimizer)
        scheduler.load_state_dict(checkpoint.scheduler)
        scheduler.lr_lambdas[0].total_steps = config["train"]["steps"]  # a raised train.steps stretches the decay
        if checkpoint.scaler:
            scaler.load_state_dict(checkpoint.scaler)
        ckpt.restore_rng(checkpoint.rng)
        step = checkpoint.step

    pool = None
    if config["train"]["climate_weight"]:
        climate = config["train"]
        pool = ClimatePool(first_store(train_set), climate["climate_chains"], climate["climate_advance"],
                           climate["climate_window"], climate["climate_burn_in"], constraint_maker(config, train_set),
                           device, climate["climate_statistics"])
        if checkpoint is not None and checkpoint.climate is not None:
            pool.load_state_dict(checkpoint.climate)

    draw = train_set.published_sampler if config["data"]["order"] == "published" else train_set.batch_sampler
    sampler = draw(config["data"]["batch_size"], seed, processes.rank, processes.world, first_batch=step)
    workers = config["data"]["num_workers"]
    loader = train_set.loader(sampler, workers)
    log = config["log"]
    validators = {name: Validator(config, runs, device)
                  for name, runs in validation_runs(config, splits["val"], log["val_runs"]).items()} \
        if processes.is_main else {}
    writer = None
    if processes.is_main:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(run_dir)
    dataset_facts = {"system": train_set.system, "stored_dt": train_set.stored_dt, "step": train_set.step,
                     "path": os.path.abspath(config["data"]["path"]),
                     **({"extra_paths": [os.path.abspath(p) for p in config["data"]["extra_paths"]]}
                        if config["data"]["extra_paths"] else {}),
                     "lattice": getattr(train_set, "L", None), "splits": splits, "store": train_set.store_facts()}

    def save() -> str:
        state = ckpt.Checkpoint(model=model.state_dict(), optimizer=optimizer.state_dict(),
                                scheduler=scheduler.state_dict(), step=step, rng=ckpt.rng_state(),
                                normalization=normalization.to_dict(), config=config, code_version=ckpt.code_version(),
                                dataset=dataset_facts, scaler=scaler.state_dict() if scaler.is_enabled() else None,
                                climate=pool.state_dict() if pool is not None else None)
        return ckpt.save(state, run_dir, log["keep_checkpoints"])

    result = TrainResult(run_dir, step)
    total = config["train"]["steps"]
    bar = tqdm(total=total, initial=step, unit="step", desc=f"train {config['model']['name']}",
               disable=None if (processes.is_main and log["progress"]) else True)
    model.train()
    parameters = [p for p in model.parameters() if p.requires_grad]
    batches = iter(loader)
    last_loss, last_val = float("nan"), float("nan")
    interval = {"count": 0, "loss": 0.0, "terms": {}}   # sums since the last logged step
    try:
        while step < total:
            batch = next(batches).to(device)
            length = rollout_length(config, step + 1)
            noise = input_noise(train_set.state_at(batch, 0), config["train"]["input_noise"], seed, step,
                                processes.rank, processes.world)
            autocast = torch.autocast(device.type, dtype=amp_dtype) if amp else contextlib.nullcontext()
            with autocast:
                loss, terms = wrapped(batch, length, noise)
                if pool is not None:
                    terms["loss_climate"] = pool.loss(model)
                    terms.update(pool.offsets())
            optimizer.zero_grad(set_to_none=True)
            if pool is not None and config["train"]["climate_gradient"] == "projected":
                def gradients(objective):
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(objective).backward()
                    return [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
                data, auxiliary = gradients(loss), gradients(terms["loss_climate"])
                for p, g in zip(parameters, project_auxiliary(data, auxiliary, config["train"]["climate_weight"])):
                    p.grad = g
                loss = loss + terms["loss_climate"]
            else:
                if pool is not None:
                    loss = loss + config["train"]["climate_weight"] * terms["loss_climate"]
                scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            grad_norm = clip_gradients(model.parameters(), optim["grad_clip"], optim["clip_per_tensor"])
            global_loss = float(processes.mean(loss.detach().float()))
            if not math.isfinite(global_loss) or (not scaler.is_enabled() and not math.isfinite(float(grad_norm))):
                what = "loss" if not math.isfinite(global_loss) else "gradient norm"
                kept = ckpt.list_checkpoints(run_dir)
                raise GraphqdError(f"training stopped at step {step + 1}: the {what} is not finite "
                                   f"({global_loss:.3g}); the last good checkpoint is "
                                   f"{kept[-1] if kept else 'none (none was written yet)'}; "
                                   f"lower optim.lr or set optim.grad_clip")
            lr = optimizer.param_groups[0]["lr"]  # the rate this step used
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            result.losses[step] = global_loss
            bar.update(1)
            interval["count"] += 1
            interval["loss"] += global_loss
            for name, value in terms.items():
                interval["terms"][name] = interval["terms"].get(name, 0.0) + value.detach().float()
            if step % log["every"] == 0 or step == total:
                # losses are means over the steps since the last log (a single batch's loss is heavy-tailed)
                count, last_loss = interval["count"], interval["loss"] / interval["count"]
                mean_terms = {name: float(processes.mean(value / count)) for name, value in interval["terms"].items()}
                interval = {"count": 0, "loss": 0.0, "terms": {}}
                if writer is not None:
                    writer.add_scalar("train/loss", last_loss, step)
                    for name, value in mean_terms.items():
                        writer.add_scalar(f"train/{name}", value, step)
                    writer.add_scalar("train/lr", lr, step)
                    writer.add_scalar("train/grad_norm", float(grad_norm), step)
                    writer.add_scalar("train/rollout_length", length, step)
                    bar.set_postfix(loss=f"{last_loss:.3g}")
            if validators and (step % log["val_every"] == 0 or step == total):
                curves = {}
                for name, validator in validators.items():
                    curve, states = validator(model)
                    curves[name] = curve
                    tag = "val" if len(validators) == 1 else f"val/{name}"
                    writer.add_scalar(f"{tag}/rollout_rmse", sum(curve) / len(curve), step)
                    for h in sorted({1, max(1, len(curve) // 2), len(curve)}):
                        writer.add_scalar(f"{tag}/rollout_rmse_step_{h:04d}", curve[h - 1], step)
                    if log["figures"]:
                        writer.add_figure(f"{tag}/rollout", rollout_figure(validator, states, curve), step)
                # several stores: each counts once, whatever its number of runs or sites
                steps = min(map(len, curves.values()))
                curve = [sum(c[h] for c in curves.values()) / len(curves) for h in range(steps)]
                result.val_rollout_rmse = curve
                last_val = sum(curve) / len(curve)
                if len(validators) > 1:
                    writer.add_scalar("val/rollout_rmse", last_val, step)
                if step == total:
                    for h, value in enumerate(curve, 1):
                        writer.add_scalar("val/rollout_rmse_curve", value, h)
            if processes.is_main and (step % log["checkpoint_every"] == 0 or step == total):
                result.checkpoint = save()
        if writer is not None:
            hparams = {"model": config["model"]["name"], "lr": optim["lr"], "batch_size": config["data"]["batch_size"],
                       "steps": total, "step": config["data"]["step"], "input_noise": config["train"]["input_noise"],
                       "max_rollout": horizon, "parameters": sum(p.numel() for p in model.parameters())}
            writer.add_hparams(hparams, {"hparam/train_loss": last_loss, "hparam/val_rollout_rmse": last_val},
                               run_name=".")
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    processes.barrier()
    result.step, result.seconds = step, time.perf_counter() - began
    return result
