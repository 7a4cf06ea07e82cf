"""The runs around the judged one: a run's figures read from Prometheus, result files and their
index, which runs are the baseline, the run listing (``promgate runs``) and the Grafana link.
Imports ``regression``, ``judging``, ``model`` and ``stats``; never ``core.gate`` or ``live``."""
