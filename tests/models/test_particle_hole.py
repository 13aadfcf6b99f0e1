"""PARC with particle_hole: the step averaged over the particle-hole map T commutes with it (the exact flow does:
tests/physics/test_holstein.py), for every splitting, with exact phonons, on the graph and the CNN; without the
option it does not."""
import pytest
import torch

from graphqd import keys as K
from graphqd.graphs.holstein import graph_batch
from graphqd.models.particle_hole import mirror, offset_sign

from test_parc_exact_phonons import CONSTANTS
from test_parc_graph import build_parc, hermitian_state

CASES = [("parc_graph", dict(band_radius=2), 8, True), ("parc_graph", dict(band_radius=2), 7, False),
         ("parc_graph", dict(band_radius=2, splitting="strang"), 8, True),
         ("parc_graph", dict(band_radius=3, splitting="strang", phonons="exact"), 10, True),
         ("parc_cnn", dict(splitting="strang"), 6, True)]


@pytest.mark.parametrize("name,keys,L,periodic", CASES)
def test_the_averaged_step_commutes_with_particle_hole(name, keys, L, periodic):
    for symmetric in (True, False):
        model, spec = build_parc(name, constants=CONSTANTS, particle_hole=symmetric, **keys)
        batch = graph_batch(L, periodic, spec, 2)
        sign, diagonal = offset_sign(batch[K.BAND_SITES]), batch[K.BAND_DIAGONAL]
        state = hermitian_state(L, spec, count=2, periodic=periodic)
        with torch.no_grad():
            out, moved = model(batch, state), model(batch, mirror(state, sign, diagonal))
        expected = mirror(out, sign, diagonal)
        assert set(expected) == set(out)
        worst = max(float((moved[key] - expected[key]).abs().max()) for key in out)
        assert (worst < 1e-12) if symmetric else (worst > 1e-4), (symmetric, worst)


def test_mirror_is_an_involution_and_maps_n_to_one_minus_n():
    _, spec = build_parc(band_radius=2)
    L = 8
    batch = graph_batch(L, True, spec, 1)
    sign, diagonal = offset_sign(batch[K.BAND_SITES]), batch[K.BAND_DIAGONAL]
    state = hermitian_state(L, spec)
    twice = mirror(mirror(state, sign, diagonal), sign, diagonal)
    for key in state:
        torch.testing.assert_close(twice[key], state[key], rtol=0, atol=1e-15)
    n = state[K.RHO][diagonal, 0]
    torch.testing.assert_close(mirror(state, sign, diagonal)[K.RHO][diagonal, 0], 1 - n)
