"""graphqd.evaluate."""
