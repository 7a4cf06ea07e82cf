"""Judging: the gate (evaluate a config against a run and a baseline), the judge, the result
model and the run listing. Imports ``config``, ``prometheus``, ``queries`` and ``errors``; never
``report`` or ``cli``.
"""
