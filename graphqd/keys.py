"""Names of the tensors that flow between datasets, models and the trainer (nequip style).

Every sample is a PyG graph whose nodes are lattice sites (grid points for the wave system);
Holstein samples carry a second node set, the density-matrix band. A window of H + 1 frames holds the state at
t0 + h·k·dt for h = 0 … H (k = `data.step` snapshots per model step); frame 0 is the input,
frames 1 … H the targets of an H-step rollout. Per-node integer fields are never named
*index*/*batch*: PyG would offset those when batching. The ones here are offset explicitly
by `HolsteinSample.__inc__` (by the site count or the band-node count, as stated).
"""

# --- site nodes (PyG's nodes: `num_nodes` = number of lattice sites) -------------------------
SITE_FEATURES = "x"            # (num_sites, 3) float | Q_i, P_i, n_i = Re ρ_ii of frame 0
Q = "Q"                        # (num_sites, H+1) float | phonon displacement Q_i per frame
P = "P"                        # (num_sites, H+1) float | phonon momentum P_i per frame
Q_RATE = "Q_rate"              # (num_sites, H+1) float | exact dQ_i/dt = P_i/m (physics.holstein.rhs)
P_RATE = "P_rate"              # (num_sites, H+1) float | exact dP_i/dt = g(ρ_ii − ½) − K Q_i
SITE_EDGE_INDEX = "edge_index"  # (2, E_site) long | site graph, source j → target i (PyG offsets it)
SITE_OFFSET = "edge_offset"    # (E_site, 1) long | r_j − r_i, minimum image
BAND_DIAGONAL = "band_diagonal"  # (num_sites,) long | band node of ρ_ii (offset by the band-node count)
GRAPH_OF_SITE = "batch"        # (num_sites,) long | graph of each site (made by PyG's Batch)

# --- band nodes: density-matrix entries ρ_ij with d(i, j) ≤ band_radius ----------------------
RHO = "rho"                    # (num_band, H+1, 2) float | Re ρ_ij, Im ρ_ij per frame
RHO_RATE = "rho_rate"          # (num_band, H+1, 2) float | exact dρ_ij/dt = −i[h(Q), ρ]_ij
BAND_FEATURES = "band_x"       # (num_band, 4) float | Re ρ_ij, Im ρ_ij, Q_i, Q_j of frame 0
BAND_SITES = "band_sites"      # (num_band, 2) long | sites i, j of the entry (offset by the site count)
BAND_PARTNER = "band_partner"  # (num_band,) long | band node of ρ_ji (offset by the band-node count)
BAND_EDGE_INDEX = "band_edge_index"  # (2, E_band) long | band graph, source → target
BAND_OFFSET = "band_offset"    # (E_band, 2) long | (di, dj) = source entry − target entry

# --- one per graph ------------------------------------------------------------------------------
RUN = "run"                    # (1,) long | trajectory number in the store
START = "start"                # (1,) long | stored snapshot of frame 0

# --- wave samples: grid points are the nodes -----------------------------------------------------
PSI = "psi"                    # (num_points, F, 2) float | Re ψ, Im ψ per stored frame; the state is the
                               #   last `frames` of them, (num_points, frames, 2), oldest first
POTENTIAL = "V"                # (num_points,) float | V(x) at each point (static)
WINDOW_EDGE_INDEX = "window_edge_index"  # (2, E_window) long | window centre → member, centre-major, slots ascending
WINDOW_OFFSET = "window_offset"  # (E_window, 1) long | member − centre, the member's slot in the window
NODE_WEIGHT = "node_weight"    # (num_nodes,) float | weight of each node in the loss and the error (absent: 1)

# the evolving state of a Holstein sample, and the derivative label of each key
HOLSTEIN_STATE = (Q, P, RHO)
RATE_SUFFIX = "_rate"


def rate_key(key: str) -> str:
    """Name of the exact time derivative of state key `key` (e.g. "Q" → "Q_rate")."""
    return key + RATE_SUFFIX

# --- NEGF force-field samples: one lattice snapshot, sites are the nodes -------------------------
#   (Q above holds the displacements, (num_sites,) without a frame axis)
DENSITY = "n"                  # (num_sites,) float | steady-state NEGF density n_i (the label)
FORCE = "force"                # (num_sites,) float | exact force F_i = g(n_i − ½) − K Q_i − κ Σ_nn Q_j
MU_LEFT = "mu_left"            # (1,) float per graph | chemical potential of the left lead (column x = 0)
MU_RIGHT = "mu_right"          # (1,) float per graph | chemical potential of the right lead (x = Lx − 1)
LATTICE = "lattice"            # (1, 2) long per graph | (Ly, Lx); sites are numbered y · Lx + x
