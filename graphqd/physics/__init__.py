"""Ground-truth simulators. Nothing here imports from the learning side of graphqd."""
