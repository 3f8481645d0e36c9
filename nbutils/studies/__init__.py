"""One module or package per notebook: its tables, claims and ``plot_*`` functions, and
the one figure style (``style``). Imports ``engine``, ``core``, ``stats`` and ``claims``.

The studies are packages of small modules named by topic: ``geometry`` (01, Fig. 2,
Lemma 4, Theorem 5), ``pareto`` (02, Fig. 1), ``landscape`` (03, Fig. 3), ``lr`` (04,
Figs. 5, 6), ``autolr`` (05, Fig. 7), ``comparison`` (06, Fig. 4, Tables 1, 3),
``momentum`` (07, the DualOptim slides) and ``vision`` (08, Appendix D, Table 4); the
tour's (00) is one module, ``tour``.
"""
