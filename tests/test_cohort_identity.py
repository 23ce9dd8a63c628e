"""A cohort member is bit-identical to the same run alone (CPU): weights, buffers, optimiser state,
RNG, metrics and summary; a member that fails fails alone; a cohort killed mid-way resumes."""
import os
import signal
import subprocess
import sys

import pytest
import torch

from cohort_helpers import ARMS, assert_same, assert_same_run, cfg_for, checkpoint, rows
from spaced_kd import rundir
from spaced_kd.cohort.grouping import teacher_key
from spaced_kd.cohort.runner import KILL_AT_ENV, run_cohort
from spaced_kd.cohort.member import COMPLETED, FAILED, MemberSpec
from spaced_kd.run import resolved, run

QUIET = dict(log=lambda _: None)


def alone(tmp_path, configs):
    dirs = {}
    for name, cfg in configs.items():
        dirs[name] = tmp_path / "alone" / name
        run(cfg, dirs[name], **QUIET)
    return dirs


def together(tmp_path, configs):
    dirs = {name: tmp_path / "cohort" / name for name in configs}
    members = run_cohort([MemberSpec(cfg, dirs[name], name=name) for name, cfg in configs.items()], **QUIET)
    return dirs, {name: m for name, m in zip(configs, members)}


@pytest.mark.parametrize("target_mode", ["train", "eval"])
def test_every_schedule_in_one_cohort_matches_its_run_alone(tmp_path, target_mode):
    configs = {f"{kd}-{s}": cfg_for(kd, s, teacher={"target_mode": target_mode}) for kd, s in ARMS}
    assert len({teacher_key(resolved(c)) for c in configs.values()}) == 1  # one cohort
    solo = alone(tmp_path, configs)
    fused, members = together(tmp_path, configs)
    assert {m.status for m in members.values()} == {COMPLETED}
    for name in configs:
        assert_same_run(solo[name], fused[name])
    # the teacher really is shared: one object behind every member that has one
    teachers = {id(m.learner.teacher) for m in members.values() if m.has_teacher}
    assert len(teachers) == 1
    # … and the students really differ (the comparison above is not of one run with itself)
    online, spaced = checkpoint(fused["online-1.5"]), checkpoint(fused["spaced-2.0"])
    w = "models.student"
    assert not torch.equal(online["learner"]["models"]["student"]["fc.weight"],
                           spaced["learner"]["models"]["student"]["fc.weight"]), w


def test_members_whose_networks_draw_nothing_record_their_own_random_state(tmp_path):
    """Without drop-path nothing reseeds the generator, so each member's checkpoint must hold the
    state its own run leaves (not the state the last member built left)."""
    still = {"model": {"name": "resnet8", "drop_path": 0.0}}
    configs = {kd: cfg_for(kd, 1.0, **still) for kd in ("online", "spaced", "none")}  # "none" is built last
    solo = alone(tmp_path, configs)
    fused, members = together(tmp_path, configs)
    assert {m.status for m in members.values()} == {COMPLETED}
    for name in configs:
        assert_same_run(solo[name], fused[name])  # the checkpoints' "rng" included
    # the states differ between runs that built different networks: the check above can fail
    assert not torch.equal(checkpoint(solo["online"])["rng"]["torch"], checkpoint(solo["none"])["rng"]["torch"])


def test_the_releases_recipe_shares_a_teacher_where_no_replay_moves_it(tmp_path):
    """recipe=official: online and offline KD never replay a training-mode teacher (offline KD
    teaches in eval mode), so with kd=none they form an exact cohort; spaced runs do not join."""
    official = {"name": "official", "kl_softmax_input": True, "teacher_train_mode_replay": True,
                "drop_last_block": True, "floor_interval": True, "pytorch_init": True}
    configs = {kd: cfg_for(kd, 1.5, recipe=official, teacher={"init": "different"})
               for kd in ("none", "online", "offline")}
    solo = alone(tmp_path, configs)
    fused, members = together(tmp_path, configs)
    assert members["offline"].learner.target_mode == "eval"
    for name in configs:
        assert members[name].status == COMPLETED
        assert_same_run(solo[name], fused[name])


