"""The cohort's walk (pure Python) and its grouping of a sweep's jobs."""
import itertools

import pytest

from spaced_kd.cohort.grouping import group, teacher_key, why_alone
from spaced_kd.config import load_config
from spaced_kd.run import resolved
from spaced_kd.schedules import JOINT, STUDENT, TEACHER, Event, Plan, expand

T = 12
PLANS = {
    "online": ("online", Plan(T)),
    "spaced2": ("spaced", Plan(T, interval=2)),
    "spaced4": ("spaced", Plan(T, interval=4)),
    "spaced5": ("spaced", Plan(T, interval=5)),  # a last block cut short by T
    "window": ("spaced", Plan(T, interval=3, window_start=2, window_end=8)),
    "dropped": ("spaced", Plan(T, interval=5, drop_last_block=True)),
    "ahead3": ("ahead", Plan(T, interval=3)),
    "offline": ("offline", Plan(T)),
    "none": ("none", Plan(T)),
}


def alone(name):
    """(event, teacher updates before it) of the schedule run alone."""
    out, count = [], 0
    for ev in expand(*PLANS[name]):
        out.append((ev, count))
        count += ev.kind in (TEACHER, JOINT)
    return out


def walk(names, skip=None):
    """Execute the walk; per member: (event, teacher updates before it) in execution order."""
    from spaced_kd.cohort.walk import teacher_start, turns

    skip = skip or {}
    events = [expand(*PLANS[n])[skip.get(n, 0):] for n in names]
    seen = [None if n == "none" else sum(ev.kind != STUDENT for ev in expand(*PLANS[n])[:skip.get(n, 0)])
            for n in names]
    count = teacher_start(seen, T)
    got = {n: [] for n in names}
    for turn in turns([iter(e) for e in events], seen, T):
        assert not turn.teacher or turn.step == count  # the teacher visits every batch once, in order
        for i, kind in turn.members:
            got[names[i]].append((Event(kind, turn.step), count))
        count += turn.teacher
    assert count == T
    return got


@pytest.mark.parametrize("names", [list(PLANS), ["spaced5", "online"], ["offline", "none"], ["none"]])
def test_every_member_meets_the_teacher_it_would_meet_alone(names):
    got = walk(names)
    for n in names:
        want = alone(n)
        if n == "none":  # no teacher: only the order of its own events matters
            want, got[n] = [e for e, _ in want], [e for e, _ in got[n]]
        assert got[n] == want, n


def test_joint_members_share_the_teachers_step_and_teacher_events_come_first():
    from spaced_kd.cohort.walk import turns

    names = ["online", "spaced2", "ahead3"]
    for turn in turns([iter(expand(*PLANS[n])) for n in names], [0, 0, 0], T):
        if turn.teacher:
            kinds = [k for _, k in turn.members]
            assert kinds == sorted(kinds, key=lambda k: k != TEACHER)  # teacher(t) members, then joint(t)
            assert (0, JOINT) in turn.members  # the online member learns on every teacher step
        else:
            assert {k for _, k in turn.members} == {STUDENT}


def test_members_replaying_one_batch_against_one_teacher_share_the_turn():
    from spaced_kd.cohort.walk import turns

    names = ["spaced2", "spaced4", "offline", "none"]
    shared = [(turn.step, [names[i] for i, _ in turn.members])
              for turn in turns([iter(expand(*PLANS[n])) for n in names], [0, 0, 0, None], T)
              if not turn.teacher and len(turn.members) > 1]
    # after 4 teacher steps both spaced members replay batches 2 and 3; after 12, offline joins
    # the last blocks of both; the kd=none member learns each batch as the teacher reaches it
    assert (2, ["spaced2", "spaced4"]) in shared and (3, ["spaced2", "spaced4"]) in shared
    assert (10, ["spaced2", "spaced4", "offline"]) in shared
    assert not any("none" in members for _, members in shared)


@pytest.mark.parametrize("skips", [{"spaced5": 9, "online": 3, "ahead3": 4},
                                   {"offline": 14, "spaced2": 2},
                                   {"offline": 12, "online": 12, "none": 5}])
def test_members_resumed_at_different_points_wait_for_the_teacher(skips):
    """After a crash each member resumes from its own checkpoint: the teacher restarts from the
    fewest updates any member has seen and each member's events still meet the right teacher."""
    names = list(skips)
    got = walk(names, skips)
    for n in names:
        want = alone(n)[skips[n]:]
        if n == "none":
            want, got[n] = [e for e, _ in want], [e for e, _ in got[n]]
        assert got[n] == want, n


def test_a_schedule_that_skips_a_teacher_step_is_refused():
    from spaced_kd.cohort.walk import turns

    broken = [Event(TEACHER, 0), Event(TEACHER, 2), Event(STUDENT, 0)]
    with pytest.raises(ValueError, match="must visit every batch in order"):
        list(turns([iter(broken)], [0], 3))


# ---------------------------------------------------------------- grouping

def cfg(**over):
    base = {"trainer": {"epochs": 3}}
    for k, v in over.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return load_config(base)


def grouped(*configs):
    return group(configs, [resolved(c) if c is not None else None for c in configs])


def test_student_side_settings_group_everything_else_splits():
    student_side = [cfg(kd={"name": "online"}), cfg(kd={"name": "spaced"}, interval=0.5),
                    cfg(kd={"name": "spaced"}, interval=2, interval_unit="steps"),
                    cfg(kd={"name": "spaced"}, spaced={"start_epoch": 1, "length": 1}),
                    cfg(kd={"name": "offline"}, loss={"alpha": 0.9, "temperature": 4}), cfg(kd={"name": "none"})]
    assert len(grouped(*student_side).cohorts) == 1
    teacher_side = [cfg(seed=1), cfg(model={"name": "resnet14"}), cfg(teacher={"width": 2}),
                    cfg(optim={"lr": 0.1}), cfg(trainer={"epochs": 4}), cfg(trainer={"batch_size": 64}),
                    cfg(dataset={"train_subset": 100}), cfg(teacher={"target_mode": "eval"}),
                    cfg(trainer={"threads": 1}), cfg(recipe={"floor_interval": True})]
    for other in teacher_side:
        g = grouped(cfg(kd={"name": "online"}), other)
        assert g.groups == [[0], [1]] and not g.alone, other
    assert teacher_key(resolved(cfg(kd={"name": "online"}))) == teacher_key(resolved(cfg(loss={"beta": 0})))


def test_jobs_whose_teacher_depends_on_the_student_run_alone():
    official = {"teacher_train_mode_replay": True}
    jobs = [cfg(kd={"name": "online"}, recipe=official), cfg(kd={"name": "spaced"}, recipe=official),
            cfg(kd={"name": "ahead"}, interval=1, recipe=official), cfg(kd={"name": "offline"}, recipe=official),
            cfg(kd={"name": "online"}, kd_mode={"name": "self"}), None]
    g = grouped(*jobs)
    # online and offline keep the teacher to themselves even under the release's recipe
    assert g.groups == [[0, 3], [1], [2], [4], [5]]
    assert "BatchNorm" in g.alone[1] and "BatchNorm" in g.alone[2]
    assert "kd_mode=self" in g.alone[4] and "refused" in g.alone[5]
    assert why_alone(cfg(kd={"name": "offline"}, teacher={"checkpoint": "x"})).startswith("teacher.checkpoint")


def test_groups_keep_the_sweeps_order():
    seeds = [cfg(seed=s, kd={"name": k}) for s, k in itertools.product([0, 1], ["online", "spaced"])]
    assert grouped(*seeds).groups == [[0, 1], [2, 3]]
