"""`graphqd export PATH.h5 --trajectory K --out FILE.extxyz|FILE.traj`: one run to ASE."""
from __future__ import annotations

from graphqd.io.ase_export import export


def add_parser(subparsers):
    p = subparsers.add_parser("export", help="export one stored run to ASE (.extxyz or .traj)",
                              description="Write one run of a store as ASE Atoms, one frame per snapshot.")
    p.add_argument("path", help="store (.h5)")
    p.add_argument("--trajectory", type=int, default=0, help="run index (default 0)")
    p.add_argument("--out", required=True, help="FILE.extxyz or FILE.traj")
    p.add_argument("--every", type=int, default=1, help="keep every k-th snapshot (default 1)")
    p.add_argument("--spacing", type=float, default=1.0, help="lattice spacing in Å (default 1)")
    return p


def run(args) -> int:
    frames = export(args.path, args.trajectory, args.out, args.every, args.spacing)
    print(f"wrote {args.out} ({frames} frames)")
    return 0
