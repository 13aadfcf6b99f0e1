"""EnergyShell, ElectronicShell and BandElectronicShell: the band-stored energy against physics.holstein.energy,
and the projections."""
import pytest
import torch

from graphqd import keys as K
from graphqd.errors import GraphqdError
from graphqd.graphs.holstein import HolsteinGraphSpec, band_to_dense, dense_to_band
from graphqd.physics import holstein
from graphqd.runtime.conservation import invariant_projection
from graphqd.runtime.band_purity import BandPurity
from graphqd.runtime.energy_shell import (MAX_ANGLE_8, MAX_RELAXATION, BandElectronicShell, ElectronicShell,
                                           EnergyShell, _rotation_step)
from graphqd.runtime.rollout import rollout


def _states(L: int, boundary: str, band_radius: int, count: int = 3):
    params = holstein.HolsteinParams(L=L, g=2.0, boundary=boundary)
    dense = [holstein.random_state(params, seed=s) for s in range(count)]
    dense = holstein.State(*(torch.stack(parts) for parts in zip(*dense)))
    spec = HolsteinGraphSpec(band_radius=band_radius)
    band = {K.Q: dense.Q.reshape(-1), K.P: dense.P.reshape(-1),
            K.RHO: dense_to_band(dense.rho, L, boundary == "periodic", spec).reshape(-1, 2)}
    return params, spec, dense, band


