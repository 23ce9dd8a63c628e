"""Paired comparisons: every schedule teaches with the same kind of target, and the teacher's
trajectory does not depend on which student watches it."""
import copy

import pytest
import torch

from spaced_kd.build import build
from spaced_kd.config import load_config
from spaced_kd.learners import frozen_bn_stats
from spaced_kd.run import run


def cfg_for(**over):
    base = {"dataset": {"name": "digits", "train_subset": 192, "test_subset": 60}, "model": {"name": "resnet8"},
            "trainer": {"epochs": 3, "batch_size": 32, "progress": False, "device": "cpu"}, "interval": 0.5}
    for k, v in over.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return load_config(base)


def teacher_state(run_dir):
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    return state["learner"]["models"]["teacher"], state["learner"]["optimizers"]["teacher"]


def assert_same(a, b, path=""):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def test_the_teachers_trajectory_does_not_depend_on_the_students_schedule(tmp_path):
    # drop-path on: the teacher's random draws must not depend on the interleaving either
    schedules = [("online", 0.5), ("spaced", 0.5), ("spaced", 2.0), ("ahead", 1.0), ("offline", 0.0)]
    states = {}
    for kd, interval in schedules:
        d = tmp_path / f"{kd}-{interval}"
        run(cfg_for(kd={"name": kd}, interval=interval, model={"drop_path": 0.1}), d, log=lambda _: None)
        states[(kd, interval)] = teacher_state(d)
    reference = states[("online", 0.5)]
    assert any(k.endswith("running_mean") for k in reference[0])  # BatchNorm statistics are compared too
    for key, state in states.items():
        assert_same(reference, state, str(key))


def one_step_setup(**over):
    s = build(cfg_for(**over))
    x, y = s.data.train_batch(0)
    for t in range(3):  # a teacher that has learnt something
        s.learner.step("teacher", t, *s.data.train_batch(t))
    return s, x, y


def bn_buffers(net):
    return {k: v.clone() for k, v in net.state_dict().items() if "running" in k or "num_batches" in k}


def test_a_replayed_target_is_a_train_mode_forward_that_moves_no_statistics():
    s, x, y = one_step_setup()
    teacher = s.learner.teacher
    twin = copy.deepcopy(teacher)
    before = bn_buffers(teacher)
    got = s.learner.target(5, x)
    s.learner._seed_forward("teacher", 5)
    twin.train()
    with torch.no_grad(), frozen_bn_stats(twin):
        want = twin(x)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    assert_same(before, bn_buffers(teacher))
    twin.eval()
    with torch.no_grad():
        assert not torch.allclose(got[0], twin(x)[0])  # batch statistics, not running ones


def test_online_and_spaced_students_get_the_same_kind_of_target():
    s, x, y = one_step_setup()
    before = s.learner.target(3, x)  # what a replay of batch 3 would get from this teacher
    seen = {}
    original = s.learner._student_update
    s.learner._student_update = lambda t, x_, y_, target: seen.setdefault("target", target) and original(t, x_, y_, target)
    s.learner.step("joint", 3, x, y)  # online: the teacher's own pre-update training forward
    assert torch.equal(seen["target"][0], before[0]) and torch.equal(seen["target"][1], before[1])


def test_eval_target_mode_is_honoured_by_every_schedule():
    s, x, y = one_step_setup(teacher={"target_mode": "eval"})
    teacher = s.learner.teacher
    twin = copy.deepcopy(teacher).eval()
    with torch.no_grad():
        want = twin(x)
    assert torch.equal(s.learner.target(3, x)[0], want[0])
    seen = {}
    original = s.learner._student_update
    s.learner._student_update = lambda t, x_, y_, target: seen.setdefault("target", target) and original(t, x_, y_, target)
    s.learner.step("joint", 3, x, y)
    assert torch.equal(seen["target"][0], want[0])  # pre-update and in eval mode


@pytest.mark.parametrize("kd, moves, mode", [("spaced", True, "train"), ("ahead", True, "train"),
                                             ("offline", False, "eval")])
def test_the_release_moves_statistics_in_replay_but_its_offline_teacher_is_in_eval_mode(kd, moves, mode):
    s, x, y = one_step_setup(kd={"name": kd}, recipe={"teacher_train_mode_replay": True})
    assert s.learner.target_mode == mode
    before = bn_buffers(s.learner.teacher)
    s.learner.step("student", 3, x, y)
    after = bn_buffers(s.learner.teacher)
    changed = any(not torch.equal(before[k], after[k]) for k in before)
    assert changed is moves


def test_forwards_are_reseeded_only_when_a_network_draws():
    assert not build(cfg_for()).learner.random_forward  # resnet8, no drop-path: nothing to seed
    assert build(cfg_for(model={"drop_path": 0.1})).learner.random_forward
    assert build(cfg_for(model={"name": "deit_tiny", "drop_path": 0.1})).learner.random_forward
