"""Sweeps on a real SLURM cluster (issue #4): no mock of Slurm or submitit.

The module fixture brings up a single-node cluster with accounting on localhost through
.ci/slurm/up.sh (apt-get installs slurm-wlm, munge, slurmdbd and mariadb-server when missing),
then every test submits `python train.py -m hydra/launcher=slurm ...` to it as a user would.

    python -m pytest -m slurm tests/test_slurm.py

Needs root (it installs packages and starts daemons). Skips with the reason when the cluster
cannot be had; with CI=true it fails instead. The cluster is left running afterwards (the next
session's bring-up is then a no-op, and a concurrent test session on the same machine keeps its
cluster); `bash .ci/slurm/down.sh` stops it, and SPACED_KD_SLURM_DOWN=1 makes the fixture stop a
cluster that it started itself.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from spaced_kd import rundir

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[1]
UP = REPO / ".ci" / "slurm" / "up.sh"
DOWN = REPO / ".ci" / "slurm" / "down.sh"
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

# tiny runs: a 2-epoch run of the embedded digits set takes seconds
FAST = ["dataset.train_subset=256", "trainer.batch_size=64", "trainer.progress=false"]
# the preset asks for a GPU node with 8 CPUs and 32 GB; the test cluster is one CPU-only node
SMALL_JOBS = [
    "hydra/launcher=slurm",
    "hydra.launcher.gpus_per_node=0",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=2",
    "hydra.launcher.timeout_min=15",
]
INCOMPLETE = {"PENDING", "RUNNING", "REQUEUED", "COMPLETING", "CONFIGURING", "SUSPENDED", "RESIZING"}


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the SLURM tests must run there)")
    pytest.skip(reason)


# --------------------------------------------------------------------------- cluster fixture
@pytest.fixture(scope="module")
def slurm_env() -> dict:
    """Environment (os.environ + SLURM_CONF) of a running local cluster with accounting."""
    if sys.platform != "linux" or shutil.which("bash") is None:
        _skip_or_fail("a local SLURM cluster needs Linux and bash")
    if os.geteuid() != 0:
        _skip_or_fail("bringing up a local SLURM cluster (apt-get, daemons) needs root")
    t0 = time.monotonic()
    try:
        up = subprocess.run(["bash", str(UP)], check=False, capture_output=True, text=True, timeout=900,
                            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f".ci/slurm/up.sh did not finish in {exc.timeout}s:\n{exc.stderr}")
    took = time.monotonic() - t0
    if up.returncode == 3:
        why = up.stderr.strip().splitlines()[-1] if up.stderr.strip() else "no reason given"
        _skip_or_fail(f"SLURM packages (slurm-wlm munge slurmdbd mariadb-server) cannot be installed: {why}")
    if up.returncode != 0:
        pytest.fail(f".ci/slurm/up.sh failed ({up.returncode}):\n{up.stdout}\n{up.stderr}")
    match = re.search(r"^export SLURM_CONF=(\S+)$", up.stdout, re.MULTILINE)
    assert match, f"up.sh printed no SLURM_CONF:\n{up.stdout}"
    already_up = "already up" in up.stderr
    print(f"\nlocal SLURM cluster {'was already up' if already_up else 'brought up'} in {took:.1f}s")
    env = dict(os.environ, SLURM_CONF=match.group(1), PYTHONUNBUFFERED="1")
    yield env
    if not already_up and os.environ.get("SPACED_KD_SLURM_DOWN") == "1":
        subprocess.run(["bash", str(DOWN)], check=False, capture_output=True, timeout=180, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------- helpers
def sweep_cmd(sweep_dir: Path, job_name: str, *overrides: str) -> list[str]:
    return [sys.executable, "train.py", "-m", *SMALL_JOBS, f"hydra.launcher.name={job_name}",
            f"hydra.sweep.dir={sweep_dir}", *FAST, *overrides]


def run_sweep(env: dict, sweep_dir: Path, job_name: str, *overrides: str,
              timeout: float = 300) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(sweep_cmd(sweep_dir, job_name, *overrides), check=False, cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        _settle(env, job_name)


def _queued(env: dict, job_name: str) -> str:
    return subprocess.run(["squeue", "-h", "--name", job_name, "-o", "%i %T"], check=False, env=env,
                          capture_output=True, text=True, timeout=60).stdout.strip()


def _settle(env: dict, job_name: str, grace: float = 60) -> None:
    """Let the sweep's jobs leave the queue (a job still exits after submitit has its result),
    then cancel what is left, so nothing of a failed test holds the node for the next one."""
    deadline = time.monotonic() + grace
    while _queued(env, job_name) and time.monotonic() < deadline:
        time.sleep(0.5)
    subprocess.run(["scancel", "--name", job_name], check=False, env=env, capture_output=True, timeout=60)


def summaries(sweep_dir: Path) -> dict[Path, dict]:
    return {p.parent: json.loads(p.read_text()) for p in sorted(sweep_dir.rglob("summary.json"))}


def slurm_job_ids(sweep_dir: Path) -> list[str]:
    """The SLURM ids (`123_0`, or `123` for a one-job sweep) of the jobs whose logs are in the sweep."""
    folder = sweep_dir / ".submitit"
    return sorted((d.name for d in folder.iterdir() if d.is_dir() and any(d.glob("*_submitted.pkl"))),
                  key=lambda s: [int(x) for x in s.split("_")])


def job_id_of_run(run_dir: Path) -> str:
    """The SLURM id the submitit launcher recorded as hydra.job.id for this run."""
    job_id = str(OmegaConf.load(run_dir / rundir.HYDRA).hydra.job.id)
    assert re.fullmatch(r"\d+(_\d+)?", job_id), f"{run_dir}: hydra.job.id={job_id!r} is not a SLURM id"
    return job_id


def sacct_states(env: dict, job_id: str, duplicates: bool = False) -> list[str]:
    cmd = ["sacct", "-n", "-P", "-X", "-j", job_id, "-o", "JobID,State"]
    if duplicates:
        cmd.insert(1, "--duplicates")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split("|")[1].split()[0] for line in out.splitlines() if line.strip()]


def final_sacct_states(env: dict, job_ids: list[str], timeout: float = 60) -> dict[str, str]:
    """Accounting's final state of each job (sacct lags the end of a job by a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        states = {j: (sacct_states(env, j) or ["MISSING"])[-1] for j in job_ids}
        if not set(states.values()) & (INCOMPLETE | {"MISSING"}) or time.monotonic() > deadline:
            return states
        time.sleep(1)


