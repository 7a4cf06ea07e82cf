"""The result model: ``GateResult`` and its parts (checks, series, baseline, load profile,
per-endpoint figures, the HTML report's data, why a run was aborted) and their JSON form. Pure
data: imports only ``stats`` from ``core``."""
