"""The ground floor: what every stage stands on and nothing of fraudprep's above it.

Atomic writes and scratch folders (``atomic``), the storage formats and their checksums
(``formats``), memory checks (``memory``), job logs (``logs``), process checks
(``processes``), sorting in bounded memory (``extsort``), ``--config`` types
(``config_types``), every output's path (``layout``). Imports nothing from the other sub-packages.
"""
