"""Benchmarks: a seeded log generator, Wallwatch against its peers, and the results."""
