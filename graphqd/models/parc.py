"""PARC for the Holstein chain: the equations shared by the graph and the CNN variant.

Physics-aware recurrent convolutions (PARC; Nguyen et al., Science Advances 2023) as
applied to Ehrenfest dynamics by Ning, Yang, Chern, arXiv 2412.06631 (the equations DESIGN §5
calls Eq. (12); numbers as quoted there, not re-checked): one differentiator F and one
integrator S per variable,

    Q(t+Δt) = Q(t) + S_Q(F_Q(P)),
    P(t+Δt) = P(t) + S_P(F_P(Q, diag ρ)),
    ρ(t+Δt) = ρ(t) + S_ρ(F_ρ(Q, ρ)),

trained with the loss DESIGN §5 quotes as Eq. (11),
‖du/dt − F(u)‖ + ‖u(t+Δt) − u(t) − S(F(u))‖ (the trainer's derivative and increment terms,
`graphqd.train.objective`). Each F and S is a
:class:`~graphqd.models.layers.ParcNet`. Units: networks see ũ = (u − mean)/std, F returns
du/dt in units of its training-split std (``rate_std``), S reads F's output in those units
and returns the increment in units of ``step_std``:

    F_u = rate_std · f(ũ),   u' = u + step_std · s(f).

Inputs of the differentiators (the physics of DESIGN §3.1: dQ/dt = P/m, dP/dt = g(n − ½) − KQ,
dρ/dt = −i[h(Q), ρ]): F_Q reads P̃; F_P reads (Q̃, ñ), ñ the normalised Re ρ_ii; F_ρ reads
(Re ρ̃_ij, Im ρ̃_ij) and Q in one of two embeddings, ``q_embedding``:
``"pair"`` gives every entry (Q̃_i, Q̃_j) (the commutator's diagonal part is
i g (Q_i − Q_j) ρ_ij, local in the entry), ``"diagonal"`` puts Q̃_i on the diagonal entries
only and zero elsewhere (the paper's diag-embedding of Q as a second image channel).

ρ is carried as its band: the entries with d(i, j) ≤ band_radius, channels (Re, Im)
(graphqd.keys.RHO). Entries outside the band are not part of the state: they are
neither predicted nor scored (the band-restricted RMSE of graphqd.data.holstein), and on
a band covering every entry the model sees the whole matrix. With
``hermitian_projection`` the ρ rate and increment are projected onto Hermitian,
traceless matrices, Π(δ)_ij = ½(δ_ij + δ̄_ji) − δ_ij ⟨Re Π(δ)_kk⟩_k, so ρ' = ρ + Π(δ) stays
exactly Hermitian (the symmetrised pair is computed with one commutative addition, so
ρ'_ji = conj ρ'_ij bit for bit when ρ is Hermitian) and Tr ρ' = Tr ρ to round-off. The
projection is symmetrisation rather than "predict the upper triangle" because the upper
triangle is not mapped to itself by chain inversion: symmetrising keeps a model that
is inversion-equivariant so. Without the projection the raw network output is used,
to measure what the constraint buys.

``splitting: strang`` composes the same three pairs in the symmetric (Strang) order of a
velocity-Verlet step, every network keeping the paper's inputs but seeing the latest values:

    Q½ = Q + ½ S_Q(F_Q(P)),   ρ' = ρ + S_ρ(F_ρ(Q½, ρ)),   P' = P + S_P(F_P(Q½, ½(n + n'))),
    Q' = Q½ + ½ S_Q(F_Q(P')).

With the paper's simultaneous update the Q increment is a function of P(t) alone, so the
½ Ṗ Δt²/m part of ∫P dt is missing, which acts like an explicit Euler step (the oscillation's
amplitude grows); the symmetric order is second order in Δt and, for the harmonic part,
reproduces the exact phonon rotation with linear shears (a = 2 tan(ωΔt/2)/(mω),
b = −mω sin ωΔt). Its rates are midpoint rates, ½(F(u_t) + F(u_t+Δt)) for Q, and the derivative
loss compares them with ½(du/dt|_t + du/dt|_t+Δt) (``rate_label = "midpoint"``).

``phonons: exact`` (with ``splitting: strang``) replaces the four networks of Q and P by the lattice's own
equations in the same order, the velocity-Verlet step of dQ/dt = P/m, dP/dt = g(n − ½) − KQ with the electrons'
force at the mean occupation of the step:

    Q½ = Q + (Δt/2) P/m,   ρ' = ρ + S_ρ(F_ρ(Q½, ρ)),   P' = P + Δt [g(½(n + n') − ½) − K Q½],
    Q' = Q½ + (Δt/2) P'/m,

with g, K, m the training data's (Normalization.constants). Only ρ is learned. The step is symplectic for the
lattice at fixed n, so the lattice gains exactly the work the electrons' force does on it (to O(Δt²)): a learned
phonon step that is not conservative pumps energy into the lattice, which a projection onto the total energy then
takes out of the electrons (experiment 8c of the Holstein report measures it). Its rates are the midpoint rates
½(P + P')/m and g(n̄ − ½) − K Q½.

Subclasses say how a network is applied to site and band features (dense CNN or graph).
"""
from __future__ import annotations

