"""Notebook 06: NGDiff's method comparison (Fig. 4, Table 1, Table 3), one room a topic.

``configs`` the runs (methods, optimizers, seeds, evaluation cadence; notebook 02 shares
them), ``tables`` Table 1 and Table 3 with the paper's success rule, ``verdicts`` the
registry claims of Table 1, Table 3 and Fig. 4, ``plots`` Fig. 4's curves and the tables
as bars and arrows.
"""
