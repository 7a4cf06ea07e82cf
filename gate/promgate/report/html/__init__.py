"""The self-contained HTML report: data from Prometheus, SVG charts, stylesheet and rendering."""
