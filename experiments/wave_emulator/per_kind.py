"""Table 1 split by the kind of potential: where on the panel each emulator loses its accuracy.

Reads the per-case numbers of results/table1.json (written by table1.py; nothing is rolled out again) and
averages MAE (the published code's), C and |∫|ψ|² − 1| at frame 400 over four groups of the 37 cases: the 11
rectangular barriers of the curriculum's kind, the 12 other shaped barriers (double, triple, half circle,
quadratic, random, steps, trapezoid, triangle), the 2 wells (V < 0, a sign the curriculum never has) and the
12 free cases. Writes results/per_kind.csv and prints it as a Markdown table.

    python experiments/wave_emulator/per_kind.py gru_paper published gru5m strang
"""
from __future__ import annotations

import argparse
import csv
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GROUP_OF_KIND = {"barrier": "rectangular", "well": "well", "free": "free"}   # every other kind: "shaped"
METRICS = ("mae", "correlation", "norm_error_final")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="model names of table1.json (several seeds: their mean)")
    parser.add_argument("--truth", default="space-splitting")
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    with open(os.path.join(args.out_dir, "table1.json")) as fh:
        details = json.load(fh)["details"]
    rows = []
    for name in args.models:
        key = f"{name} / {args.truth}"
        if key not in details:
            parser.error(f"table1.json has no model '{name}' against the {args.truth} truth")
        cases = [case for seed in details[key] for case in seed["cases"]]
        for group in ("rectangular", "shaped", "well", "free"):
            chosen = [case for case in cases if GROUP_OF_KIND.get(case["kind"], "shaped") == group]
            rows.append({"model": name, "group": group, "cases": len(chosen) // len(details[key]),
                         **{m: float(np.mean([case[m] for case in chosen])) for m in METRICS}})
    with open(os.path.join(args.out_dir, "per_kind.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print("| model | group | cases | ⟨MAE⟩ | ⟨C⟩ | \\|∫\\|ψ\\|² − 1\\| at frame 400 |\n|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['model']} | {row['group']} | {row['cases']} | {row['mae']:.3g} | {row['correlation']:.4f} "
              f"| {row['norm_error_final']:.2g} |")


if __name__ == "__main__":
    main()
