"""Figures of Holstein runs: Q_i(t) as a space-time map, the CDW order parameters φ_Q(t)
and φ_ρ(t), and |ρ_ij| snapshots."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graphqd.data.density_band import read_density, read_occupations  # noqa: E402
from graphqd.data.store import open_store  # noqa: E402


def plot_quench(path: str, run: int, out: str, snapshots: int = 4) -> None:
    """One figure of run `run` of a Holstein store: Q map, φ_Q and φ_ρ in units of Q* = g/K, |ρ| snapshots."""
    with open_store(path, "holstein") as h:
        t, Q, density = h["t"][()], h["Q"][run], read_occupations(h, run)
        shown = np.linspace(0, len(t) - 1, snapshots).astype(int)
        rho = {int(k): read_density(h, run, int(k)) for k in shown}
        shape = tuple(int(v) for v in h.attrs["lattice_shape"])
        q_star = float(h.attrs["g_final"]) / float(h.attrs["stiffness"])
        title = f"{path}: run {run}, g {h.attrs['g_initial']:g} → {h.attrs['g_final']:g}"
    coords = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, len(shape))
    sign = 1 - 2 * (coords.sum(-1) % 2)
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
    for k, index in enumerate(shown):
        ax = fig.add_subplot(grid[1, k])
        image = ax.imshow(np.abs(rho[index]), cmap="magma", vmin=0, vmax=1)
        ax.set(title=f"|ρ| at t = {t[index]:g}", xlabel="j", ylabel="i")
    fig.colorbar(image, ax=ax)
    fig.suptitle(title)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_rollout(truth_path: str, rollout_path: str, run: int, out: str) -> None:
    """Surrogate rollout against the exact trajectory: Q maps of both, their difference, and φ_Q(t)."""
    with open_store(truth_path, "holstein") as h:
        t, truth = h["t"][()], h["Q"][run]
        q_star = float(h.attrs["g_final"]) / float(h.attrs["stiffness"])
    with open_store(rollout_path, "holstein") as h:
        model, predicted = h.attrs.get("surrogate_model", "surrogate"), h["Q"][run]
    steps = min(len(truth), len(predicted))
    t, truth, predicted = t[:steps], truth[:steps] / q_star, predicted[:steps] / q_star
    sign = 1 - 2 * (np.arange(truth.shape[1]) % 2)
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), constrained_layout=True)
    extent = [t[0], t[-1], -0.5, truth.shape[1] - 0.5]
    limit = np.abs(truth).max()
    for ax, data, title in ((axes[0], truth, "exact"), (axes[1], predicted, model),
                            (axes[2], predicted - truth, f"{model} − exact")):
        image = ax.imshow(data.T, aspect="auto", origin="lower", cmap="RdBu_r", extent=extent, vmin=-limit, vmax=limit)
        ax.set(xlabel="t", ylabel="site i", title=f"$Q_i/Q^*$: {title}")
    fig.colorbar(image, ax=axes[2])
    axes[3].plot(t, (sign * truth).mean(-1), label="exact")
    axes[3].plot(t, (sign * predicted).mean(-1), "--", label=model)
    axes[3].set(xlabel="t", title=r"$\phi_Q / Q^*$")
    axes[3].legend()
    fig.suptitle(f"{rollout_path}: run {run}, L = {truth.shape[1]}")
    fig.savefig(out, dpi=110)
    plt.close(fig)


def climate_series(path: str, run: int, steps: int | None = None) -> dict:
    """Site means of run `run` at every snapshot: the polaron fraction (|Q_i| > 1, a site bound into a polaron;
    as in experiment 8 of `experiments/holstein_parc/`) and the lattice kinetic energy P_i²/(2m)."""
    with open_store(path, "holstein") as h:
        t, Q, P, mass = h["t"][:steps], h["Q"][run, :steps], h["P"][run, :steps], float(h.attrs["mass"])
    return {"t": t, "Q": Q, "polaron_fraction": (np.abs(Q) > 1).mean(-1), "kinetic": (P ** 2).mean(-1) / (2 * mass)}


def plot_climate(truth_path: str, rollout_path: str, run: int, out: str) -> dict:
    """A chaotic (deep-quench) rollout against the exact run from the same state: the Q maps of both, which
    decorrelate after a few Lyapunov times, and the site statistics that should not, the polaron fraction
    and the lattice kinetic energy per site (`climate_series`). Returns both series of both runs."""
    with open_store(rollout_path, "holstein") as h:
        model, steps = h.attrs.get("surrogate_model", "surrogate"), h["t"].shape[0]
    exact, learned = climate_series(truth_path, run, steps), climate_series(rollout_path, run, steps)
    t = exact["t"]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), constrained_layout=True)
    extent, limit = [t[0], t[-1], -0.5, exact["Q"].shape[1] - 0.5], np.abs(exact["Q"]).max()
    for ax, series, title in ((axes[0], exact, "exact"), (axes[1], learned, model)):
        image = ax.imshow(series["Q"].T, aspect="auto", origin="lower", cmap="RdBu_r", extent=extent,
                          vmin=-limit, vmax=limit)
        ax.set(xlabel="t", ylabel="site i", title=f"$Q_i$: {title}")
    fig.colorbar(image, ax=axes[1])
    for ax, name, label in ((axes[2], "polaron_fraction", r"polaron fraction ($|Q_i| > 1$)"),
                            (axes[3], "kinetic", r"lattice kinetic energy $\langle P_i^2/2m \rangle$")):
        ax.plot(t, exact[name], label="exact")
        ax.plot(t, learned[name], "--", label=model)
        ax.set(xlabel="t", title=label)
        ax.legend()
    fig.suptitle(f"{rollout_path}: run {run}, L = {exact['Q'].shape[1]}")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return {"exact": exact, "model": learned}
