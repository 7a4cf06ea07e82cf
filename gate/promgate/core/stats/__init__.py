"""Response-time distributions as histogram bucket counts and the statistical tests that compare
two of them. Pure: imports nothing from promgate."""
