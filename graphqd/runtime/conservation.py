"""Projections of Holstein surrogate rollouts onto invariants of the exact Ehrenfest dynamics.

A learned step conserves what its architecture builds in (Hermiticity and trace of ρ with
`hermitian_projection`) and nothing else. `rollout(..., constraint=...)` can map every new
state back onto the invariants the exact dynamics keeps, per chain, at their values in the
initial state: "spectrum", the eigenvalues of ρ (`graphqd.runtime.isospectral`), or "purity-band", half a
purification step on the model's band with the electron number kept (`graphqd.runtime.band_purity`), and then the
total energy, either through (Q, P) ("energy", `EnergyShell`), through a unitary rotation of ρ ("energy-rho",
`ElectronicShell`, which needs the whole ρ) or through that rotation to second order with products
truncated to the model's band ("energy-band", `BandElectronicShell`, O(L · r²) for long chains), or that with the
lattice moved only where the move is well conditioned ("energy-band-conditioned", at most `MAX_RELAXATION` of the
way to its minimum), not where it rests near its minimum (the free Fermi sea of a deep quench).
Used by `graphqd rollout --conserve …` and `graphqd evaluate --conserve …`, and, through
`batch_projection`, inside the training rollouts (`train.conserve`), so that a model learns the step that its
constrained rollouts take.
"""
from __future__ import annotations

import dataclasses
import functools

import torch

from graphqd import keys as K
from graphqd.errors import GraphqdError
from graphqd.graphs.holstein import graph_fields
from graphqd.physics import holstein
from graphqd.runtime.band_purity import BandPurity
from graphqd.runtime.energy_shell import MAX_RELAXATION, BandElectronicShell, ElectronicShell, EnergyShell
from graphqd.runtime.isospectral import Isospectral

# in the order they are projected onto
INVARIANTS = ("spectrum", "purity-band", "energy", "energy-rho", "energy-band", "energy-band-conditioned")
HELP = ("'spectrum' (eigenvalues of rho; whole-matrix band only), 'purity-band' (half a purification step "
        "towards occupations 0, 1/2, 1 on the model's band), 'energy' (through Q, P), 'energy-rho' (by a unitary "
        "rotation of rho; whole-matrix band only), 'energy-band' (that rotation to second order on the model's "
        "band; any chain length) or 'energy-band-conditioned' (the same, the lattice moved only where that is well "
        f"conditioned: at most {MAX_RELAXATION:g} of the way to its minimum)")


def check(conserve, what: str = "--conserve") -> list[str]:
    """The energy invariant named in `conserve` (a list of at most one); an error names an unknown invariant or
    two ways to keep the energy."""
    unknown = sorted(set(conserve) - set(INVARIANTS))
    if unknown:
        raise GraphqdError(f"{what} {unknown[0]} is not known; allowed: {', '.join(INVARIANTS)}")
    energies = [c for c in INVARIANTS if c.startswith("energy") and c in conserve]
    if len(energies) > 1:
        raise GraphqdError(f"{what} {f' and {what} '.join(energies)} are ways to keep the same energy; give one")
    return energies


def invariant_projection(conserve, params: holstein.HolsteinParams, spec):
    """A maker of `rollout` constraints that keep each chain's `conserve` invariants at their values
    in a given initial state (spectrum or band purity of ρ first, then the energy); checked here,
    before anything runs. Returns make(initial) -> constraint or None."""
    energies = check(conserve)
    periodic = params.boundary == "periodic"
    projections = []  # (projection, the invariant it keeps), in order
    if "spectrum" in conserve:
        iso = Isospectral(params.n_sites, periodic, spec)
        projections.append((iso, iso.spectrum))
    if "purity-band" in conserve:
        purity = BandPurity(params.n_sites, periodic, spec)
        projections.append((purity, purity.number))
    if energies:
        shell = {"energy": EnergyShell, "energy-rho": ElectronicShell, "energy-band": BandElectronicShell,
                 "energy-band-conditioned": functools.partial(BandElectronicShell, max_relaxation=MAX_RELAXATION),
                 }[energies[0]](params, spec)
        projections.append((shell, shell.energy))

    def make(initial: dict):
        if not projections:
            return None
        values = [invariant(initial) for _, invariant in projections]

        def constraint(state: dict) -> dict:
            for (projection, _), value in zip(projections, values):
                state = projection.project(state, value)
            return state
        return constraint
    return make


