"""`graphqd export PATH.h5 --trajectory K --out FILE.extxyz|FILE.traj`: one run to ASE.

`graphqd export PATH.h5 --trajectory K --out FILE.png`: the figure of one run, drawn by the
plots of the store's system (`graphqd.runtime.systems`, role `plots`).
`graphqd export RUN_DIR|CHECKPOINT --out FILE.pt`: a trained model alone (pretrained file).
"""
from __future__ import annotations

from graphqd.errors import GraphqdError
from graphqd.io.ase_export import export
from graphqd.runtime import systems


def add_parser(subparsers):
    p = subparsers.add_parser("export", help="export one stored run to ASE (.extxyz or .traj) or a figure (.png), "
                                             "or a trained model to a pretrained file (.pt)",
                              description="Write one run of a store as ASE Atoms, one frame per snapshot, or as "
                                          "a figure (.png); or, "
                                          "with --out FILE.pt, write the model of a run directory or checkpoint "
                                          "without its optimiser state (for rollout, evaluate, train.init_from).")
    p.add_argument("path", help="store (.h5), or a run directory / checkpoint file with --out FILE.pt")
    p.add_argument("--trajectory", type=int, default=0, help="run index (default 0)")
    p.add_argument("--out", required=True, help="FILE.extxyz, FILE.traj or FILE.png (a run), FILE.pt (a model)")
    p.add_argument("--every", type=int, default=1, help="keep every k-th snapshot (default 1)")
    p.add_argument("--spacing", type=float, default=1.0, help="lattice spacing in Å (default 1)")
    return p


def run(args) -> int:
    if args.out.endswith(".pt"):
        from graphqd.runtime.checkpoint import export_model
        if args.path.endswith(".h5"):
            raise GraphqdError(f"--out '{args.out}' writes a model, so the path must be a run directory or "
                               f"checkpoint file, not the store '{args.path}'")
        model = export_model(args.path, args.out)
        print(f"wrote {args.out} ({model.config['model']['name']}, step {model.step})")
        return 0
    if args.out.endswith(".png"):
        system = systems.of_store(args.path)
        system.load("plots", f"'{args.path}' is a {system.name} store")(args.path, args.trajectory, args.out)
        print(f"wrote {args.out} ({system.name} run {args.trajectory})")
        return 0
    frames = export(args.path, args.trajectory, args.out, args.every, args.spacing)
    print(f"wrote {args.out} ({frames} frames)")
    return 0
