"""1D time-dependent Schrödinger equation in a periodic box (DESIGN.md §3.2).

    i ∂ψ/∂t = −½ ∂²ψ/∂x² + V(x) ψ,     ħ = m = 1,  x_i = i Δx,  Δx = L_x / N_x.

Two discretisations of the Laplacian and two propagators, freely combined:

- ``laplacian="fd3"``: the 3-point stencil (ψ_{i+1} − 2ψ_i + ψ_{i−1}) / Δx², the
  discretisation of the ground truth of Yao et al., Front. Mater. 9:1060744 (2023).
- ``laplacian="spectral"``: −k² in Fourier space, k = 2π·fftfreq(N_x, Δx).
- ``propagator="split"``: Strang splitting with internal step τ. With fd3 it is the
  space-splitting method of Nakano et al., Comput. Phys. Commun. 83 (1994) 197; with the
  spectral Laplacian it is the FFT split-step method. Both are second order in τ and
  exactly unitary.
- ``propagator="exact"``: H = T + V is diagonalised once per static potential,
  H = U diag(E) Uᵀ (H is real symmetric for both Laplacians), and every snapshot is
  ψ(t) = U diag(e^{−iEt}) Uᵀ ψ(0): exact in time, one matrix product per snapshot.

Everything is batched over leading dimensions, in float64 / complex128, on the device of
the inputs.

Shapes:
    x (X,) | grid points
    psi0 (..., X) complex | initial wave functions
    V (..., X) real | static potentials, broadcast against psi0
    simulate output (..., n_steps + 1, X) complex | snapshots at t = 0, dt, ..., n_steps·dt
"""
from __future__ import annotations

import contextlib
import math

import torch

from graphqd.errors import GraphqdError

LAPLACIANS = ("fd3", "spectral")
PROPAGATORS = ("split", "exact")

# Runs propagated together in one matrix product by the exact propagator (bounds memory).
_EXACT_RUN_CHUNK = 16
# Potentials diagonalised together by the exact propagator (each holds an X × X basis).
_EXACT_POTENTIAL_CHUNK = 8


def grid(n: int = 1024, length: float = 100.0, device: torch.device | str | None = None) -> torch.Tensor:
    """Grid x_i = i Δx, Δx = length / n, of the periodic box [0, length).

    Shapes: output (n,) float64.
    """
    if n < 4 or n % 2:
        raise GraphqdError(f"the grid needs an even number of points >= 4, got n={n}.")
    if not length > 0:
        raise GraphqdError(f"the box length must be positive, got length={length}.")
    return torch.arange(n, dtype=torch.float64, device=device) * (length / n)


def spacing(x: torch.Tensor) -> float:
    """Grid spacing Δx of a grid made by :func:`grid`."""
    return float(x[1] - x[0])


def box_length(x: torch.Tensor) -> float:
    """Length L_x = N_x Δx of the periodic box of a grid made by :func:`grid`."""
    return spacing(x) * x.shape[-1]


def _as_float(value, x: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float64, device=x.device)


def packet(x: torch.Tensor, X0, S0, E0) -> torch.Tensor:
    """Gaussian wave packet of Yao et al. (2023), Sec. 2.1:

        ψ(x) ∝ exp(−(x − X₀)² / (4 S₀²)) · exp(i √(2E₀) (x − X₀)),   Σ_i |ψ_i|² Δx = 1.

    x − X₀ is taken as the minimum-image distance in the periodic box, so a packet
    that starts near an edge (X₀ = 10, S₀ = 4) is smooth across it instead of being
    cut off; for packets well inside the box this is the plain formula.

    Args:
        x: grid (X,).
        X0: centre; a float or a tensor that broadcasts with S0 and E0 (batch shape ``...``).
        S0: width > 0, likewise.
        E0: mean kinetic energy >= 0, likewise.

    Shapes: output (..., X) complex128.
    """
    X0, S0, E0 = (_as_float(v, x) for v in (X0, S0, E0))
    if bool((S0 <= 0).any()):
        raise GraphqdError("the packet width S0 must be positive.")
    if bool((E0 < 0).any()):
        raise GraphqdError("the packet energy E0 must be non-negative.")
    X0, S0, E0 = torch.broadcast_tensors(X0, S0, E0)
    length = box_length(x)
    offset = x - X0[..., None]
    offset = offset - length * torch.round(offset / length)
    amplitude = torch.exp(-offset**2 / (4 * S0[..., None] ** 2))
    psi = amplitude * torch.exp(1j * torch.sqrt(2 * E0[..., None]) * offset)
    norm = torch.sqrt((psi.abs() ** 2).sum(-1, keepdim=True) * spacing(x))
    return psi / norm


