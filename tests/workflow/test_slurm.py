"""The workflow through ``--profile profiles/slurm`` on a real one-node SLURM, against a local run.

tests/cluster/start-local-slurm.sh installs and starts SLURM on this machine (root, apt-get); the
tests skip only where it cannot (not root, no apt-get) and fail when it fails. That cluster has
no accounting (no slurmdbd): job status comes from squeue, as the profile sets. See
docs/cluster.md.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO, snakemake_command, write_audio

START = REPO / "tests" / "cluster" / "start-local-slurm.sh"
STOP = REPO / "tests" / "cluster" / "stop-local-slurm.sh"
OUT = Path("data/preprocessed")
# Identical relative config in every working directory, so outputs can be compared byte for byte.
CONFIG = ("--config", "input_dir=corpus", "chunk_size=3", "models=[unetr]")
LOCAL = ("--workflow-profile", str(REPO / "profiles" / "default"), "--cores", "2")
SLURM = (
    "--profile",
    str(REPO / "profiles" / "slurm"),
    "--workflow-profile",
    "none",
    # A short first status check keeps the test quick (the profile's 20 s suits real jobs).
    "--slurm-init-seconds-before-status-checks",
    "1",
)
FINISHED = {
    "COMPLETED",
    "CANCELLED",
    "FAILED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
}
EXTRACT_COMMENT = "rule_extract_features_wildcards_"  # then the chunk


def environment() -> dict[str, str]:
    # SLURM jobs get this environment (sbatch --export=ALL): the venv's tools come first.
    venv_bin = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}


def workflow_command(workdir: Path, *args: str) -> list[str]:
    return snakemake_command(workdir, *args, *CONFIG, default_profile=False)


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        workflow_command(workdir, *args),
        capture_output=True,
        text=True,
        timeout=300,
        env=environment(),
    )


def write_corpus(workdir: Path) -> None:
    """21 files of a FoR tree: mixed rates, some stereo, one undecodable."""
    counts = {"training": 4, "validation": 3, "testing": 3}
    for split, n in counts.items():
        for label in ("real", "fake"):
            for i in range(n):
                write_audio(
                    workdir / "corpus" / split / label / f"{label} {i}.wav",
                    seconds=0.5 + 0.3 * i,
                    rate=(16000, 22050, 44100)[i % 3],
                    seed=i,
                    channels=1 + (i % 2),
                )
    (workdir / "corpus/training/fake/garbage.wav").write_bytes(b"\x00" * 100)


# Not outputs: the provenance records describe the inputs (each run here writes its own copy
# of the corpus, at other modification times); logs and job timings differ from run to run.
NOT_OUTPUTS = ("provenance", "logs", "benchmarks")


def outputs(workdir: Path) -> dict[str, bytes]:
    """Every output file's bytes."""
    root = workdir / OUT
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in NOT_OUTPUTS
    }


def chunk_ids(workdir: Path) -> set[str]:
    with open(workdir / OUT / "chunks.csv") as handle:
        return {row["chunk"] for row in csv.DictReader(handle)}


def slurm_jobs(workdir: Path) -> list[dict[str, str]]:
    """This working directory's SLURM jobs, finished ones too (kept for MinJobAge)."""
    command = ["squeue", "--states=all", "--noheader", "--format=%i|%j|%k|%T|%Z"]
    for _ in range(5):  # a busy slurmctld can time out a query; ask again
        query = subprocess.run(command, capture_output=True, text=True)
        if query.returncode == 0:
            break
        time.sleep(1)
    assert query.returncode == 0, query.stderr
    listing = query.stdout
    jobs = []
    for line in listing.splitlines():
        job_id, name, comment, state, job_workdir = line.split("|", 4)
        if os.path.realpath(job_workdir) == os.path.realpath(workdir):
            jobs.append({"id": job_id, "name": name, "comment": comment, "state": state})
    return jobs


def chunk_of(job: dict[str, str]) -> str:
    assert job["comment"].startswith(EXTRACT_COMMENT), job
    return job["comment"].removeprefix(EXTRACT_COMMENT)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def cluster_is_up() -> bool:
    if not shutil.which("scontrol"):
        return False
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    return ping.returncode == 0 and "is UP" in ping.stdout