import abc

import torch
from torch import Tensor, nn

from graphqd import keys as K
from graphqd.config import Field
from graphqd.errors import ConfigError
from graphqd.graphs.holstein import HolsteinGraphSpec
from graphqd.models.layers import ACTIVATIONS, ParcNet
from graphqd.models.normalization import Normalization
from graphqd.models.particle_hole import mirror, offset_sign

# the config keys every PARC variant shares
PARC_SCHEMA = {
    "width": Field("int", 128, minimum=4, doc="channels of the widest layer of each network (the paper: 128)"),
    "depth": Field("int", 2, minimum=1, doc="ResNet blocks per network (the paper: 2)"),
    "kernel_radius": Field("int", 1, minimum=1, doc="radius of block and final convolutions (1: 3×3)"),
    "wide_kernel_radius": Field("int", 3, minimum=0, doc="radius of the wide convolution (3: the paper's 7×7)"),
    "dropout": Field("float", 0.0, minimum=0.0, maximum=0.9, doc="channel-wise dropout probability"),
    "activation": Field("str", "relu", choices=sorted(ACTIVATIONS),
                        doc="activation of the hidden layers of each network (the paper: relu)"),
    "q_embedding": Field("str", "pair", choices=["pair", "diagonal"],
                         doc="Q in F_rho: (Q_i, Q_j) on every entry, or Q_i on the diagonal only"),
    "hermitian_projection": Field("bool", True, doc="project the rho rate and increment onto Hermitian, "
                                                    "traceless matrices (Tr rho and rho = rho^dagger exact)"),
    "readout_scale": Field("float", 0.1, minimum=0.0, doc="initial scale of each network's last layer"),
    "splitting": Field("str", "simultaneous", choices=["simultaneous", "strang"],
                       doc="update Q, P, rho together from u(t) (the paper), or in the symmetric order "
                           "half Q, rho, P, half Q (each network sees the latest values)"),
    "phonons": Field("str", "learned", choices=["learned", "exact"],
                     doc="Q and P stepped by networks (the paper), or by their exact equations in the Strang "
                         "order (velocity Verlet; needs splitting: strang; only rho is learned)"),
    "particle_hole": Field("bool", False, doc="average the step over the particle-hole map Q, P -> -Q, -P, "
                                              "rho_ij -> delta_ij - (-1)^(i-j) rho_ij* (graphqd.models."
                                              "particle_hole): equivariant by construction, twice the cost; "
                                              "exact on open chains and rings of even L"),
}
# the lattice constants a model with phonons: exact integrates with (Normalization.constants)
PHONON_CONSTANTS = ("g", "stiffness", "mass")


def hermitian_traceless(change: Tensor, partner: Tensor, diagonal: Tensor, graph_of_site: Tensor,
                        graphs: int) -> Tensor:
    """Π(δ): the Hermitian, traceless part of band increments of every chain of a batch.

    Args:
        change: (M, 2) band channels (Re, Im).
        partner: (M,) band node of (j, i) for each node (i, j).
        diagonal: (N,) band node of (i, i) for each site.
        graph_of_site: (N,) chain of each site.
        graphs: number of chains.

    Shapes: change (M, 2) → (M, 2)
    """
    change = 0.5 * (change + change[partner] * change.new_tensor([1.0, -1.0]))
    mean = change.new_zeros(graphs).index_add_(0, graph_of_site, change[diagonal, 0])
    mean = mean / torch.bincount(graph_of_site, minlength=graphs).to(change.dtype)
    real = change[:, 0].index_add(0, diagonal, -mean[graph_of_site])
    return torch.stack([real, change[:, 1]], -1)


