"""The gate's configuration: YAML loading, conditions, units, presets, the thresholds-file
format and offline lint. Imports only ``prometheus`` (settings, PromQL templating), ``queries`` and
``errors``.
"""
