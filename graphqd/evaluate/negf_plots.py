"""Figures of biased-CDW runs: the column-resolved CDW order parameter φ(x, t), the
domain-wall position and the current I(t)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from graphqd.data.negf import run_biases  # noqa: E402
from graphqd.data.store import open_store  # noqa: E402
from graphqd.evaluate import cdw_domains  # noqa: E402


def plot_domain_wall(path: str, run: int, out: str) -> dict:
    """Plot φ(x, t), the wall position from each electrode (the gated one alone when only the left
    electrode is gated), and I(t); returns the wall velocities."""
    with open_store(path, "negf") as h:
        t, Q, current = h["t"][()], torch.as_tensor(h["Q"][run], dtype=torch.float64), h["current"][run]
        Lx, bias = int(h.attrs["Lx"]), float(run_biases(h, [run])[0])
        sides = ("left",) if h.attrs.get("gate", "symmetric") == "left" else ("left", "right")
    phi = cdw_domains.column_order_parameter(Q)                       # (T, Lx)
    bulk = cdw_domains.bulk_order_parameter(phi[0])
    times = torch.as_tensor(t, dtype=torch.float64)
    walls = {side: cdw_domains.domain_wall_position(phi, bulk, side) for side in sides}
    # fit while the wall crosses the middle of the sample, away from the electrodes' edge layers
    inside = {"left": walls["left"], **({"right": Lx - 1 - walls["right"]} if "right" in walls else {})}
    velocity = {side: float(cdw_domains.domain_wall_velocity(times, pos, 0.25 * Lx, 0.75 * Lx))
                for side, pos in inside.items()}
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    image = a.imshow(phi.numpy().T, aspect="auto", origin="lower", cmap="viridis",
                     extent=[t[0], t[-1], -0.5, Lx - 0.5])
    fig.colorbar(image, ax=a, label=r"$\phi(x)$")
    a.set(xlabel="t", ylabel="column x (left lead at x = 0)", title="column CDW order parameter")
    for side, pos in walls.items():
        b.plot(t, pos.numpy(), label=f"from {side} electrode (v = {velocity[side]:.3g})")
    b.set(xlabel="t", ylabel="wall position (columns)", ylim=(-1, Lx), title="metal–insulator domain wall")
    b.legend(fontsize=8)
    c.plot(t, current)
    if np.isnan(current).all():  # a learned force field without force.current: exact
        c.text(0.5, 0.5, "current not computed\n(learned force field)", ha="center", va="center",
               transform=c.transAxes)
    c.set(xlabel="t", ylabel="I (e t / ħ)", title=f"current, bias V = {bias:g}")
    fig.suptitle(f"{path}: run {run}")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return velocity
