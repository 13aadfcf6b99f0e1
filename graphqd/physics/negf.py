"""Steady-state NEGF electronic forces of the biased Holstein model on an Lx x Ly lattice.

The lattice is periodic in y (optionally open) and open in x; wide-band leads couple to
the first (left, x = 0) and last (right, x = Lx - 1) columns. Following Zhang, Fan, Chern,
"Nonequilibrium dynamics of gating-induced resistance transition in charge density wave
insulators", arXiv 2201.02194, and Fan, Zhang, Chern, arXiv 2601.07583:

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
ratio M^L_kk / (M^L_kk + M^R_kk) instead of a ratio of two rounding errors. Rounding can also
return Im lambda = +1e-17 for such a state, which would put mu - lambda across the branch cut
of the log; Im lambda is therefore taken as -|Im lambda|. (Test: a strongly disordered chain
with Im lambda ~ 1e-17 keeps 0 <= n <= 1 and moves by < 1e-6 under a 1e-10 nudge of Q; the
plain formula gives n < 0 and jumps by O(1) there.)

Defaults for the leads. mu = 0 is half filling: on the bipartite lattice the particle-hole
transformation maps Q -> -Q and mu -> -mu, so mu = 0 is the point where the checkerboard CDW
sits symmetrically in its gap (n = 1/2 exactly at Q = 0, V = 0). gamma_lead = 1.0 (= t) is a
wide-band coupling comparable to the hopping: strong enough that the contact columns act as
good electrodes, weak enough to leave the bulk gap intact. Measured on 20 x 10 after relaxing
at V = 0: bulk order 2.39 (gap edge at +-3.6), contact columns 1.44, giving in-gap edge
resonances at Re lambda = +-2.36 with width 0.47, which set the threshold bias of the gating
transition (arXiv 2201.02194; experiments/negf_gate/README.md).

Cost: one dense non-Hermitian eigen-decomposition, one inverse and a few N x N products,
O(N^3) with N = Lx Ly, for density, force and currents together (`steady_state`).
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
        Lx: lattice columns, along the bias (open, leads on the first and last).
        Ly: lattice rows (periodic or open); sites are indexed (y, x), Q has shape (..., Ly, Lx).
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
    # exactly Im lambda <= 0; rounding can give +1e-17 for states nearly decoupled from the
    # leads, which would put mu - lambda on the wrong side of the log's branch cut
    lam = torch.complex(lam.real, -lam.imag.abs())
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
    """F_i = -dE/dQ_i = g (n_i - 1/2) - K Q_i - kappa sum_nn Q_j (arXiv 2201.02194),
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
    return (q0 * (1 - 2 * ((x + y) % 2)).to(torch.float64)).to(dtype)


# ----------------------------------------------------------------------------- validation path

class QuadratureResult(NamedTuple):
    """Result of the brute-force quadrature: density (..., Ly, Lx), current (I_L, shape (...)),
    and the number of energy nodes (linear solves of size N) it used."""
    density: torch.Tensor
    current: torch.Tensor
    n_nodes: int


def _quadrature_width(Q, params) -> float:
    return 2.0 * abs(params.hopping) + 0.5 * abs(params.g) * float(Q.abs().max()) + params.gamma_lead


def _lead_integrand(H, params, mu_a, sites, other, width, theta):
    """Integrand in theta (e = mu_a + width tan theta) for lead alpha: the density column
    f_a Gamma sum_{j in alpha} |G^r_ij|^2 / 2pi (N values) and the transmission part
    f_a Gamma^2 sum_{i in other, j in alpha} |G^r_ij|^2 / 2pi, times de/dtheta."""
    energy = mu_a + width * torch.tan(theta)
    jac = width / torch.cos(theta) ** 2
    if params.temperature > 0:
        jac = jac * 0.5 * (1.0 - torch.tanh((energy - mu_a) / (2.0 * params.temperature)))
    N = H.shape[-1]
    eye = torch.eye(N, dtype=torch.complex128, device=H.device)
    G = torch.linalg.solve(energy[:, None, None] * eye - H, eye[:, sites])  # (E, N, Ly)
    w2 = G.abs() ** 2
    dens = params.gamma_lead * w2.sum(-1) * (jac / (2 * math.pi))[:, None]
    trans = params.gamma_lead ** 2 * w2[:, other, :].sum((-1, -2)) * jac / (2 * math.pi)
    return torch.cat([dens, trans[:, None]], dim=1)              # (E, N + 1)


