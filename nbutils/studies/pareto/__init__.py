"""Notebook 02: NGDiff's Fig. 1, GDiff swept over c with the multi-task rules as markers.

``sweep`` the two sweeps of c (the common rate, refined where forgetting flips, and each c
at its tuned rate) with the markers' runs and collapse points, ``frontier`` the mean
points and each method's score against the sweep's Pareto frontier, ``verdicts`` the
registry claims of Fig. 1, ``plots`` the figure.
"""
