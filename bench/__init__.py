"""Benchmarks against the targets of PRODUCT.md §8; each module is a script (see bench/README.md)."""
