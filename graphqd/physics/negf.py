"""Steady-state NEGF electronic forces of the biased Holstein model on an Lx x Ly lattice.

The lattice is periodic in y (optionally open) and open in x; wide-band leads couple to
the first (left, x = 0) and last (right, x = Lx - 1) columns. Following Zhang, Fan, Chern,
"Nonequilibrium dynamics of gating-induced resistance transition in charge density wave
insulators", arXiv 2201.02194 (Sec. II), and Fan, Zhang, Chern, arXiv 2601.07583:

    h(Q)_ij = -t [i, j nearest neighbours] - g Q_i delta_ij,
    Sigma = -i (Gamma_L + Gamma_R) / 2,  Gamma_alpha = Gamma on the sites of column alpha,
    G^r(e) = (e - h - Sigma)^-1,  mu_L = mu + V/2,  mu_R = mu - V/2,
    n_i = int de/2pi [G^r (Gamma_L f_L + Gamma_R f_R) G^a]_ii,
    F_i = g (n_i - 1/2) - K Q_i - kappa sum_nn Q_j.

Exact evaluation (no energy grid). With H = h - i Gamma/2 = R Lambda R^-1 (Im lambda < 0),
G^r = R (e - Lambda)^-1 R^-1 and

    n_i = (1/2pi) sum_alpha [R (M^alpha o I^alpha) R^dagger]_ii,  M^alpha = R^-1 Gamma_alpha R^-dagger,
    I^alpha_kl = int de f_alpha(e) / ((e - lambda_k)(e - lambda_l^*))
               = [Phi^alpha_k - conj(Phi^alpha_l) - c] / (lambda_k - lambda_l^*),

    T = 0:  Phi_k = Log(mu - lambda_k),                             c = 2 pi i,
    T > 0:  Phi_k = digamma(1/2 + i (lambda_k - mu) / (2 pi T)),    c = pi i.

(The T = 0 constant is the jump of the log difference between e = mu and e -> -inf; the
T > 0 form follows from the Matsubara expansion f(e) = 1/2 - T sum_n 1/(e - mu - i w_n) and
reduces to the T = 0 one as T -> 0; both are checked against quadrature in the tests.)

Numerical stability. States localised deep inside a disordered CDW couple to the leads only
exponentially weakly (Im lambda ~ 1e-15 at 40 x 30 with thermal noise), and dividing by
lambda_k - lambda_l^* loses all digits there. The identity H - H^dagger = -i Gamma gives
M^L + M^R = i (lambda_k - lambda_l^*) S with S = R^-1 R^-dagger, so we write

    sum_alpha M^alpha o I^alpha = i S o (Phi^R_k - conj(Phi^R_l) - c) + M^L o (I^L - I^R):

the first (equilibrium-like) term has no division at all, and the second is non-zero only
for states inside the bias window; for those the small diagonal denominators are taken from
the same identity, so the occupation of a nearly decoupled state is the bounded lead-weight
ratio M^L_kk / (M^L_kk + M^R_kk) instead of a ratio of two rounding errors.

Defaults for the leads. mu = 0 is half filling: on the bipartite lattice the particle-hole
transformation maps Q -> -Q and mu -> -mu, so mu = 0 is the point where the checkerboard CDW
sits symmetrically in its gap (n = 1/2 exactly at Q = 0, V = 0). gamma_lead = 1.0 (= t) is a
wide-band coupling comparable to the hopping: strong enough that the boundary columns are
metallic-like contacts whose broadened in-gap edge states set the threshold bias of the
gating transition (arXiv 2201.02194), weak enough not to wash out the CDW gap 2 g Q0 ~ 8 t.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from graphqd.errors import GraphqdError

__all__ = ["NEGFParams", "SteadyState", "LeadCurrents", "checkerboard", "neighbour_sum",
           "hamiltonian", "steady_state", "density", "density_matrix", "forces", "current",
           "force_field", "density_quadrature", "current_quadrature", "complex_digamma"]


@dataclass(frozen=True)
class NEGFParams:
    """Parameters of the biased Holstein lattice with two wide-band leads (DESIGN.md 3.3).

    Args:
        Lx, Ly: lattice size; sites are indexed (y, x), Q has shape (..., Ly, Lx).
        hopping: nearest-neighbour hopping t.
        g: electron-lattice coupling.
        stiffness: on-site spring constant K.
        kappa: nearest-neighbour lattice coupling (energy kappa sum_<ij> Q_i Q_j).
        gamma_lead: wide-band lead broadening Gamma on each site of the first and last column.
        bias: V, with mu_L = mu + V/2 and mu_R = mu - V/2.
        mu: mean lead chemical potential (0 = half filling).
        temperature: lead (electron) temperature T_e >= 0.
        periodic_y: periodic boundary in y (always open in x).
    """
    Lx: int
    Ly: int
    hopping: float = 1.0
    g: float = 1.5
    stiffness: float = 1.0
    kappa: float = 0.18
    gamma_lead: float = 1.0
    bias: float = 0.0
    mu: float = 0.0
    temperature: float = 0.0
    periodic_y: bool = True

    def __post_init__(self):
        for name in ("Lx", "Ly"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise GraphqdError(f"NEGFParams.{name} must be a positive integer, got {value!r}.")
        for name in ("hopping", "g", "stiffness", "kappa", "gamma_lead", "bias", "mu", "temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                    or not math.isfinite(float(value)):
                raise GraphqdError(f"NEGFParams.{name} must be a finite number, got {value!r}.")
        if self.gamma_lead <= 0:
            raise GraphqdError(f"NEGFParams.gamma_lead must be > 0 (wide-band lead broadening), got {self.gamma_lead!r}.")
        if self.temperature < 0:
            raise GraphqdError(f"NEGFParams.temperature must be >= 0, got {self.temperature!r}.")

    @property
    def n_sites(self) -> int:
        return self.Lx * self.Ly

    @property
    def mu_left(self) -> float:
        return self.mu + 0.5 * self.bias

    @property
    def mu_right(self) -> float:
        return self.mu - 0.5 * self.bias


class LeadCurrents(NamedTuple):
    """Particle currents (units e t / hbar) flowing from each lead into the lattice, shape (...).
    In a steady state left + right = 0; the transport current is (left - right) / 2."""
    left: torch.Tensor
    right: torch.Tensor


class SteadyState(NamedTuple):
    """Everything one decomposition of h - i Gamma/2 gives: density n (..., Ly, Lx), force
    (..., Ly, Lx) and the lead currents (...)."""
    density: torch.Tensor
    force: torch.Tensor
    current_left: torch.Tensor
    current_right: torch.Tensor


def _check_Q(Q: torch.Tensor, params: NEGFParams) -> None:
    if not isinstance(Q, torch.Tensor) or Q.dim() < 2 or tuple(Q.shape[-2:]) != (params.Ly, params.Lx):
        shape = tuple(Q.shape) if isinstance(Q, torch.Tensor) else type(Q).__name__
        raise GraphqdError(f"Q must be a tensor of shape (..., Ly, Lx) = (..., {params.Ly}, {params.Lx}), got {shape}.")


def neighbour_sum(Q: torch.Tensor, params: NEGFParams) -> torch.Tensor:
    """sum_{j nn i} Q_j with the hopping's boundary conditions: open in x, periodic in y
    (when periodic_y and Ly > 1; for Ly = 2 the two y-bonds join the same pair and count twice,
    as on a two-site ring). Shape (..., Ly, Lx) -> (..., Ly, Lx)."""
    out = torch.zeros_like(Q)
    if params.Lx > 1:
        out[..., :, 1:] += Q[..., :, :-1]
        out[..., :, :-1] += Q[..., :, 1:]
    if params.Ly > 1:
        if params.periodic_y:
            out += torch.roll(Q, 1, dims=-2) + torch.roll(Q, -1, dims=-2)
        else:
            out[..., 1:, :] += Q[..., :-1, :]
            out[..., :-1, :] += Q[..., 1:, :]
    return out


def _adjacency(params: NEGFParams, device) -> torch.Tensor:
    """Dense (N, N) nearest-neighbour matrix built from `neighbour_sum` so that the hopping
    and the elastic force share one definition of the bonds."""
    N = params.n_sites
    basis = torch.eye(N, dtype=torch.float64, device=device).reshape(N, params.Ly, params.Lx)
    return neighbour_sum(basis, params).reshape(N, N).T.contiguous()


def _lead_sites(params: NEGFParams, device):
    """Flat site indices (index = y * Lx + x) of the left and right contact columns."""
    y = torch.arange(params.Ly, device=device)
    return y * params.Lx, y * params.Lx + (params.Lx - 1)


def hamiltonian(Q: torch.Tensor, params: NEGFParams) -> torch.Tensor:
    """Effective non-Hermitian H = h(Q) - i Gamma/2, shape (..., N, N) complex128, N = Ly*Lx,
    site index y * Lx + x."""
    _check_Q(Q, params)
    Qf = Q.to(torch.float64).reshape(*Q.shape[:-2], params.n_sites)
    h = -params.hopping * _adjacency(params, Q.device) - params.g * torch.diag_embed(Qf)
    gamma = torch.zeros(params.n_sites, dtype=torch.float64, device=Q.device)
    left, right = _lead_sites(params, Q.device)
    gamma[left] += params.gamma_lead
    gamma[right] += params.gamma_lead
    return torch.complex(h, torch.zeros_like(h)) - 0.5j * torch.diag(gamma).to(torch.complex128)


def complex_digamma(z: torch.Tensor) -> torch.Tensor:
    """Digamma function psi(z) for complex z with Re z > 0 (torch.special.digamma is real-only).

    Recurrence psi(z) = psi(z + 8) - sum_{j<8} 1/(z + j), then the asymptotic (Stirling) series
    psi(w) = log w - 1/(2w) - sum_{n=1..7} B_2n / (2n w^2n); with |w| >= 8.5 the first omitted
    term is below 1e-15 (Abramowitz & Stegun 6.3.18)."""
    shift = 8
    acc = torch.zeros_like(z)
    for j in range(shift):
        acc = acc + 1.0 / (z + j)
    w = z + shift
    w2 = 1.0 / (w * w)
    series = w2 * (1.0 / 12 - w2 * (1.0 / 120 - w2 * (1.0 / 252 - w2 * (1.0 / 240 - w2 * (
        1.0 / 132 - w2 * (691.0 / 32760 - w2 / 12.0))))))
    return torch.log(w) - 0.5 / w - series - acc


def _phi(lam: torch.Tensor, mu: float, temperature: float):
    """Per-eigenvalue primitive Phi_k and constant c of I_kl (module docstring)."""
    if temperature == 0:
        return torch.log(mu - lam), 2j * math.pi
    return complex_digamma(0.5 + 1j * (lam - mu) / (2 * math.pi * temperature)), 1j * math.pi


class _Spectral(NamedTuple):
    R: torch.Tensor        # (B, N, N) right eigenvectors of h - i Gamma/2
    Rinv: torch.Tensor     # (B, N, N)
    X: torch.Tensor        # (B, N, N) sum_alpha M^alpha o I^alpha = 2 pi R^-1 rho R^-dagger
    dI: torch.Tensor       # (B, N, N) I^L - I^R (zero without bias)


def _spectral(Q: torch.Tensor, params: NEGFParams) -> _Spectral:
    H = hamiltonian(Q, params).reshape(-1, params.n_sites, params.n_sites)
    lam, R = torch.linalg.eig(H)
    Rinv = torch.linalg.inv(R)
    S = Rinv @ Rinv.mH
    T = params.temperature
    phi_R, c = _phi(lam, params.mu_right, T)
    # (M^L + M^R) o I^R = i S o (Phi^R_k - conj Phi^R_l - c): the equilibrium-like part, no division
    X = 1j * S * (phi_R[:, :, None] - phi_R[:, None, :].conj() - c)
    if params.bias == 0:
        return _Spectral(R, Rinv, X, torch.zeros_like(X))
    phi_L, _ = _phi(lam, params.mu_left, T)
    dphi = phi_L - phi_R
    denom = lam[:, :, None] - lam[:, None, :].conj()
    # diagonal denominators from the same identity, -2i Im lambda_k = -i M_tot,kk / S_kk, so a
    # nearly decoupled state gets the bounded weight M^L_kk / M_tot,kk (module docstring)
    both = torch.cat(_lead_sites(params, Q.device))
    Mtot_diag = params.gamma_lead * (Rinv[:, :, both].abs() ** 2).sum(-1)
    denom.diagonal(dim1=-2, dim2=-1).copy_(-1j * Mtot_diag / S.diagonal(dim1=-2, dim2=-1).real)
    dI = (dphi[:, :, None] - dphi[:, None, :].conj()) / denom
    BL = Rinv[:, :, _lead_sites(params, Q.device)[0]]
    X = X + params.gamma_lead * (BL @ BL.mH) * dI
    return _Spectral(R, Rinv, X, dI)


def _density_from(sp: _Spectral) -> torch.Tensor:
    return ((sp.R @ sp.X) * sp.R.conj()).sum(-1).real / (2 * math.pi)


def _lead_currents(sp: _Spectral, params: NEGFParams, device):
    """Landauer / Meir-Wingreen lead currents from the decomposition:
    I_L = (1/2pi) Tr[Gamma_L R (M^R o (I^L - I^R)) R^dagger] = int de/2pi T(e) (f_L - f_R),
    I_R = (1/2pi) Tr[Gamma_R R (M^L o (I^R - I^L)) R^dagger]; cost O(Ly N^2)."""
    B = sp.R.shape[0]
    if params.bias == 0:
        zero = torch.zeros(B, dtype=torch.float64, device=device)
        return zero, zero.clone()
    left, right = _lead_sites(params, device)
    out = []
    for sites_in, sites_from, sign in ((left, right, 1.0), (right, left, -1.0)):
        Bf = sp.Rinv[:, :, sites_from]
        M = params.gamma_lead * (Bf @ Bf.mH)
        Rrows = sp.R[:, sites_in, :]                                   # (B, Ly, N)
        trace = ((Rrows @ (M * sp.dI)) * Rrows.conj()).sum((-1, -2)).real
        out.append(sign * params.gamma_lead * trace / (2 * math.pi))
    return out[0], out[1]


def _out_dtype(Q: torch.Tensor):
    return Q.dtype if Q.is_floating_point() else torch.float64


def steady_state(Q: torch.Tensor, params: NEGFParams) -> SteadyState:
    """Density, force and lead currents from one decomposition of h(Q) - i Gamma/2.

    Shapes: Q (..., Ly, Lx) -> density, force (..., Ly, Lx); currents (...). Computed in
    float64/complex128 on Q's device and returned in Q's floating dtype."""
    _check_Q(Q, params)
    sp = _spectral(Q, params)
    n = _density_from(sp).reshape(Q.shape)
    IL, IR = _lead_currents(sp, params, Q.device)
    F = _force_from(Q.to(torch.float64), n, params)
    batch, dtype = Q.shape[:-2], _out_dtype(Q)
    return SteadyState(n.to(dtype), F.to(dtype), IL.reshape(batch).to(dtype), IR.reshape(batch).to(dtype))


def density_matrix(Q: torch.Tensor, params: NEGFParams) -> torch.Tensor:
    """Steady-state one-body density matrix rho_ij = <c_j^dagger c_i> = (1/2pi) R X R^dagger,
    X = sum_alpha M^alpha o I^alpha. Shape (..., Ly, Lx) -> (..., N, N) complex128, N = Ly*Lx,
    site index y*Lx + x. The bond current from site a to its neighbour b is 2 t Im rho_ba."""
    _check_Q(Q, params)
    sp = _spectral(Q, params)
    rho = (sp.R @ sp.X @ sp.R.mH) / (2 * math.pi)
    return rho.reshape(*Q.shape[:-2], params.n_sites, params.n_sites)


def density(Q: torch.Tensor, params: NEGFParams) -> torch.Tensor:
    """Steady-state site densities n_i = int de/2pi [G^r (Gamma_L f_L + Gamma_R f_R) G^a]_ii,
    exact (module docstring). Shape (..., Ly, Lx) -> (..., Ly, Lx), Q's dtype and device."""
    _check_Q(Q, params)
    sp = _spectral(Q, params)
    dtype = Q.dtype if Q.is_floating_point() else torch.float64
    return _density_from(sp).reshape(Q.shape).to(dtype)


