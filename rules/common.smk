# Config read once (output folder, models, each model's settings, the dataset), wildcards, and
# pure input functions. What a run does around the rules (locks, provenance records, the
# summary, the exit) is in rules/run.smk.
import functools
import os
import sys

from fraudprep.base.formats import storage_format
from fraudprep.base.layout import FAILURES, OutputPaths
from fraudprep.extraction.augment import AugmentationConfigError, AugmentationPlan
from fraudprep.extraction.properties import PROPERTIES
from fraudprep.inputs.chunks import CHUNK_ID_PATTERN, read_chunks
from fraudprep.inputs.corpora import input_listings, source_config
from fraudprep.inputs.manifest import ManifestError
from fraudprep.inputs.manifest_build import source_fingerprint
from fraudprep.run.settings import (
    ConfigError,
    checked_output_dir,
    job_memory_mb,
    resolve_model_settings,
)

# Steps that fail the same way every time (manifest, chunks, settings, aggregation, figures)
# are not retried: a retry would only print the same error twice. Extraction keeps the
# profile's retries, for jobs killed for memory.
NO_RETRIES = 0


def stop(error):
    """End the run with one line that says what is wrong, instead of a stack of frames."""
    sys.exit(f"fraudprep: {error}")


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
    # The input: the single-dataset keys (a DatasetConfig), or a corpora list (a CorporaConfig).
    DATASET = source_config(config)
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
    return dict(scanned_source())


@functools.cache
def scanned_source():
    try:
        return {**DATASET.as_dict(), "fingerprint": source_fingerprint(DATASET)}
    except ManifestError as error:
        stop(error)


def manifest_input(wildcards):
    return input_listings(DATASET)


def chunk_dirs(wildcards):
    """The model's chunk directories, known once the split_chunks checkpoint has run."""
    return _chunk_dirs([wildcards.model])


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
