"""One module or package per notebook: its tables, claims and ``plot_*`` functions (a
package, e.g. ``geometry`` of notebook 01, holds one module per topic), and the one figure
style (``style``). Imports ``engine``, ``core``, ``stats`` and ``claims``.
"""
