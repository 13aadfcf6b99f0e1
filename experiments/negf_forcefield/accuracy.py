"""Accuracy of learned NEGF densities and forces: RMSE per bias and per region, and parity plots.

Every checkpoint is scored on (1) the test runs of its own training store (the split recorded in
the checkpoint; of data.path where it trained on several stores), (2) every run of the held-out
bias sweep (another seed, three unseen biases) and (3) every run of each store given by --sets:

    python experiments/negf_forcefield/accuracy.py --sweep data/negf_sweep_exact.h5 \\
        --models graph=runs/ff_graph cnn=runs/ff_cnn --out experiments/negf_forcefield/results \\
        [--sets 40x14=data/negf_transfer_exact_40x14.h5] [--append --parity parity_mlp.png]

Per run and over all its records and sites (`graphqd.evaluate.negf_metrics`): RMSE of n, as a
fraction of std(n), RMSE of F (g · RMSE of n), and RMSE of n in the 6 columns next to each lead and
in the bulk. Writes accuracy.csv (one row per model, set and bias), accuracy.json and parity.png
(learned against exact n on the sweep, one panel per model). With --append the models join those
of the existing accuracy.json (a model of the same name is replaced) and the parity plot of the new
models goes to --parity.
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graphqd.data.store import open_store  # noqa: E402
from graphqd.evaluate.negf_metrics import PER_RUN, group_by_bias, run_errors  # noqa: E402
from graphqd.runtime.surrogate import load_surrogate  # noqa: E402


def score(surrogate, path: str, runs: list[int] | None) -> tuple[dict, np.ndarray, np.ndarray]:
    """Grouped metrics of `runs` of the store at `path` (default all), and all predicted and exact n."""
    with open_store(path, "negf") as handle:
        runs = list(range(int(handle["Q"].shape[0]))) if runs is None else runs
        per_run = [run_errors(surrogate, handle, run) for run in runs]
    predicted = np.concatenate([r.pop("predicted").ravel() for r in per_run])
    exact = np.concatenate([r.pop("exact").ravel() for r in per_run])
    return group_by_bias(per_run), predicted, exact


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", required=True, help="held-out sweep store (exact NEGF)")
    ap.add_argument("--models", nargs="+", required=True, metavar="NAME=CHECKPOINT")
    ap.add_argument("--sets", nargs="*", default=[], metavar="NAME=STORE",
                    help="further exact stores to score every run of (e.g. a lattice of another size)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--append", action="store_true", help="add to the models of the existing accuracy.json")
    ap.add_argument("--parity", default="parity.png", help="file name of the parity plot of these models")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results, parity = {}, {}
    if args.append:
        with open(os.path.join(args.out, "accuracy.json")) as fh:
            results = json.load(fh)
    subsets = ["test_split", "sweep", *(item.partition("=")[0] for item in args.sets)]
    subsets += sorted({s for entry in results.values() for s in entry if isinstance(entry[s], dict)} - set(subsets))
    for item in args.models:
        name, _, path = item.partition("=")
        surrogate = load_surrogate(path, "cpu", "negf")
        with open_store(surrogate.dataset["path"], "negf") as handle:  # with extra stores: data.path's test runs
            test_runs = [r for r in surrogate.dataset["splits"]["test"] if r < int(handle["Q"].shape[0])]
        sweep, predicted, exact = score(surrogate, args.sweep, None)
        results[name] = {"checkpoint": os.path.abspath(surrogate.path), "step": surrogate.step,
                         "model": surrogate.config["model"]["name"], "parameters": surrogate.parameter_count,
                         "sweep": {"store": os.path.abspath(args.sweep), "groups": sweep}}
        if test_runs:
            own, _, _ = score(surrogate, surrogate.dataset["path"], test_runs)
            results[name]["test_split"] = {"store": surrogate.dataset["path"], "runs": test_runs, "groups": own}
        for item in args.sets:
            subset, _, store = item.partition("=")
            groups, _, _ = score(surrogate, store, None)
            results[name][subset] = {"store": os.path.abspath(store), "groups": groups}
        parity[name] = (predicted, exact)
        print(f"{name}: " + ", ".join(f"{subset} RMSE n {g['all']['rmse_n']:.4g} "
                                      f"({100 * g['all']['relative_rmse_n']:.2f} % of std n), lead columns "
                                      f"{g['all']['rmse_n_leads']:.4g}" for subset, g in
                                      ((s, results[name][s]["groups"]) for s in subsets if s in results[name])))
    with open(os.path.join(args.out, "accuracy.json"), "w") as fh:
        json.dump(results, fh, indent=2)
    with open(os.path.join(args.out, "accuracy.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", "set", "group", "runs", *PER_RUN])
        for name, entry in results.items():
            for subset in subsets:
                for group, values in entry.get(subset, {"groups": {}})["groups"].items():
                    writer.writerow([name, subset, group, values["runs"], *[values.get(m, "") for m in PER_RUN]])
    fig, axes = plt.subplots(1, len(parity), figsize=(3.8 * len(parity), 3.6), squeeze=False, constrained_layout=True)
    for ax, (name, (predicted, exact)) in zip(axes[0], parity.items()):
        ax.hexbin(exact, predicted, gridsize=80, bins="log", cmap="viridis", extent=(0, 1, 0, 1))
        ax.plot([0, 1], [0, 1], "w--", lw=0.8)
        rmse = results[name]["sweep"]["groups"]["all"]["rmse_n"]
        ax.set(xlabel="exact $n_i$", ylabel="learned $n_i$", title=f"{name}\nRMSE {rmse:.3g} (held-out sweep)")
    fig.savefig(os.path.join(args.out, args.parity), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
