"""A trained force field as a drop-in for the exact NEGF force (`graphqd.physics.negf.force_field`).

    force = learned_force_field("pretrained/forcefield_graph.pt", params)
    trajectory = brownian.simulate(Q0, force, dt, gamma, temperature, n_steps)

The model gives the density n_i of every site at the lattice size and leads of `params`; the
force is rebuilt exactly, F_i = g(n_i − ½) − K Q_i − κ Σ_nn Q_j (arXiv 2201.02194). The current
I(t) is not learned: the callable returns NaN for it, and `graphqd simulate negf` computes it
exactly at the recorded snapshots when `force.current: exact` (affordable on small lattices only).
"""
from __future__ import annotations

import math

import torch

from graphqd.errors import GraphqdError
from graphqd.physics import negf
from graphqd.runtime.surrogate import Surrogate, load_surrogate

# store attributes of the training data that the learned density depends on, and the parameter of each
PHYSICS = {"hopping": "hopping", "g": "g", "gamma_lead": "gamma_lead", "periodic_y": "periodic_y",
           "lead_temperature": "temperature"}


def check_params(surrogate: Surrogate, params: negf.NEGFParams) -> None:
    """The electrons of `params` must be those the model was trained on (the lattice size, the
    bias and the lattice bath may differ)."""
    facts = surrogate.dataset.get("store", {})
    for attr, name in PHYSICS.items():
        if attr not in facts:
            continue
        trained, wanted = facts[attr], getattr(params, name)
        same = trained == wanted if isinstance(wanted, bool) else math.isclose(float(trained), float(wanted),
                                                                                rel_tol=1e-9, abs_tol=1e-12)
        if not same:
            raise GraphqdError(f"force field '{surrogate.path}' was trained with {attr} = {trained}, but the "
                               f"lattice asks for {wanted}; a learned density holds for its training physics only")


def learned_force_field(checkpoint: str | Surrogate, params: negf.NEGFParams, device: torch.device | str = "cpu"):
    """`brownian.simulate` force callable Q -> (F, {"n": n, "current": NaN}) of a trained force field.

    Shapes:
        Q (..., Ly, Lx) -> F, n (..., Ly, Lx) float64, current (...)
    """
    surrogate = checkpoint if isinstance(checkpoint, Surrogate) else load_surrogate(checkpoint, device, "negf")
    if surrogate.system != "negf" or getattr(surrogate.model, "system", None) != "negf":
        raise GraphqdError(f"'{surrogate.path}' holds a {surrogate.config['model']['name']} model, not a negf "
                           f"force field")
    check_params(surrogate, params)
    model, shape = surrogate.model, (params.Ly, params.Lx)
    dtype = next(model.parameters()).dtype
    model.check_lattice(shape)

    @torch.no_grad()
    def force(Q: torch.Tensor):
        if tuple(Q.shape[-2:]) != shape:
            raise GraphqdError(f"Q has lattice shape {tuple(Q.shape[-2:])}, the force field was built for {shape}")
        batch = Q.shape[:-2]
        count = math.prod(batch)
        mu_left = torch.full((count,), params.mu_left, dtype=dtype, device=Q.device)
        mu_right = torch.full((count,), params.mu_right, dtype=dtype, device=Q.device)
        n = model.density(Q.reshape(-1).to(dtype), mu_left, mu_right, shape).reshape(Q.shape).to(torch.float64)
        F = negf.forces(Q, params, n=n)
        return F, {"n": n, "current": torch.full(batch, math.nan, dtype=torch.float64, device=Q.device)}
    force.surrogate = surrogate
    return force
