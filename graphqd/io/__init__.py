"""graphqd.io."""
