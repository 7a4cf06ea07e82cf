"""``preset: latency_regression``: the run's distributions against a baseline's or the run
history's, beyond noise. Imports ``judging``, ``model`` and ``stats``."""
