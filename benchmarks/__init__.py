"""Benchmarks: speed measured side by side with what a user would otherwise run.

`python -m benchmarks --help` lists them; each writes one JSON file under
benchmarks/results/ with the device, library versions and the date.
"""
