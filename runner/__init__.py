"""concurrency-lab: a declarative lab for measuring Python concurrency.

This package is imported by the measuring core in every cell, so it imports nothing
itself: heavy parts load only where they are used.
"""
