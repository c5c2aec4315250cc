"""Benchmarks against peers and physical limits; results land in bench/results/ as JSON."""