def _force_from(Q: torch.Tensor, n: torch.Tensor, params: NEGFParams) -> torch.Tensor:
    return params.g * (n - 0.5) - params.stiffness * Q - params.kappa * neighbour_sum(Q, params)


def forces(Q: torch.Tensor, params: NEGFParams, n: torch.Tensor | None = None) -> torch.Tensor:
    """F_i = -dE/dQ_i = g (n_i - 1/2) - K Q_i - kappa sum_nn Q_j (arXiv 2201.02194, Eq. 5),
    with n = density(Q, params) unless given. Shape (..., Ly, Lx) -> (..., Ly, Lx)."""
    _check_Q(Q, params)
    if n is None:
        n = density(Q, params)
    return _force_from(Q.to(torch.float64), n.to(torch.float64), params).to(_out_dtype(Q))


def current(Q: torch.Tensor, params: NEGFParams) -> LeadCurrents:
    """Lead currents (Landauer / Meir-Wingreen), shape (...) each; left + right = 0 in the
    steady state and left > 0 when mu_L > mu_R. Units e t / hbar, spinless electrons."""
    _check_Q(Q, params)
    sp = _spectral(Q, params)
    IL, IR = _lead_currents(sp, params, Q.device)
    batch, dtype = Q.shape[:-2], _out_dtype(Q)
    return LeadCurrents(IL.reshape(batch).to(dtype), IR.reshape(batch).to(dtype))


