"""The core every layer stands on: records, errors, configuration, clock, clients, paths, limits, lifecycle.

It imports nothing else of ours (an import-linter contract in pyproject.toml keeps it so).
"""
