"""``promgate run``'s orchestration: the load test as a child process, and the checks marked
``abort:`` judged while it runs. The top of ``core``: it drives ``core.gate.Gate``."""
