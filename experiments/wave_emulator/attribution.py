"""Attribution (experiment 4): what each emulator's step reads, and how far it is from complex-linear.

For every emulator given as NAME=CHECKPOINT, the gradient of one new grid point ψ'_c (the
assembled step, as rolled out) with respect to every input ψ_{c+s} of every frame it reads,
averaged over 200 (case, frame, point) samples of the panel's barrier cases (points drawn with
weight |ψ_c|², frames 4 … 400). A map that is complex-linear, ψ' = Σ K_s ψ_{c+s}, obeys the
Cauchy–Riemann equations ∂Re ψ'/∂Re ψ = ∂Im ψ'/∂Im ψ and ∂Re ψ'/∂Im ψ = −∂Im ψ'/∂Re ψ; the
residuals reported are, on the averaged gradients A,

    r₁ = ‖A_rr − A_ii‖ / ‖(A_rr + A_ii)/2‖,    r₂ = ‖A_ri + A_ir‖ / ‖(A_ri − A_ir)/2‖,

the norms over offsets s = −23 … 23 and frames (the published GRU: 0.16 and 0.30, Yao et al.,
Front. Mater. 9:1060744 (2023), measured from its weights).

    python experiments/wave_emulator/attribution.py gru=runs/wave_gru kernel=runs/wave_strang

Writes results/attribution.{json,png} (the averaged last-frame gradients against s).
"""
from __future__ import annotations

import argparse
import json
import os
import platform

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch_geometric.data import Batch  # noqa: E402

from graphqd import keys as K  # noqa: E402
from graphqd.data.wave import WaveSample  # noqa: E402
from graphqd.graphs.wave import window_fields  # noqa: E402
from graphqd.runtime.surrogate import load_surrogate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REACH = 23  # offsets read: the widest model's window half-width
PARTS = {"rr": (0, 0), "ri": (0, 1), "ir": (1, 0), "ii": (1, 1)}  # ∂(output part)/∂(input part)


def samples(panel: str, count: int, seed: int = 0) -> list[tuple[int, int, int]]:
    """(case, frame, point) triples over the barrier cases, points drawn with weight |ψ|²."""
    rng = np.random.default_rng(seed)
    with h5py.File(panel, "r") as handle:
        kinds = handle["kind"].asstr()[:]
        cases = [i for i, kind in enumerate(kinds) if kind != "free"]
        chosen = []
        for _ in range(count):
            case, frame = int(rng.choice(cases)), int(rng.integers(4, 401))
            density = np.abs(handle["psi"][case, frame]) ** 2
            chosen.append((case, frame, int(rng.choice(len(density), p=density / density.sum()))))
    return chosen


def gradients(model, panel: str, chosen) -> np.ndarray:
    """Mean ∂ψ'_c/∂ψ_{c+s} per part: (4 parts, frames, 2·REACH + 1)."""
    spec, total = model.spec, None
    with h5py.File(panel, "r") as handle:
        for case, frame, point in chosen:
            history = handle["psi"][case, frame - spec.frames + 1:frame + 1]          # (frames, points)
            points = history.shape[1]
            psi = torch.from_numpy(np.stack([history.real, history.imag], -1)).double().transpose(0, 1)
            V = torch.from_numpy(handle["V"][case]).double()
            psi = psi.roll(points // 2 - point, 0).contiguous().requires_grad_(True)   # the point to the centre
            sample = WaveSample(num_nodes=points, **{K.PSI: psi, K.POTENTIAL: V.roll(points // 2 - point, 0)},
                                **window_fields(points, spec, periodic=True))
            batch = Batch.from_data_list([sample])
            out = model(batch, {K.PSI: batch[K.PSI]})[K.PSI][points // 2, -1]
            rows = []
            for part in range(2):
                (grad,) = torch.autograd.grad(out[part], psi, retain_graph=part == 0)
                rows.append(grad[points // 2 - REACH:points // 2 + REACH + 1].permute(1, 2, 0))  # (frames, 2, offsets)
            jacobian = torch.stack([rows[o][:, i] for o, i in PARTS.values()]).numpy()
            total = jacobian if total is None else total + jacobian
    return total / len(chosen)


def cauchy_riemann(mean: np.ndarray) -> tuple[float, float]:
    rr, ri, ir, ii = mean
    return (float(np.linalg.norm(rr - ii) / np.linalg.norm((rr + ii) / 2)),
            float(np.linalg.norm(ri + ir) / np.linalg.norm((ri - ir) / 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="NAME=CHECKPOINT")
    parser.add_argument("--panel", default="data/wave_panel.h5")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    chosen = samples(args.panel, args.samples)
    results, figure = {}, plt.figure(figsize=(11, 4), constrained_layout=True)
    axes = figure.subplots(1, 2, sharex=True)
    offsets = np.arange(-REACH, REACH + 1)
    for entry in args.models:
        name, path = entry.split("=", 1)
        surrogate = load_surrogate(path)
        model = surrogate.model.double()
        mean = gradients(model, args.panel, chosen)
        r1, r2 = cauchy_riemann(mean)
        results[name] = {"checkpoint": path, "step": surrogate.step, "cauchy_riemann_r1": r1,
                         "cauchy_riemann_r2": r2, "mean_gradient": {p: mean[j].tolist() for j, p in enumerate(PARTS)}}
        print(f"{name:10s} r1 {r1:.3g}  r2 {r2:.3g}")
        line, = axes[0].plot(offsets, mean[0, -1], label=f"{name} ∂Re/∂Re")
        axes[0].plot(offsets, mean[3, -1], ":", color=line.get_color(), label=f"{name} ∂Im/∂Im")
        axes[1].plot(offsets, mean[2, -1], color=line.get_color(), label=f"{name} ∂Im/∂Re")
        axes[1].plot(offsets, -mean[1, -1], ":", color=line.get_color(), label=f"{name} −∂Re/∂Im")
    for axis in axes:
        axis.set(xlabel="offset s of the input point (last frame)", ylabel="mean gradient")
        axis.legend(fontsize=7)
    figure.suptitle(f"gradients of ψ'_c, mean over {args.samples} barrier-case samples")
    figure.savefig(os.path.join(args.out_dir, "attribution.png"), dpi=120)
    with open(os.path.join(args.out_dir, "attribution.json"), "w") as fh:
        json.dump({"device": f"CPU ({platform.machine()}, 1 thread)", "samples": args.samples,
                   "published_gru_residuals": [0.16, 0.30], "models": results}, fh)


if __name__ == "__main__":
    main()
