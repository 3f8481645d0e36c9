"""The notebook plumbing: what turns the layers into runnable, reproducible notebooks.

``session`` (a notebook's validated parameters, seed, device and clock), ``params`` and
``catalog`` (what each notebook declares), ``presets`` (default, smoke and paper sizes),
``tuning_plans`` (the rates each notebook needs), ``figures`` (``save_figure`` and its
sidecar), ``scorecard`` (every claim over several draws), ``site`` (the executed notebooks
as HTML), ``sidecars`` (two folders of sidecars compared) and ``cli`` (``python -m
nbutils``). It imports the layers (core, stats, engine, claims, studies); none of them
imports it.
"""
