"""One module or package per notebook: its tables, claims and ``plot_*`` functions, and
the one figure style (``style``). Imports ``engine``, ``core``, ``stats`` and ``claims``.

The larger studies are packages of small modules named by topic: ``pareto`` (02, Fig. 1),
``lr`` (04, Figs. 5, 6), ``comparison`` (06, Fig. 4, Tables 1, 3), ``momentum`` (07, the
DualOptim slides) and ``vision`` (08, Appendix D, Table 4).
"""