def student_progress(sweep_dir: Path) -> tuple[Path, int] | None:
    """(run dir, student step) once a run has evaluated (and so checkpointed) a student epoch."""
    for metrics in sweep_dir.rglob("metrics.jsonl"):
        run_dir = metrics.parent
        if not (run_dir / "checkpoints" / "last.pt").exists():
            continue
        steps = []
        for line in metrics.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:  # a line being written
                continue
            if rec.get("role") == "student" and rec.get("step", 0) > 0:
                steps.append(rec["step"])
        if steps:
            return run_dir, max(steps)
    return None


def submitit_results(sweep_dir: Path, job_id: str) -> str:
    """'success' or 'error': how submitit saw the job end (the launcher aborts a sweep on 'error')."""
    (result,) = (sweep_dir / ".submitit" / job_id).glob("*_result.pkl")
    with open(result, "rb") as f:
        return pickle.load(f)[0]


def wait_for(what: str, probe: Callable[[], object | None], timeout: float,
             alive: subprocess.Popen | None = None, log: Path | None = None) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        if alive is not None and alive.poll() is not None:
            break
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}" + (f"\n--- sweep log ---\n{_tail(log)}" if log else ""))


def _tail(path: Path | None, n: int = 60) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def job_logs(sweep_dir: Path) -> str:
    out = []
    for f in sorted((sweep_dir / ".submitit").rglob("*_log.*")):
        out.append(f"--- {f.relative_to(sweep_dir)} ---\n{_tail(f, 25)}")
    return "\n".join(out)


def describe(proc: subprocess.CompletedProcess, sweep_dir: Path) -> str:
    return (f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n"
            f"{proc.stderr[-3000:]}\n{job_logs(sweep_dir)}")


def unique_name(tag: str) -> str:
    return f"skd-{tag}-{uuid.uuid4().hex[:6]}"


