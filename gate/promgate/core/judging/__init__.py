"""The judging kernel: one check's series against its conditions and baseline, why a query
returned nothing, a check's window, the figures every result carries, and how every figure and
verdict reads. Imports ``model`` and ``stats`` only from ``core``."""
