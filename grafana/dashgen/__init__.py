"""Grafana dashboards as code (grafana-foundation-sdk), built from ``promgate.queries``."""
