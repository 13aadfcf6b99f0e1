"""batch_projection: the --conserve projections on a training batch of chains of several lengths equal those of
each length alone, and gradients pass through them; batch_energy is each chain's energy per site."""
import torch
from torch_geometric.data import Batch

from graphqd import keys as K
from graphqd.graphs.holstein import HolsteinGraphSpec, HolsteinSample, band_to_dense, dense_to_band, graph_fields
from graphqd.physics import holstein
from graphqd.runtime.conservation import batch_energy, batch_projection, invariant_projection

CONSERVE = ("purity-band", "energy-band")


def _chain(L: int, spec: HolsteinGraphSpec, seed: int, noise: float):
    """One chain: the Fermi sea of h(Q) for random Q, plus a Hermitian perturbation of size `noise`, on the band."""
    generator = torch.Generator().manual_seed(seed)
    params = holstein.HolsteinParams(L=L, g=2.0)
    Q = 2 * torch.randn(L, dtype=torch.float64, generator=generator)
    P = torch.randn(L, dtype=torch.float64, generator=generator)
    rho = holstein.fermi_sea(holstein.hamiltonian(Q[None], params), L / 2)[0].to(torch.complex128)
    H = torch.randn(L, L, dtype=torch.complex128, generator=generator)
    return {K.Q: Q, K.P: P, K.RHO: dense_to_band(rho + noise * (H + H.mH) / 2, L, True, spec)}


def _batch(lengths, spec, noise, seed):
    chains = [_chain(L, spec, seed + k, noise) for k, L in enumerate(lengths)]
    samples = [HolsteinSample(num_nodes=L, **{k: v for k, v in graph_fields(L, True, spec).items() if k != "pairs"})
               for L in lengths]
    state = {key: torch.cat([c[key] for c in chains]) for key in (K.Q, K.P, K.RHO)}
    return Batch.from_data_list(samples), chains, state


def test_mixed_lengths_are_projected_as_each_length_alone():
    spec, lengths = HolsteinGraphSpec(band_radius=3), (8, 12, 8, 12, 12)
    params = holstein.HolsteinParams(L=8, g=2.0)
    batch, initial_chains, initial = _batch(lengths, spec, 0.0, 0)
    _, moved_chains, moved = _batch(lengths, spec, 0.03, 10)        # other states: every invariant is off
    projected = batch_projection(CONSERVE, params, spec)(batch, initial)(moved)
    for L in set(lengths):
        chains = [k for k, size in enumerate(lengths) if size == L]
        alone = invariant_projection(CONSERVE, holstein.HolsteinParams(L=L, g=2.0), spec)(
            {key: torch.cat([initial_chains[k][key] for k in chains]) for key in initial})(
            {key: torch.cat([moved_chains[k][key] for k in chains]) for key in moved})
        sites = torch.cat([torch.arange(batch.ptr[k], batch.ptr[k + 1]) for k in chains])
        band = torch.cat([torch.arange(sum(len(moved_chains[j][K.RHO]) for j in range(k)),
                                       sum(len(moved_chains[j][K.RHO]) for j in range(k + 1))) for k in chains])
        torch.testing.assert_close(projected[K.Q][sites], alone[K.Q], rtol=0, atol=1e-12)
        torch.testing.assert_close(projected[K.P][sites], alone[K.P], rtol=0, atol=1e-12)
        torch.testing.assert_close(projected[K.RHO][band], alone[K.RHO], rtol=0, atol=1e-12)
    assert not torch.allclose(projected[K.RHO], moved[K.RHO])


def test_gradients_pass_through_the_projections():
    spec, lengths = HolsteinGraphSpec(band_radius=3), (8, 12)
    batch, _, initial = _batch(lengths, spec, 0.0, 0)
    _, _, moved = _batch(lengths, spec, 0.03, 10)
    moved = {key: value.clone().requires_grad_(True) for key, value in moved.items()}
    projected = batch_projection(CONSERVE, holstein.HolsteinParams(L=8, g=2.0), spec)(batch, initial)(moved)
    sum(value.square().sum() for value in projected.values()).backward()
    for key, value in moved.items():
        assert torch.isfinite(value.grad).all() and value.grad.abs().sum() > 0, key


def test_batch_energy_is_the_energy_per_site_of_each_chain():
    """Against `physics.holstein.energy` of the dense states, on chains whose band (radius 3) holds every entry the
    energy reads."""
    spec, lengths = HolsteinGraphSpec(band_radius=3), (8, 12, 8, 12)
    params = holstein.HolsteinParams(L=8, g=2.0)
    batch, chains, state = _batch(lengths, spec, 0.02, 3)
    energy = batch_energy(params, spec)(batch, state)
    by_length = {L: [k for k, size in enumerate(lengths) if size == L] for L in sorted(set(lengths))}
    expected = []
    for L, members in by_length.items():
        for k in members:
            p = holstein.HolsteinParams(L=L, g=2.0)
            rho = band_to_dense(chains[k][K.RHO], L, True, spec)
            expected.append(holstein.energy(holstein.State(chains[k][K.Q], chains[k][K.P], rho), p) / L)
    torch.testing.assert_close(energy, torch.stack(expected).to(energy.dtype), rtol=0, atol=1e-12)
