"""Three endpoints at 70/25/5 % of the traffic, no wait: a short run with many requests
(``test_regression.py``)."""

from __future__ import annotations

import locust_prometheus  # noqa: F401 - registers the exporter's options and listeners
from locust import FastHttpUser, constant, task


class RegressionUser(FastHttpUser):
    wait_time = constant(0)

    @task(14)
    def busiest(self) -> None:
        self.client.get("/students")

    @task(5)
    def middle(self) -> None:
        self.client.get("/courses")

    @task(1)
    def sparse(self) -> None:
        self.client.get("/enrollments")
