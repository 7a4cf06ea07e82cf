"""Talking to Prometheus: connection settings, the HTTP client, sample types, PromQL
templating and a run's window. Imports only ``queries`` and ``errors``.
"""
