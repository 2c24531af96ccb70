"""The comparison report: tables (tables.py) from every run's metrics file."""
