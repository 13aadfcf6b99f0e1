"""graphqd.graphs."""
