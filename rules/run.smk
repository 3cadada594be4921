# The run's lifecycle: what happens once when a run starts and ends, outside any rule.
from fraudprep.base.memory import available_memory_gb, limit_threads
from fraudprep.outputs.summary import run_summary_lines
from fraudprep.run.runlock import (
    OrphanedJobsError,
    clear_stale_locks,
    forget_run_owner,
    record_run_owner,
)

# One BLAS/OpenMP thread per job, as the seed did: jobs run side by side on the cores, and
# each library's own thread pool would oversubscribe them. Jobs inherit this environment.
limit_threads()

if workflow.is_main_process:
    # Settings are resolved while parsing, in the process that starts the run: say what
    # memory_mode auto chose, since it depends on this machine's free memory right now.
    if config["memory_mode"] == "auto":
        first = SETTINGS[MODELS[0]]
        print(
            f"memory_mode auto: {available_memory_gb():.1f} GB available -> "
            f"{first.memory_mode} mode, batch size {first.batch_size}"
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
    """What came out, what failed and what to look at, on the console (fraudprep.outputs.summary)."""
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
