"""ASE calculator of the biased Holstein lattice: the exact NEGF force or a learned force field.

The Ly × Lx lattice is a planar `Atoms` (site (y, x) is atom y · Lx + x at (x, y) · spacing, as in
`graphqd export`) whose out-of-plane coordinate z is the displacement Q_i; `get_forces()` gives
F_i = g(n_i − ½) − K Q_i − κ Σ_nn Q_j on z and zero in the plane (DESIGN.md §3.3). The electrons'
steady state is not the minimum of an energy, so the calculator has forces and no energy.

    atoms = lattice_atoms(params, Q)
    atoms.calc = NEGFCalculator(params)                                   # exact NEGF
    atoms.calc = NEGFCalculator(params, learned_force_field(ckpt, params)) # learned
    F = atoms.get_forces()[:, 2]
"""
from __future__ import annotations

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from graphqd.errors import GraphqdError
from graphqd.physics import negf

VACUUM = 10.0  # cell height above the plane


def lattice_atoms(params: negf.NEGFParams, Q, spacing: float = 1.0) -> Atoms:
    """The lattice of `params` with displacements Q (Ly, Lx) as z."""
    Q = np.asarray(Q, dtype=float)
    if Q.shape != (params.Ly, params.Lx):
        raise GraphqdError(f"Q has shape {Q.shape}, the lattice is Ly x Lx = {params.Ly} x {params.Lx}")
    y, x = np.meshgrid(np.arange(params.Ly), np.arange(params.Lx), indexing="ij")
    positions = np.stack([x.ravel() * spacing, y.ravel() * spacing, Q.ravel()], -1)
    return Atoms("X" * params.n_sites, positions=positions, pbc=[False, params.periodic_y, False],
                 cell=np.diag([params.Lx * spacing, params.Ly * spacing, VACUUM]))


class NEGFCalculator(Calculator):
    """Forces on the out-of-plane displacements Q_i = z_i of a `lattice_atoms` lattice.

    Args:
        params: the lattice, its electrons and leads.
        force: a force callable Q -> (F, extras) (`graphqd.runtime.force_field.learned_force_field`);
            default the exact NEGF force of `params`.
    """

    implemented_properties = ["forces"]

    def __init__(self, params: negf.NEGFParams, force=None, **kwargs):
        super().__init__(**kwargs)
        self.params = params
        self.force = force or negf.force_field(params)

    def calculate(self, atoms=None, properties=("forces",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if len(self.atoms) != self.params.n_sites:
            raise GraphqdError(f"the atoms hold {len(self.atoms)} sites, the lattice {self.params.Lx} x "
                               f"{self.params.Ly} has {self.params.n_sites}")
        Q = torch.as_tensor(self.atoms.positions[:, 2].reshape(self.params.Ly, self.params.Lx), dtype=torch.float64)
        F, extras = self.force(Q)
        forces = np.zeros((self.params.n_sites, 3))
        forces[:, 2] = F.detach().cpu().numpy().reshape(-1)
        self.results = {"forces": forces, "density": extras["n"].detach().cpu().numpy().reshape(-1)}
