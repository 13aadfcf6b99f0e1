"""Figures of wave runs: |ψ(x, t)|² as a space-time map with the potential, and snapshots."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graphqd.data.store import open_store  # noqa: E402


def plot_density(path: str, run: int, out: str, snapshots: int = 4) -> None:
    """|ψ(x, t)|² of run `run` of a wave store, with V(x) outlined, and density snapshots."""
    with open_store(path, "wave") as h:
        x, t, psi, V = h["x"][()], h["t"][()], h["psi"][run], h["V"][run]
        label = (f"{h['kind'].asstr()[run]}: X0 = {h['X0'][run]:g}, S0 = {h['S0'][run]:g}, E0 = {h['E0'][run]:g}, "
                 f"V_max = {h['barrier_height'][run]:g}; {h.attrs['laplacian']}/{h.attrs['propagator']}")
    density = np.abs(psi) ** 2
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    image = left.imshow(density, aspect="auto", origin="lower", cmap="viridis",
                        extent=[x[0], x[-1], t[0], t[-1]], vmax=np.quantile(density, 0.999))
    fig.colorbar(image, ax=left, label=r"$|\psi|^2$")
    support = np.abs(V) > 0
    if support.any():
        left.axvspan(x[support][0], x[support][-1], color="white", alpha=0.15, lw=0)
    left.set(xlabel="x", ylabel="t", title=r"$|\psi(x,t)|^2$")
    scale = density.max() / max(np.abs(V).max(), 1e-12)
    right.fill_between(x, V * scale, color="0.85", label=f"V (scaled by {scale:.2g})")
    for index in np.linspace(0, len(t) - 1, snapshots).astype(int):
        right.plot(x, density[index], label=f"t = {t[index]:g}")
    right.set(xlabel="x", ylabel=r"$|\psi|^2$", title="snapshots")
    right.legend(fontsize=8)
    fig.suptitle(label)
    fig.savefig(out, dpi=110)
    plt.close(fig)