@pytest.mark.parametrize("L,boundary,band_radius", [(8, "periodic", 4), (12, "periodic", 1), (9, "open", 2)])
def test_band_energy_equals_the_dense_energy(L, boundary, band_radius):
    params, spec, dense, band = _states(L, boundary, band_radius)
    shell = EnergyShell(params, spec)
    torch.testing.assert_close(shell.energy(band), holstein.energy(dense, params), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(shell.kinetic(band), (dense.P ** 2).sum(-1) / (2 * params.mass))


def _gradient(band: dict, params, spec) -> tuple[torch.Tensor, torch.Tensor]:
    """∇_Q E, ∇_P E by autograd through the dense physics.holstein.energy (an independent reference)."""
    L = params.n_sites
    Q = band[K.Q].reshape(-1, L).clone().requires_grad_(True)
    P = band[K.P].reshape(-1, L).clone().requires_grad_(True)
    from graphqd.graphs.holstein import band_to_dense
    rho = band_to_dense(band[K.RHO].reshape(Q.size(0), -1, 2), L, True, spec)
    holstein.energy(holstein.State(Q, P, rho), params).sum().backward()
    return Q.grad, P.grad


def test_projection_moves_q_and_p_along_the_energy_gradient_onto_the_shell():
    params, spec, dense, band = _states(8, "periodic", 4)
    shell = EnergyShell(params, spec)
    target = shell.energy(band) + torch.tensor([-1.0, 0.0, 2.5], dtype=torch.float64)
    projected = shell.project(band, target)
    torch.testing.assert_close(shell.energy(projected), target, rtol=1e-12, atol=1e-10)
    assert torch.equal(projected[K.RHO], band[K.RHO])
    grad_Q, grad_P = _gradient(band, params, spec)
    step = torch.cat([projected[K.Q].reshape(3, 8) - band[K.Q].reshape(3, 8),
                      projected[K.P].reshape(3, 8) - band[K.P].reshape(3, 8)], 1)
    grad = torch.cat([grad_Q, grad_P], 1)
    s = -(step * grad).sum(1) / (grad ** 2).sum(1)        # one step length per chain ...
    torch.testing.assert_close(step, -s[:, None] * grad)   # ... along the gradient
    assert float(s[0]) > 0 and float(s[1]) == 0 and float(s[2]) < 0
    # a shell below the lowest energy on that line: the projection stops at the minimum along ∇E
    low = shell.project(band, shell.energy(band) - 1e6)
    grad_Q_low, grad_P_low = _gradient(low, params, spec)
    along = (grad_Q_low * grad_Q).sum(1) + (grad_P_low * grad_P).sum(1)
    torch.testing.assert_close(along, torch.zeros(3, dtype=torch.float64), atol=1e-9, rtol=0)
    assert bool((shell.energy(low) < shell.energy(band)).all())


def test_band_without_the_bonds_is_refused():
    params = holstein.HolsteinParams(L=8, g=2.0)
    with pytest.raises(GraphqdError, match="band_radius = 0"):
        EnergyShell(params, HolsteinGraphSpec(band_radius=0))


def test_rollout_with_the_constraint_keeps_a_heating_model_on_the_shell():
    params, spec, _, band = _states(8, "periodic", 4)
    shell = EnergyShell(params, spec)

    def heating_model(batch, state):  # a "surrogate" that pumps energy in every step
        return {K.Q: state[K.Q] + 0.01, K.P: state[K.P] * 1.05, K.RHO: state[K.RHO]}

    bare = rollout(heating_model, None, band, 20)
    E0 = shell.energy(band)
    assert float((shell.energy(bare[-1]) - E0).min()) > 1.0
    held = rollout(heating_model, None, band, 20, constraint=lambda s: shell.project(s, E0))
    for state in held:
        torch.testing.assert_close(shell.energy(state), E0, rtol=1e-12, atol=1e-10)
    assert torch.equal(held[-1][K.RHO], bare[-1][K.RHO])


def _dense(band: dict, L: int, spec) -> torch.Tensor:
    from graphqd.graphs.holstein import band_to_dense
    return band_to_dense(band[K.RHO].reshape(-1, L * L, 2), L, True, spec)


def test_electronic_projection_rotates_rho_along_the_double_bracket_onto_the_shell():
    params, spec, dense, band = _states(8, "periodic", 4)
    shell = ElectronicShell(params, spec)
    target = shell.energy(band) + torch.tensor([-0.3, 0.0, 0.2], dtype=torch.float64)
    projected = shell.project(band, target)
    torch.testing.assert_close(shell.energy(projected), target, rtol=0, atol=1e-9)
    for key in (K.Q, K.P):  # the lattice takes only the round-off the rotation leaves
        torch.testing.assert_close(projected[key], band[key], rtol=0, atol=1e-9)
    before, after = _dense(band, 8, spec), _dense(projected, 8, spec)
    torch.testing.assert_close(after, after.mH)                                      # Hermitian
    torch.testing.assert_close(torch.linalg.eigvalsh(after), torch.linalg.eigvalsh(before))  # same spectrum
    # a small shift moves ρ along [[ρ, h], ρ], the gradient of Tr(hρ) on the isospectral manifold
    small = shell.project(band, shell.energy(band) - 1e-6)
    h = holstein.hamiltonian(dense.Q, params).to(before.dtype)
    A = before @ h - h @ before
    direction = (A @ before - before @ A).reshape(3, -1)
    change = (_dense(small, 8, spec) - before).reshape(3, -1)
    cosine = (direction.conj() * change).sum(1).real / (direction.norm(dim=1) * change.norm(dim=1))
    torch.testing.assert_close(cosine, torch.ones(3, dtype=torch.float64), atol=1e-4, rtol=0)


@pytest.mark.parametrize("shell_class", [ElectronicShell, BandElectronicShell])
def test_electronic_projection_falls_back_to_the_lattice_where_rho_commutes_with_h(shell_class):
    params, spec, dense, band = _states(8, "periodic", 4)
    ground = holstein.fermi_sea(holstein.hamiltonian(dense.Q, params), params.n_sites / 2).to(torch.complex128)
    band = dict(band, **{K.RHO: dense_to_band(ground, 8, True, spec).reshape(-1, 2)})
    shell = shell_class(params, spec)
    target = shell.energy(band) + 0.5
    projected = shell.project(band, target)
    torch.testing.assert_close(shell.energy(projected), target, rtol=0, atol=1e-9)
    torch.testing.assert_close(projected[K.RHO], band[K.RHO], rtol=0, atol=1e-12)
    assert not torch.equal(projected[K.P], band[K.P])


def test_both_energy_projections_at_once_and_a_partial_band_are_refused():
    params = holstein.HolsteinParams(L=8, g=2.0)
    for pair in (("energy", "energy-rho"), ("energy-rho", "energy-band"), ("energy-band", "energy-band-conditioned")):
        with pytest.raises(GraphqdError, match="give one"):
            invariant_projection(pair, params, HolsteinGraphSpec(band_radius=4))
    with pytest.raises(GraphqdError, match="band_radius = 2 on 8 sites leaves entries out; use --conserve energy"):
        invariant_projection(("energy-rho",), params, HolsteinGraphSpec(band_radius=2))


def _eigenvalue_change(shell, band, L, spec, shift):
    projected = shell.project(band, shell.energy(band) + shift)
    before, after = _dense(band, L, spec), _dense(projected, L, spec)
    return projected, (torch.linalg.eigvalsh(after) - torch.linalg.eigvalsh(before)).abs().max()


def test_band_projection_on_the_whole_matrix_is_the_rotation_to_second_order():
    params, spec, dense, band = _states(8, "periodic", 4)
    shell, rotation = BandElectronicShell(params, spec), ElectronicShell(params, spec)
    shifts = torch.tensor([-0.3, 0.0, 0.2], dtype=torch.float64)
    projected, change = _eigenvalue_change(shell, band, 8, spec, shifts)
    torch.testing.assert_close(shell.energy(projected), shell.energy(band) + shifts, rtol=0, atol=1e-10)
    for key in (K.Q, K.P):
        torch.testing.assert_close(projected[key], band[key], rtol=0, atol=1e-12)
    after = _dense(projected, 8, spec)
    torch.testing.assert_close(after, after.mH)
    torch.testing.assert_close(after.diagonal(dim1=-2, dim2=-1).sum(-1), _dense(band, 8, spec).diagonal(
        dim1=-2, dim2=-1).sum(-1))
    # against the exact rotation onto the same shell: ρ differs at third order, the spectrum at higher order
    difference = (_dense(rotation.project(band, shell.energy(band) + shifts), 8, spec) - after).abs().max()
    half, change_half = _eigenvalue_change(shell, band, 8, spec, shifts / 2)
    difference_half = (_dense(rotation.project(band, shell.energy(band) + shifts / 2), 8, spec)
                       - _dense(half, 8, spec)).abs().max()
    assert 0 < float(difference) < 1e-5 and float(difference / difference_half) > 6
    assert 0 < float(change) < 1e-6 and float(change / change_half) > 6


def test_band_projection_on_a_long_chain_moves_the_band_along_the_double_bracket():
    L, radius = 40, 3
    params, spec, dense, band = _states(L, "periodic", radius)
    shell = BandElectronicShell(params, spec)
    target = shell.energy(band) + torch.tensor([-0.05, 0.0, 0.04], dtype=torch.float64)
    projected = shell.project(band, target)
    torch.testing.assert_close(shell.energy(projected), target, rtol=0, atol=1e-10)
    torch.testing.assert_close(projected[K.Q], band[K.Q], rtol=0, atol=1e-12)
    before = band_to_dense(band[K.RHO].reshape(3, -1, 2), L, True, spec)
    after = band_to_dense(projected[K.RHO].reshape(3, -1, 2), L, True, spec)
    torch.testing.assert_close(after, after.mH)
    torch.testing.assert_close(after.diagonal(dim1=-2, dim2=-1).sum(-1), before.diagonal(dim1=-2, dim2=-1).sum(-1))
    # a small shift moves the band along the band of [[ρ, h], ρ], ρ and the product taken densely
    small = shell.project(band, shell.energy(band) - 1e-6)
    h = holstein.hamiltonian(dense.Q, params).to(before.dtype)
    A = before @ h - h @ before
    inside = band_to_dense(dense_to_band(torch.ones(L, L, dtype=before.dtype), L, True, spec), L, True, spec) != 0
    direction = ((A @ before - before @ A) * inside).reshape(3, -1)
    change = (band_to_dense(small[K.RHO].reshape(3, -1, 2), L, True, spec) - before).reshape(3, -1)
    cosine = (direction.conj() * change).sum(1).real / (direction.norm(dim=1) * change.norm(dim=1))
    torch.testing.assert_close(cosine, torch.ones(3, dtype=torch.float64), atol=1e-4, rtol=0)


def test_rotation_cap_is_per_eight_sites():
    """‖sA‖_F ≤ MAX_ANGLE_8·√(L/8): a chain of L sites may rotate each site as far as a chain of 8."""
    c1, c2 = torch.tensor([-4.0], dtype=torch.float64), torch.zeros(1, dtype=torch.float64)  # ‖A‖_F = 2
    excess, h_norm = torch.tensor([100.0], dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    for L in (8, 32, 256):
        s, s_max = _rotation_step(c1, c2, excess, h_norm, MAX_ANGLE_8, L)
        torch.testing.assert_close(s * 2, torch.tensor([MAX_ANGLE_8 * (L / 8) ** 0.5], dtype=torch.float64))
        small, _ = _rotation_step(c1, c2, torch.tensor([1e-3], dtype=torch.float64), h_norm, MAX_ANGLE_8, L)
        torch.testing.assert_close(small, torch.tensor([2.5e-4], dtype=torch.float64))   # excess + c₁s = 0


def test_conditioned_projection_moves_the_lattice_only_where_the_move_is_well_conditioned():
    """Where ρ commutes with h the rotation cannot move and the lattice takes the error: a lattice in motion
    takes a small one as with energy-band; a lattice at rest below an unreachable shell would relax all the way
    to its minimum (s = G/2H, sK = 1) and stays where it is."""
    L = 8
    params, spec, dense, band = _states(L, "periodic", 4)
    ground = holstein.fermi_sea(holstein.hamiltonian(dense.Q, params), L / 2).to(torch.complex128)
    band = dict(band, **{K.RHO: dense_to_band(ground, L, True, spec).reshape(-1, 2)})
    conditioned = BandElectronicShell(params, spec, max_relaxation=MAX_RELAXATION)
    plain = BandElectronicShell(params, spec)
    small = conditioned.energy(band) + torch.tensor([-1e-3, 0.0, 2e-3], dtype=torch.float64)
    for key in (K.Q, K.P, K.RHO):
        torch.testing.assert_close(conditioned.project(band, small)[key], plain.project(band, small)[key],
                                   rtol=0, atol=0)
    rest = dict(band, **{K.P: torch.zeros(3 * L, dtype=torch.float64)})
    below = conditioned.energy(rest) - 10.0 * L     # below the lattice's minimum: plain relaxes all the way
    relaxed = plain.project(rest, below)[K.Q].reshape(3, L)
    n = ground.diagonal(dim1=-2, dim2=-1).real
    torch.testing.assert_close(relaxed, params.g * (n - 0.5) / params.stiffness)
    kept = conditioned.project(rest, below)
    torch.testing.assert_close(kept[K.Q], rest[K.Q], rtol=0, atol=0)
    torch.testing.assert_close(kept[K.P], rest[K.P], rtol=0, atol=0)
    torch.testing.assert_close(kept[K.RHO], rest[K.RHO], rtol=0, atol=1e-12)


def test_conditioned_projection_does_not_kick_the_fermi_sea_of_a_deep_quench():
    """One exact step from the band-truncated free Fermi sea with a staggered seed, then purity-band: the
    purification adds energy (the truncated sea is not pure on its band) that the rotation cannot take.
    'energy-band' relaxes the lattice to its minimum along ∇E and multiplies the seed; 'energy-band-conditioned'
    keeps the exact step's seed and leaves the energy to later steps (experiment 8c, result 12)."""
    L, eps = 32, 1e-4
    params = holstein.HolsteinParams(L=L, g=2.0)
    spec = HolsteinGraphSpec(band_radius=8)
    free = holstein.ground_state(holstein.HolsteinParams(L=L, g=0.0))
    sign = torch.tensor([(-1.0) ** i for i in range(L)], dtype=torch.float64)
    start = holstein.State((eps * sign)[None], torch.zeros(1, L, dtype=torch.float64), free.rho[None])
    path = holstein.simulate(start, params, 0.08, 1, 8)

    def band(Q, P, rho):
        return {K.Q: Q.reshape(-1), K.P: P.reshape(-1), K.RHO: dense_to_band(rho, L, True, spec).reshape(-1, 2)}

    initial, stepped = band(*start), band(path.Q[:, 1], path.P[:, 1], path.rho[:, 1])
    stepped = BandPurity(L, True, spec).project(stepped, BandPurity(L, True, spec).number(initial))
    seed = float((stepped[K.Q] * sign).mean())
    plain = BandElectronicShell(params, spec)
    kicked = plain.project(stepped, plain.energy(initial))
    kept = BandElectronicShell(params, spec, max_relaxation=MAX_RELAXATION).project(stepped, plain.energy(initial))
    assert float((kicked[K.Q] * sign).mean()) > 2 * seed
    torch.testing.assert_close(kept[K.Q], stepped[K.Q], rtol=0, atol=0)
    assert float(plain.energy(kept) - plain.energy(initial)) / L > 1e-3        # left to later steps
