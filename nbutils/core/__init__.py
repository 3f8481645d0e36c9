"""What is measured, and on what: benchmarks, models, batches, metrics, the digits.

Nothing here knows about unlearning runs, studies, plotting or notebooks.
"""
