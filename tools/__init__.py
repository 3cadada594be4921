"""Developer tools that are not part of the installed library.

A regular package (this file) so that ``python -m tools.<name>`` runs from the project root of
a fresh clone with nothing but the venv installed: ``-m`` puts the current directory first on
``sys.path``. The tests find it the same way through pytest's ``pythonpath`` setting.
"""
