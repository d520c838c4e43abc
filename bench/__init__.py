"""Benchmarks of the tagging service (not unit tests): ``python -m bench.run --help``."""
