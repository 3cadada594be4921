# The run around the rules: what Snakemake does not do for us, in one place. Each piece is here
# for a failure we met; the reasons are beside them.
#   1. At parse time, once a run: thread limits, what memory_mode auto chose, a killed run's
#      Snakemake lock.
#   2. When the DAG is first built, once a run that executes jobs: the input tree scanned, the
#      output folder's lock taken, the provenance records written, damaged outputs queued for
#      rebuilding — all before Snakemake decides what is done (prepare_run).
#   3. At the run's start and end: the lock's owner record, the summary, a prompt exit.
# Input functions elsewhere are pure; the provenance inputs below only hand Snakemake the
# records that prepare_run wrote.
import atexit

from fraudprep.base.atomic import OutputWriteError
from fraudprep.base.memory import available_memory_gb, limit_threads
from fraudprep.outputs.verify import prepare_rebuild
from fraudprep.run.outputlock import OutputDirInUseError, acquire_output_lock
from fraudprep.run.provenance import (
    provenance_path,
    record_provenance,
    step_record,
)
from fraudprep.outputs.summary import run_summary_lines
from fraudprep.run.runlock import (
    OrphanedJobsError,
    clear_stale_locks,
    forget_run_owner,
    record_run_owner,
)

# --- 1. At parse time -------------------------------------------------------------------------

# One BLAS/OpenMP thread per job, as the seed did: jobs run side by side on the cores, and
# each library's own thread pool would oversubscribe them. Jobs inherit this environment.
limit_threads()

if workflow.is_main_process:
    # Settings are resolved while parsing, in the process that starts the run: say what
    # memory_mode auto chose, since it depends on this machine's free memory right now.
    if config["memory_mode"] == "auto":
        # Every model's batch size, named: profiles may set their own (resnet_low_memory 4).
        modes = sorted({SETTINGS[model].memory_mode for model in MODELS})
        sizes = ", ".join(f"{model} {SETTINGS[model].batch_size}" for model in MODELS)
        print(
            f"memory_mode auto: {available_memory_gb():.1f} GB available -> "
            f"{'/'.join(modes)} mode; batch size per model: {sizes}"
        )
    # A run killed with SIGKILL leaves Snakemake's lock behind; remove it when its owner is
    # dead, so that rerunning the same command resumes (see fraudprep.run.runlock).
    try:
        cleared = clear_stale_locks()
    except OrphanedJobsError as error:
        stop(error)  # one line, not a traceback
    if cleared:
        print(
            "Removed the Snakemake lock left by a killed run of this workflow; resuming."
        )

# --- 2. When the DAG is first built -----------------------------------------------------------
# Snakemake knows whether a run executes jobs (not -n, --report, --lint) only once it builds
# the DAG, after parsing; input functions are the first code of ours it calls then. So every
# provenance input asks for prepare_run, which does its work once, and writes its own step's
# record (fraudprep.run.provenance.step_record says what each step is made from).


@functools.cache
def provenance_record(step):
    """What the step's outputs are made from (fraudprep.run.provenance.step_record)."""
    return step_record(
        step,
        config,
        source=scanned_source,
        settings=SETTINGS,
        augmentation_on=AUGMENTATION is not None,
        scripts_dir=Path(workflow.basedir) / "workflow" / "scripts",
    )


def executing():
    """True in the process that starts a run that executes jobs (not -n, --report, --lint)."""
    return (
        workflow.is_main_process
        and workflow.executor_plugin is not None
        and not workflow.dryrun
    )


@functools.cache
def prepare_run():
    """Once a run, when the DAG is first built: what must happen before Snakemake compares
    file times."""
    scanned_source()  # a bad input stops the run before anything is written
    if executing():
        hold_output_dir()  # before the first write: another run may be using output_dir
        # A published batch file deleted or cut short since the last run: its chunk and the
        # model's final step are done again (fraudprep.outputs.verify).
        for model in MODELS:
            for line in prepare_rebuild(model_dir(model), STORAGE):
                print(f"fraudprep: {line}", file=sys.stderr)


@functools.cache
def provenance_input(step):
    """The step's provenance record, written if it changed; only for steps this run's DAG
    has (a finished read-only output_dir needs no write)."""
    prepare_run()
    path = provenance_path(OUT, step)
    # Only a run that executes jobs changes a record: a dry run (-n), --report, --summary or
    # --list with another config must not leave one behind that describes outputs nobody
    # made, and a real run with the config of before would then redo the step. Snakemake's
    # own records still list the change. A missing record is written in any case: Snakemake
    # needs the file to build the DAG.
    if workflow.is_main_process and (executing() or not path.exists()):
        try:
            record_provenance(path, provenance_record(step))
        except OSError as error:
            # A read-only or full output_dir: one line, not a traceback.
            stop(OutputWriteError.from_os_error(error, OUT))
    return str(path)


def manifest_provenance(wildcards):
    return provenance_input("manifest")


def chunks_provenance(wildcards):
    return provenance_input("chunks")


def model_provenance(wildcards):
    return provenance_input(wildcards.model)


def report_provenance(wildcards):
    return provenance_input("report")


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


# --- 3. At the run's start and end ------------------------------------------------------------


onstart:
    hold_output_dir()
    note_run_owner()


onsuccess:
    print_run_summary()
    end_of_run()


onerror:
    end_of_run()


def note_run_owner():
    """Record who holds the lock, and whether its jobs are local (they die with the run) or on
    a cluster (they outlive it): a later run decides from this whether the lock is stale.
    """
    plugin = workflow.executor_plugin
    record_run_owner(local_jobs=plugin is None or plugin.common_settings.local_exec)


def print_run_summary():
    """What came out, what failed and what to look at (fraudprep.outputs.summary)."""
    for line in run_summary_lines(OUT, MODELS):
        print(line)


def end_of_run():
    """The lock's owner record goes before Snakemake releases the lock, then the process exits
    without waiting for anything the run no longer needs."""
    forget_run_owner()
    exit_promptly()


def exit_promptly():
    """Called last in onsuccess/onerror, when all jobs are over: let the process exit at once.

    Snakemake's scheduler re-checks after each job selection with a non-daemon threading.Timer
    (1 s, from --max-jobs-per-timespan 100/1s) that the interpreter waits for at exit; and the
    final garbage collection at exit walks every object of the run. Neither matters now.
    """
    import gc
    import threading

    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()
    gc.freeze()
