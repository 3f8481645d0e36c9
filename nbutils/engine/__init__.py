"""Unlearning: gradients, direction rules, AutoLR, optimizers, NPO, the one run loop,
cached runs, grids and tuned rates. Imports ``core`` and ``stats`` only.
"""