def barrier(x: torch.Tensor, height, width, center) -> torch.Tensor:
    """Rectangular barrier V(x) = height for center − width/2 ≤ x < center + width/2, else 0.

    The half-open interval puts width/Δx points on the barrier when its edges fall on
    grid points; otherwise ⌊·⌋ or ⌈·⌉ of it (width 7 centred at 50 on the default grid:
    x₄₇₇ … x₅₄₇, 71 points).

    Shapes: height, width, center broadcast to ``...``; output (..., X) float64.
    """
    height, width, center = torch.broadcast_tensors(*(_as_float(v, x) for v in (height, width, center)))
    left = (center - width / 2)[..., None]
    right = (center + width / 2)[..., None]
    inside = (x >= left) & (x < right)
    return torch.where(inside, height[..., None], torch.zeros((), dtype=torch.float64, device=x.device))


def wavenumbers(x: torch.Tensor) -> torch.Tensor:
    """Angular wavenumbers k = 2π·fftfreq(X, Δx) of the grid, in FFT order. Shapes: (X,)."""
    return 2 * math.pi * torch.fft.fftfreq(x.shape[-1], d=spacing(x), dtype=torch.float64, device=x.device)


def kinetic_matrix(x: torch.Tensor, laplacian: str = "fd3") -> torch.Tensor:
    """Dense real symmetric kinetic operator T = −½ ∇² of the periodic grid.

    fd3: T_ii = 1/Δx², T_{i,i±1} = −1/(2Δx²) (indices mod X).
    spectral: T_ij = (1/X) Σ_k (k²/2) cos(k (x_i − x_j)), the circulant whose eigenvalues
    are k²/2 (the Nyquist mode is its own conjugate, so T is real).

    Shapes: output (X, X) float64.
    """
    _check_choice("laplacian", laplacian, LAPLACIANS)
    n = x.shape[-1]
    index = torch.arange(n, device=x.device)
    lag = (index[:, None] - index[None, :]) % n
    if laplacian == "fd3":
        column = torch.zeros(n, dtype=torch.float64, device=x.device)
        column[0] = 1.0 / spacing(x) ** 2
        column[1] = column[-1] = -0.5 / spacing(x) ** 2
    else:
        column = torch.fft.ifft(0.5 * wavenumbers(x) ** 2).real
    return column[lag]


def hamiltonian(x: torch.Tensor, V: torch.Tensor, laplacian: str = "fd3") -> torch.Tensor:
    """Discretised H = T + diag(V), batched over potentials. Shapes: V (..., X) → (..., X, X)."""
    V = _as_float(V, x)
    return kinetic_matrix(x, laplacian) + torch.diag_embed(V)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise GraphqdError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}.")


def internal_steps(dt: float, internal_dt: float) -> int:
    """Number of internal steps per snapshot, m = dt / internal_dt, which must be an integer."""
    if not (dt > 0 and internal_dt > 0):
        raise GraphqdError(f"dt and internal_dt must be positive, got dt={dt} and internal_dt={internal_dt}.")
    steps = round(dt / internal_dt)
    if steps < 1 or abs(steps * internal_dt - dt) > 1e-9 * dt:
        raise GraphqdError(f"internal_dt={internal_dt} must divide the snapshot spacing dt={dt} "
                           "a whole number of times.")
    return steps


