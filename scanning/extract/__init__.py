"""Extractors: each one bounded (size, ratio, depth, count, time); past a bound, a ZipProblem-style verdict."""
