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


def plot_rollout(truth_path: str, rollout_path: str, run: int, out: str, snapshots: int = 3) -> None:
    """An emulator rollout against the truth: |ψ|² maps of both, density snapshots, and the
    normalised correlation C(t) and norm ∫|ψ|²dx of both (frames aligned on the data's times)."""
    with open_store(rollout_path, "wave") as r:
        emulated, t, x = r["psi"][run], r["t"][()], r["x"][()]
        start, seed, model = int(r.attrs["start_snapshot"]), int(r.attrs["seed_frames"]), r.attrs["surrogate_model"]
        model_dt, name = float(r.attrs["dt"]), r["name"].asstr()[run]
    with open_store(truth_path, "wave") as h:
        k = max(1, round(model_dt / float(h.attrs["dt"])))  # stored snapshots per emulator step
        truth, V = h["psi"][run, start:start + k * len(emulated):k], h["V"][run]
    dx = float(x[1] - x[0])
    fig, axes = plt.subplots(1, 4, figsize=(17, 4), constrained_layout=True)
    limit = np.quantile(np.abs(truth) ** 2, 0.999)
    for ax, psi, title in ((axes[0], truth, "truth"), (axes[1], emulated, model)):
        image = ax.imshow(np.abs(psi) ** 2, aspect="auto", origin="lower", cmap="viridis", vmax=limit,
                          extent=[x[0], x[-1], t[0], t[-1]])
        ax.set(xlabel="x", ylabel="t", title=rf"$|\psi|^2$: {title}")
    fig.colorbar(image, ax=axes[1])
    scale = (np.abs(truth) ** 2).max() / max(np.abs(V).max(), 1e-12)
    axes[2].fill_between(x, V * scale, color="0.85")
    for j, index in enumerate(np.linspace(seed, len(t) - 1, snapshots).astype(int)):
        axes[2].plot(x, np.abs(truth[index]) ** 2, color=f"C{j}", label=f"t = {t[index]:g}")
        axes[2].plot(x, np.abs(emulated[index]) ** 2, "--", color=f"C{j}")
    axes[2].set(xlabel="x", title="snapshots (dashed: emulator)")
    axes[2].legend(fontsize=8)
    overlap = np.abs((np.conj(emulated) * truth).sum(-1))
    correlation = overlap / np.maximum(np.linalg.norm(emulated, axis=-1) * np.linalg.norm(truth, axis=-1), 1e-300)
    axes[3].plot(t, correlation, label="C(t)")
    axes[3].plot(t, (np.abs(emulated) ** 2).sum(-1) * dx, label=r"$\int|\hat\psi|^2$")
    axes[3].plot(t, (np.abs(truth) ** 2).sum(-1) * dx, ":", label=r"$\int|\psi|^2$ (truth)")
    axes[3].set(xlabel="t", title="correlation and norm")
    axes[3].legend(fontsize=8)
    fig.suptitle(f"{rollout_path}: {name}")
    fig.savefig(out, dpi=110)
    plt.close(fig)