def test_a_member_that_fails_fails_alone(tmp_path):
    configs = {"online": cfg_for("online", 1.5), "spaced": cfg_for("spaced", 0.5),
               # a feature term so heavy that the student's loss overflows to inf at once
               "diverges": cfg_for("spaced", 1.0, loss={"beta": 1e38})}
    solo = alone(tmp_path, {k: v for k, v in configs.items() if k != "diverges"})
    with pytest.raises(Exception, match="non-finite"):
        run(configs["diverges"], tmp_path / "alone" / "diverges", **QUIET)
    fused, members = together(tmp_path, configs)
    assert members["diverges"].status == FAILED and "non-finite" in members["diverges"].error
    bad, bad_alone = rundir.read_summary(fused["diverges"]), rundir.read_summary(tmp_path / "alone" / "diverges")
    assert bad["status"] == "failed" and bad["error"] == bad_alone["error"]
    assert bad["events_done"] == bad_alone["events_done"] < bad["events"]
    assert rows(fused["diverges"]) == rows(tmp_path / "alone" / "diverges")
    for name in ("online", "spaced"):
        assert members[name].status == COMPLETED
        assert_same_run(solo[name], fused[name])


@pytest.mark.parametrize("other, says", [
    (cfg_for("online", 1.5, seed=1), "differ only in student-side settings"),
    (cfg_for("spaced", 0.5, recipe={"teacher_train_mode_replay": True}), "BatchNorm"),
])
def test_runs_that_cannot_share_a_teacher_are_refused_before_anything_is_written(tmp_path, other, says):
    from spaced_kd.errors import UserError

    configs = {"a": cfg_for("online", 1.5), "b": other}
    with pytest.raises(UserError, match=says):
        together(tmp_path, configs)
    assert not (tmp_path / "cohort").exists()


def test_a_member_already_completed_is_not_retrained(tmp_path):
    configs = {"online": cfg_for("online", 1.5), "spaced": cfg_for("spaced", 0.5)}
    fused, _ = together(tmp_path, configs)
    before = {n: (fused[n] / rundir.CHECKPOINT).read_bytes() for n in configs}
    configs["offline"] = cfg_for("offline", 1.5)
    fused, members = together(tmp_path, configs)
    assert all(m.status == COMPLETED for m in members.values())
    assert members["online"].session is None  # returned as it was, never built
    assert {n: (fused[n] / rundir.CHECKPOINT).read_bytes() for n in ("online", "spaced")} == before
    solo = alone(tmp_path, {"offline": configs["offline"]})
    assert_same_run(solo["offline"], fused["offline"])


KILL_SCRIPT = """
import sys
from cohort_helpers import ARMS, cfg_for
from spaced_kd.cohort.member import MemberSpec
from spaced_kd.cohort.runner import run_cohort
root = sys.argv[1]
specs = [MemberSpec(cfg_for(kd, s), f"{root}/{kd}-{s}") for kd, s in ARMS]
print({m.status for m in run_cohort(specs, log=lambda _: None)})
"""


def test_kill_9_mid_cohort_then_rerun_gives_every_member_as_alone(tmp_path):
    """SIGKILL at two teacher steps: the members' checkpoints were written at their own events
    (different teacher steps); the rerun continues the teacher from the member that had seen
    fewest updates and every member ends bit-identical to its run alone."""
    configs = {f"{kd}-{s}": cfg_for(kd, s) for kd, s in ARMS}
    solo = alone(tmp_path, configs)
    root = tmp_path / "cohort"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(p) for p in (_tests(), _repo())])}
    seen = []
    for kill_at in (5, 10):
        r = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(root)], env={**env, KILL_AT_ENV: str(kill_at)},
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
        teacher_steps = {n: checkpoint(root / n)["engine"]["done"]["teacher"] for n in configs if "none" not in n}
        seen.append(teacher_steps)
        assert all(rundir.read_summary(root / n)["status"] == "running" for n in configs)
    assert len(set(seen[-1].values())) > 1  # the members' checkpoints are at different teacher steps
    r = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(root)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "{'completed'}" in r.stdout, r.stderr[-2000:]
    for name in configs:
        s = rundir.read_summary(root / name)
        assert s["resumed_from_step"] is not None
        assert_same_run(solo[name], root / name)


def _tests():
    from pathlib import Path
    return Path(__file__).resolve().parent


def _repo():
    return _tests().parent


def test_a_members_checkpoint_resumes_alone(tmp_path):
    """A member killed mid-way is resumed by a run of its own (the same checkpoint format)."""
    configs = {f"{kd}-{s}": cfg_for(kd, s) for kd, s in ARMS[1:4]}
    solo = alone(tmp_path, configs)
    root = tmp_path / "cohort"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_tests()), str(_repo())])}
    script = KILL_SCRIPT.replace("for kd, s in ARMS]", "for kd, s in ARMS[1:4]]")
    r = subprocess.run([sys.executable, "-c", script, str(root)], env={**env, KILL_AT_ENV: "7"},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    for name, cfg in configs.items():
        assert 0 < checkpoint(root / name)["engine"]["event_index"]
        run(cfg, root / name, **QUIET)  # each alone now
        assert_same_run(solo[name], root / name)
        assert_same(checkpoint(solo[name])["learner"], checkpoint(root / name)["learner"])
