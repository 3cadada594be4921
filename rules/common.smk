import atexit
import functools
import os
import sys

from fraudprep.base.atomic import OutputWriteError
from fraudprep.extraction.augment import AugmentationConfigError, AugmentationPlan
from fraudprep.inputs.chunks import CHUNK_ID_PATTERN, read_chunks
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.base.formats import storage_format
from fraudprep.base.layout import FAILURES, OutputPaths
from fraudprep.inputs.manifest import ManifestError
from fraudprep.inputs.manifest_build import source_fingerprint
from fraudprep.run.outputlock import OutputDirInUseError, acquire_output_lock
from fraudprep.extraction.properties import PROPERTIES
from fraudprep.run.runlock import OrphanedJobsError
from fraudprep.run.settings import ConfigError, job_memory_mb, resolve_model_settings
from fraudprep.outputs.verify import prepare_rebuild
from fraudprep.run.provenance import (
    FEATURE_MODULES,
    MANIFEST_MODULES,
    REPORT_MODULES,
    code_version,
    provenance_path,
    record_provenance,
    scripts_version,
)

# Steps that fail the same way every time (manifest, chunks, settings, aggregation, figures)
# are not retried: a retry would only print the same error twice. Extraction keeps the
# profile's retries, for jobs killed for memory.
NO_RETRIES = 0


def stop(error):
    """End the run with one line that says what is wrong, instead of a stack of frames."""
    sys.exit(f"fraudprep: {error}")


def checked_output_dir(path):
    if "{" in path or "}" in path:
        # Snakemake reads braces in output paths as wildcards, with a confusing error.
        raise ConfigError(
            f"output_dir {path!r} contains {{ or }}, which Snakemake reads as wildcards; "
            "choose a folder name without braces"
        )
    return path.rstrip("/")


try:
    OUT = checked_output_dir(config["output_dir"])
    # Every output's path, from the one module that names them (fraudprep.base.layout).
    PATHS = OutputPaths(OUT)
    # Everything a run writes lives under its output_dir: runs into other folders never see
    # each other's logs or job timings.
    LOGS = f"{OUT}/logs"
    BENCHMARKS = f"{OUT}/benchmarks"
    STORAGE = storage_format(config["format"])
    MODELS = config["models"]
    ALL_SETTINGS = [PATHS.settings(model) for model in MODELS]
    SETTINGS = {model: resolve_model_settings(config, model) for model in MODELS}
    DATASET = DatasetConfig.from_config(config)
    # Parsed here so that a bad pool stops the run before any job; jobs parse it again.
    AUGMENTATION = AugmentationPlan.from_config(config.get("augmentation"))
except (ConfigError, ManifestError, AugmentationConfigError) as error:
    stop(error)

# With augmented copies, aggregation also lists the copies that could not be made.
AUGMENTATION_OUTPUTS = (
    {"copy_failures": PATHS.copy_failures("{model}")} if AUGMENTATION else {}
)


wildcard_constraints:
    model="|".join(MODELS),
    chunk=CHUNK_ID_PATTERN,


def model_dir(model):
    return PATHS.model_dir(model)


def manifest_source(wildcards):
    """What the manifest is built from, as a params value: changes in it rerun the manifest.

    Evaluated when the DAG is built, so a bad input stops the run before any job starts.
    Snakemake evaluates params again just before starting the job; the input tree is scanned
    once per run (the value is kept), not on each evaluation.
    """
    return dict(_scanned_source())


@functools.cache
def _scanned_source():
    try:
        return {**DATASET.as_dict(), "fingerprint": source_fingerprint(DATASET)}
    except ManifestError as error:
        stop(error)


def manifest_input(wildcards):
    return [DATASET.listing] if DATASET.dataset == "csv" else []


# Provenance files (fraudprep.run.provenance): written while the DAG is built, rewritten only when
# what a step's outputs are made from changes, so that a change reruns the step even without
# Snakemake's records in .snakemake/. Only the process that starts the run writes them.


def _provenance(step, record):
    path = provenance_path(OUT, step)
    _scanned_source()  # a bad input stops the run before anything is written
    # Only a run that executes jobs changes a record: a dry run (-n), --report, --summary or
    # --list with another config must not leave one behind that describes outputs nobody
    # made, and a real run with the config of before would then redo the step. Snakemake's
    # own records still list the change.
    executing = _executing()
    if executing:
        hold_output_dir()  # before the first write: another run may be using output_dir
    if workflow.is_main_process and (executing or not path.exists()):
        try:
            record_provenance(path, record)
        except OSError as error:
            # A read-only or full output_dir: one line, not a traceback.
            stop(OutputWriteError.from_os_error(error, OUT))
    return str(path)


def _executing():
    """True in the process that starts a run that executes jobs (not -n, --report, --lint)."""
    return (
        workflow.is_main_process
        and workflow.executor_plugin is not None
        and not workflow.dryrun
    )


