"""One module per notebook: its tables, claims and ``plot_*`` functions, and the one
figure style (``style``); notebook 07's is a package with a module per topic
(``momentum``). Imports ``engine``, ``core``, ``stats`` and ``claims``.
"""