def simulate(psi0: torch.Tensor, V: torch.Tensor, x: torch.Tensor, dt: float = 0.1, n_steps: int = 500,
             laplacian: str = "fd3", propagator: str = "split", internal_dt: float = 0.0005) -> torch.Tensor:
    """Snapshots ψ(n·dt), n = 0 … n_steps, of i∂ψ/∂t = (−½∇² + V)ψ in the periodic box of ``x``.

    Args:
        psi0: initial wave functions (..., X); cast to complex128.
        V: static potentials (..., X), broadcast against psi0; cast to float64.
        x: grid (X,) from :func:`grid`.
        dt: snapshot spacing.
        n_steps: number of snapshots after t = 0.
        laplacian: "fd3" (3-point stencil) or "spectral" (FFT).
        propagator: "split" (Strang splitting with step ``internal_dt``, which must divide
            ``dt``) or "exact" (eigen-decomposition of H; ``internal_dt`` is unused).

    Shapes: output (..., n_steps + 1, X) complex128 on the device of psi0 (x and V are
    moved there).
    """
    _check_choice("laplacian", laplacian, LAPLACIANS)
    _check_choice("propagator", propagator, PROPAGATORS)
    if int(n_steps) != n_steps or n_steps < 0:
        raise GraphqdError(f"n_steps must be a non-negative integer, got {n_steps}.")
    n_points = x.shape[-1]
    if x.dim() != 1 or n_points < 4 or n_points % 2:
        raise GraphqdError(f"x must be a 1-D grid with an even number of points >= 4, got shape {tuple(x.shape)}.")
    psi0 = torch.as_tensor(psi0)
    x = x.to(device=psi0.device, dtype=torch.float64)
    psi0 = psi0.to(dtype=torch.complex128)
    V = torch.as_tensor(V).to(device=x.device, dtype=torch.float64)
    if psi0.shape[-1] != n_points or V.shape[-1] != n_points:
        raise GraphqdError(f"psi0 {tuple(psi0.shape)} and V {tuple(V.shape)} must end with the {n_points} grid points.")
    try:
        batch = torch.broadcast_shapes(psi0.shape[:-1], V.shape[:-1])
    except RuntimeError:
        raise GraphqdError(f"the batch shapes of psi0 {tuple(psi0.shape)} and V {tuple(V.shape)} "
                           "do not broadcast.") from None
    if propagator == "exact":
        if not dt > 0:
            raise GraphqdError(f"dt must be positive, got dt={dt}.")
        return _simulate_exact(psi0, V, x, batch, float(dt), int(n_steps), laplacian)
    steps = internal_steps(float(dt), float(internal_dt))
    psi = psi0.expand(*batch, n_points).reshape(-1, n_points).clone()
    potential = V.expand(*batch, n_points).reshape(-1, n_points)
    stepper = _split_fd3 if laplacian == "fd3" else _split_spectral
    with _single_cpu_thread(x.device):
        frames = stepper(psi, potential, x, float(dt) / steps, steps, int(n_steps))
    return frames.reshape(*batch, int(n_steps) + 1, n_points)


# ---------------------------------------------------------------------------------------
# split propagators

