"""The run around the steps: a model's resolved settings (``settings``), what each step's
outputs were made from (``provenance``), the working-directory lock left by a killed run
(``runlock``) and one run at a time per output folder (``outputlock``). Imports only
:mod:`fraudprep.base`.
"""
