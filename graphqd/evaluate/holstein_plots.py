"""Figures of Holstein runs: Q_i(t) as a space-time map, the CDW order parameters φ_Q(t)
and φ_ρ(t), and |ρ_ij| snapshots."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graphqd.data.store import open_store  # noqa: E402


def plot_quench(path: str, run: int, out: str, snapshots: int = 4) -> None:
    """One figure of run `run` of a Holstein store: Q map, φ_Q and φ_ρ in units of Q* = g/K, |ρ| snapshots."""
    with open_store(path, "holstein") as h:
        t, Q, rho = h["t"][()], h["Q"][run], h["rho"][run]
        shape = tuple(int(v) for v in h.attrs["lattice_shape"])
        q_star = float(h.attrs["g_final"]) / float(h.attrs["stiffness"])
        title = f"{path}: run {run}, g {h.attrs['g_initial']:g} → {h.attrs['g_final']:g}"
    coords = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, len(shape))
    sign = 1 - 2 * (coords.sum(-1) % 2)
    density = rho.diagonal(axis1=-2, axis2=-1).real
    fig = plt.figure(figsize=(11, 6.5), constrained_layout=True)
    grid = fig.add_gridspec(2, snapshots)
    ax = fig.add_subplot(grid[0, : snapshots // 2])
    image = ax.imshow(Q.T / q_star, aspect="auto", origin="lower", cmap="RdBu_r",
                      extent=[t[0], t[-1], -0.5, Q.shape[1] - 0.5])
    fig.colorbar(image, ax=ax, label="$Q_i / Q^*$")
    ax.set(xlabel="t", ylabel="site i", title="phonon displacement")
    ax = fig.add_subplot(grid[0, snapshots // 2:])
    ax.plot(t, (sign * Q).mean(-1) / q_star, label=r"$\phi_Q / Q^*$")
    ax.plot(t, (sign * density).mean(-1), label=r"$\phi_\rho$")
    ax.set(xlabel="t", title="CDW order parameters")
    ax.legend()
    for k, index in enumerate(np.linspace(0, len(t) - 1, snapshots).astype(int)):
        ax = fig.add_subplot(grid[1, k])
        image = ax.imshow(np.abs(rho[index]), cmap="magma", vmin=0, vmax=1)
        ax.set(title=f"|ρ| at t = {t[index]:g}", xlabel="j", ylabel="i")
    fig.colorbar(image, ax=ax)
    fig.suptitle(title)
    fig.savefig(out, dpi=110)
    plt.close(fig)
