"""What goes in: the dataset readers (``datasets``), the manifest of every file
(``manifest``, ``manifest_build``), content hashes and leakage (``integrity``), and the chunks
a manifest is cut into (``chunks``). Imports only :mod:`fraudprep.base`.
"""