# --------------------------------------------------------------------------- tests
def test_slurm_sweep_runs_every_job(slurm_env, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_sweep(slurm_env, sweep, unique_name("sweep"), "trainer.epochs=2", "seed=0,1")
    assert proc.returncode == 0, describe(proc, sweep)

    runs = summaries(sweep)
    assert len(runs) == 2, f"expected 2 runs, found {list(runs)}\n{describe(proc, sweep)}"
    for run_dir, s in runs.items():
        assert s["status"] == "completed", f"{run_dir}: {s.get('status')} {s.get('error')}"
        assert s["steps"] == s["total_steps"] > 0, run_dir
        assert (run_dir / "metrics.jsonl").is_file()
    assert sorted(s["seed"] for s in runs.values()) == [0, 1]

    # the jobs really went through SLURM as one array, with their logs under the sweep dir,
    # and accounting (which submitit polls) saw them finish
    ids = slurm_job_ids(sweep)
    assert len(ids) == 2 and all(re.fullmatch(r"\d+_[01]", i) for i in ids), ids
    assert len({i.split("_")[0] for i in ids}) == 1, f"not one job array: {ids}"
    assert all(any((sweep / ".submitit" / i).glob("*_log.out")) for i in ids)
    assert final_sacct_states(slurm_env, ids) == {i: "COMPLETED" for i in ids}
    assert {job_id_of_run(r) for r in runs} == set(ids)


def test_failed_job_does_not_stop_its_sweep(slurm_env, tmp_path):
    # job 0 raises inside the task at run time (its dataset has no files under dataset.root;
    # the config composes fine), job 1 trains the embedded digits set, which needs no files
    missing = tmp_path / "no-such-dataset-dir"
    sweep = tmp_path / "sweep"
    proc = run_sweep(slurm_env, sweep, unique_name("fail"), "trainer.epochs=2",
                     "dataset.name=cifar100,digits", f"dataset.root={missing}")
    assert proc.returncode != 0, "a sweep with a failed job must exit non-zero\n" + describe(proc, sweep)

    runs = {s["config"]["dataset"]["name"]: (r, s) for r, s in summaries(sweep).items()}
    assert set(runs) == {"cifar100", "digits"}, describe(proc, sweep)
    bad_dir, bad = runs["cifar100"]
    good_dir, good = runs["digits"]
    assert bad["status"] == "failed", bad
    assert bad["error"] and ("cifar" in bad["error"].lower() or str(missing) in bad["error"]), bad["error"]
    assert good["status"] == "completed", f"{good.get('status')} {good.get('error')}\n{describe(proc, sweep)}"
    assert good["steps"] == good["total_steps"] > 0

    # both jobs ended normally as far as submitit and SLURM are concerned: the failure was
    # recorded by the run, not raised into the launcher (which would abort the whole sweep)
    ids = slurm_job_ids(sweep)
    assert len(ids) == 2, ids
    assert {i: submitit_results(sweep, i) for i in ids} == {i: "success" for i in ids}
    assert final_sacct_states(slurm_env, ids) == {i: "COMPLETED" for i in ids}
    assert job_id_of_run(bad_dir) != job_id_of_run(good_dir)


REQUEUE_WAYS = {
    # what SLURM itself does on preemption (PreemptMode=REQUEUE) or an admin's requeue: SIGTERM,
    # then the job is killed and put back in the queue
    "scontrol-requeue": lambda job: ["scontrol", "requeue", job],
    # what SLURM sends `signal_delay_s` before the time limit (sbatch --signal=USR2@N);
    # submitit's handler then checkpoints the task and itself runs `scontrol requeue`
    "usr2-signal": lambda job: ["scancel", "--signal=USR2", job],
}


def test_requeued_jobs_resume_in_their_run_dir(slurm_env, tmp_path):
    """A running job that SLURM requeues -- either way above -- writes a checkpoint between two
    steps, is started again by SLURM as the same job, resumes from checkpoints/last.pt in the
    same run dir, and its sweep waits for it. One one-job sweep per way, run side by side."""
    sweeps = {}
    for way in REQUEUE_WAYS:
        sweep, name, log = tmp_path / way, unique_name(way[:7]), tmp_path / f"{way}.log"
        cmd = sweep_cmd(sweep, name, "trainer.epochs=30", "trainer.checkpoint_every=5", "seed=0")
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, cwd=REPO, env=slurm_env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        sweeps[way] = {"sweep": sweep, "name": name, "log": log, "proc": proc}

    def detail(sw: dict) -> str:
        return f"\n--- sweep log ---\n{_tail(sw['log'])}\n{job_logs(sw['sweep'])}"

    try:
        for way, sw in sweeps.items():
            sw["run_dir"], sw["seen_step"] = wait_for(
                f"{way}: the running job's first student epoch and checkpoint",
                lambda sw=sw: student_progress(sw["sweep"]), 240, sw["proc"], sw["log"])
            sw["job"] = job_id_of_run(sw["run_dir"])
            subprocess.run(REQUEUE_WAYS[way](sw["job"]), env=slurm_env, check=True, timeout=60)
        # what each run dir holds when its sweep command returns: the sweep must not return
        # before the requeued job has finished
        deadline = time.monotonic() + 420
        while any("at_exit" not in sw for sw in sweeps.values()) and time.monotonic() < deadline:
            for sw in sweeps.values():
                if "at_exit" not in sw and sw["proc"].poll() is not None:
                    sw["at_exit"] = summaries(sw["sweep"])
            time.sleep(0.2)
    finally:
        for sw in sweeps.values():
            if sw["proc"].poll() is None:
                sw["proc"].kill()
                _settle(slurm_env, sw["name"], grace=0)
        for sw in sweeps.values():
            _settle(slurm_env, sw["name"])

    for way, sw in sweeps.items():
        assert "at_exit" in sw, f"{way}: sweep still running 7 min after the requeue{detail(sw)}"
        assert sw["proc"].returncode == 0, f"{way}: sweep exit {sw['proc'].returncode}{detail(sw)}"
        runs = sw["at_exit"]
        assert list(runs) == [sw["run_dir"]], f"{way}: runs {list(runs)}, expected only {sw['run_dir']}"
        s = runs[sw["run_dir"]]
        assert s["status"] == "completed", (
            f"{way}: the sweep returned while its run was {s.get('status')!r} ({s.get('error')}){detail(sw)}")
        assert s["steps"] == s["total_steps"], (way, s["steps"], s["total_steps"])
        # resumed from its checkpoint -- at least as far as the run had got when SLURM took it
        # away -- instead of starting over (and not from a finished run)
        assert s["resumed_from_step"] is not None, f"{way}: started over instead of resuming{detail(sw)}"
        assert sw["seen_step"] <= s["resumed_from_step"] < s["total_steps"], (
            f"{way}: resumed_from_step={s['resumed_from_step']}, but the run had reached step "
            f"{sw['seen_step']} before the requeue{detail(sw)}")
        # SLURM really requeued the job (accounting keeps the first start as REQUEUED) and
        # the same job then completed
        states = sacct_states(slurm_env, sw["job"], duplicates=True)
        assert "REQUEUED" in states, f"{way}: sacct states of {sw['job']}: {states}"
        assert final_sacct_states(slurm_env, [sw["job"]]) == {sw["job"]: "COMPLETED"}, way


def test_a_job_killed_outright_is_one_failed_run(slurm_env, tmp_path):
    """kill -9 of a job's step (what the OOM killer does): the sweep lists that run as killed, with
    Slurm's state in its summary, finishes the other job and exits 1 — no traceback."""
    sweep, name, log = tmp_path / "sweep", unique_name("kill"), tmp_path / "sweep.log"
    cmd = sweep_cmd(sweep, name, "trainer.epochs=40", "trainer.checkpoint_every=5", "seed=0,1")
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=slurm_env, stdout=out, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
    try:
        victim, _ = wait_for("a running job's first student epoch", lambda: student_progress(sweep), 240, proc, log)
        pid = wait_for("the run's lock holder", lambda: rundir.holder(victim), 60)
        os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=420)
    finally:
        if proc.poll() is None:
            proc.kill()
        _settle(slurm_env, name)
    assert proc.returncode == 1, f"exit {proc.returncode}\n{err}\n{_tail(log)}"
    assert "Traceback" not in err and "UncompletedJobError" not in err, err
    assert f"{victim.relative_to(sweep)} (killed)" in err, err
    runs = summaries(sweep)
    assert len(runs) == 2, list(runs)
    killed = runs[victim]
    assert killed["status"] == "killed", killed
    assert re.search(r"scheduler state (FAILED|OUT_OF_MEMORY|CANCELLED|NODE_FAIL)", killed["error"]), killed["error"]
    assert killed["config"]["seed"] in (0, 1)  # what the summary knew is kept
    (other,) = [s for r, s in runs.items() if r != victim]
    assert other["status"] == "completed", other
