"""`graphqd bench surrogate --checkpoint FORCE_FIELD`: one force evaluation and one Brownian step
with a learned NEGF force field against the exact NEGF force, from small to very large lattices.

The state is the checkerboard CDW with noise 0.3 at bias V (left electrode gated). For each
lattice the learned force callable (`graphqd.runtime.force_field`) is timed, and a Brownian
step with it (force, update, noise and recording; 10 steps timed together, 11 force calls). The
exact force (one eigen-decomposition of the N × N non-Hermitian h − iΓ/2, O(N³)) is timed up to
--exact-max-sites; beyond that its time is extrapolated as t(N) = t(N₁) (N/N₁)^p from the largest
measured lattice N₁, with p the exponent between the two largest measured lattices but at least 3
(the asymptotic law), and the row says "extrapolated". Ratios are exact / learned in the same run
and the same threads.
"""
from __future__ import annotations

import math

import torch

from graphqd.bench.common import best_time, device_description, format_table
from graphqd.errors import GraphqdError
from graphqd.physics import brownian, negf
from graphqd.runtime.force_field import learned_force_field
from graphqd.runtime.surrogate import load_surrogate

_FULL = ["20x14", "40x30", "100x75", "200x150", "400x300"]
_QUICK = ["20x14", "30x14", "60x28"]
STEPS = 10  # Brownian steps timed together (11 force calls: the one at the start is counted in)


def add_arguments(parser) -> None:
    parser.add_argument("--lattices", nargs="+", default=None, metavar="LXxLY",
                        help="negf force fields: lattices (default 20x14 40x30 100x75 200x150 400x300; "
                             "--quick: 20x14 30x14 60x28)")
    parser.add_argument("--bias", type=float, default=2.5, help="negf force fields: bias V (default 2.5)")
    parser.add_argument("--exact-max-sites", type=int, default=None,
                        help="negf force fields: time the exact force up to this many sites (default 1200, "
                             "--quick 420), extrapolate beyond")


def _lattice(text: str) -> tuple[int, int]:
    try:
        Lx, Ly = (int(v) for v in text.lower().split("x"))
        return Lx, Ly
    except ValueError:
        raise GraphqdError(f"--lattices entries must look like 40x30 (Lx x Ly), got {text!r}") from None


def run(args) -> dict:
    if not getattr(args, "checkpoint", None):
        raise GraphqdError("the negf force-field benchmark needs --checkpoint (a trained force field)")
    device = torch.device(args.device)
    surrogate = load_surrogate(args.checkpoint, device, "negf")
    facts = surrogate.dataset.get("store", {})
    lattices = [_lattice(t) for t in (args.lattices or (_QUICK if args.quick else _FULL))]
    exact_max = args.exact_max_sites or (420 if args.quick else 1200)
    repeats = 2 if args.quick else 3  # the first call builds the neighbour tables: never time it alone
    rows, measured = [], []
    for Lx, Ly in lattices:
        params = negf.NEGFParams(Lx=Lx, Ly=Ly, hopping=facts.get("hopping", 1.0), g=facts.get("g", 1.5),
                                 stiffness=facts.get("stiffness", 1.0), kappa=facts.get("kappa", 0.18),
                                 gamma_lead=facts.get("gamma_lead", 1.0), bias=args.bias, mu=0.5 * args.bias)
        generator = torch.Generator(device).manual_seed(0)
        Q = negf.checkerboard(params, device=device) + 0.3 * torch.randn(Ly, Lx, generator=generator,
                                                                          dtype=torch.float64, device=device)
        learned = learned_force_field(surrogate, params, device)
        force = best_time(lambda: learned(Q), device, repeats)
        step = best_time(lambda: brownian.simulate(Q, learned, 0.1, 0.2, 0.1, STEPS, generator=generator), device,
                         repeats) / STEPS
        row = {"lattice": f"{Lx}x{Ly}", "sites": Lx * Ly, "learned_force_s": force, "learned_step_s": step,
               "learned_us_per_site": 1e6 * force / (Lx * Ly)}
        if Lx * Ly <= exact_max:
            exact = best_time(lambda: negf.force_field(params)(Q), device, 1)
            measured.append((Lx * Ly, exact))
            row.update(exact_force_s=exact, exact="measured")
        elif len(measured) >= 2:
            (n0, t0), (n1, t1) = measured[-2:]
            power = max(3.0, math.log(t1 / t0) / math.log(n1 / n0))
            row.update(exact_force_s=t1 * (Lx * Ly / n1) ** power, exact=f"extrapolated (N^{power:.2f})")
        if "exact_force_s" in row:
            row["speedup"] = row["exact_force_s"] / force
        rows.append(row)
    print(f"learned force field {args.checkpoint} ({surrogate.config['model']['name']}, "
          f"{surrogate.parameter_count} parameters) against exact NEGF, V = {args.bias:g}, on "
          f"{device_description(device)}:")
    print(format_table(rows, ["lattice", "sites", "learned_force_s", "learned_step_s", "learned_us_per_site",
                              "exact_force_s", "exact", "speedup"]))
    return {"device_name": device_description(device), "checkpoint": str(args.checkpoint),
            "model": surrogate.config["model"]["name"], "parameters": surrogate.parameter_count,
            "bias": args.bias, "rows": rows}
