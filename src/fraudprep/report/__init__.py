"""The top floor: the report's figures and scoring a trained detector. ``kit`` is the one
plotting style and the PNG and HTML writers; ``report_plots`` declares the data figures and
draws a model's, with ``stats_figures`` (counts, durations, rates, failures) and
``example_figures`` (example features); ``job_resources`` reads Snakemake's benchmark files and
job logs and draws what the jobs cost; ``report_shortcuts`` the shortcut table and figures;
``evaluate`` scores a detector against the manifest. Nothing imports it.
"""
