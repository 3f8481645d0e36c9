"""One module or package per notebook: its tables, claims and ``plot_*`` functions, and the
one figure style (``style``). Imports ``engine``, ``core``, ``stats`` and ``claims``.

Notebooks 02, 04, 06 and 08 each have a package of small modules named by topic:
``pareto`` (Fig. 1), ``lr`` (Figs. 5, 6), ``comparison`` (Fig. 4, Tables 1, 3) and
``vision`` (Appendix D, Table 4).
"""
