"""graphqd.bench."""