@contextlib.contextmanager
def _single_cpu_thread(device: torch.device):
    """Run the split loops on one CPU thread, restoring torch's setting afterwards.

    Their kernels are small (a few thousand numbers, ~10⁵ times per run): OpenMP fan-out
    costs more than it gains and, on shared cores, makes torch.fft 100× slower (measured
    12 ms against 40 µs for a (16, 1024) FFT on a busy 2-core machine).
    """
    if device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _split_fd3(psi, V, x, tau, steps, n_steps):
    """Space splitting of Nakano et al., Comput. Phys. Commun. 83 (1994) 197, 3-point Laplacian.

    T = Σ_bonds T_b with T_b = (1/2Δx²)[[1, −1], [−1, 1]] on the bond (i, i+1). The even
    bonds (0,1), (2,3), … and the odd bonds (1,2), …, (X−1,0) each act on disjoint pairs,
    so exp(−iτT_even) and exp(−iτT_odd) are products of exact 2 × 2 exponentials. One step

        e^{−iτH} ≈ e^{−iτV/2} e^{−iτT_even/2} e^{−iτT_odd} e^{−iτT_even/2} e^{−iτV/2}

    is unitary and second order in τ. Each block is applied as
    e^{−iθ}[[cos θ, i sin θ], [i sin θ, cos θ]], θ = τ/(2Δx²) (times ½ for the half step);
    the common phase e^{−iθ} of all blocks is folded into the potential phase.
    """
    n_points = psi.shape[-1]
    inv_dx2 = 1.0 / spacing(x) ** 2
    theta = 0.5 * tau * inv_dx2
    # every site lies on one even and one odd bond: the diagonal phases add to e^{−iτ/Δx²}
    potential_phase = torch.exp(-1j * tau * (V + inv_dx2))
    half_phase = torch.exp(-0.5j * tau * (V + inv_dx2))
    half_bond = (math.cos(theta / 2), 1j * math.sin(theta / 2))
    full_bond = (math.cos(theta), 1j * math.sin(theta))
    even = psi.view(-1, n_points // 2, 2)
    even_left, even_right = even[..., 0], even[..., 1]
    inner = psi[:, 1:n_points - 1].unflatten(-1, (n_points // 2 - 1, 2))
    odd_left = [inner[..., 0], psi[:, n_points - 1]]
    odd_right = [inner[..., 1], psi[:, 0]]
    frames = torch.empty(psi.shape[0], n_steps + 1, n_points, dtype=psi.dtype, device=psi.device)
    frames[:, 0] = psi
    for snapshot in range(1, n_steps + 1):
        psi.mul_(half_phase)
        for step in range(steps):
            _rotate_pairs(even_left, even_right, *half_bond)
            for left, right in zip(odd_left, odd_right):
                _rotate_pairs(left, right, *full_bond)
            _rotate_pairs(even_left, even_right, *half_bond)
            psi.mul_(potential_phase if step < steps - 1 else half_phase)
        frames[:, snapshot] = psi
    return frames


def _rotate_pairs(left: torch.Tensor, right: torch.Tensor, cos: float, isin: complex) -> None:
    """In place (l, r) ← (cos·l + i sin·r, i sin·l + cos·r) on views of the wave function."""
    saved = left.clone()
    left.mul_(cos).add_(right, alpha=isin)
    right.mul_(cos).add_(saved, alpha=isin)


def _split_spectral(psi, V, x, tau, steps, n_steps):
    """FFT split-step method: e^{−iτH} ≈ e^{−iτV/2} F⁻¹ e^{−iτk²/2} F e^{−iτV/2}.

    Unitary and second order in τ; exact for V = 0. The 1/X of the inverse FFT is folded
    into the kinetic phase.
    """
    n_points = psi.shape[-1]
    kinetic_phase = torch.exp(-0.5j * tau * wavenumbers(x) ** 2) / n_points
    potential_phase = torch.exp(-1j * tau * V)
    half_phase = torch.exp(-0.5j * tau * V)
    frames = torch.empty(psi.shape[0], n_steps + 1, n_points, dtype=psi.dtype, device=psi.device)
    frames[:, 0] = psi
    for snapshot in range(1, n_steps + 1):
        psi.mul_(half_phase)
        for step in range(steps):
            spectrum = torch.fft.fft(psi, norm="backward")
            spectrum.mul_(kinetic_phase)
            psi = torch.fft.ifft(spectrum, norm="forward")
            psi.mul_(potential_phase if step < steps - 1 else half_phase)
        frames[:, snapshot] = psi
    return frames


# ---------------------------------------------------------------------------------------
# exact propagator

def eigensystem(x: torch.Tensor, V: torch.Tensor, laplacian: str = "fd3") -> tuple[torch.Tensor, torch.Tensor]:
    """Eigen-decomposition H = U diag(E) Uᵀ of the discretised Hamiltonian (torch.linalg.eigh).

    Shapes: V (..., X) → E (..., X), U (..., X, X), real float64.
    """
    return torch.linalg.eigh(hamiltonian(x, V, laplacian))


def _simulate_exact(psi0, V, x, batch, dt, n_steps, laplacian):
    """ψ(n dt) = U diag(e^{−iE n dt}) Uᵀ ψ(0), one eigen-decomposition per distinct potential.

    Runs that share a potential (the curriculum has 14 potentials for 2646 runs) are found
    with torch.unique and propagated together in one real matrix product per chunk.
    """
    n_points = x.shape[-1]
    n_runs = math.prod(batch)
    psi0 = psi0.expand(*batch, n_points).reshape(n_runs, n_points)
    potentials = V.expand(*batch, n_points).reshape(n_runs, n_points)
    distinct, owner = torch.unique(potentials, dim=0, return_inverse=True)
    out = torch.empty(n_runs, n_steps + 1, n_points, dtype=torch.complex128, device=x.device)
    for first in range(0, distinct.shape[0], _EXACT_POTENTIAL_CHUNK):
        energies, bases = eigensystem(x, distinct[first:first + _EXACT_POTENTIAL_CHUNK], laplacian)
        for offset in range(energies.shape[0]):
            runs = torch.nonzero(owner == first + offset).flatten()
            propagate_eigen(psi0[runs], energies[offset], bases[offset], dt, n_steps, out=out, rows=runs)
    return out.reshape(*batch, n_steps + 1, n_points)


def propagate_eigen(psi0: torch.Tensor, energies: torch.Tensor, basis: torch.Tensor, dt: float, n_steps: int,
                    out: torch.Tensor | None = None, rows: torch.Tensor | None = None) -> torch.Tensor:
    """ψ(n dt) = U diag(e^{−iE n dt}) Uᵀ ψ(0) for runs sharing one eigensystem (E, U) of H.

    Runs are propagated in chunks, each one real matrix product for the real and one for
    the imaginary part. Writes into ``out[rows]`` when given.

    Shapes: psi0 (R, X) complex, energies (X,), basis (X, X) real → (R, n_steps + 1, X) complex128.
    """
    n_runs, n_points = psi0.shape
    if out is None:
        out = torch.empty(n_runs, n_steps + 1, n_points, dtype=torch.complex128, device=psi0.device)
        rows = torch.arange(n_runs, device=psi0.device)
    times = dt * torch.arange(n_steps + 1, dtype=torch.float64, device=psi0.device)
    phases = torch.exp(-1j * times[:, None] * energies)                        # (T, X)
    for start in range(0, n_runs, _EXACT_RUN_CHUNK):
        amplitudes = psi0[start:start + _EXACT_RUN_CHUNK]
        coefficients = torch.complex(amplitudes.real @ basis, amplitudes.imag @ basis)   # Uᵀψ
        evolved = phases * coefficients[:, None, :]                             # (R, T, X)
        out[rows[start:start + _EXACT_RUN_CHUNK]] = torch.complex(evolved.real @ basis.T, evolved.imag @ basis.T)
    return out


def free_window_kernel(width: int, dx: float, dt: float, k_max: float = 7.0, ridge: float = 1e-10,
                       laplacian: str = "fd3") -> torch.Tensor:
    """The one-step free propagator of a Laplacian restricted to a window of `width` points.

    A plane wave e^{ikx} is multiplied by e^{−iω(k)dt} in one step of exact propagation, with
    ω(k) = (1 − cos kΔx)/Δx² for the 3-point Laplacian (`laplacian="fd3"`) and ω(k) = k²/2 for
    the spectral one. The window kernel K (ψ'_c = Σ_s K_s ψ_{c+s}, s = −h … h) is the least-
    squares fit of that response over |k| ≤ `k_max` (the band of smooth packets: E₀ ≤ 9 and
    S₀ ≥ 1 put nearly all weight below k = 5.3), with `ridge` times the response outside the band
    pushed towards 0 so that no mode grows much. With 47 points, Δx = 100/1024 and dt = 0.1 the
    in-band error is ~5e-6 and the largest gain 1.003; 23 points cannot be both accurate and
    stable (error ~3e-3 at gain 1.2). The spectral fit is as accurate, with largest gain 1.011.

    Shapes: output (width,) complex128.
    """
    half = (width - 1) // 2
    k = torch.linspace(-math.pi / dx, math.pi / dx, 4 * width * 32 + 1, dtype=torch.float64)
    _check_choice("laplacian", laplacian, LAPLACIANS)
    omega = (1 - torch.cos(k * dx)) / dx ** 2 if laplacian == "fd3" else k ** 2 / 2
    response = torch.exp(-1j * dt * omega)
    offsets = torch.arange(-half, half + 1, dtype=torch.float64) * dx
    plane = torch.exp(1j * k[:, None] * offsets[None, :])
    band = k.abs() <= k_max
    rows = torch.cat([plane[band], math.sqrt(ridge) * plane[~band]])
    target = torch.cat([response[band], torch.zeros(int((~band).sum()), dtype=torch.complex128)])
    return torch.linalg.lstsq(rows, target[:, None]).solution[:, 0]