def _length_groups(batch, periodic: bool, spec) -> list[tuple[int, torch.Tensor, torch.Tensor]]:
    """(L, site indices, band-entry indices) of the chains of each length in a PyG batch of chains."""
    sizes = (batch.ptr[1:] - batch.ptr[:-1]).tolist()
    bands = [graph_fields(L, periodic, spec)["pairs"].size(1) for L in sizes]
    site_start = [0] + torch.tensor(sizes).cumsum(0).tolist()
    band_start = [0] + torch.tensor(bands).cumsum(0).tolist()
    groups = []
    for L in sorted(set(sizes)):
        chains = [c for c, size in enumerate(sizes) if size == L]
        sites = torch.cat([torch.arange(site_start[c], site_start[c + 1]) for c in chains]).to(batch.ptr.device)
        band = torch.cat([torch.arange(band_start[c], band_start[c + 1]) for c in chains]).to(batch.ptr.device)
        groups.append((L, sites, band))
    return groups


def _part(state: dict, sites: torch.Tensor, band: torch.Tensor) -> dict:
    return {K.Q: state[K.Q][sites], K.P: state[K.P][sites], K.RHO: state[K.RHO][band]}


def batch_energy(params: holstein.HolsteinParams, spec):
    """The energy per site of every chain of a PyG batch of chains of any lengths (`EnergyShell.energy`, with ρ on
    the model's band; differentiable), for `train.energy_weight`. Returns energy(batch, state) -> (chains,),
    the chains grouped by length.

    Shapes: batch with `ptr` (chains + 1,) over sites; state {Q, P: (sites,), ρ band: (band entries, 2)}."""
    shells = {}

    def energy(batch, state: dict) -> torch.Tensor:
        values = []
        for L, sites, band in _length_groups(batch, params.boundary == "periodic", spec):
            if L not in shells:
                shells[L] = EnergyShell(dataclasses.replace(params, L=L), spec)
            values.append(shells[L].energy(_part(state, sites, band)) / L)
        return torch.cat(values)
    return energy


def batch_projection(conserve, params: holstein.HolsteinParams, spec):
    """`invariant_projection` for a PyG batch of chains of any lengths (a training batch of a store mixture):
    the chains of each length are projected together, with `params` at that length. The projections are
    differentiable, so a training rollout's loss sees through them. Returns make(batch, initial) ->
    constraint or None; `initial` is the state whose invariants are kept (the stored state at h = 0).

    Shapes: batch with `ptr` (chains + 1,) over sites; states
    {Q, P: (sites,), ρ band: (band entries, 2)} in the batch's node order."""
    check(conserve, "train.conserve")
    makers = {}

    def make(batch, initial: dict):
        if not conserve:
            return None
        groups = []
        for L, sites, band in _length_groups(batch, params.boundary == "periodic", spec):
            if L not in makers:
                makers[L] = invariant_projection(conserve, dataclasses.replace(params, L=L), spec)
            groups.append((sites, band, makers[L](_part(initial, sites, band))))

        def constraint(state: dict) -> dict:
            if len(groups) == 1:
                return groups[0][2](state)
            Q, P, rho = state[K.Q], state[K.P], state[K.RHO]
            for sites, band, project in groups:
                part = project(_part(state, sites, band))
                Q, P = Q.index_copy(0, sites, part[K.Q]), P.index_copy(0, sites, part[K.P])
                rho = rho.index_copy(0, band, part[K.RHO])
            return dict(state, **{K.Q: Q, K.P: P, K.RHO: rho})
        return constraint
    return make
