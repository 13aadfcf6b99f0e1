"""`graphqd evaluate`: arrives with the learning infrastructure (issue 5)."""
from __future__ import annotations

import argparse

from graphqd.errors import GraphqdError

MESSAGE = "graphqd evaluate is not available in this version; it arrives with the learning infrastructure (issue 5)"


def add_parser(subparsers):
    p = subparsers.add_parser("evaluate", help="(not yet available) " + MESSAGE, description=MESSAGE)
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return p


def run(args) -> int:
    raise GraphqdError(MESSAGE)
