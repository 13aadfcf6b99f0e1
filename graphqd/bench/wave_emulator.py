"""`graphqd bench wave-emulator`: frames per second of wave emulators against the simulators.

All 37 cases of the test panel are advanced together, from their initial packets, by
(1) the paper's ground truth, space-splitting of the 3-point Laplacian with internal step
0.0005 (200 internal steps per frame of Δt = 0.1), (2) exact propagation of the same
discretisation (one eigen-decomposition per potential, then one matrix product per frame;
the decomposition is timed apart), and (3) each emulator, whole-grid windows and assembly
for every case in one batch. Emulators are timed with fresh weights (the cost does not
depend on them), or the trained model of `--checkpoint`. Ratios are against space-splitting
measured in the same run. With `--data STORE`, training windows of the paper's GRU drawn from
that store (batches of 128, as training draws them) are timed beside one GRU training step on them.
"""
from __future__ import annotations

import time

import torch

from graphqd.bench.common import best_time, device_description, format_table, synchronize
from graphqd.data.store import open_store
from graphqd.evaluate.wave_rollout import emulate_frames
from graphqd.models.normalization import Normalization
from graphqd.models.registry import build_model, validate_model_section
from graphqd.physics import schrodinger, wave_panel
from graphqd.runtime.surrogate import load_surrogate

DT, INTERNAL_DT = 0.1, 0.0005
MODELS = ("wave_linear", "wave_dense", "wave_conv", "wave_gru", "wave_kernel")


def add_arguments(parser) -> None:
    parser.add_argument("--frames", type=int, default=None, help="frames per timed rollout, set-up included "
                        "(default 100, 10 with --quick; space-splitting: 2, 1 with --quick)")
    parser.add_argument("--models", default=",".join(MODELS), help="emulators to time (registry names)")
    parser.add_argument("--data", default=None, help="wave store (e.g. the curriculum): also time the training "
                        "windows drawn from it (windows/s) beside a GRU training step")


def _fresh(name: str, device) -> torch.nn.Module:
    two = {"mean": [0.0, 0.0], "std": [1.0, 1.0], "step_std": [1.0, 1.0], "rate_std": [1.0, 1.0]}
    torch.manual_seed(0)
    return build_model(validate_model_section({"name": name}), Normalization({"psi": two}, DT)).to(device).eval()


def run(args) -> dict:
    device = torch.device(args.device)
    frames = args.frames or (10 if args.quick else 100)
    repeats = 1 if args.quick else 3
    x = schrodinger.grid(device=device)
    panel = wave_panel.panel_batch(wave_panel.test_panel(x.cpu()), x.cpu())
    psi0, V = panel["psi0"].to(device), panel["V"].to(device)
    cases = len(V)

    split_frames = 1 if args.quick else 2
    split = best_time(lambda: schrodinger.simulate(psi0, V, x, DT, split_frames, "fd3", "split", INTERNAL_DT),
                      device, repeats) / split_frames
    start = time.perf_counter()
    systems = [schrodinger.eigensystem(x, potential, "fd3") for potential in V]
    synchronize(device)
    decomposition = time.perf_counter() - start

    def exact():
        for k, system in enumerate(systems):
            schrodinger.propagate_eigen(psi0[k:k + 1], *system, DT, frames)
    propagation = best_time(exact, device, repeats) / frames
    rows = [{"method": "space-splitting (truth of the paper)", "frames_per_s": 1 / split, "speedup_vs_split": 1.0},
            {"method": f"exact fd3 (+{decomposition:.2f} s of decomposition)", "frames_per_s": 1 / propagation,
             "speedup_vs_split": split / propagation}]

    seeds = schrodinger.simulate(psi0, V, x, DT, 3, "fd3", "exact").cpu().numpy()     # 4 seed frames
    models = [(args.checkpoint, load_surrogate(args.checkpoint, device).model)] if getattr(args, "checkpoint", None) \
        else [(name, _fresh(name, device)) for name in args.models.split(",")]
    for name, model in models:
        emulate_frames(model, seeds, V.cpu().numpy(), 1, device)                          # warm-up
        seconds = best_time(lambda: emulate_frames(model, seeds, V.cpu().numpy(), frames, device), device,
                            repeats) / frames
        rows.append({"method": f"emulator {name} ({sum(p.numel() for p in model.parameters())} parameters)",
                     "frames_per_s": 1 / seconds, "speedup_vs_split": split / seconds})
    print(f"{cases} panel cases advanced together on {device_description(device)}, frames of Δt = {DT:g}:")
    print(format_table(rows, ["method", "frames_per_s", "speedup_vs_split"]))
    feeding = training_windows(args.data, device, repeats) if args.data else []
    return {"cases": cases, "frames": frames, "device_name": device_description(device),
            "decomposition_s": decomposition, "rows": rows, "training_windows": feeding}


def training_windows(path: str, device, repeats: int, batch: int = 128, batches: int = 10) -> list[dict]:
    """Windows per second of drawing training batches from `path`, and of a GRU training step on them."""
    from graphqd.data.wave import WaveWindows
    from graphqd.train.objective import RolloutObjective
    from graphqd.train.optimizer import build_optimizer, clip_gradients

    model = _fresh("wave_gru", device).train()
    with open_store(path, "wave") as handle:
        runs = range(min(64, int(handle["psi"].shape[0])))
    data = WaveWindows(path, runs, 1, 1, model.spec)
    sampler = data.batch_sampler(batch, seed=0)
    for b in range(3):  # the active runs enter the cache
        data.collate(sampler.batch(b))
    start = time.perf_counter()
    for b in range(3, 3 + batches):
        windows = data.collate(sampler.batch(b))
    loading = (time.perf_counter() - start) / batches
    objective = RolloutObjective(model, data.state_keys, state_at=data.state_at, scored=data.scored)
    # the paper's optimiser (gru_paper.yaml): biases not decayed, each gradient tensor clipped to norm 1
    optimizer = build_optimizer(model, {"lr": 1e-4, "betas": (0.9, 0.999), "weight_decay": 1e-2,
                                        "decay_biases": False})
    windows = windows.to(device)

    def step():
        loss, _ = objective(windows, 1)
        optimizer.zero_grad()
        loss.backward()
        clip_gradients(model.parameters(), 1.0, per_tensor=True)
        optimizer.step()
    training = best_time(step, device, repeats)
    rows = [{"stage": f"drawing windows from {path}", "windows_per_s": batch / loading},
            {"stage": "GRU training step (forward, backward, clipping, AdamW)", "windows_per_s": batch / training}]
    print(f"training windows (batches of {batch}):")
    print(format_table(rows, ["stage", "windows_per_s"]))
    return rows
