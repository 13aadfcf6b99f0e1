"""Projections of Holstein surrogate rollouts onto invariants of the exact Ehrenfest dynamics.

A learned step conserves what its architecture builds in (Hermiticity and trace of ρ with
`hermitian_projection`) and nothing else. `rollout(..., constraint=...)` can map every new
state back onto the invariants the exact dynamics keeps, per chain, at their values in the
initial state: "spectrum", the eigenvalues of ρ (`graphqd.evaluate.isospectral`), or "purity-band", half a
purification step on the model's band with the electron number kept (`graphqd.evaluate.band_purity`), and then the
total energy, either through (Q, P) ("energy", `EnergyShell`), through a unitary rotation of ρ ("energy-rho",
`ElectronicShell`, which needs the whole ρ) or through that rotation to second order with products
truncated to the model's band ("energy-band", `BandElectronicShell`, O(L · r²) for long chains).
Used by `graphqd rollout --conserve …` and `graphqd evaluate --conserve …`.
"""
from __future__ import annotations

from graphqd.errors import GraphqdError
from graphqd.evaluate.band_purity import BandPurity
from graphqd.evaluate.energy_shell import BandElectronicShell, ElectronicShell, EnergyShell
from graphqd.evaluate.isospectral import Isospectral
from graphqd.physics import holstein

INVARIANTS = ("spectrum", "purity-band", "energy", "energy-rho", "energy-band")  # in the order they are projected onto
HELP = ("'spectrum' (eigenvalues of rho; whole-matrix band only), 'purity-band' (half a purification step "
        "towards occupations 0, 1/2, 1 on the model's band), 'energy' (through Q, P), 'energy-rho' (by a unitary "
        "rotation of rho; whole-matrix band only) or 'energy-band' (that rotation to second order on the model's "
        "band; any chain length)")


def invariant_projection(conserve, params: holstein.HolsteinParams, spec):
    """A maker of `rollout` constraints that keep each chain's `conserve` invariants at their values
    in a given initial state (spectrum or band purity of ρ first, then the energy); checked here,
    before anything runs. Returns make(initial) -> constraint or None."""
    unknown = sorted(set(conserve) - set(INVARIANTS))
    if unknown:
        raise GraphqdError(f"--conserve {unknown[0]} is not known; allowed: {', '.join(INVARIANTS)}")
    energies = [c for c in INVARIANTS if c.startswith("energy") and c in conserve]
    if len(energies) > 1:
        raise GraphqdError(f"--conserve {' and --conserve '.join(energies)} are ways to keep the same energy; give one")
    periodic = params.boundary == "periodic"
    projections = []  # (projection, the invariant it keeps), in order
    if "spectrum" in conserve:
        iso = Isospectral(params.n_sites, periodic, spec)
        projections.append((iso, iso.spectrum))
    if "purity-band" in conserve:
        purity = BandPurity(params.n_sites, periodic, spec)
        projections.append((purity, purity.number))
    if energies:
        shell = {"energy": EnergyShell, "energy-rho": ElectronicShell,
                 "energy-band": BandElectronicShell}[energies[0]](params, spec)
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
