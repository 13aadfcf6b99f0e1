"""Export one stored run to ASE: one `ase.Atoms` per snapshot, lattice sites as atoms.

Sites sit on the lattice (spacing `spacing` Å) with the cell and periodicity of the
model; per-site fields go into `atoms.arrays`, scalars (time, parameters, order
parameters) into `atoms.info`. `.extxyz` carries real per-site arrays; `.traj` also
carries the density matrix in `info` (Holstein); ASE's .traj keeps only its own per-atom
arrays, so there the per-site fields are in `info` too. extxyz writes 8 decimal places.
Read back with `ase.io.read(path, ":")`.
"""
from __future__ import annotations

import os

import h5py
import numpy as np
from ase import Atoms

from graphqd.data.density_band import read_density, read_occupations
from graphqd.data.negf import run_biases, run_chemical_potentials
from graphqd.data.store import open_store
from graphqd.errors import GraphqdError

FORMATS = {".extxyz": "extxyz", ".traj": "traj"}
VACUUM = 10.0  # Å of cell along axes the lattice does not extend in


def _site_atoms(positions: np.ndarray, cell: np.ndarray, pbc: list[bool], symbol: str) -> Atoms:
    return Atoms(symbols=[symbol] * len(positions), positions=positions, cell=cell, pbc=pbc)


def _scalar_attrs(handle: h5py.File, names: list[str]) -> dict:
    return {name: handle.attrs[name].item() if hasattr(handle.attrs[name], "item") else handle.attrs[name]
            for name in names if name in handle.attrs}


def holstein_frames(handle: h5py.File, run: int, every: int, with_rho: bool, spacing: float) -> list[Atoms]:
    """Frames of a Holstein run: arrays Q, P, n = ρ_ii; info time, parameters, φ_Q, φ_ρ."""
    shape = tuple(int(v) for v in handle.attrs["lattice_shape"])
    periodic = handle.attrs["boundary"] == "periodic"
    coords = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, len(shape))
    xyz = np.zeros((len(coords), 3))
    xyz[:, 0] = coords[:, -1] * spacing
    if len(shape) == 2:
        xyz[:, 1] = coords[:, 0] * spacing
    cell = np.diag([shape[-1] * spacing, shape[0] * spacing if len(shape) == 2 else VACUUM, VACUUM])
    pbc = [periodic, periodic and len(shape) == 2, False]
    sign = (1 - 2 * (coords.sum(-1) % 2)).astype(float)
    params = _scalar_attrs(handle, ["hopping", "omega", "stiffness", "mass", "g_initial", "g_final", "boundary"])
    t = handle["t"][()]
    Q, P = handle["Q"][run, ::every], handle["P"][run, ::every]
    occupations = read_occupations(handle, run, slice(None, None, every))
    frames = []
    for k, time in enumerate(t[::every]):
        atoms = _site_atoms(xyz, cell, pbc, "X")
        n = occupations[k].astype(float)
        atoms.new_array("Q", Q[k].astype(float))
        atoms.new_array("P", P[k].astype(float))
        atoms.new_array("n", n)
        atoms.info.update(params)
        atoms.info.update({"system": "holstein", "run": run, "time": float(time),
                           "phi_Q": float((sign * Q[k]).mean()), "phi_rho": float((sign * n).mean())})
        if with_rho:  # .traj stores only ASE's own per-atom arrays, so the fields travel in info
            atoms.info.update({"Q": atoms.arrays["Q"], "P": atoms.arrays["P"], "n": n})
            rho = read_density(handle, run, k * every)
            atoms.info["rho_real"] = rho.real.astype(float)
            atoms.info["rho_imag"] = rho.imag.astype(float)
        frames.append(atoms)
    return frames


