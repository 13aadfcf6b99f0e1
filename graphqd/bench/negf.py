"""`graphqd bench negf`: cost of one exact NEGF force call versus lattice size, against the
brute-force real-axis quadrature at the accuracy the tests demand, measured in the same run.

The configuration is the initial state of the gating study: the checkerboard CDW
(Q0 = g / [2 (K - 4 kappa)]) under bias V at lead temperature T_e. For every size the exact
`negf.forces` call is timed. The quadrature (`negf.quadrature`, adaptive Gauss-Legendre with
one dense solve per energy node) is run to completion up to --quadrature-max-sites, with
its node count and its error against the exact density recorded; beyond that its cost is
estimated as (measured seconds per node at that size) x (nodes needed at the largest lattice
where it was run). Narrower resonances on larger lattices need more nodes, so the estimate
is a lower bound and the speed-up a conservative one.
"""
from __future__ import annotations

import argparse
import time

import torch

from graphqd.bench.common import best_time, device_description, format_table, synchronize
from graphqd.physics import negf

_FULL_CPU = ["10x8", "20x10", "40x30", "60x44", "80x60"]
_FULL_GPU = _FULL_CPU + ["120x90", "160x120"]
# even Ly: an odd periodic Ly frustrates the checkerboard into a line defect whose very narrow
# resonances make the quadrature (not the exact path) far slower
_QUICK = ["10x8", "20x10", "30x20"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", nargs="+", default=None,
                        help="lattices as LxxLy (default: 10x8 20x10 40x30 60x44 80x60 on the CPU, up to 160x120 on a GPU; "
                             "--quick: 10x8 20x10 30x20)")
    parser.add_argument("--bias", type=float, default=4.0, help="bias V (default 4.0)")
    parser.add_argument("--electron-temperature", type=float, default=0.0, help="lead temperature T_e")
    parser.add_argument("--gamma-lead", type=float, default=1.0)
    parser.add_argument("--tolerance", type=float, default=1e-6,
                        help="accuracy the quadrature must reach on the density (the tests demand 1e-6)")
    parser.add_argument("--quadrature-max-sites", type=int, default=None,
                        help="run the quadrature to completion up to this many sites (default 200, --quick 80)")
    parser.add_argument("--repeats", type=int, default=3)


def _parse_size(text: str):
    try:
        lx, ly = text.lower().split("x")
        return int(lx), int(ly)
    except ValueError:
        from graphqd.errors import GraphqdError
        raise GraphqdError(f"--sizes entries must look like 40x30 (Lx x Ly), got {text!r}.") from None


def _seconds_per_node(Q, params, device, n_nodes=32):
    """Time of one dense solve per energy node (the unit cost of the quadrature) at this size."""
    H = negf.hamiltonian(Q, params)
    N = params.n_sites
    eye = torch.eye(N, dtype=torch.complex128, device=device)
    left, _ = negf._lead_sites(params, device)
    energies = torch.linspace(-6.0, 6.0, n_nodes, dtype=torch.float64, device=device)

    def solve():
        for e in energies.split(8):
            torch.linalg.solve(e[:, None, None] * eye - H, eye[:, left])
    return best_time(solve, device, repeats=1) / n_nodes


def run(args) -> dict:
    device = torch.device(getattr(args, "device", None) or "cpu")
    quick = bool(getattr(args, "quick", False))
    sizes = args.sizes or (_QUICK if quick else (_FULL_GPU if device.type == "cuda" else _FULL_CPU))
    quad_max = args.quadrature_max_sites or (80 if quick else 200)
    tol = args.tolerance
    rows, reference_nodes = [], None
    for text in sizes:
        Lx, Ly = _parse_size(text)
        params = negf.NEGFParams(Lx=Lx, Ly=Ly, bias=args.bias, temperature=args.electron_temperature,
                                 gamma_lead=args.gamma_lead)
        Q = negf.checkerboard(params, device=device)
        repeats = 1 if quick or params.n_sites > 1200 else args.repeats
        t_exact = best_time(lambda: negf.forces(Q, params), device, repeats=repeats)
        n_exact = negf.density(Q, params)
        row = {"lattice": f"{Lx}x{Ly}", "sites": params.n_sites, "exact_s": t_exact}
        if params.n_sites <= quad_max:
            synchronize(device)
            start = time.perf_counter()
            # per-lead tolerance a tenth of the target so the summed error stays below it
            quad = negf.quadrature(Q, params, tol=0.1 * tol)
            synchronize(device)
            t_quad = time.perf_counter() - start
            error = float((quad.density - n_exact).abs().max())
            reference_nodes = quad.n_nodes
            row.update({"quad_s": t_quad, "quad_nodes": quad.n_nodes, "quad_error": error,
                        "quad_converged": error <= tol, "quad": "measured"})
        else:
            if reference_nodes is None:
                row.update({"quad": "not run"})
                rows.append(row)
                continue
            per_node = _seconds_per_node(Q, params, device)
            row.update({"quad_s": per_node * reference_nodes, "quad_nodes": reference_nodes,
                        "quad_s_per_node": per_node, "quad": "lower bound (measured s/node x nodes)"})
        row["speedup"] = row["quad_s"] / t_exact
        rows.append(row)
        print(f"  {row['lattice']}: exact {t_exact:.4g} s, quadrature {row.get('quad_s', float('nan')):.4g} s "
              f"({row['quad']})", flush=True)
    columns = ["lattice", "sites", "exact_s", "quad_s", "quad_nodes", "quad_error", "speedup", "quad"]
    print(format_table(rows, columns))
    return {"benchmark": "negf", "device": device_description(device), "quick": quick, "sizes": list(sizes),
            "bias": args.bias, "electron_temperature": args.electron_temperature, "gamma_lead": args.gamma_lead,
            "tolerance": tol, "configuration": "checkerboard CDW", "rows": rows}