@pytest.fixture(scope="module")
def slurm_cluster():
    if os.geteuid() != 0:
        pytest.skip("a local SLURM needs root (installs slurm-wlm and munge, starts daemons)")
    if not shutil.which("apt-get"):
        pytest.skip("a local SLURM needs apt-get (Debian/Ubuntu) to install slurm-wlm and munge")
    was_up = cluster_is_up()
    started = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=900)
    if started.returncode != 0:
        pytest.fail(f"{START.name} failed:\n{started.stdout}{started.stderr}")
    yield
    if not was_up:
        subprocess.run(["bash", str(STOP)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("local")
    write_corpus(workdir)
    result = snakemake(workdir, *LOCAL)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("slurm")
    write_corpus(workdir)
    started = time.monotonic()
    result = snakemake(workdir, *SLURM)
    print(f"workflow through SLURM: {time.monotonic() - started:.1f}s")
    (workdir / "snakemake.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_slurm_run_matches_local_run_byte_for_byte(local_run: Path, slurm_run: Path):
    local, slurm = outputs(local_run), outputs(slurm_run)
    named = {"manifest.csv", "chunks.csv", "unetr/batch_metadata.pkl", "unetr/failures.csv"}
    assert named | {"unetr/dataset_stats.pkl"} <= set(local)
    assert any(name.startswith("unetr/training_batch_") for name in local)
    assert b"garbage.wav" in local["unetr/failures.csv"]
    assert sorted(slurm) == sorted(local)
    assert [name for name in local if slurm[name] != local[name]] == []


def test_every_extraction_ran_as_a_slurm_job(slurm_run: Path):
    jobs = slurm_jobs(slurm_run)
    # Only extraction goes to SLURM: every other rule is a local rule.
    assert sorted(chunk_of(job) for job in jobs) == sorted(chunk_ids(slurm_run))
    assert len(chunk_ids(slurm_run)) == 8  # chunk_size 3: 7 needed, rounded up to 8
    assert {job["state"] for job in jobs} == {"COMPLETED"}
    assert len({job["name"] for job in jobs}) == 1
    assert jobs[0]["name"].startswith("fraudprep_")
    log = (slurm_run / "snakemake.log").read_text()
    assert log.count("has been submitted with SLURM jobid") == len(jobs)
    for chunk in chunk_ids(slurm_run):
        assert (slurm_run / OUT / "logs/extract_features" / f"{chunk}.log").exists()


def test_killed_client_resumes_with_identical_outputs(
    slurm_cluster, local_run: Path, tmp_path_factory
):
    workdir = tmp_path_factory.mktemp("resume")
    write_corpus(workdir)
    with open(workdir / "killed.log", "w") as log:
        client = subprocess.Popen(
            workflow_command(workdir, *SLURM),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment(),
        )

    def some_done_some_not():
        assert client.poll() is None, "the workflow finished before it could be killed"
        states = {job["state"] for job in slurm_jobs(workdir)}
        return "COMPLETED" in states and bool(states - FINISHED)

    try:
        wait_for(some_done_some_not, 120, "one extraction job done and others queued or running")
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()

    # The killed client cancels nothing: its jobs go on. Cancel those not yet done (docs/cluster.md:
    # a rerun must not race them), then resume with the same command.
    before = slurm_jobs(workdir)
    active = [job["id"] for job in before if job["state"] not in FINISHED]
    subprocess.run(["scancel", *active], check=False)
    before = wait_for(
        lambda: (
            (jobs := slurm_jobs(workdir)) and all(j["state"] in FINISHED for j in jobs) and jobs
        ),
        60,
        "the cancelled jobs to leave the queue",
    )
    done = {chunk_of(job) for job in before if job["state"] == "COMPLETED"}
    cancelled = {chunk_of(job) for job in before if job["state"] == "CANCELLED"}
    assert done and cancelled and not done & cancelled

    unlocked = snakemake(workdir, *SLURM, "--unlock")
    assert unlocked.returncode == 0, unlocked.stderr[-3000:]
    started = time.monotonic()
    resumed = snakemake(workdir, *SLURM)
    print(f"resumed run: {time.monotonic() - started:.1f}s")
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    old_ids = {job["id"] for job in before}
    rerun = [job for job in slurm_jobs(workdir) if job["id"] not in old_ids]
    # Only unfinished chunks are extracted again; finished ones are kept.
    assert rerun and {chunk_of(job) for job in rerun} <= cancelled
    assert {job["state"] for job in rerun} == {"COMPLETED"}
    assert done | cancelled == chunk_ids(workdir)
    local, resumed_outputs = outputs(local_run), outputs(workdir)
    assert sorted(resumed_outputs) == sorted(local)
    assert [name for name in local if resumed_outputs[name] != local[name]] == []
