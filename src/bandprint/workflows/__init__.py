"""Workflows: each stage over a workspace. A workflow reads its input from the workspace
(``bandprint.store.Workspace``), calls the analysis on arrays or tables
(``bandprint.analyse``), and writes the result as a table, with its settings in the table's
meta. Analyses never touch the workspace; the command line calls these functions.

Modules, one per stage: ``fingerprint`` (``fingerprint_workspace``, ``train_on_workspace``
and the render cache ``workspace_images``), ``inputs`` (what several workflows read:
fingerprints, formulas), ``cluster`` (``cluster_workspace``, ``sweep_workspace``), ``search``
(``workspace_index``, the similarity index kept in ``WS/index/``, and ``similar_materials``),
``duplicates`` (``duplicates_workspace``, ``pair_figure``), ``flatbands``
(``flatband_workspace``, ``find_in_workspace``), ``structure`` (``structure_workspace``: structure
clusters and their localisation in the electronic map).
"""
