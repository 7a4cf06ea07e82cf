"""The gate's domain: evaluate a config against a run and a baseline, and the result it gives.

Subpackages, each importing only the ones below it (``tests/unit/gate/test_gate_layout.py``):

* ``live/``: ``promgate run``'s orchestration, the load test as a child process and the checks
  judged during the run;
* ``gate.py``: ``Gate``, the library entry point, which composes the packages below;
* ``runs/``: the runs other than the judged one's verdict: reading a run from Prometheus or from
  result files, choosing the baseline, listing runs, the Grafana link;
* ``regression/``: ``latency_regression`` against a baseline or the run history;
* ``judging/``: the judging kernel, one check's series against its conditions, and how every
  figure reads;
* ``model/``: the result model (``GateResult`` and its parts, their JSON form): pure data;
* ``stats/``: response-time distributions and the tests that compare two (pure, no imports).

Imports ``config``, ``prometheus``, ``queries`` and ``errors``; never ``report`` or ``cli``.
"""
