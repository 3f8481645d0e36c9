"""One module per notebook: its tables, claims and ``plot_*`` functions, and the one
figure style (``style``). Imports ``engine``, ``core``, ``stats`` and ``claims``.
"""
