"""graphqd: graph surrogates for quantum and quantum-classical lattice dynamics."""

__version__ = "0.1.0"

from graphqd.errors import GraphqdError  # noqa: E402,F401
