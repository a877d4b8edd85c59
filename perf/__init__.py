"""Measurement: `make bench` (docs/benchmarks.md) and `make load` (a crowd of spins at once)."""
