# Figures for `snakemake --report report.html` (fraudprep.report, docs/report.md).
# Data figures are a function of the outputs alone and live beside them; the job figure plots
# measured times, so it lives with the benchmarks it reads (outputs stay byte-identical
# across reruns).

from fraudprep.report.report_plots import DATA_FIGURES, missing_captions

REPORT_DIR = f"{OUT}/report"
# The data figures, each declared once in fraudprep.report.report_plots (DATA_FIGURES): its
# file, category and label come from there, its caption is workflow/report/<name>.rst.
REPORT_FIGURES = {name: figure.file for name, figure in DATA_FIGURES.items()}
if missing := missing_captions(Path(workflow.basedir) / "workflow/report"):
    sys.exit(
        f"fraudprep: no caption in workflow/report/ for the report figures {missing}"
    )
# The shortcut check: its table, and one figure a property (fraudprep.report.report_shortcuts).
SHORTCUT_FIGURES = {
    "table": "shortcuts.html",
    **{name: f"shortcuts/{name}.png" for name in PROPERTIES},
}
# One extraction job makes every model's features of a chunk: one figure for the run.
JOBS_FIGURE = f"{BENCHMARKS}/report/extract_features.png"

# Every report figure of every model: rule all asks for them (variables, not functions, keep
# `snakemake --lint` quiet about functions outside rules/common.smk).
REPORT_OUTPUTS = [
    *(
        f"{REPORT_DIR}/{model}/{name}"
        for model in MODELS
        for name in [*REPORT_FIGURES.values(), *SHORTCUT_FIGURES.values()]
    ),
    JOBS_FIGURE,
]


rule plot_report:
    input:
        stats=rules.aggregate_batches.output.stats,
        metadata=rules.aggregate_batches.output.metadata,
        provenance=report_provenance,
        failures=report(
            rules.aggregate_batches.output.failures,
            caption="../workflow/report/failures_csv.rst",
            category="2. Failures",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "failures.csv (download)"},
        ),
    output:
        **{
            name: report(
                f"{REPORT_DIR}/{{model}}/{figure.file}",
                caption=f"../workflow/report/{figure.caption}",
                category=figure.category,
                subcategory="{model}",
                labels={"model": "{model}", "figure": figure.label},
            )
            for name, figure in DATA_FIGURES.items()
        },
    log:
        f"{LOGS}/plot_report/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/plot_report/{{model}}.tsv"
    retries: NO_RETRIES
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    params:
        per_class=3,
    script:
        "../workflow/scripts/plot_report.py"


rule plot_shortcuts:
    input:
        stats=rules.aggregate_batches.output.stats,
        properties=rules.aggregate_batches.output.properties,
        provenance=report_provenance,
    output:
        **{
            name: report(
                f"{REPORT_DIR}/{{model}}/{SHORTCUT_FIGURES[name]}",
                caption="../workflow/report/shortcut_property.rst",
                category="5. Shortcuts",
                subcategory="{model}",
                labels={"model": "{model}", "figure": name},
            )
            for name in PROPERTIES
        },
        table=report(
            f"{REPORT_DIR}/{{model}}/{SHORTCUT_FIGURES['table']}",
            caption="../workflow/report/shortcuts_table.rst",
            category="5. Shortcuts",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "AUC table"},
        ),
    log:
        f"{LOGS}/plot_shortcuts/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/plot_shortcuts/{{model}}.tsv"
    retries: NO_RETRIES
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    script:
        "../workflow/scripts/plot_shortcuts.py"


# Benchmarks and logs are read, not declared as inputs: a deleted log must not rerun the
# extraction. The chunk folders are inputs so that the figure is drawn once every extraction job
# is over, beside aggregation rather than after it.
rule plot_job_resources:
    input:
        chunks=rules.split_chunks.output[0],
        chunk_dirs=all_chunk_dirs,
        provenance=report_provenance,
    output:
        report(
            JOBS_FIGURE,
            caption="../workflow/report/job_resources.rst",
            category="4. Jobs",
            labels={"figure": "extraction runtime and memory"},
        ),
    log:
        f"{LOGS}/plot_job_resources.log",
    benchmark:
        f"{BENCHMARKS}/plot_job_resources.tsv"
    retries: NO_RETRIES
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    params:
        # Functions: a plain string would have its {chunk} expanded here.
        benchmark=lambda wildcards: str(rules.extract_features.benchmark),
        log=lambda wildcards: str(rules.extract_features.log[0]),
    script:
        "../workflow/scripts/plot_job_resources.py"
