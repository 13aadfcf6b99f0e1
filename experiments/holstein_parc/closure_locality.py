"""Can a local model predict what leaves its band? The closure question of the deep quench.

A band model of radius r drops ρ_{i,i+r+1}, the entries the commutator −i[h, ρ] feeds into its outermost
diagonal (`graphqd.physics.holstein_band`). A learned closure would predict them from the band nearby. This
script asks how much of ρ_{i,i+r+1} the band around sites i … i+r+1 determines, on exact deep quenches
(g 0 → 2, L sites, dense ρ) in the domain phase, for three predictors fitted on some runs and scored on the
others:

- the purity estimate: for a pure Slater state ρ² = ρ, so (1 − n_i − n_j) ρ_ij = Σ_k ρ_ik ρ_kj over all k;
  keeping the k inside the band (i < k < j = i + r + 1) gives ρ_ij ≈ S_ij / (1 − n_i − n_j), used where
  |1 − n_i − n_j| > 0.2;
- ridge regression (complex entries as real pairs) on every band entry of the r + 2 sites i … j and of
  the same block shifted by up to ±2 sites, plus S_ij;
- an MLP (two hidden layers of 128, SiLU) on the same inputs.

Score: mean |prediction − ρ_ij| / mean |ρ_ij| on the held-out runs (1: no better than dropping it).

    python experiments/holstein_parc/closure_locality.py --out experiments/holstein_parc/results/long_chains
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

from graphqd.physics import holstein


def band_block(rho: torch.Tensor, radius: int, shift: int) -> torch.Tensor:
    """Every band entry ρ_ab with i + shift ≤ a ≤ b ≤ i + shift + r + 1, b − a ≤ r, for each site i (..., L, m)."""
    L = rho.shape[-1]
    i = torch.arange(L)
    pairs = [(a, b) for a in range(radius + 2) for b in range(a, radius + 2) if b - a <= radius]
    return torch.stack([rho[..., (i + a + shift) % L, (i + b + shift) % L] for a, b in pairs], -1)


def purity_sum(rho: torch.Tensor, radius: int) -> torch.Tensor:
    """S_{i,i+r+1} = Σ_{k=i+1}^{i+r} ρ_ik ρ_{k,i+r+1} (..., L)."""
    L = rho.shape[-1]
    i = torch.arange(L)
    j = (i + radius + 1) % L
    return sum(rho[..., i, (i + k) % L] * rho[..., (i + k) % L, j] for k in range(1, radius + 1))


def relative_error(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """mean |prediction − target| / mean |target| over complex numbers held as (..., 2) real pairs."""
    return float((prediction - target).norm(dim=-1).mean() / target.norm(dim=-1).mean())


def fit_ridge(x: torch.Tensor, y: torch.Tensor, ridge: float = 1e-6) -> torch.Tensor:
    """Weights W minimising |x W − y|² + ridge·len(x)·|W|² (x: samples × features)."""
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    return torch.linalg.solve(x.T @ x + ridge * len(x) * eye, x.T @ y)


def fit_mlp(x: torch.Tensor, y: torch.Tensor, steps: int, seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, float]:
    """A 2-hidden-layer MLP on standardised inputs; returns it, the input scale and the output scale."""
    torch.manual_seed(seed)
    x, y = x.float(), y.float()
    scale, out_scale = x.std(0) + 1e-6, float(y.std())
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 128), torch.nn.SiLU(), torch.nn.Linear(128, 128),
                              torch.nn.SiLU(), torch.nn.Linear(128, 2))
    optimiser = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        batch = torch.randint(0, len(x), (256,))
        loss = ((net(x[batch] / scale) - y[batch] / out_scale) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return net, scale, out_scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lattice", type=int, default=64)
    parser.add_argument("--radii", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--runs", type=int, default=8, help="exact quenches; the last quarter are held out")
    parser.add_argument("--steps", type=int, default=2500, help="steps of 0.08 per run")
    parser.add_argument("--skip", type=int, default=1000, help="steps before the domain phase, not used")
    parser.add_argument("--every", type=int, default=10, help="snapshot spacing in steps")
    parser.add_argument("--mlp-steps", type=int, default=3000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    params = holstein.HolsteinParams(L=args.lattice, omega=0.4, stiffness=0.4, g=2.0)
    initial = holstein.noisy_ground_states(params.with_g(0.0), 1e-4, list(range(7100, 7100 + args.runs)))
    rho = holstein.simulate(initial, params, 0.08, args.steps).rho[:, args.skip::args.every]
    held_out = max(1, args.runs // 4)
    train, test = slice(0, args.runs - held_out), slice(args.runs - held_out, args.runs)
    i = torch.arange(args.lattice)
    n = rho.diagonal(dim1=-2, dim2=-1).real
    rows = []
    for radius in args.radii:
        j = (i + radius + 1) % args.lattice
        target = torch.view_as_real(rho[..., i, j])  # (runs, T, L, 2)
        S = purity_sum(rho, radius)
        denominator = 1 - n - n[..., j]
        purity = torch.where(denominator.abs() > 0.2, S / denominator, torch.zeros_like(S))
        block = torch.cat([*(band_block(rho, radius, w) for w in range(-2, 3)), S[..., None]], -1)
        features = torch.cat([block.real, block.imag], -1)
        x_train, y_train = features[train].flatten(0, -2), target[train].flatten(0, -2)
        x_test, y_test = features[test].flatten(0, -2), target[test].flatten(0, -2)
        weights = fit_ridge(x_train, y_train)
        net, scale, out_scale = fit_mlp(x_train, y_train, args.mlp_steps)
        with torch.no_grad():
            mlp_train = relative_error(net(x_train.float() / scale) * out_scale, y_train.float())
            mlp_test = relative_error(net(x_test.float() / scale) * out_scale, y_test.float())
        rows.append({
            "radius": radius, "features": features.shape[-1],
            "mean_abs_rho_r": float(rho[test][..., i, (i + radius) % args.lattice].abs().mean()),
            "mean_abs_rho_r_plus_1": float(target[test].norm(dim=-1).mean()),
            "purity_estimate": relative_error(torch.view_as_real(purity)[test], target[test]),
            "ridge_train": relative_error(x_train @ weights, y_train),
            "ridge_held_out": relative_error(x_test @ weights, y_test),
            "mlp_train": mlp_train, "mlp_held_out": mlp_test})
    lines = [f"ρ_(i,i+r+1) predicted from the band nearby: exact deep quenches g 0 → 2, L = {args.lattice}, "
             f"{args.runs} runs ({held_out} held out), steps {args.skip} … {args.steps} every {args.every}",
             "error = mean |prediction − ρ_(i,i+r+1)| / mean |ρ_(i,i+r+1)| (1: no better than dropping it)",
             f"{'r':>3} {'|ρ_r|':>8} {'|ρ_r+1|':>8} {'inputs':>6} {'purity':>7} {'ridge fit':>9} {'held out':>8} "
             f"{'MLP fit':>8} {'held out':>8}"]
    for row in rows:
        lines.append(f"{row['radius']:>3} {row['mean_abs_rho_r']:8.4f} {row['mean_abs_rho_r_plus_1']:8.4f} "
                     f"{row['features']:>6} {row['purity_estimate']:7.3f} {row['ridge_train']:9.3f} "
                     f"{row['ridge_held_out']:8.3f} {row['mlp_train']:8.3f} {row['mlp_held_out']:8.3f}")
    wall = time.perf_counter() - start
    lines.append(f"wall time {wall:.0f} s, 2-core CPU, 1 thread")
    print("\n".join(lines))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "closure_locality.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "closure_locality.json"), "w") as fh:
        json.dump({**{k: v for k, v in vars(args).items() if k != "out"}, "held_out_runs": held_out, "rows": rows,
                   "hardware": "2-core CPU, 1 thread", "wall_s": round(wall, 1)}, fh, indent=1)


if __name__ == "__main__":
    main()
