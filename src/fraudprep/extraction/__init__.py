"""One chunk job: decoding (``audio_io``), features (``features``, ``energy``), the shortcut
check's properties (``properties``), augmented copies (``augment``), batches and shards being
filled (``store``), statistics (``stats``), the chunk folder's files (``chunk_files``), each
file for every model (``per_file``) and the job around the rows (``extract``). Imports
:mod:`fraudprep.base`, :mod:`fraudprep.inputs` and :mod:`fraudprep.run`, never what comes
after it.
"""
