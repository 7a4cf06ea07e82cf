"""Rendering a result: text table, JUnit, Markdown, GitHub annotations, analysis JSON, pushed
results and the HTML report. Imports ``core`` and below; never ``cli``.
"""
