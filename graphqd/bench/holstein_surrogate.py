"""`graphqd bench surrogate` for Holstein surrogates: throughput of the learning side.

The model is the reference `local_increment` (or, with `--checkpoint`, a trained model).
1. data loading: Holstein window samples per second through a PyG DataLoader (lazy HDF5);
2. training step: samples per second of forward + backward + AdamW of the reference model;
3. rollout: site-steps per second of one model step on band graphs of L = 8 … 4096, with
   the cost per step divided by L (flat when the cost is linear in L) and, for comparison,
   the exact Ehrenfest dynamics over the same Δt (RK4 substeps of 0.01, the recipes' substep, dense ρ:
   O(L²)) where it fits, and the exact equations with ρ on the model's own band (`holstein_band`, O(L·r), no
   closure: what the model has to beat); a model of k stored snapshots per step is compared with k exact steps.
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import torch
from torch_geometric.loader import DataLoader

from graphqd import config as cfg
from graphqd import keys as K
from graphqd.bench.common import best_time, device_description, format_table, synchronize
from graphqd.data.dataset import GlobalBatchSampler
from graphqd.data.holstein import HolsteinWindows
from graphqd.data.recipes import holstein as recipe
from graphqd.graphs import band_graph
from graphqd.graphs.holstein import HolsteinGraphSpec, graph_batch
from graphqd.models.normalization import Normalization
from graphqd.models.registry import build_model, model_class, validate_model_section
from graphqd.physics import holstein, holstein_band
from graphqd.runtime.surrogate import load_surrogate
from graphqd.train.objective import RolloutObjective

EXACT_SUBSTEP = 0.01  # RK4 substep of the Holstein recipes (dt 0.08 in 8 substeps)


def add_arguments(parser) -> None:
    parser.add_argument("--sizes", default="8,16,32,64,128,256,512,1024,2048,4096",
                        help="chain lengths of the rollout table")
    parser.add_argument("--width", type=int, default=16, help="hidden channels of the reference model")
    parser.add_argument("--band-radius", type=int, default=4, help="band radius of the model's ρ graph")
    parser.add_argument("--batch", type=int, default=32, help="samples per batch (loading and training)")
    parser.add_argument("--exact-max", type=int, default=1024, help="largest L of the exact-step comparison")


def _store(folder: str, quick: bool) -> str:
    path = os.path.join(folder, "bench.h5")
    spec = {"system": "holstein", "trajectories": 8 if quick else 32, "lattice": {"L": 8},
            "quench": {"g_initial": 0.0, "g_final": 2.0, "q_noise": 1.0e-4},
            "integrator": {"dt": 0.08, "substeps": 8, "t_final": 8.0 if quick else 40.0}}
    recipe.generate(cfg.validate(spec, recipe.SCHEMA), path, torch.device("cpu"))
    return path


def run(args) -> dict:
    device = torch.device(args.device)
    sizes = [8, 64, 512, 2048, 4096] if args.quick else [int(v) for v in args.sizes.split(",")]
    repeats = 3 if args.quick else 10
    trained = load_surrogate(args.checkpoint, device) if args.checkpoint else None
    section = validate_model_section(trained.config["model"] if trained else
                                     {"name": "local_increment", "width": args.width, "band_radius": args.band_radius})
    spec: HolsteinGraphSpec = model_class(section["name"]).graph_spec({k: v for k, v in section.items() if k != "name"})
    with tempfile.TemporaryDirectory() as folder:
        path = _store(folder, args.quick)
        dataset = HolsteinWindows(path, range(8), step=1, horizon=1, graphs=spec)
        loading = []
        for workers in ([0] if args.quick else [0, 2]):
            loader = DataLoader(dataset, batch_sampler=GlobalBatchSampler(len(dataset), args.batch, 0),
                                num_workers=workers)
            batches = iter(loader)
            next(batches)
            n = 5 if args.quick else 30
            start = time.perf_counter()
            for _ in range(n):
                next(batches)
            seconds = time.perf_counter() - start
            loading.append({"stage": f"data loading, {workers} workers", "device": "CPU",
                            "samples_per_s": n * args.batch / seconds, "ms_per_batch": 1e3 * seconds / n})
            del batches, loader
        torch.manual_seed(0)
        model = trained.model.train() if trained else \
            build_model(section, Normalization(dataset.statistics(), dataset.dt, dataset.constants)).to(device)
        objective = RolloutObjective(model, dataset.state_keys)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        batch = next(iter(DataLoader(dataset, batch_size=args.batch))).to(device)

        def train_step():
            loss, _ = objective(batch, 1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = best_time(train_step, device, repeats)
        loading.append({"stage": f"training step (batch {args.batch}, L = 8)", "device": device_description(device),
                        "samples_per_s": args.batch / seconds, "ms_per_batch": 1e3 * seconds})
    parameters = sum(p.numel() for p in model.parameters())
    print(f"{args.checkpoint or 'reference model'} {section['name']}: band radius {spec.band_radius}, "
          f"{parameters} parameters")
    print(format_table(loading, ["stage", "device", "samples_per_s", "ms_per_batch"]))

    model.eval()
    model_dt = model.normalization.dt
    substeps = max(1, round(model_dt / EXACT_SUBSTEP))
    rows = []
    for L in sizes:
        graph = band_graph(L, spec.band_radius, True, spec.kernel_radius)
        generator = torch.Generator().manual_seed(L)
        state = {K.Q: torch.randn(L, generator=generator), K.P: torch.randn(L, generator=generator),
                 K.RHO: 0.1 * torch.randn(graph.num_nodes, 2, generator=generator)}
        state = {k: v.to(device) for k, v in state.items()}
        graphs = graph_batch(L, True, spec, 1, device)
        with torch.no_grad():
            seconds = best_time(lambda: model(graphs, state), device, repeats)
        row = {"L": L, "band_nodes": graph.num_nodes, "ms_per_step": 1e3 * seconds,
               "site_steps_per_s": L / seconds, "us_per_site_step": 1e6 * seconds / L}
        exact_max = min(args.exact_max, 256 if args.quick else args.exact_max)
        if L <= exact_max:
            params = holstein.HolsteinParams(L=L, g=2.0)
            s0 = holstein.noisy_ground_states(params.with_g(0.0), 1e-4, [0], device)
            exact = best_time(lambda: holstein.simulate(s0, params, model_dt, 1, substeps), device,
                              1 if L > 256 else repeats)
            row.update(exact_ms_per_step=1e3 * exact, speedup_vs_exact=exact / seconds)
        radius = spec.band_radius
        if 2 * radius + 2 <= L:   # the exact equations on the model's own band, no closure (holstein_band)
            params = holstein.HolsteinParams(L=L, g=2.0)
            band = torch.zeros(1, L, 2 * radius + 1, dtype=torch.complex128, device=device)
            band[..., radius] = 0.5
            Q0, P0 = (x.to(torch.float64)[None] for x in (state[K.Q], state[K.P]))
            banded = best_time(lambda: holstein_band.simulate(Q0, P0, band, params, model_dt, 1, substeps), device,
                               repeats)
            row.update(band_exact_ms_per_step=1e3 * banded, speedup_vs_band_exact=banded / seconds)
        rows.append(row)
    big = [r for r in rows if r["L"] >= 256] or rows
    slope = float(np.polyfit(np.log([r["L"] for r in big]), np.log([r["ms_per_step"] for r in big]), 1)[0]) \
        if len(big) > 1 else float("nan")
    print(f"rollout, one model step of Δt = {model_dt:g} on {device_description(device)} (exact: the same Δt in "
          f"{substeps} RK4 substeps, dense ρ):")
    print(f"band exact: the same equations with ρ on the model's band (radius {spec.band_radius}), no closure")
    print(format_table(rows, ["L", "band_nodes", "ms_per_step", "site_steps_per_s", "us_per_site_step",
                              "exact_ms_per_step", "speedup_vs_exact", "band_exact_ms_per_step",
                              "speedup_vs_band_exact"]))
    print(f"cost per step ∝ L^{slope:.2f} for L >= {big[0]['L']} (1 = linear)")
    synchronize(device)
    return {"model": section["name"], "checkpoint": args.checkpoint, "width": section.get("width"),
            "band_radius": spec.band_radius, "model_dt": model_dt, "exact_substeps": substeps,
            "parameters": parameters, "device_name": device_description(device), "throughput": loading,
            "rollout": rows, "rollout_cost_exponent": slope}
