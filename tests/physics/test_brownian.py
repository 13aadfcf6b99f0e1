"""Overdamped Langevin integrator: statistics, seeding, batching, recording."""
import math

import pytest
import torch

from graphqd.errors import GraphqdError
from graphqd.physics import brownian, negf


def harmonic(K):
    return lambda Q: -K * Q


def test_harmonic_stationary_variance():
    # Euler-Maruyama on dQ = -K Q dt/gamma + noise has stationary variance kT/K / (1 - K dt/(2 gamma))
    K, kT, gamma, dt = 1.0, 0.1, 0.2, 0.01
    Q0 = torch.zeros(64, 8, 8, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    traj = brownian.simulate(Q0, harmonic(K), dt=dt, gamma=gamma, temperature=kT, n_steps=3000,
                             record_every=20, generator=gen)
    samples = traj.Q[:, 50:]                      # after ~ 20 relaxation times gamma/K
    var = float(samples.var())
    expected = kT / K / (1 - K * dt / (2 * gamma))
    # records are 1 relaxation time apart: ~64*64*100 nearly independent samples -> ~0.5 % error
    assert abs(var - expected) / expected < 0.03
    assert abs(float(samples.mean())) < 0.01


def test_deterministic_under_seed_and_batched_equals_single():
    Q0 = torch.randn(3, 2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    run = lambda Q, gens: brownian.simulate(Q, harmonic(0.5), dt=0.05, gamma=0.2, temperature=0.1,
                                            n_steps=20, record_every=5, generator=gens)
    a = run(Q0, torch.Generator().manual_seed(7))
    b = run(Q0, torch.Generator().manual_seed(7))
    assert torch.equal(a.Q, b.Q)
    batched = run(Q0, [torch.Generator().manual_seed(s) for s in range(3)])
    for s in range(3):
        single = run(Q0[s:s + 1], [torch.Generator().manual_seed(s)])
        assert torch.equal(batched.Q[s], single.Q[0])
    assert batched.Q.shape == (3, 5, 2, 4) and batched.t.tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])


def test_zero_temperature_step_and_chunked_continuation():
    Q0 = torch.ones(1, 3, dtype=torch.float64)
    traj = brownian.simulate(Q0, harmonic(2.0), dt=0.1, gamma=0.5, temperature=0.0, n_steps=3)
    assert torch.allclose(traj.Q[1], Q0 * (1 - 2.0 * 0.1 / 0.5))
    assert torch.allclose(traj.force[1], -2.0 * traj.Q[1])
    gen1, gen2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    full = brownian.simulate(Q0, harmonic(1.0), 0.1, 0.2, 0.1, 10, 2, gen1)
    first = brownian.simulate(Q0, harmonic(1.0), 0.1, 0.2, 0.1, 4, 2, gen2)
    rest = brownian.simulate(first.Q[-1], harmonic(1.0), 0.1, 0.2, 0.1, 6, 2, gen2, t0=float(first.t[-1]),
                             record_initial=False)
    assert torch.allclose(torch.cat([first.Q, rest.Q]), full.Q)
    assert torch.allclose(torch.cat([first.t, rest.t]), full.t)


def test_negf_force_field_records_density_and_current():
    p = negf.NEGFParams(Lx=4, Ly=2, bias=3.0, temperature=0.1)
    traj = brownian.simulate(negf.checkerboard(p), negf.force_field(p), dt=0.1, gamma=0.2, temperature=0.1,
                             n_steps=4, record_every=2, generator=torch.Generator().manual_seed(0))
    assert traj.extras["n"].shape == (3, 2, 4) and traj.extras["current"].shape == (3,)
    assert torch.allclose(traj.force[1], negf.forces(traj.Q[1], p))


def test_bad_arguments():
    with pytest.raises(GraphqdError, match="gamma"):
        brownian.simulate(torch.zeros(2, 2), harmonic(1.0), dt=0.1, gamma=0.0, temperature=0.1, n_steps=1)
