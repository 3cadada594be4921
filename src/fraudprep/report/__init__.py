"""The top floor: the report's figures (``report_plots``, ``report_shortcuts``) and scoring a
trained detector against the manifest (``evaluate``). Nothing imports it.
"""
