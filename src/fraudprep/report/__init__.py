"""The top floor: the report's figures and scoring a trained detector. ``kit`` is the one
plotting style and the PNG and HTML writers; ``report_plots`` draws the data (counts,
durations, rates, failures, examples); ``job_resources`` reads Snakemake's benchmark files and
job logs and draws what the jobs cost; ``report_shortcuts`` the shortcut table and figures;
``evaluate`` scores a detector against the manifest. Nothing imports it.
"""
