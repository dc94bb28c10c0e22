"""Micro-benchmarks of the application (``make bench``); see bench/README.md.

Nothing here is imported by the application.
"""
