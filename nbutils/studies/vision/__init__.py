"""Notebook 08: unlearning on images (NGDiff Appendix D, Table 4; the DualOptim slides'
image tables), on the digits of ``core.digits``.

``runs`` the image runs and RT as executor jobs and the table of every run, ``rates``
each method's rate per scenario (tuning requests), ``tables`` the slides' Gap / Std
tables, ``verdicts`` Table 4's claims, ``plots`` the dot plot of the runs.
"""
