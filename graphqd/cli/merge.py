"""`graphqd merge OUT.h5 SHARD.h5 ...`: join the shard files of one `simulate --shard` dataset."""
from __future__ import annotations

from graphqd.data.store import merge_shards


def add_parser(subparsers):
    p = subparsers.add_parser("merge", help="join shard files written by simulate --shard",
                              description="Concatenate complete shards of one dataset into a new store.")
    p.add_argument("out", help="merged store to write (must not exist)")
    p.add_argument("shards", nargs="+", help="shard stores, in any order")
    return p


def run(args) -> int:
    runs = merge_shards(args.shards, args.out)
    print(f"wrote {args.out} ({runs} runs)")
    return 0