def force_field(params: NEGFParams):
    """The NEGF force as a `brownian.simulate` force callable: Q -> (F, {"n": n, "current": I}),
    with I = (I_L - I_R) / 2 the transport current, all from one decomposition."""
    def negf_force(Q: torch.Tensor):
        state = steady_state(Q, params)
        return state.force, {"n": state.density,
                             "current": 0.5 * (state.current_left - state.current_right)}
    return negf_force


def checkerboard(params: NEGFParams, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    """Initial checkerboard CDW Q_{y,x} = (-1)^(x+y) Q0 with Q0 = g / [2 (K - z kappa)], the
    fully polarised (n - 1/2 = +-1/2) mean-field solution; z is the bulk coordination of the
    lattice (4 on the square lattice, giving the DESIGN.md value g / [2 (K - 4 kappa)] ~ 2.68;
    2 on a chain). Shape (Ly, Lx)."""
    probe = torch.zeros(params.Ly, params.Lx, dtype=torch.float64)
    probe[0, params.Lx // 2] = 1.0
    z = float(neighbour_sum(probe, params).sum())
    if params.stiffness - z * params.kappa <= 0:
        raise GraphqdError(f"checkerboard needs stiffness > z * kappa (z = {z:g}) for a stable CDW, "
                           f"got stiffness={params.stiffness!r}, kappa={params.kappa!r}.")
    q0 = params.g / (2.0 * (params.stiffness - z * params.kappa))
    y = torch.arange(params.Ly, device=device)[:, None]
    x = torch.arange(params.Lx, device=device)[None, :]
    return (q0 * (1 - 2 * ((x + y) % 2))).to(dtype)


# ----------------------------------------------------------------------------- validation path

def _quadrature_nodes(mu: float, temperature: float, width: float, n_panels: int, order: int):
    """Energies and weights for int_{-inf}^{inf} de f(e) (...) on e = mu + width tan(theta):
    composite Gauss-Legendre in theta over (-pi/2, theta_max), theta_max = 0 at T = 0 and
    arctan(40 T / width) above (f < 5e-18 beyond). The 1/e^2 tail becomes a smooth integrand."""
    theta_max = 0.0 if temperature == 0 else math.atan(40.0 * temperature / width)
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(-math.pi / 2, theta_max, n_panels + 1)
    half = 0.5 * (edges[1:] - edges[:-1])
    mid = 0.5 * (edges[1:] + edges[:-1])
    theta = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    wt = (half[:, None] * w[None, :]).ravel()
    energy = mu + width * np.tan(theta)
    weight = wt * width / np.cos(theta) ** 2
    if temperature > 0:
        weight = weight * 0.5 * (1.0 - np.tanh((energy - mu) / (2.0 * temperature)))
    return energy, weight


def _lead_resolved_quadrature(Q, params, n_panels, order, chunk):
    """For each lead alpha, int de/2pi f_alpha(e) Gamma |G^r(e)_{i, j in alpha}|^2 summed over
    j (the density, (B, N)) and the same weight on the other lead's sites (the current)."""
    H = hamiltonian(Q, params).reshape(-1, params.n_sites, params.n_sites)
    N = params.n_sites
    eye = torch.eye(N, dtype=torch.complex128, device=Q.device)
    left, right = _lead_sites(params, Q.device)
    width = 2.0 * abs(params.hopping) + 0.5 * abs(params.g) * float(Q.abs().max()) + params.gamma_lead
    results = []
    for mu_a, sites in ((params.mu_left, left), (params.mu_right, right)):
        energy, weight = _quadrature_nodes(mu_a, params.temperature, width, n_panels, order)
        energy = torch.as_tensor(energy, dtype=torch.float64, device=Q.device)
        weight = torch.as_tensor(weight, dtype=torch.float64, device=Q.device)
        rhs = eye[:, sites]
        dens = torch.zeros(H.shape[0], N, dtype=torch.float64, device=Q.device)
        for s in range(0, len(energy), chunk):
            e = energy[s:s + chunk]
            A = e[None, :, None, None] * eye - H[:, None]
            G = torch.linalg.solve(A, rhs)                               # (B, E, N, Ly) columns of G^r
            dens += torch.einsum("e,bens->bn", weight[s:s + chunk], G.abs() ** 2)
        results.append(params.gamma_lead * dens / (2 * math.pi))
    return results


def density_quadrature(Q: torch.Tensor, params: NEGFParams, n_panels: int = 64, order: int = 16,
                       chunk: int = 64) -> torch.Tensor:
    """Brute-force real-axis quadrature of n_i = sum_alpha int de/2pi f_alpha Gamma sum_{j in alpha}
    |G^r_ij(e)|^2, one dense linear solve per energy (validation only; cost n_panels*order*2
    solves of size N). Shape (..., Ly, Lx) -> (..., Ly, Lx)."""
    _check_Q(Q, params)
    nL, nR = _lead_resolved_quadrature(Q, params, n_panels, order, chunk)
    return (nL + nR).reshape(Q.shape).to(_out_dtype(Q))


def current_quadrature(Q: torch.Tensor, params: NEGFParams, n_panels: int = 64, order: int = 16,
                       chunk: int = 64) -> torch.Tensor:
    """Brute-force Landauer current int de/2pi T(e) (f_L - f_R), T = Tr[Gamma_L G^r Gamma_R G^a],
    on the same energy nodes as `density_quadrature` (validation only). Shape (...)."""
    _check_Q(Q, params)
    H = hamiltonian(Q, params).reshape(-1, params.n_sites, params.n_sites)
    N = params.n_sites
    eye = torch.eye(N, dtype=torch.complex128, device=Q.device)
    left, right = _lead_sites(params, Q.device)
    width = 2.0 * abs(params.hopping) + 0.5 * abs(params.g) * float(Q.abs().max()) + params.gamma_lead
    total = torch.zeros(H.shape[0], dtype=torch.float64, device=Q.device)
    # f_L - f_R = f_L (1 - f_R) - f_R (1 - f_L): integrate T f_L over lead-L nodes minus T f_R over lead-R nodes
    for mu_a, sign in ((params.mu_left, 1.0), (params.mu_right, -1.0)):
        energy, weight = _quadrature_nodes(mu_a, params.temperature, width, n_panels, order)
        energy = torch.as_tensor(energy, dtype=torch.float64, device=Q.device)
        weight = torch.as_tensor(weight, dtype=torch.float64, device=Q.device)
        for s in range(0, len(energy), chunk):
            e = energy[s:s + chunk]
            G = torch.linalg.solve(e[None, :, None, None] * eye - H[:, None], eye[:, right])
            trans = params.gamma_lead ** 2 * (G[:, :, left, :].abs() ** 2).sum((-1, -2))
            total += sign * (trans * weight[s:s + chunk]).sum(-1)
    return (total / (2 * math.pi)).reshape(Q.shape[:-2]).to(_out_dtype(Q))
