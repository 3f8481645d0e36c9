"""Notebook 04: learning-rate sensitivity (NGDiff Fig. 6: GDiff; Fig. 5: NGDiff vs AutoLR).

``configs`` the fixed rates and AutoLR's starts, ``runs`` one optimizer's study (tuning
on held-out seeds, the grid on the evaluation seeds, its tables), ``verdicts`` the
registry claims of Figs. 5 and 6, ``plots`` the curves and the summary panel.
"""
