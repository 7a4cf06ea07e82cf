"""Locust test of the demo Student Management System API, with live Prometheus metrics.

    locust -f examples/locustfile.py --headless -u 20 -r 10 -t 60s --host http://127.0.0.1:8080 \
        --prometheus-pushgateway http://127.0.0.1:9091
"""

from __future__ import annotations

import random

import locust_prometheus  # noqa: F401 - registers the exporter's options and listeners
from locust import FastHttpUser, between, task


class StudentUser(FastHttpUser):
    wait_time = between(0.05, 0.2)

    @task(5)
    def list_students(self) -> None:
        self.client.get("/students")

    @task(10)
    def get_student(self) -> None:
        # One series for all ids: Locust groups by name, and so does the exporter.
        self.client.get(f"/students/{random.randint(1, 10_000)}", name="/students/{id}")

    @task(2)
    def create_student(self) -> None:
        self.client.post("/students", json={"name": "Grace Hopper", "year": 2})

    @task(3)
    def list_courses(self) -> None:
        self.client.get("/courses")

    @task(2)
    def enroll(self) -> None:
        self.client.post("/enrollments", json={"student": 1, "course": 2})

    @task(1)
    def health(self) -> None:
        self.client.get("/health")