@functools.cache
def hold_output_dir():
    """Take output_dir's lock (fraudprep.run.outputlock) for this run, once; released at exit.

    Taken while the DAG is built, before the run writes anything there, and again (a no-op)
    at onstart for runs whose targets need no provenance record.
    """
    try:
        lock = acquire_output_lock(OUT, workflow.basedir, workflow.local_exec)
    except (OutputDirInUseError, OrphanedJobsError) as error:
        stop(error)
    except OSError as error:
        stop(OutputWriteError.from_os_error(error, OUT))
    if lock is None:  # output_dir cannot be written, so no run can change it
        return None
    if lock.cleared_stale:
        print(f"Removed the lock a killed run left in {OUT}; resuming.")
    # At exit whatever way the run ends: a failed DAG never reaches onerror.
    atexit.register(lock.release)
    return lock


def scripts(*names):
    """The content version of this checkout's workflow scripts (fraudprep.run.provenance)."""
    folder = Path(workflow.basedir) / "workflow" / "scripts"
    return scripts_version(tuple(str(folder / f"{name}.py") for name in names))


def manifest_provenance(wildcards):
    record = {
        **_scanned_source(),
        "hash_files": config["hash_files"],
        "fail_on_leakage": config["fail_on_leakage"],
        "code": code_version(MANIFEST_MODULES),
        "scripts": scripts("build_manifest"),
    }
    return _provenance("manifest", record)


def chunks_provenance(wildcards):
    record = {
        "chunk_size": config["chunk_size"],
        "code": code_version(("inputs.chunks",)),
        "scripts": scripts("split_chunks"),
    }
    return _provenance("chunks", record)


def model_provenance(wildcards):
    record = {
        "settings": SETTINGS[wildcards.model].as_dict(),
        "min_duration": config["min_duration"],
        "max_input_seconds": config["max_input_seconds"],
        "code": code_version(FEATURE_MODULES),
        "scripts": scripts("write_settings", "extract_features", "aggregate_batches"),
    }
    if (
        AUGMENTATION is not None
    ):  # absent while off: records of runs without it stay valid
        record["augmentation"] = config["augmentation"]
    return _provenance(wildcards.model, record)


def report_provenance(wildcards):
    record = {
        "code": code_version(REPORT_MODULES),
        "scripts": scripts("plot_report", "plot_shortcuts", "plot_job_resources"),
    }
    return _provenance("report", record)


def chunk_dirs(wildcards):
    """The model's chunk directories, known once the split_chunks checkpoint has run."""
    _rebuild_damaged(wildcards.model)
    return _chunk_dirs([wildcards.model])


@functools.cache
def _rebuild_damaged(model):
    """A published batch file deleted or cut short since the last run: its chunk and the
    model's final step are done again (fraudprep.outputs.verify). Evaluated while the DAG is built,
    before Snakemake decides what is done; only by a run that executes jobs."""
    executing = workflow.executor_plugin is not None and not workflow.dryrun
    if workflow.is_main_process and executing:
        for line in prepare_rebuild(model_dir(model), STORAGE):
            print(f"fraudprep: {line}", file=sys.stderr)


def all_chunk_dirs(wildcards):
    """Every extraction job's outputs, for steps that need all of them done."""
    return _chunk_dirs(MODELS)


def _chunk_dirs(models):
    chunks_table = checkpoints.split_chunks.get().output[0]
    return [
        PATHS.chunk_dir(model, chunk.id)
        for model in models
        for chunk in read_chunks(chunks_table)
    ]


def extract_mem_mb(wildcards, attempt):
    """Memory request for one extraction job (every model): grows with the batch sizes, and
    with each retry."""
    memory = job_memory_mb(
        SETTINGS.values(), config["max_input_seconds"], AUGMENTATION is not None
    )
    return memory * attempt


def chunk_priority(wildcards):
    """Larger chunks first: with the longest jobs started early, no core idles while one long
    job finishes last (chunks of different splits differ in size)."""
    sizes = _chunk_sizes(PATHS.chunks, _mtime(PATHS.chunks))
    return sizes.get(wildcards.chunk, 0)


def _mtime(path):
    return os.stat(path).st_mtime_ns if os.path.exists(path) else 0


@functools.cache
def _chunk_sizes(path, mtime):
    return {chunk.id: chunk.size for chunk in read_chunks(path)} if mtime else {}


def extract_runtime(wildcards, attempt):
    """Minutes for one extraction job, more on each retry: generous for chunk_size files
    (every model takes a few ms a file; 2,000 files and four models are about a minute).
    """
    return max(30, config["chunk_size"] // 10) * attempt


def final_outputs():
    return [
        f"{model_dir(model)}/{name}"
        for model in MODELS
        for name in (STORAGE.metadata_name, STORAGE.stats_name, FAILURES)
    ]
