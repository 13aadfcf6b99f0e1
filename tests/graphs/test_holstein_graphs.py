"""The graphs a Holstein model reads: band <-> dense maps and batched chains."""
import pytest
import torch

from graphqd import keys as K
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_dense, dense_to_band, graph_batch, site_features


@pytest.mark.parametrize("L,periodic", [(8, True), (7, False)])
def test_dense_band_round_trip_keeps_the_band_only(L, periodic):
    spec = HolsteinGraphSpec(band_radius=2)
    generator = torch.Generator().manual_seed(L)
    rho = torch.randn(3, L, L, dtype=torch.complex128, generator=generator)
    d = torch.arange(L)[:, None] - torch.arange(L)[None, :]
    if periodic:
        d = torch.remainder(d + L // 2, L) - L // 2
    inside = d.abs() <= spec.band_radius
    band = dense_to_band(rho, L, periodic, spec)
    assert band.shape == (3, int(inside.sum()), 2) and band.dtype == torch.float64
    back = band_to_dense(band, L, periodic, spec)
    assert back.dtype == torch.complex128
    torch.testing.assert_close(back, torch.where(inside, rho, torch.zeros_like(rho)), rtol=0, atol=0)


def test_batched_chains_offset_sites_and_band_nodes():
    L, count, spec = 6, 3, HolsteinGraphSpec(band_radius=1)
    batch = graph_batch(L, True, spec, count)
    M = dense_to_band(torch.zeros(L, L, dtype=torch.complex64), L, True, spec).size(0)
    assert batch.num_nodes == count * L and batch[K.BAND_SITES].shape == (count * M, 2)
    sites_of_diagonal = batch[K.BAND_SITES][batch[K.BAND_DIAGONAL]]
    assert torch.equal(sites_of_diagonal, torch.arange(count * L)[:, None].expand(-1, 2))
    partner = batch[K.BAND_PARTNER]
    assert torch.equal(batch[K.BAND_SITES][partner], batch[K.BAND_SITES].flip(1))
    state = {K.Q: torch.arange(count * L, dtype=torch.float32), K.P: torch.zeros(count * L),
             K.RHO: torch.stack([torch.arange(count * M, dtype=torch.float32), torch.zeros(count * M)], -1)}
    features = site_features(state, batch)
    assert torch.equal(features[:, 2], batch[K.BAND_DIAGONAL].float())  # n_i read from the diagonal band node
