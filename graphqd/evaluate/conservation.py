"""Projections of Holstein surrogate rollouts onto invariants of the exact Ehrenfest dynamics.

A learned step conserves what its architecture builds in (Hermiticity and trace of ρ with
`hermitian_projection`) and nothing else. `rollout(..., constraint=...)` can map every new
state back onto the invariants the exact dynamics keeps, per chain, at their values in the
initial state: "spectrum", the eigenvalues of ρ (`graphqd.evaluate.isospectral`), and then the total energy,
either through (Q, P) ("energy", `EnergyShell`), through a unitary rotation of ρ ("energy-rho",
`ElectronicShell`, which needs the whole ρ) or through that rotation to second order with products
truncated to the model's band ("energy-band", `BandElectronicShell`, O(L · r²) for long chains).
Used by `graphqd rollout --conserve …` and `graphqd evaluate --conserve …`.
"""
from __future__ import annotations

from graphqd.errors import GraphqdError
from graphqd.evaluate.energy_shell import BandElectronicShell, ElectronicShell, EnergyShell
from graphqd.evaluate.isospectral import Isospectral
from graphqd.physics import holstein

INVARIANTS = ("spectrum", "energy", "energy-rho", "energy-band")  # in the order they are projected onto


def invariant_projection(conserve, params: holstein.HolsteinParams, spec):
    """A maker of `rollout` constraints that keep each chain's `conserve` invariants at their values
    in a given initial state (spectrum of ρ first, then the energy); checked here,
    before anything runs. Returns make(initial) -> constraint or None."""
    unknown = sorted(set(conserve) - set(INVARIANTS))
    if unknown:
        raise GraphqdError(f"--conserve {unknown[0]} is not known; allowed: {', '.join(INVARIANTS)}")
    energies = [c for c in INVARIANTS if c.startswith("energy") and c in conserve]
    if len(energies) > 1:
        raise GraphqdError(f"--conserve {' and --conserve '.join(energies)} are ways to keep the same energy; give one")
    iso = Isospectral(params.n_sites, params.boundary == "periodic", spec) if "spectrum" in conserve else None
    shell = {"energy": EnergyShell, "energy-rho": ElectronicShell,
             "energy-band": BandElectronicShell}[energies[0]](params, spec) if energies else None

    def make(initial: dict):
        if iso is None and shell is None:
            return None
        spectrum = iso.spectrum(initial) if iso is not None else None
        energy = shell.energy(initial) if shell is not None else None

        def constraint(state: dict) -> dict:
            if iso is not None:
                state = iso.project(state, spectrum)
            if shell is not None:
                state = shell.project(state, energy)
            return state
        return constraint
    return make
