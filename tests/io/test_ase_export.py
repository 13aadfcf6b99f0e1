"""ASE export of Holstein runs, read back with ASE's own readers."""
import numpy as np
import pytest
import torch
from ase.io import read

from graphqd import config as cfg
from graphqd.data.recipes import holstein as recipe
from graphqd.data.store import open_store
from graphqd.errors import GraphqdError
from graphqd.io.ase_export import export

from conftest import TINY_HOLSTEIN


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("ase") / "h.h5"
    recipe.generate(cfg.validate(TINY_HOLSTEIN, recipe.SCHEMA), str(path), torch.device("cpu"))
    return str(path)


@pytest.mark.parametrize("ext", [".extxyz", ".traj"])
def test_roundtrip(store, tmp_path, ext):
    out = tmp_path / f"run{ext}"
    assert export(store, 2, str(out), every=2) == 11
    frames = read(str(out), ":")
    with open_store(store) as h:
        Q, P, rho, t = h["Q"][2, ::2], h["P"][2, ::2], h["rho"][2, ::2], h["t"][::2]
    assert len(frames) == 11
    for k, atoms in enumerate(frames):
        assert len(atoms) == 6 and list(atoms.pbc) == [True, False, False]
        np.testing.assert_allclose(atoms.positions[:, 0], np.arange(6.0))
        np.testing.assert_allclose(atoms.info["time"], t[k], rtol=1e-6)
        np.testing.assert_allclose(atoms.arrays["Q"] if ext == ".extxyz" else atoms.info["Q"], Q[k], atol=1e-7)
        n = rho[k].diagonal().real
        phi = np.mean(n * np.array([1, -1, 1, -1, 1, -1]))
        np.testing.assert_allclose(atoms.info["phi_rho"], phi, atol=1e-6)
        if ext == ".traj":
            np.testing.assert_allclose(atoms.info["rho_real"] + 1j * atoms.info["rho_imag"], rho[k], atol=1e-7)
            np.testing.assert_allclose(atoms.info["P"], P[k], rtol=1e-6)


def test_bad_requests(store, tmp_path):
    with pytest.raises(GraphqdError, match="--trajectory 9 is out of range"):
        export(store, 9, str(tmp_path / "a.extxyz"))
    with pytest.raises(GraphqdError, match="must end in one of"):
        export(store, 0, str(tmp_path / "a.pdb"))
