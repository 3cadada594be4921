"""What comes out: the final step per model (``aggregate``, with the chunks' tables merged by
``chunk_tables`` and the statistics written by ``dataset_stats``), checks of published files
(``verify``), reading them back (``loader``, ``streaming``, both restoring samples with
``restoring``), the shortcut table (``shortcuts``, its numbers from ``property_aucs`` and
``auc``), the end-of-run summary (``summary``) and the disk space a run will need
(``diskspace``). Imports any stage below it, never :mod:`fraudprep.report`.
"""