class HolsteinPARC(nn.Module, metaclass=abc.ABCMeta):
    """The three PARC pairs (F, S) of the paper on the Holstein state {Q (N,), P (N,), rho (M, 2)}.

    ``forward(batch, state)`` returns the next state and the derivative estimates
    ``Q_rate``, ``P_rate``, ``rho_rate`` (physical units) for the derivative loss.
    Subclasses build the six networks with :meth:`build_networks` and implement
    :meth:`context`, :meth:`apply_site` and :meth:`apply_band`.
    """

    system = "holstein"
    # keys whose change drops or reshapes networks and keeps the others' weights (train.init_from)
    REDUCING_KEYS = ("phonons",)
    # keys that change how the step applies the networks and not their weights (train.init_from)
    WRAPPING_KEYS = ("particle_hole",)

    def __init__(self, config: dict, normalization: Normalization):
        super().__init__()
        self.config = dict(config)
        self.normalization = normalization
        self.project = bool(config["hermitian_projection"])
        self.q_embedding = config["q_embedding"]
        self.particle_hole = bool(config.get("particle_hole", False))
        # .get: configs saved in checkpoints before the key existed reach here without defaults
        self.exact_phonons = config.get("phonons", "learned") == "exact"
        if self.exact_phonons:
            if config["splitting"] != "strang":
                raise ConfigError("config key 'model.phonons' = exact needs model.splitting: strang (the "
                                  "velocity-Verlet order)")
            if config.get("onsite_phonons", False):
                raise ConfigError("config key 'model.onsite_phonons' places the phonon networks, which "
                                  "model.phonons: exact replaces: leave it false")
            constants = normalization.constants or {}
            missing = [name for name in PHONON_CONSTANTS if name not in constants]
            if missing:
                raise ConfigError(f"config key 'model.phonons' = exact needs the lattice constants {missing} of "
                                  f"the training data, which this model's normalisation lacks")

    def build_networks(self, site_factories, band_factories, onsite_phonons: bool = False) -> None:
        """The six networks (two with ``phonons: exact``); with ``onsite_phonons`` the four of Q and P have
        every kernel radius 0."""
        c = self.config
        common = dict(width=c["width"], depth=c["depth"], dropout=c["dropout"], act=c["activation"],
                      readout_scale=c["readout_scale"])
        band = dict(common, kernel_radius=c["kernel_radius"], wide_kernel_radius=c["wide_kernel_radius"])
        site = dict(common, kernel_radius=0, wide_kernel_radius=0) if onsite_phonons else band
        band_in = 4 if self.q_embedding == "pair" else 3
        # differentiators; the integrators carry the paper's extra dropout after the ResNet blocks
        self.derivative_rho = ParcNet(*band_factories, band_in, 2, **band)
        self.integral_rho = ParcNet(*band_factories, 2, 2, extra_dropout=True, **band)
        if not self.exact_phonons:
            self.derivative_Q = ParcNet(*site_factories, 1, 1, **site)
            self.derivative_P = ParcNet(*site_factories, 2, 1, **site)
            self.integral_Q = ParcNet(*site_factories, 1, 1, extra_dropout=True, **site)
            self.integral_P = ParcNet(*site_factories, 1, 1, extra_dropout=True, **site)

    # --- layout hooks ---------------------------------------------------------------------
    @abc.abstractmethod
    def context(self, batch, state: dict):
        """Per-batch layout (graphs or dense shapes) that apply_site and apply_band use."""

    @abc.abstractmethod
    def apply_site(self, network: nn.Module, x: Tensor, context) -> Tensor:
        """(N, C_in) site rows → (N, C_out)."""

    @abc.abstractmethod
    def apply_band(self, network: nn.Module, x: Tensor, context) -> Tensor:
        """(M, C_in) band rows → (M, C_out)."""

    @property
    def rate_label(self) -> str:
        """Time of the derivative labels: "start" (du/dt at t) or "midpoint" (mean of t and t + Δt)."""
        return "midpoint" if self.config["splitting"] == "strang" else "start"

    # --- PARC step ---------------------------------------------------------------------------
    def forward(self, batch, state: dict) -> dict:
        """The PARC step; with ``particle_hole`` its average ½[M(u) + T M(T u)] over the particle-hole map T."""
        out = self.step(batch, state)
        if not self.particle_hole:
            return out
        sign, diagonal = offset_sign(batch[K.BAND_SITES]), batch[K.BAND_DIAGONAL]
        mirrored = mirror(self.step(batch, mirror(state, sign, diagonal)), sign, diagonal)
        return {key: 0.5 * (value + mirrored[key]) for key, value in out.items()}

    def step(self, batch, state: dict) -> dict:
        norm = self.normalization
        Q, P, rho = state[K.Q], state[K.P], state[K.RHO]
        graph_of_site = batch[K.GRAPH_OF_SITE] if K.GRAPH_OF_SITE in batch and batch[K.GRAPH_OF_SITE] is not None \
            else torch.zeros(Q.size(0), dtype=torch.long, device=Q.device)
        graphs = int(getattr(batch, "num_graphs", 1)) if K.GRAPH_OF_SITE in batch else 1
        context = self.context(batch, state)
        sites, diagonal = batch[K.BAND_SITES], batch[K.BAND_DIAGONAL]
        rate_std = {key: norm.get(key, "rate_std").to(Q.dtype) for key in K.HOLSTEIN_STATE}
        step_std = {key: norm.get(key, "step_std").to(Q.dtype) for key in K.HOLSTEIN_STATE}

        def project(rho_change: Tensor) -> Tensor:
            if not self.project:
                return rho_change
            return hermitian_traceless(rho_change, batch[K.BAND_PARTNER], diagonal, graph_of_site, graphs)

        def drift(P: Tensor) -> tuple[Tensor, Tensor]:
            """F_Q(P) (normalised) and the Q increment S_Q(F_Q(P))."""
            f = self.apply_site(self.derivative_Q, norm.normalize(K.P, P)[:, None], context)[:, 0]
            return f, self.apply_site(self.integral_Q, f[:, None], context)[:, 0] * step_std[K.Q]

        def kick(Q: Tensor, n: Tensor) -> tuple[Tensor, Tensor]:
            """F_P(Q, n) (normalised, n the normalised Re ρ_ii) and the P increment."""
            f = self.apply_site(self.derivative_P, torch.stack([norm.normalize(K.Q, Q), n], -1), context)[:, 0]
            return f, self.apply_site(self.integral_P, f[:, None], context)[:, 0] * step_std[K.P]

        def evolve(Q: Tensor, r: Tensor) -> tuple[Tensor, Tensor]:
            """F_ρ(Q, ρ) (normalised, projected) and the ρ increment (projected); r is the normalised band."""
            q = norm.normalize(K.Q, Q)
            if self.q_embedding == "pair":
                band_in = torch.cat([r, q[sites[:, 0], None], q[sites[:, 1], None]], -1)
            else:
                on_diagonal = torch.zeros_like(r[:, 0]).index_copy(0, diagonal, q)
                band_in = torch.cat([r, on_diagonal[:, None]], -1)
            f = self.apply_band(self.derivative_rho, band_in, context)
            if self.project:
                f = project(f * rate_std[K.RHO]) / rate_std[K.RHO]
            return f, project(self.apply_band(self.integral_rho, f, context) * step_std[K.RHO])

        r = norm.normalize(K.RHO, rho)
        if self.exact_phonons:
            c, dt = norm.constants, norm.dt
            Q_half = Q + 0.5 * dt * P / c["mass"]
            f_rho, change_rho = evolve(Q_half, r)
            rho_next = rho + change_rho
            force = c["g"] * (0.5 * (rho[diagonal, 0] + rho_next[diagonal, 0]) - 0.5) - c["stiffness"] * Q_half
            P_next = P + dt * force
            out = {K.Q: Q_half + 0.5 * dt * P_next / c["mass"], K.P: P_next, K.RHO: rho_next}
            rates = {K.Q: 0.5 * (P + P_next) / c["mass"], K.P: force}
            out.update({K.rate_key(key): value for key, value in rates.items()})
            out[K.rate_key(K.RHO)] = f_rho * rate_std[K.RHO]
            return out
        if self.config["splitting"] == "strang":
            f_Q, change_Q = drift(P)
            Q_half = Q + 0.5 * change_Q
            f_rho, change_rho = evolve(Q_half, r)
            rho_next = rho + change_rho
            n_mean = 0.5 * (r[diagonal, 0] + norm.normalize(K.RHO, rho_next)[diagonal, 0])
            f_P, change_P = kick(Q_half, n_mean)
            P_next = P + change_P
            f_Q_next, change_Q_next = drift(P_next)
            f_Q = 0.5 * (f_Q + f_Q_next)
            out = {K.Q: Q_half + 0.5 * change_Q_next, K.P: P_next, K.RHO: rho_next}
        else:
            f_Q, change_Q = drift(P)
            f_P, change_P = kick(Q, r[diagonal, 0])
            f_rho, change_rho = evolve(Q, r)
            out = {K.Q: Q + change_Q, K.P: P + change_P, K.RHO: rho + change_rho}
        rates = {K.Q: f_Q, K.P: f_P, K.RHO: f_rho}
        out.update({K.rate_key(key): value * rate_std[key] for key, value in rates.items()})
        return out

    @classmethod
    @abc.abstractmethod
    def graph_spec(cls, config: dict) -> HolsteinGraphSpec:
        """The graphs (site cutoff, band radius) the samples of this model must carry."""

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