def _adaptive_gauss(fn, lo: float, hi: float, tol: float, order: int, n_initial: int, max_nodes: int):
    """Globally adaptive composite Gauss-Legendre: a panel is accepted when its order-`order`
    value and the sum over its two halves agree to tol * (panel share of [lo, hi]); otherwise
    it is split. Returns (integral vector, nodes used)."""
    x, w = np.polynomial.legendre.leggauss(order)
    x = torch.as_tensor(x, dtype=torch.float64)
    w = torch.as_tensor(w, dtype=torch.float64)
    edges = torch.linspace(lo, hi, n_initial + 1, dtype=torch.float64)
    a, b = edges[:-1], edges[1:]
    total, nodes = None, 0

    def gauss(a, b):
        half, mid = 0.5 * (b - a), 0.5 * (b + a)
        theta = (mid[:, None] + half[:, None] * x[None, :]).reshape(-1)
        values = fn(theta).reshape(len(a), order, -1).cpu()   # bookkeeping on the CPU, solves on Q's device
        return (values * (half[:, None] * w[None, :])[..., None]).sum(1)

    coarse = gauss(a, b)
    nodes += len(a) * order
    while len(a):
        m = 0.5 * (a + b)
        left, right = gauss(a, m), gauss(m, b)
        nodes += 2 * len(a) * order
        fine = left + right
        err = (fine - coarse).abs().amax(-1)
        ok = (err <= tol * (b - a) / (hi - lo)) | (nodes >= max_nodes)
        accepted = fine[ok].sum(0)
        total = accepted if total is None else total + accepted
        keep = ~ok
        a, b, m = a[keep], b[keep], m[keep]
        a, b = torch.cat([a, m]), torch.cat([m, b])
        coarse = torch.cat([left[keep], right[keep]])
    return total, nodes


def quadrature(Q: torch.Tensor, params: NEGFParams, tol: float = 1e-8, order: int = 12,
               n_initial: int = 32, max_nodes: int = 2_000_000) -> QuadratureResult:
    """Brute-force real-axis quadrature (validation path, one dense linear solve per energy):

        n_i = sum_alpha int de/2pi f_alpha(e) Gamma sum_{j in alpha} |G^r_ij(e)|^2,
        I_L = int de/2pi T(e) (f_L - f_R),  T = Tr[Gamma_L G^r Gamma_R G^a],

    on e = mu_alpha + w tan(theta), theta in (-pi/2, theta_max) (theta_max = 0 at T = 0, else
    arctan(40 T / w), beyond which f < 5e-18), with adaptive composite Gauss-Legendre in theta
    (`tol` is the target absolute error per lead). Narrow resonances (states weakly coupled to
    the leads) make this slow; that is what the exact path avoids."""
    _check_Q(Q, params)
    Hs = hamiltonian(Q, params).reshape(-1, params.n_sites, params.n_sites)
    width = _quadrature_width(Q, params)
    left, right = _lead_sites(params, Q.device)
    theta_max = 0.0 if params.temperature == 0 else math.atan(40.0 * params.temperature / width)
    dens, curr, nodes = [], [], 0
    for H in Hs:
        total = 0.0
        for mu_a, sites, other, sign in ((params.mu_left, left, right, 1.0), (params.mu_right, right, left, -1.0)):
            fn = lambda th, mu_a=mu_a, sites=sites, other=other: _lead_integrand(
                H, params, mu_a, sites, other, width, th.to(H.device))
            value, used = _adaptive_gauss(fn, -math.pi / 2, theta_max, tol, order, n_initial, max_nodes)
            nodes += used
            # f_L - f_R = f_L (1 - f_R) - f_R (1 - f_L): integrate T f_L minus T f_R
            total = total + torch.cat([value[:-1], sign * value[-1:]])
        dens.append(total[:-1])
        curr.append(total[-1])
    dtype = _out_dtype(Q)
    return QuadratureResult(torch.stack(dens).reshape(Q.shape).to(dtype).to(Q.device),
                            torch.stack(curr).reshape(Q.shape[:-2]).to(dtype).to(Q.device), nodes)


def density_quadrature(Q: torch.Tensor, params: NEGFParams, tol: float = 1e-8, **kwargs) -> torch.Tensor:
    """Brute-force quadrature of the density (see `quadrature`). Shape (..., Ly, Lx) -> (..., Ly, Lx)."""
    return quadrature(Q, params, tol=tol, **kwargs).density


def current_quadrature(Q: torch.Tensor, params: NEGFParams, tol: float = 1e-8, **kwargs) -> torch.Tensor:
    """Brute-force Landauer current I_L (see `quadrature`). Shape (...)."""
    return quadrature(Q, params, tol=tol, **kwargs).current
