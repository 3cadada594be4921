"""What goes in: the dataset readers (``datasets``), the manifest of every file
(``manifest``, ``manifest_build``), several corpora in one manifest (``corpora``: the config;
``corpora_rows``: their rows, splits and caps), content hashes and leakage (``integrity``), and
the chunks a manifest is cut into (``chunks``). Imports only :mod:`fraudprep.base`.
"""