def wave_frames(handle: h5py.File, run: int, every: int, with_extra: bool, spacing: float) -> list[Atoms]:
    """Frames of a wave run: grid points as sites along x (positions x_i·spacing, periodic cell);
    arrays psi_re, psi_im, density = |ψ|², V; info time and packet parameters."""
    x = handle["x"][()].astype(float)
    n_points = len(x)
    positions = np.zeros((n_points, 3))
    positions[:, 0] = x * spacing
    cell = np.diag([float(handle.attrs["length"]) * spacing, VACUUM, VACUUM])
    params = {name: float(handle[name][run]) for name in ("X0", "S0", "E0", "barrier_height", "barrier_width")}
    params.update(_scalar_attrs(handle, ["laplacian", "propagator", "internal_dt"]))
    params["kind"] = handle["kind"].asstr()[run]
    V = handle["V"][run].astype(float)
    t, psi = handle["t"][()], handle["psi"][run, ::every]
    frames = []
    for k, time in enumerate(t[::every]):
        atoms = _site_atoms(positions, cell, [True, False, False], "X")
        for name, values in (("psi_re", psi[k].real), ("psi_im", psi[k].imag), ("density", np.abs(psi[k]) ** 2),
                             ("V", V)):
            atoms.new_array(name, values.astype(float))
            if with_extra:
                atoms.info[name] = values.astype(float)
        atoms.info.update(params)
        atoms.info.update({"system": "wave", "run": run, "time": float(time)})
        frames.append(atoms)
    return frames


def negf_frames(handle: h5py.File, run: int, every: int, with_extra: bool, spacing: float) -> list[Atoms]:
    """Frames of a biased-CDW run: sites on the Ly × Lx lattice (x along the bias, y periodic);
    arrays Q, n, force; info time, bias, current and parameters."""
    Ly, Lx = int(handle.attrs["Ly"]), int(handle.attrs["Lx"])
    y, x = np.meshgrid(np.arange(Ly), np.arange(Lx), indexing="ij")
    positions = np.stack([x.ravel() * spacing, y.ravel() * spacing, np.zeros(Lx * Ly)], -1)
    cell = np.diag([Lx * spacing, Ly * spacing, VACUUM])
    pbc = [False, bool(handle.attrs["periodic_y"]), False]
    params = _scalar_attrs(handle, ["bias", "mu", "gamma_lead", "g", "stiffness", "kappa", "damping", "temperature",
                                    "lead_temperature"])
    (mu_left, mu_right), = run_chemical_potentials(handle, [run])
    params.update(bias=float(run_biases(handle, [run])[0]), mu_left=float(mu_left), mu_right=float(mu_right))
    if "bath_temperature" in handle:
        params["temperature"] = float(handle["bath_temperature"][run])
    t = handle["t"][()]
    fields_ = {name: handle[name][run, ::every] for name in ("Q", "n", "force")}
    current = handle["current"][run, ::every]
    frames = []
    for k, time in enumerate(t[::every]):
        atoms = _site_atoms(positions, cell, pbc, "X")
        for name, values in fields_.items():
            atoms.new_array(name, values[k].reshape(-1).astype(float))
            if with_extra:
                atoms.info[name] = values[k].reshape(-1).astype(float)
        atoms.info.update(params)
        atoms.info.update({"system": "negf", "run": run, "time": float(time), "current": float(current[k])})
        frames.append(atoms)
    return frames


FRAME_BUILDERS = {"holstein": holstein_frames, "wave": wave_frames, "negf": negf_frames}


def export(path: str, run: int, out: str, every: int = 1, spacing: float = 1.0) -> int:
    """Write run `run` of the store at `path` to `out` (.extxyz or .traj); returns the frame count."""
    from ase.io import write

    ext = os.path.splitext(out)[1].lower()
    if ext not in FORMATS:
        raise GraphqdError(f"--out '{out}' must end in one of {', '.join(FORMATS)}")
    if every < 1:
        raise GraphqdError(f"--every {every} must be a positive integer")
    with open_store(path) as handle:
        system = handle.attrs["system"]
        runs = int(handle.attrs["runs_total"])
        if not 0 <= run < runs:
            raise GraphqdError(f"--trajectory {run} is out of range; '{path}' holds runs 0 to {runs - 1}")
        if system not in FRAME_BUILDERS:
            raise GraphqdError(f"ASE export of {system!r} stores is not available")
        frames = FRAME_BUILDERS[system](handle, run, every, ext == ".traj", spacing)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".partial" + ext
    write(tmp, frames, format=FORMATS[ext])
    os.replace(tmp, out)
    return len(frames)
